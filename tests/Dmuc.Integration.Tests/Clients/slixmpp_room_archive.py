"""An independent client check of a room's archive and joins: Debian's slixmpp (XEP-0045, XEP-0313, XEP-0059).

Usage: /usr/bin/python3 slixmpp_room_archive.py HOST PORT JID PASSWORD ROOM PAGE_SIZE LOCKED_ROOM
Prints one JSON object: the bodies slixmpp's MAM iterator collected paging back from the end (PAGE_SIZE a page),
oldest first, and how slixmpp's join of LOCKED_ROOM (a password-protected room, joined without the password)
ended.
"""
import asyncio
import json
import sys
import traceback

import slixmpp
from slixmpp.exceptions import PresenceError


class ArchiveReader(slixmpp.ClientXMPP):
    def __init__(self, jid, password, room, page_size, locked_room):
        super().__init__(jid, password)
        self.use_aiodns = False
        self.room = room
        self.page_size = page_size
        self.locked_room = locked_room
        self.outcome = {}
        for plugin in ("xep_0030", "xep_0045", "xep_0059", "xep_0313"):
            self.register_plugin(plugin)
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self.on_session_start)

    async def on_session_start(self, _):
        try:
            # Paging back, the iterator yields the newest message first.
            newest_first = [message["mam_result"]["forwarded"]["stanza"]["body"]
                            async for message in self["xep_0313"].iterate(jid=self.room, reverse=True, rsm={"max": self.page_size})]
            self.outcome["bodies"] = list(reversed(newest_first))
            try:
                await asyncio.wait_for(self["xep_0045"].join_muc_wait(self.locked_room, "Slixmpp", maxstanzas=0), 10)
                self.outcome["join"] = "joined"
            except PresenceError as error:
                self.outcome["join"] = error.condition
            except asyncio.TimeoutError:
                self.outcome["join"] = "no answer slixmpp recognised"
        except Exception:  # reported to the test, which shows it
            self.outcome["error"] = traceback.format_exc()
        finally:
            self.disconnect()


def main():
    host, port, jid, password, room, page_size, locked_room = sys.argv[1:8]
    client = ArchiveReader(jid, password, room, int(page_size), locked_room)
    client.connect(address=(host, int(port)), disable_starttls=True, force_starttls=False)
    client.loop.run_until_complete(asyncio.wait_for(client.disconnected, 60))
    print(json.dumps(client.outcome))


if __name__ == "__main__":
    main()
