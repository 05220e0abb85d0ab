#!/usr/bin/env bash
# Runs one Dmuc node behind a local Prosody (Debian's package) on loopback, for trying Dmuc by hand.
# Prosody: c2s on 127.0.0.1:${C2S_PORT:-5222}, virtual host "localhost", users alice, bob, carol, admin
# (password "password"); Dmuc serves conference.localhost through the component port ${COMPONENT_PORT:-5347}.
# Ctrl-C stops both.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
run="$here/run"
c2s_port="${C2S_PORT:-5222}"
component_port="${COMPONENT_PORT:-5347}"
secret="${COMPONENT_SECRET:-dmuc-local-secret}"

if ! command -v prosody >/dev/null 2>&1; then
  echo "Prosody is not installed: installing Debian's package (apt-get install prosody)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prosody
fi

mkdir -p "$run/prosody-data" "$run/certs" "$run/dmuc-data"
cat > "$run/prosody.cfg.lua" <<CFG
run_as_root = true
pidfile = "$run/prosody.pid"
data_path = "$run/prosody-data"
certificates = "$run/certs"
log = { info = "$run/prosody.log" }
admins = { "admin@localhost" }
plugin_paths = { "$repo/deploy/prosody" }
modules_enabled = { "roster", "saslauth", "disco", "ping", "presence", "posix", "dmuc_multicast" }
modules_disabled = { "s2s" }
c2s_ports = { $c2s_port }
c2s_interfaces = { "127.0.0.1" }
component_ports = { $component_port }
component_interfaces = { "127.0.0.1" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
VirtualHost "localhost"
  dmuc_multicast_senders = { "conference.localhost" }
Component "conference.localhost"
  component_secret = "$secret"
CFG
for user in alice bob carol admin; do
  prosodyctl --config "$run/prosody.cfg.lua" register "$user" localhost password >/dev/null 2>&1 || true
done

prosody --config "$run/prosody.cfg.lua" -F &
prosody_pid=$!
trap 'kill $prosody_pid 2>/dev/null || true' EXIT
echo "Prosody is up: log in as alice@localhost (password: password) on 127.0.0.1:$c2s_port, without TLS."
echo "Join a room such as lobby@conference.localhost."

dotnet run --project "$repo/src/Dmuc.Host" -c Release -- \
  --server "127.0.0.1:$component_port" --domain conference.localhost --secret "$secret" --data "$run/dmuc-data" \
  --Dmuc:Admins:0 admin@localhost
