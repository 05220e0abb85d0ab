-- What mod_dmuc_delivered adds per delivery, on Prosody's own stanza library: its message/full handler run on a Dmuc room
-- message (body, delay-less live copy with stanza-id and occupant-id) to a session that exists, and on a user's chat message
-- (the check every other stanza to a full JID pays), against an empty handler. CPU time, so other load matters less.
-- Run: lua5.4 bench/prosody/delivered_cost.lua   (from the repository root; docs/benchmarks.md "mod_dmuc_delivered")
package.path = "/usr/lib/prosody/?.lua;" .. package.path;
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath;
local st = require "util.stanza";

local handlers = {};
local full_sessions = {};
prosody = { full_sessions = full_sessions, hosts = { ["avalon.irc"] = { type = "local" } } };
local context = { hook = function (_, event, handler) handlers[event] = handler; end };
module = {
	host = "channel.avalon.irc",
	get_host_type = function () return "component"; end,
	context = function () return context; end,
	hook_global = function () end,
	hook = function () end,
};
dofile("deploy/prosody/mod_dmuc_delivered.lua");
local record = assert(handlers["message/full"], "the module hooks message/full on the user's host");

local sessions = 100;
for i = 1, sessions do full_sessions["user" .. i .. "@avalon.irc/laptop"] = {}; end
local component = { type = "component", host = "channel.avalon.irc" };
local user = { type = "c2s", host = "avalon.irc" };
local function room_message(n)
	return st.message({ from = "wallops@channel.avalon.irc/Trillian", type = "groupchat", id = "m" .. n })
		:text_tag("body", "message number " .. n)
		:tag("stanza-id", { xmlns = "urn:xmpp:sid:0", id = "3f2a9c1e-" .. n, by = "wallops@channel.avalon.irc" }):up()
		:tag("occupant-id", { xmlns = "urn:xmpp:occupant-id:0", id = "b5d1c0" }):up();
end
local chat = st.message({ from = "user2@avalon.irc/laptop", type = "chat" }):text_tag("body", "hi");

local function per_call(handler, origin, stanza_of, rounds)
	local messages = {};
	for n = 1, rounds do messages[n] = stanza_of(n); end
	local started = os.clock();
	for n = 1, rounds do
		local stanza = messages[n];
		for i = 1, sessions do
			stanza.attr.to = "user" .. i .. "@avalon.irc/laptop";
			handler({ origin = origin, stanza = stanza });
		end
	end
	return (os.clock() - started) / (rounds * sessions) * 1e6;
end

local rounds = 2000;
local empty = per_call(function () end, component, room_message, rounds);
local room = per_call(record, component, room_message, rounds);
local other = per_call(record, user, function () return chat; end, rounds);
print(string.format("deliveries timed: %d each (%d messages to %d sessions)", rounds * sessions, rounds, sessions));
print(string.format("empty handler (the loop, the event table, the to string): %.3f us/delivery", empty));
print(string.format("room message to a session: %.3f us/delivery (%.3f us over the empty handler)", room, room - empty));
print(string.format("a user's chat message (passed over): %.3f us/delivery (%.3f us over the empty handler)", other, other - empty));
