-- mod_dmuc_delivered: what each session was last handed by each room of the Dmuc MUC component.
--
-- A Dmuc node killed after writing a room's messages to its component stream cannot know which of them Prosody took.
-- Prosody can: loaded on the Component, this module remembers, for each room and each local session, the XEP-0359
-- stanza-id of the newest groupchat message from that room it routed to that session (direct or through
-- mod_dmuc_multicast), and tells the component when it asks, so that a restarted room resends each session only what
-- came after. Wire protocol: docs/protocol/delivered.md; see README.md beside it.

local st = require "util.stanza";
local jid_split = require "util.jid".split;
local full_sessions = prosody.full_sessions;

local xmlns_delivered = "urn:xmpp:tmp:dmuc:delivered:0";
local xmlns_sid = "urn:xmpp:sid:0";
local component = module.host;
local room_suffix = "@" .. component;

if module:get_host_type() ~= "component" then
	error("mod_dmuc_delivered belongs on the Dmuc Component, not on a VirtualHost", 0);
end

-- last[room][full JID]: the stanza-id of the newest message of that room routed to that session.
local last = {};
-- rooms_of[full JID][room] = true: what to forget when the session ends.
local rooms_of = {};

-- by_room[by]: whether a stanza-id's 'by' is a room of the component, worked out once per address (no substring per
-- copy; one entry per room, like last).
local by_room = setmetatable({}, { __index = function (verdicts, by)
	local verdict = by:sub(-#room_suffix) == room_suffix;
	verdicts[by] = verdict;
	return verdict;
end });

-- A multicast is one stanza re-addressed for each recipient (mod_dmuc_multicast): its room and id are read once, at
-- its first copy, and the stanza is kept only until the next one.
local read_stanza, read_room, read_id;

local function room_stanza_id(stanza)
	if stanza == read_stanza then return read_room, read_id; end
	local room, id;
	for _, tag in ipairs(stanza.tags) do
		local by = tag.name == "stanza-id" and tag.attr.xmlns == xmlns_sid and tag.attr.by;
		if by and by_room[by] then
			room, id = by, tag.attr.id;
			break;
		end
	end
	read_stanza, read_room, read_id = stanza, room, id;
	return room, id;
end

-- Runs at every stanza to a full JID of the watched hosts, on Prosody's one thread: anything not a groupchat message
-- from this component is passed over with two comparisons.
local function record(event)
	local origin, stanza = event.origin, event.stanza;
	if origin.host ~= component or stanza.attr.type ~= "groupchat" then return; end
	local to = stanza.attr.to;
	if not full_sessions[to] then return; end
	local room, id = room_stanza_id(stanza);
	if not id then return; end
	local sessions = last[room];
	if not sessions then
		sessions = {};
		last[room] = sessions;
	end
	if not sessions[to] then
		local rooms = rooms_of[to];
		if not rooms then
			rooms = {};
			rooms_of[to] = rooms;
		end
		rooms[room] = true;
	end
	sessions[to] = id;
end

local function forget(event)
	local session_jid = event.session.full_jid;
	local rooms = session_jid and rooms_of[session_jid];
	if not rooms then return; end
	rooms_of[session_jid] = nil;
	for room in pairs(rooms) do
		local sessions = last[room];
		sessions[session_jid] = nil;
		if next(sessions) == nil then last[room] = nil; end
	end
end

-- Every user host of this Prosody: the component's rooms may have occupants on any of them.
local watched = {};
local function watch(host)
	local host_session = prosody.hosts[host];
	if watched[host] or not host_session or host_session.type ~= "local" then return; end
	watched[host] = true;
	local context = module:context(host);
	-- Above mod_message's delivery (-1): the session is still there to be named.
	context:hook("message/full", record, 1);
	context:hook("resource-unbind", forget);
end
for host in pairs(prosody.hosts) do watch(host); end
module:hook_global("host-activated", watch);

-- <iq type='get' to='{component}'><delivered xmlns='urn:xmpp:tmp:dmuc:delivered:0' room='room@{component}'/></iq>, from
-- the component itself. Without this module the iq goes back to the component, which then knows nobody can say.
module:hook("iq/host", function (event)
	local origin, stanza = event.origin, event.stanza;
	local query = stanza:get_child("delivered", xmlns_delivered);
	if not query or stanza.attr.type ~= "get" then return; end
	if origin.type ~= "component" or origin.host ~= component then
		origin.send(st.error_reply(stanza, "auth", "forbidden", "Only the MUC service may ask what its rooms delivered"));
		return true;
	end
	local room = query.attr.room;
	local node, host, resource = jid_split(room);
	if not node or host ~= component or resource then
		origin.send(st.error_reply(stanza, "modify", "bad-request", "'room' must be a room of this service"));
		return true;
	end
	local reply = st.reply(stanza):tag("delivered", { xmlns = xmlns_delivered, room = room });
	for session_jid, id in pairs(last[room] or {}) do
		reply:tag("session", { jid = session_jid, ["last-stanza-id"] = id }):up();
	end
	origin.send(reply);
	return true;
end, 10);
