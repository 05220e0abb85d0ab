-- mod_dmuc_stream_ack: acknowledged stanzas on the XEP-0114 stream of the Dmuc MUC component.
--
-- XEP-0114 has no acknowledgement: a stanza Prosody handed a component whose process then died is gone without an
-- error. Loaded on the Component host, this module numbers every stanza it hands the component, keeps each until the
-- component acknowledges its number, and hands the ones still unacknowledged to the component's next stream first.
-- Wire protocol: docs/protocol/stream-ack.md; see README.md beside it.
--
-- Configuration (on the Component):
--   dmuc_stream_ack_max_unacked = 10000  -- more unacknowledged than this: new stanzas refused (<resource-constraint/>)
--   dmuc_stream_ack_hold = 60            -- seconds the unacknowledged are kept for the component's next stream
--   dmuc_stream_ack_enable_wait = 10     -- seconds a new stream has to enable acknowledgements (while some are kept, or after a stream that did)

local st = require "util.stanza";
local datetime = require "util.datetime";
local xml_parse = require "util.xml".parse;
local base64 = require "util.encodings".base64;

local xmlns_ack = "urn:xmpp:tmp:dmuc:ack:0";
local xmlns_delay = "urn:xmpp:delay";
local max_unacked = module:get_option_number("dmuc_stream_ack_max_unacked", 10000);
local hold_seconds = module:get_option_number("dmuc_stream_ack_hold", 60);
local enable_wait_seconds = module:get_option_number("dmuc_stream_ack_enable_wait", 10);

if module:get_host_type() ~= "component" then
	error("mod_dmuc_stream_ack belongs on the Dmuc Component, not on a VirtualHost", 0);
end

-- The stream that enabled acknowledgements; stanzas to any other stream are not counted.
local acking_session = nil;
-- unacked[n] is the n-th stanza handed to acking_session, kept until an <a h='n'/> or a greater h.
local unacked, acked, handed = {}, 0, 0;
-- What the last stream left unacknowledged, oldest first: the next stream that enables gets it first.
local left_over = {};
-- Which disconnection the hold timer belongs to: a reconnect (or another disconnect) makes an older timer moot.
local hold_generation = 0;
-- A stream that came in while stanzas were kept, until it enables acknowledgements: what arrives for the component
-- meanwhile waits in held, oldest first, so that it reaches the component after the kept ones, not before them.
local enabling_session = nil;
local held = {};
-- Whether the component's last stream enabled acknowledgements: its next stream will too, so what arrives before it has
-- is held for it even when nothing was left unacknowledged (a node killed between its handshake and its enable would
-- otherwise take those stanzas with it).
local component_acks = false;

local function unacked_count() return handed - acked; end

-- What the component served its users itself (a replica split from its room) lives nowhere else until the room has it: its
-- echo is out, and were this server to crash too, the kept copy in memory would go with it (docs/protocol/stream-ack.md §8).
-- So each such stanza is appended to a file in the data directory as it is marked, and crossed out once acknowledged or
-- bounced; a restart hands what is not crossed out to the component's next stream. One line each: "S id first-handed
-- base64(stanza)" or "F id"; the file starts afresh whenever nothing served is kept.
local served_log_path = (prosody.paths.data or ".") .. "/dmuc_stream_ack_" .. module.host:gsub("[^%w]", "_") .. ".served";
local served_log = nil;
local served_kept, last_served_id = 0, 0;

local function write_served_log(line)
	if not served_log then served_log = assert(io.open(served_log_path, "a")); end
	served_log:write(line, "\n");
	-- Flushed each time: a kill -9 of this process must not take the line with it.
	served_log:flush();
end

local function remember_served(kept)
	kept.dmuc_served = true;
	last_served_id = last_served_id + 1;
	kept.dmuc_served_id = last_served_id;
	served_kept = served_kept + 1;
	write_served_log(("S %d %d %s"):format(last_served_id, kept.dmuc_handed_at, base64.encode(tostring(kept))));
end

