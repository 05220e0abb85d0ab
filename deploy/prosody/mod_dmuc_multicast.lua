-- mod_dmuc_multicast: an XEP-0033 multicast service on a Prosody host, for the Dmuc MUC component.
--
-- Dmuc sends a room's broadcast once, to this host, with the recipients as <address type='bcc'/> or, since the module
-- announces it, as Dmuc's compact list (one text node of tab-separated JIDs); this module hands one copy to each recipient through Prosody's normal routing (so stream management, client state indication,
-- carbons and privacy lists see an ordinary stanza from the room). See README.md beside it.
--
-- Configuration (on the VirtualHost, or globally):
--   dmuc_multicast_senders = { "conference.example.org" }  -- component domains allowed to multicast (required)
--   dmuc_multicast_max_addresses = 100                     -- more recipients than this: <not-acceptable/>
--   dmuc_multicast_read_size = 262144                      -- bytes read at once from a component that multicasts
--   dmuc_multicast_address_cache = 10000                   -- addresses whose check is remembered
--   dmuc_multicast_render_once = true                      -- a multicast's copies written from one rendering

local st = require "util.stanza";
local new_cache = require "util.cache".new;
local jid_prep = require "util.jid".prep;
local jid_split = require "util.jid".split;
local core_post_stanza = prosody.core_post_stanza;

local xmlns_address = "http://jabber.org/protocol/address";
-- Dmuc's own list (docs/protocol/multicast.md in Dmuc): <recipients xmlns='urn:xmpp:tmp:dmuc:multicast:0'> whose text is the
-- JIDs separated by tabs. Prosody's parser builds one string for it where it built an element and an attribute table per
-- <address/> (~2 µs an address, most of what a multicast cost Prosody beside the copies themselves).
local xmlns_compact = "urn:xmpp:tmp:dmuc:multicast:0";
local senders = module:get_option_set("dmuc_multicast_senders", {});
local max_addresses = module:get_option_number("dmuc_multicast_max_addresses", 100);
local component_read_size = module:get_option_number("dmuc_multicast_read_size", 256 * 1024);
local delivered_types = { to = true, cc = true, bcc = true };
-- A room sends every broadcast to the same occupants: each address is checked once (stringprep is most of the
-- cost of a check), not once per broadcast. Only addresses that passed are kept; a refused one is checked again.
local local_users = new_cache(module:get_option_number("dmuc_multicast_address_cache", 10000));
local render_once = module:get_option_boolean("dmuc_multicast_render_once", true);

module:add_feature(xmlns_address);
-- Copies are handed on before the next stanza is read from the component stream, so a user gets what the component
-- multicasts and what it sends direct (IQ answers) in the order it sent them: Dmuc needs that to use the service.
module:add_feature("urn:xmpp:tmp:dmuc:0#multicast-in-order");
module:add_feature(xmlns_compact);

if senders:empty() then
	module:log("warn", "dmuc_multicast_senders is empty: every multicast will be refused");
end

local function refuse(origin, stanza, condition, text)
	-- An error is never answered with an error (RFC 6120 §8.3.1).
	if stanza.attr.type ~= "error" then
		origin.send(st.error_reply(stanza, "cancel", condition, text));
	end
	return true;
end

-- The JID a list names, as delivered to, or nil and the reason to refuse the whole stanza.
local function checked(jid)
	local to = local_users:get(jid);
	if to then return to; end
	to = jid_prep(jid);
	if not to then
		return nil, "jid-malformed", "Not a JID: " .. jid;
	end
	local node, host = jid_split(to);
	if not node or host ~= module.host then
		return nil, "forbidden", "This service reaches users of " .. module.host .. " only";
	end
	local_users:set(jid, to);
	return to;
end

