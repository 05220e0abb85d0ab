-- What an XMPP host running Prosody needs to take part in a DMUC room: declare the room's MUC domain as an
-- external component served by this host's own Dmuc node (started with --host-domain example.org).
-- Users of this host then reach wallops@channel.avalon.irc through the local node, which relays to the primary.
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }   -- the node runs on the same machine

Component "channel.avalon.irc"
  component_secret = "change-me"
