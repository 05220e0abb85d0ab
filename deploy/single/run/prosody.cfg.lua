run_as_root = true
pidfile = "/work/main/deploy/single/run/prosody.pid"
data_path = "/work/main/deploy/single/run/prosody-data"
certificates = "/work/main/deploy/single/run/certs"
log = { info = "/work/main/deploy/single/run/prosody.log" }
admins = { "admin@localhost" }
modules_enabled = { "roster", "saslauth", "disco", "ping", "presence", "posix" }
modules_disabled = { "s2s" }
c2s_ports = { 25222 }
c2s_interfaces = { "127.0.0.1" }
component_ports = { 25347 }
component_interfaces = { "127.0.0.1" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "localhost"
Component "conference.localhost"
  component_secret = "dmuc-local-secret"
