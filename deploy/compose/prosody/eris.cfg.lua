-- Prosody for the XMPP host eris.dclxvii.irc in docker-compose.yml. Its users reach wallops@channel.avalon.irc through
-- the Dmuc node dmuc-eris, connected as the component below.
admins = { "admin@eris.dclxvii.irc" }
modules_enabled = { "roster", "saslauth", "disco", "ping", "presence", "register" }
modules_disabled = { "s2s" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
component_interfaces = { "*" }
log = { info = "*console" }
gc = { mode = "incremental", threshold = 200, speed = 500 }

VirtualHost "eris.dclxvii.irc"

Component "channel.avalon.irc"
  component_secret = "eris-component-secret"
