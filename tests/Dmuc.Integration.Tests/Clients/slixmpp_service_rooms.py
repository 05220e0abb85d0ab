"""An independent client check of the MUC service's room list: Debian's slixmpp pages its disco#items (XEP-0030, XEP-0059).

Usage: /usr/bin/python3 slixmpp_service_rooms.py HOST PORT JID PASSWORD SERVICE PAGE_SIZE
Prints one JSON object: the room JIDs slixmpp's result set iterator collected forwards (its own page size, 10) and
backwards (PAGE_SIZE a page, from the end), each with the number of pages it took.
"""
import asyncio
import json
import sys
import traceback

import slixmpp


class RoomLister(slixmpp.ClientXMPP):
    def __init__(self, jid, password, service, page_size):
        super().__init__(jid, password)
        self.use_aiodns = False
        self.service = service
        self.page_size = page_size
        self.outcome = {}
        for plugin in ("xep_0030", "xep_0059"):
            self.register_plugin(plugin)
        self["feature_mechanisms"].unencrypted_plain = True
        self.add_event_handler("session_start", self.on_session_start)

    async def on_session_start(self, _):
        try:
            forward = await self["xep_0030"].get_items(jid=self.service, iterator=True)
            self.outcome["forward"], self.outcome["forward_pages"] = await self.collect(forward)
            query = self.Iq(stype="get", sto=self.service)
            query.enable("disco_items")
            backward = self["xep_0059"].iterate(query, "disco_items", amount=self.page_size, reverse=True)
            self.outcome["backward"], self.outcome["backward_pages"] = await self.collect(backward)
        except Exception:  # reported to the test, which shows it
            self.outcome["error"] = traceback.format_exc()
        finally:
            self.disconnect()

    @staticmethod
    async def collect(pages):
        rooms, count = [], 0
        async for page in pages:
            count += 1
            # "items" is a set; the substanzas keep the order the service sent.
            rooms.extend(str(item["jid"]) for item in page["disco_items"]["substanzas"])
        return rooms, count


def main():
    host, port, jid, password, service, page_size = sys.argv[1:7]
    client = RoomLister(jid, password, service, int(page_size))
    client.connect(address=(host, int(port)), disable_starttls=True, force_starttls=False)
    client.loop.run_until_complete(asyncio.wait_for(client.disconnected, 60))
    print(json.dumps(client.outcome))


if __name__ == "__main__":
    main()
