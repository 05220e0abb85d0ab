-- mod_dmuc_multicast: an XEP-0033 multicast service on a Prosody host, for the Dmuc MUC component.
--
-- Dmuc sends a room's broadcast once, to this host, with the recipients as <address type='bcc'/>; this module hands
-- one copy to each recipient through Prosody's normal routing (so stream management, client state indication,
-- carbons and privacy lists see an ordinary stanza from the room). See README.md beside it.
--
-- Configuration (on the VirtualHost, or globally):
--   dmuc_multicast_senders = { "conference.example.org" }  -- component domains allowed to multicast (required)
--   dmuc_multicast_max_addresses = 100                     -- more recipients than this: <not-acceptable/>
--   dmuc_multicast_read_size = 262144                      -- bytes read at once from a component that multicasts
--   dmuc_multicast_address_cache = 10000                   -- addresses whose check is remembered

local st = require "util.stanza";
local new_cache = require "util.cache".new;
local jid_prep = require "util.jid".prep;
local jid_split = require "util.jid".split;
local core_post_stanza = prosody.core_post_stanza;

local xmlns_address = "http://jabber.org/protocol/address";
local senders = module:get_option_set("dmuc_multicast_senders", {});
local max_addresses = module:get_option_number("dmuc_multicast_max_addresses", 100);
local component_read_size = module:get_option_number("dmuc_multicast_read_size", 256 * 1024);
local delivered_types = { to = true, cc = true, bcc = true };
-- A room sends every broadcast to the same occupants: each address is checked once (stringprep is most of the
-- cost of a check), not once per broadcast. Only addresses that passed are kept; a refused one is checked again.
local local_users = new_cache(module:get_option_number("dmuc_multicast_address_cache", 10000));

module:add_feature(xmlns_address);
-- Copies are handed on before the next stanza is read from the component stream, so a user gets what the component
-- multicasts and what it sends direct (IQ answers) in the order it sent them: Dmuc needs that to use the service.
module:add_feature("urn:xmpp:tmp:dmuc:0#multicast-in-order");

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

-- The recipients, or nil and the reason to refuse the whole stanza: it is delivered to all or to none (XEP-0033 §4).
local function recipients_of(addresses)
	local recipients = {};
	for address in addresses:childtags("address", xmlns_address) do
		local attr = address.attr;
		if attr.delivered ~= "true" and delivered_types[attr.type] then
			if attr.uri or not attr.jid then
				return nil, "jid-malformed", "Only 'jid' addresses are delivered here";
			end
			local to = local_users:get(attr.jid);
			if not to then
				to = jid_prep(attr.jid);
				if not to then
					return nil, "jid-malformed", "Not a JID: " .. attr.jid;
				end
				local node, host = jid_split(to);
				if not node or host ~= module.host then
					return nil, "forbidden", "This service reaches users of " .. module.host .. " only";
				end
				local_users:set(attr.jid, to);
			end
			recipients[#recipients + 1] = to;
			if #recipients > max_addresses then
				return nil, "not-acceptable", "At most " .. max_addresses .. " addresses";
			end
		end
	end
	return recipients;
end

-- The stanza itself becomes the payload: it was parsed from the component for this handler alone, and copying it
-- would copy every address only to drop them.
local function remove_addresses(stanza)
	stanza:maptags(function (child)
		if child.name == "addresses" and child.attr.xmlns == xmlns_address then return nil; end
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

local function multicast(event)
	local origin, stanza = event.origin, event.stanza;
	local addresses = stanza:get_child("addresses", xmlns_address);
	if not addresses then return; end -- not for us: an ordinary stanza to the host

	local _, from_host = jid_split(stanza.attr.from);
	if origin.type ~= "component" or not senders:contains(origin.host) or from_host ~= origin.host then
		return refuse(origin, stanza, "forbidden", "Only the MUC service may multicast through " .. module.host);
	end

	read_in_large_chunks(origin);

	local recipients, condition, text = recipients_of(addresses);
	if not recipients then return refuse(origin, stanza, condition, text); end

	-- No recipient learns who else received the stanza: the whole address block goes, not only the bcc addresses.
	remove_addresses(stanza);
	-- Like Prosody's own MUC (route_to_occupant), one stanza is re-addressed for each recipient: whatever keeps a
	-- stanza (stream management's queue, CSI's buffer, carbons) clones it first.
	for _, to in ipairs(recipients) do
		stanza.attr.to = to;
		core_post_stanza(origin, stanza);
	end
	return true;
end

-- Above mod_component's and mod_presence's handlers for stanzas to the bare host.
module:hook("message/host", multicast, 10);
module:hook("presence/host", multicast, 10);
