-- What an XMPP host running Prosody needs to take part in a DMUC room: declare the room's MUC domain as an
-- external component served by this host's own Dmuc node (started with --host-domain example.org).
-- Users of this host then reach wallops@channel.avalon.irc through the local node, which relays to the primary.
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }   -- the node runs on the same machine

-- XEP-0033 multicast for the node (deploy/prosody/README.md): each broadcast crosses the component stream once
-- instead of once per user of this host.
plugin_paths = { "/opt/dmuc/deploy/prosody" }
modules_enabled = { "roster", "saslauth", "disco", "ping", "presence", "smacks", "carbons", "csi_simple", "dmuc_multicast" }

-- Collect garbage at Lua's own pause (200 %) rather than Prosody 0.12's default 105 %, which collects all the time: a
-- join of 500 users over three hosts cost the Prosodies half the CPU (docs/operations.md#prosodys-garbage-collector).
gc = { mode = "incremental", threshold = 200, speed = 500 }

VirtualHost "example.org"
  dmuc_multicast_senders = { "channel.avalon.irc" }   -- only the Dmuc component may multicast
  dmuc_multicast_max_addresses = 100                  -- Dmuc:Multicast:MaxAddresses must not exceed it

Component "channel.avalon.irc"
  component_secret = "change-me"
  modules_enabled = { "dmuc_stream_ack",            -- keeps what it hands Dmuc until acknowledged (docs/protocol/stream-ack.md)
                      "dmuc_delivered" }            -- says what each session last got of each room (docs/protocol/delivered.md)
