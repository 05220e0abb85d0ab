-- Prosody for the XMPP host avalon.irc in docker-compose.yml. Its users reach wallops@channel.avalon.irc through
-- the Dmuc node dmuc-avalon, connected as the component below.
admins = { "admin@avalon.irc" }
modules_enabled = { "roster", "saslauth", "disco", "ping", "presence", "register" }
modules_disabled = { "s2s" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
component_interfaces = { "*" }
log = { info = "*console" }
gc = { mode = "incremental", threshold = 200, speed = 500 }

VirtualHost "avalon.irc"

Component "channel.avalon.irc"
  component_secret = "avalon-component-secret"
