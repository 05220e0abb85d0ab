-- What a multicast's recipient list costs Prosody's stream parser (util.xmppstream over lxp/expat), per stanza of 100
-- recipients: none, XEP-0033 addresses, Dmuc's compact list (tab-separated, and newline-separated for comparison);
-- "+ read" also walks the list as mod_dmuc_multicast does (without the stringprep its cache saves) and removes it.
-- Run: lua5.4 bench/recipient-lists/prosody.lua [stanzas, default 10000]; prints the best of 5 rounds.
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
local xmppstream = require "util.xmppstream"
local count, rounds, recipients = tonumber(arg[1] or 10000), 5, 100

local body = "<message from='room@conference.localhost/nick' type='groupchat' id='abc123' to='localhost'>"
	.. "<body>Hello world, a message of some length for the benchmark</body>"
	.. "<stanza-id xmlns='urn:xmpp:sid:0' id='0123456789' by='room@conference.localhost'/>"
local jids, addresses = {}, {}
for i = 1, recipients do
	jids[i] = "user" .. i .. "@localhost/res-abcdef" .. i
	addresses[i] = "<address type='bcc' jid='" .. jids[i] .. "'/>"
end
local known = {}
for _, jid in ipairs(jids) do known[jid] = jid end
local xmlns_address, xmlns_compact = "http://jabber.org/protocol/address", "urn:xmpp:tmp:dmuc:multicast:0"
local function compact(separator)
	return body .. "<recipients xmlns='" .. xmlns_compact .. "'>" .. table.concat(jids, separator) .. "</recipients></message>"
end

local function read_addresses(stanza)
	local found = {}
	for address in stanza:get_child("addresses", xmlns_address):childtags("address", xmlns_address) do
		found[#found + 1] = known[address.attr.jid]
	end
	stanza:maptags(function (child) if child.name == "addresses" then return nil; end return child; end)
end
local function read_compact(stanza)
	local text, found, start = stanza:get_child("recipients", xmlns_compact):get_text(), {}, 1
	repeat
		local tab = text:find("\t", start, true)
		found[#found + 1] = known[text:sub(start, tab and tab - 1)]
		start = tab and tab + 1
	until not start
	stanza:maptags(function (child) if child.name == "recipients" then return nil; end return child; end)
end

local function time(stanza_text, read)
	local parsed = 0
	local stream = xmppstream.new({ notopen = true }, {
		stream_ns = "http://etherx.jabber.org/streams", default_ns = "jabber:component:accept",
		streamopened = function (session) session.notopen = nil end,
		handlestanza = function (_, stanza) parsed = parsed + 1; if read then read(stanza) end end,
		error = function (_, e, detail) error(tostring(e) .. " " .. tostring(detail)) end,
	}, 1e9)
	assert(stream:feed("<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='localhost'>"))
	local chunk = string.rep(stanza_text, 50)
	collectgarbage(); collectgarbage()
	local started = os.clock()
	for _ = 1, count / 50 do assert(stream:feed(chunk)) end
	return (os.clock() - started) / parsed * 1e6
end

local cases = {
	{ "no list", body .. "</message>" },
	{ "XEP-0033, 100 addresses", body .. "<addresses xmlns='" .. xmlns_address .. "'>" .. table.concat(addresses) .. "</addresses></message>" },
	{ "XEP-0033 + read", nil, read_addresses, 2 },
	{ "compact, tabs", compact("\t") },
	{ "compact, tabs + read", nil, read_compact, 4 },
	{ "compact, newlines", compact("\n") },
}
for _, case in ipairs(cases) do
	local text = case[2] or cases[case[4]][2]
	local best = math.huge
	for _ = 1, rounds do best = math.min(best, time(text, case[3])) end
	print(string.format("%-26s %5d bytes %8.1f us a stanza", case[1], #text, best))
end