-- Adds the user jid names to recipients, or gives the reason to refuse the whole stanza.
local function add_recipient(recipients, jid)
	local to, condition, text = checked(jid);
	if not to then return nil, condition, text; end
	recipients[#recipients + 1] = to;
	if #recipients > max_addresses then
		return nil, "not-acceptable", "At most " .. max_addresses .. " addresses";
	end
	return true;
end

-- The recipients, or nil and the reason to refuse the whole stanza: it is delivered to all or to none (XEP-0033 §4).
local function recipients_of(addresses)
	local recipients = {};
	for address in addresses:childtags("address", xmlns_address) do
		local attr = address.attr;
		if attr.delivered ~= "true" and delivered_types[attr.type] then
			if attr.uri or not attr.jid then
				return nil, "jid-malformed", "Only 'jid' addresses are delivered here";
			end
			local added, condition, text = add_recipient(recipients, attr.jid);
			if not added then return nil, condition, text; end
		end
	end
	return recipients;
end

-- The same from a compact list: every piece of its text between tabs must be a JID (no control character is part of
-- one, RFC 7622), so an empty list, a doubled tab or one at either end names an empty JID and is refused like any other.
local function compact_recipients_of(list)
	local text = list:get_text();
	if not text then
		return nil, "jid-malformed", "A recipient list holds JIDs separated by tabs, and no elements";
	end
	local recipients, start = {}, 1;
	repeat
		local tab = text:find("\t", start, true);
		local added, condition, reason = add_recipient(recipients, text:sub(start, tab and tab - 1));
		if not added then return nil, condition, reason; end
		start = tab and tab + 1;
	until not start
	return recipients;
end

-- Which of the lists was meant is not clear: both forms, or two of either. A stanza whose first list came from its user and
-- whose second from the room must not go where the user chose (docs/protocol/multicast.md in Dmuc).
local function ambiguous()
	return nil, "bad-request", "One recipient list a stanza: XEP-0033 addresses or one compact list";
end

-- The stanza's recipient list and what reads it: its XEP-0033 address block or its compact list; nil if it has neither.
local function list_of(stanza)
	local addresses, compact;
	for _, child in ipairs(stanza.tags) do
		local xmlns = child.attr.xmlns;
		if child.name == "addresses" and xmlns == xmlns_address then
			if addresses then return stanza, ambiguous; end
			addresses = child;
		elseif child.name == "recipients" and xmlns == xmlns_compact then
			if compact then return stanza, ambiguous; end
			compact = child;
		end
	end
	if addresses and compact then return stanza, ambiguous; end
	if compact then return compact, compact_recipients_of; end
	return addresses, recipients_of;
end

-- The stanza itself becomes the payload: it was parsed from the component for this handler alone, and copying it
-- would copy every address only to drop them.
local function remove_lists(stanza)
	stanza:maptags(function (child)
		local name, xmlns = child.name, child.attr.xmlns;
		if name == "addresses" and xmlns == xmlns_address or name == "recipients" and xmlns == xmlns_compact then return nil; end
		return child;
	end);
end

-- Prosody reads a connection network_default_read_size (4 KiB) at a time, less than one multicast stanza to 100
-- users; the copies of what one read brings are written to each user's socket together at the end of the loop's
-- turn, so a stream read in pieces of one stanza costs one write (and the client one read) per copy.
local function read_in_large_chunks(origin)
	if origin.dmuc_multicast_read_size ~= component_read_size and origin.conn and origin.conn.set_mode then
		origin.conn:set_mode(component_read_size);
		origin.dmuc_multicast_read_size = component_read_size;
	end
end

-- Prosody serializes every copy it writes (util.stanza's __tostring, and session.send's top_tag for its debug line,
-- built even when debug is off): at 100 recipients that was two thirds of Prosody's Lua work behind Dmuc. The copies
-- of one multicast differ only in 'to', so while the module hands them on, a copy is written from one rendering of
-- the rest. util.stanza has no per-stanza hook (stream management needs the stanza's own metatable), so its
-- metatable's __tostring and top_tag look the stanza up among those being multicast and otherwise do what they did;
-- shared by every host that loads the module, undone when the last one unloads it.
local shared_rendering = module:shared("/*/dmuc_multicast/rendering");
local stanza_mt, xml_escape = st.stanza_mt, st.xml_escape;

-- The stanza as util.stanza writes it without a parent namespace, cut around the value of 'to'; nil for what only
-- util.stanza writes right (namespaced attributes, a namespace on the stanza, no 'to').
local function render(stanza)
	local before_to, after_to, attrs, attr_count = { "<", stanza.name }, {}, {}, 0;
	local parts = before_to;
	for name, value in pairs(stanza.attr) do
		if name:find("\1", 1, true) or name == "xmlns" then return nil; end
		attr_count = attr_count + 1;
		if name == "to" then
			parts[#parts + 1] = " to='";
			parts = after_to;
			parts[1] = "'";
		else
			attrs[name] = value;
			parts[#parts + 1] = " " .. name .. "='" .. xml_escape(value) .. "'";
		end
	end
	if parts ~= after_to then return nil; end
	local children = {};
	for i = 1, #stanza do
		local child = stanza[i];
		children[i] = child.name and shared_rendering.original_tostring(child) or xml_escape(child);
	end
	return {
		attrs = attrs, attr_count = attr_count, child_count = #stanza,
		before_to = table.concat(before_to), after_to = table.concat(after_to),
		rest = #stanza == 0 and "/>" or ">" .. table.concat(children) .. "</" .. stanza.name .. ">",
	};
end

-- The open tag up to the end of 'to' (util.stanza writes the attributes in the table's order, which changing a
-- value does not change), or nil if anything but 'to' changed since the rendering (a filter added a child or an
-- attribute): util.stanza writes that copy.
local function rendered_up_to_rest(stanza)
	local rendering = shared_rendering.renderings[stanza];
	if not rendering or rendering.child_count ~= #stanza then return nil; end
	local attrs, count = rendering.attrs, 0;
	for name, value in pairs(stanza.attr) do
		if name ~= "to" and attrs[name] ~= value then return nil; end
		count = count + 1;
	end
	local to = stanza.attr.to;
	if count ~= rendering.attr_count or not to then return nil; end
	return rendering.before_to .. xml_escape(to) .. rendering.after_to, rendering;
end

if render_once and not shared_rendering.renderings then
	local original_tostring, original_top_tag = stanza_mt.__tostring, stanza_mt.top_tag;
	stanza_mt.__tostring = function (stanza)
		local open, rendering = rendered_up_to_rest(stanza);
		if not open then return original_tostring(stanza); end
		return open .. rendering.rest;
	end
	stanza_mt.top_tag = function (stanza)
		local open = rendered_up_to_rest(stanza);
		if not open then return original_top_tag(stanza); end
		return open .. ">";
	end
	shared_rendering.renderings, shared_rendering.hosts = setmetatable({}, { __mode = "k" }), {};
	shared_rendering.original_tostring, shared_rendering.original_top_tag = original_tostring, original_top_tag;
end
if render_once and shared_rendering.hosts then shared_rendering.hosts[module.host] = true; end

function module.unload()
	local hosts = shared_rendering.hosts;
	if not hosts or not hosts[module.host] then return; end
	hosts[module.host] = nil;
	if next(hosts) == nil then
		stanza_mt.__tostring, stanza_mt.top_tag = shared_rendering.original_tostring, shared_rendering.original_top_tag;
		shared_rendering.renderings, shared_rendering.hosts = nil, nil;
	end
end

local function multicast(event)
	local origin, stanza = event.origin, event.stanza;
	local list, read_list = list_of(stanza);
	if not list then return; end -- not for us: an ordinary stanza to the host

	local _, from_host = jid_split(stanza.attr.from);
	if origin.type ~= "component" or not senders:contains(origin.host) or from_host ~= origin.host then
		return refuse(origin, stanza, "forbidden", "Only the MUC service may multicast through " .. module.host);
	end

	read_in_large_chunks(origin);

	local recipients, condition, text = read_list(list);
	if not recipients then return refuse(origin, stanza, condition, text); end

	-- No recipient learns who else received the stanza: the whole list goes (every list), not only the bcc addresses.
	remove_lists(stanza);
	local renderings = render_once and shared_rendering.renderings;
	if renderings then renderings[stanza] = render(stanza); end
	-- Like Prosody's own MUC (route_to_occupant), one stanza is re-addressed for each recipient: whatever keeps a
	-- stanza (stream management's queue, CSI's buffer, carbons) clones it first.
	for _, to in ipairs(recipients) do
		stanza.attr.to = to;
		core_post_stanza(origin, stanza);
	end
	if renderings then renderings[stanza] = nil; end
	return true;
end

-- Above mod_component's and mod_presence's handlers for stanzas to the bare host.
module:hook("message/host", multicast, 10);
module:hook("presence/host", multicast, 10);