local function forget_served(kept)
	if not (kept and kept.dmuc_served_id) then return; end
	served_kept = served_kept - 1;
	if served_kept > 0 then
		write_served_log(("F %d"):format(kept.dmuc_served_id));
		return;
	end
	if served_log then served_log:close(); end
	served_log = assert(io.open(served_log_path, "w"));
end

-- The served stanzas a crashed (or stopped) server left, oldest first, as kept stanzas handed before.
local function recover_served()
	local file = io.open(served_log_path, "r");
	if not file then return {}; end
	local entries, order = {}, {};
	for line in file:lines() do
		local kind, id, rest = line:match("^(%u) (%d+) ?(.*)$");
		id = tonumber(id);
		if kind == "S" and id then
			local handed_at, encoded = rest:match("^(%d+) (%S+)$");
			local stanza = encoded and xml_parse(base64.decode(encoded));
			if stanza then
				stanza.dmuc_served, stanza.dmuc_served_id, stanza.dmuc_handed_at = true, id, tonumber(handed_at);
				entries[id] = stanza;
				order[#order + 1] = id;
			end
		elseif kind == "F" and id then
			entries[id] = nil;
		end
	end
	file:close();
	local recovered = {};
	served_log = assert(io.open(served_log_path, "w"));
	for _, id in ipairs(order) do
		local stanza = entries[id];
		if stanza then
			recovered[#recovered + 1] = stanza;
			last_served_id = math.max(last_served_id, id);
			write_served_log(("S %d %d %s"):format(id, stanza.dmuc_handed_at, base64.encode(tostring(stanza))));
		end
	end
	served_kept = #recovered;
	return recovered;
end

-- The sender is told once the stanza's fate cannot be known any more: the same answer mod_component gives for a
-- component that is not connected, which is what the component was for it.
local function bounce(stanza)
	local stanza_type = stanza.attr.type;
	if stanza_type == "error" or stanza_type == "result" then return; end
	module:send(st.error_reply(stanza, "wait", "remote-server-timeout",
		"The MUC service went away before confirming this stanza", module.host));
end

-- What waited behind the kept ones, written in order to the stream it waited for, once nothing is kept for it.
local function release_held(session)
	local waiting = held;
	held = {};
	for _, stanza in ipairs(waiting) do
		stanza.attr.xmlns = nil;
		session.send(stanza);
	end
end

local function bounce_left_over()
	local waiting = left_over;
	left_over = {};
	if enabling_session then
		-- Nothing is kept any more for the stream that came in meanwhile: what waited behind the kept ones goes to it now.
		local session = enabling_session;
		enabling_session = nil;
		release_held(session);
	end
	if #waiting > 0 then
		module:log("warn", "The component did not come back within %ds: %d unacknowledged stanzas bounced", hold_seconds, #waiting);
	end
	for _, stanza in ipairs(waiting) do
		forget_served(stanza);
		bounce(stanza);
	end
end

-- Kept as sent: the original may be changed by whoever handles it next. A served mark (below) is the module's word alone,
-- kept beside the stanza: one in the stanza itself (a user's, or the one written on a stanza handed again) is not kept.
-- When it was first handed goes with it, for its resend (a stanza handed again keeps its first time), and so does its mark.
local function keep(stanza)
	local kept = st.clone(stanza);
	kept.attr.xmlns = nil;
	kept:remove_children("served", xmlns_ack);
	kept.dmuc_handed_at = stanza.dmuc_handed_at or os.time();
	kept.dmuc_served, kept.dmuc_served_id = stanza.dmuc_served, stanza.dmuc_served_id;
	handed = handed + 1;
	unacked[handed] = kept;
end

-- A kept stanza handed again says when it was first handed (XEP-0203, from the component's domain): the component's
-- previous life may have answered it then (a split replica serves its users' messages itself), and the room dates it so.
-- Any such delay the sender put in is dropped first: only this module speaks for the component's domain.
local function stamped(kept)
	kept:maptags(function (child)
		if child.name == "delay" and child.attr.xmlns == xmlns_delay and child.attr.from == module.host then return nil; end
		return child;
	end);
	if kept.dmuc_handed_at then
		kept:tag("delay", { xmlns = xmlns_delay, from = module.host, stamp = datetime.datetime(kept.dmuc_handed_at) }):up();
	end
	if kept.dmuc_served then kept:tag("served", { xmlns = xmlns_ack }):up(); end
	return kept;
end

local counted_names = { iq = true, message = true, presence = true };

-- Stanzas reach the component two ways: routed to it (mod_component's handlers, below) and answered straight to it
-- (session.send, as any module answers an iq the component sent). The stream's own data (whitespace keepalives, the
-- closing tag) is not counted.
local function count_direct_sends(session)
	local send = session.send;
	session.dmuc_uncounted_send = send;
	session.send = function (data)
		if session == acking_session and st.is_stanza(data) and counted_names[data.name] then keep(data); end
		return send(data);
	end
	return send;
end

local function refuse_over_bound(event, waiting)
	local stanza = event.stanza;
	module:log("warn", "%d stanzas waiting for the component: refusing %s", waiting, stanza:top_tag());
	if stanza.attr.type ~= "error" and stanza.attr.type ~= "result" then
		event.origin.send(st.error_reply(stanza, "wait", "resource-constraint",
			"The MUC service is behind; try again in a moment", module.host));
	end
	return true;
end

-- Above mod_component's handlers (priority -1), which hand the stanza to the component right after this returns,
-- with the send function it took before this module wrapped it.
local function count_routed(event)
	if enabling_session then
		-- Kept ones wait for this stream: anything newer waits behind them (it would overtake them otherwise).
		if #left_over + #held >= max_unacked then return refuse_over_bound(event, #left_over + #held); end
		held[#held + 1] = event.stanza;
		return true;
	end
	if not acking_session then return; end
	if unacked_count() >= max_unacked then return refuse_over_bound(event, unacked_count()); end
	keep(event.stanza);
end

for _, kind in ipairs { "iq", "message", "presence" } do
	for _, target in ipairs { "bare", "full", "host" } do
		module:hook(kind .. "/" .. target, count_routed, -0.5);
	end
end

local function is_own_component(session)
	return session.type == "component" and session.host == module.host;
end

-- A stream that comes in while the last one's stanzas are kept, or after a stream that enabled acknowledgements, is meant
-- to enable them too and take the kept ones first. One that does not (a node configured without them) gets its held
-- stanzas in order as a plain stream after the wait; the kept ones are bounced then, since a plain stream cannot say which
-- of them it had processed, and the component's next streams are not held for (it no longer asks).
module:hook("component-authenticated", function (event)
	local session = event.session;
	if (#left_over == 0 and not component_acks) or not is_own_component(session) then return; end
	enabling_session = session;
	module:add_timer(enable_wait_seconds, function ()
		if enabling_session ~= session then return; end
		module:log("warn", "The component's new stream did not enable acknowledgements within %ds", enable_wait_seconds);
		enabling_session, component_acks = nil, false;
		hold_generation = hold_generation + 1;
		bounce_left_over();
		release_held(session);
	end);
end);

-- <iq type='set' to='{component}'><enable xmlns='urn:xmpp:tmp:dmuc:ack:0'/></iq> from the component itself. Without
-- this module the iq goes back to the component, which then knows not to expect acknowledgements.
module:hook("iq/host", function (event)
	local session, stanza = event.origin, event.stanza;
	if stanza.attr.type ~= "set" or not stanza:get_child("enable", xmlns_ack) or not is_own_component(session) then return; end
	if session == acking_session then
		-- Not counted: the component takes any answer to its request as the end of the negotiation.
		session.dmuc_uncounted_send(st.error_reply(stanza, "modify", "bad-request", "Acknowledgements are on already"));
		return true;
	end
	local resent = left_over;
	left_over, enabling_session = {}, nil;
	hold_generation = hold_generation + 1;
	local send = count_direct_sends(session);
	send(st.reply(stanza):tag("enabled", { xmlns = xmlns_ack, resent = tostring(#resent), max = tostring(max_unacked) }));
	acking_session, unacked, acked, handed, component_acks = session, {}, 0, 0, true;
	if #resent > 0 then
		module:log("info", "Handing the component %d stanzas its previous stream did not acknowledge", #resent);
	end
	for _, kept in ipairs(resent) do session.send(stamped(kept)); end
	-- Then what its users sent while the stream came up, counted as this stream's (not resent): none of it was handed before.
	release_held(session);
	return true;
end, 10);

-- <a xmlns='urn:xmpp:tmp:dmuc:ack:0' h='n'/>: the first n stanzas of this stream have their outcome.
module:hook("stanza/" .. xmlns_ack .. ":a", function (event)
	local session = event.origin;
	if session ~= acking_session then return true; end
	local h = tonumber(event.stanza.attr.h);
	if not h or h ~= math.floor(h) or h < acked or h > handed then
		module:log("warn", "The component acknowledged %s with %d handed and %d acknowledged: closing its stream",
			tostring(event.stanza.attr.h), handed, acked);
		session:close{ condition = "undefined-condition", text = "Acknowledged a count out of range" };
		return true;
	end
	for n = acked + 1, h do
		forget_served(unacked[n]);
		unacked[n] = nil;
	end
	acked = h;
	return true;
end);

-- <served xmlns='urn:xmpp:tmp:dmuc:ack:0' n='n'/>: the component served stanza n to its users itself (a replica split from its
-- room) and keeps it for the room. Should it not acknowledge it, the next stream gets it with <served/> in it, and does not
-- serve it again (a second copy to every user who had it). Stanzas acknowledged or out of range are ignored.
module:hook("stanza/" .. xmlns_ack .. ":served", function (event)
	if event.origin ~= acking_session then return true; end
	local n = tonumber(event.stanza.attr.n);
	local kept = n and unacked[n];
	if kept and not kept.dmuc_served then remember_served(kept); end
	return true;
end);

module:hook("component-disconnected", function (event)
	if event.session == enabling_session then
		-- Gone before it enabled: what waited for it is kept, behind the older kept ones, for the next stream.
		enabling_session = nil;
		for _, stanza in ipairs(held) do left_over[#left_over + 1] = stanza; end
		held = {};
		return;
	end
	if event.session ~= acking_session then return; end
	acking_session = nil;
	-- What the stream that just ended left is kept for the next stream of this component, and for no other.
	for n = acked + 1, handed do left_over[#left_over + 1] = unacked[n]; end
	unacked, acked, handed = {}, 0, 0;
	if #left_over == 0 then return; end
	module:log("info", "The component left %d stanzas unacknowledged; kept %ds for its next stream", #left_over, hold_seconds);
	hold_generation = hold_generation + 1;
	local generation = hold_generation;
	module:add_timer(hold_seconds, function ()
		if generation == hold_generation then bounce_left_over(); end
	end);
end);

-- A stop keeps what was served for the next start, as a crash does; the rest is bounced, as before.
function module.unload()
	for n = acked + 1, handed do left_over[#left_over + 1] = unacked[n]; end
	for _, stanza in ipairs(held) do left_over[#left_over + 1] = stanza; end
	local unserved = {};
	for _, stanza in ipairs(left_over) do
		if not stanza.dmuc_served then unserved[#unserved + 1] = stanza; end
	end
	held, enabling_session, left_over = {}, nil, unserved;
	bounce_left_over();
	if served_log then served_log:close(); end
end

-- What the last run of this server kept of what was served waits for the component's first stream, as if its stream had just
-- ended; it is bounced if none enables acknowledgements in time.
left_over = recover_served();
if #left_over > 0 then
	module:log("info", "Kept %d stanzas the component served before this server stopped; kept %ds for its next stream", #left_over, hold_seconds);
	component_acks = true;
	hold_generation = hold_generation + 1;
	local generation = hold_generation;
	module:add_timer(hold_seconds, function ()
		if generation == hold_generation then bounce_left_over(); end
	end);
end
