#!/usr/bin/env bash
# Runs one Dmuc node behind a local Prosody (Debian's package) on loopback, for trying Dmuc by hand.
# Prosody: c2s on 127.0.0.1:${C2S_PORT:-5222}, virtual host "localhost", users alice, bob, carol, admin
# (password "password"); Dmuc serves conference.localhost through the component port ${COMPONENT_PORT:-5347},
# with its management endpoint (the dmuc CLI) on 127.0.0.1:${MANAGEMENT_PORT:-5380}.
#
# It prints one line starting "Dmuc is ready" once the node is built, Prosody runs and the node's component stream
# is in (the node's /ready answers 200), and only then. Ctrl-C, or SIGTERM to this script, stops the node first (its
# occupants get status 332, the journal is flushed), then Prosody; the script exits once both are gone.
#
#   run.sh [--no-build]      --no-build: use the node as last built (src/Dmuc.Host/bin/Release)
# Environment: C2S_PORT, COMPONENT_PORT, MANAGEMENT_PORT, COMPONENT_SECRET; DMUC_SINGLE_RUN_DIR (state and logs,
# default deploy/single/run); DMUC_NODE_BINARY (a dmuc-node built elsewhere; implies --no-build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
run="${DMUC_SINGLE_RUN_DIR:-$here/run}"
c2s_port="${C2S_PORT:-5222}"
component_port="${COMPONENT_PORT:-5347}"
management_port="${MANAGEMENT_PORT:-5380}"
secret="${COMPONENT_SECRET:-dmuc-local-secret}"
node_binary="${DMUC_NODE_BINARY:-$repo/src/Dmuc.Host/bin/Release/net10.0/dmuc-node}"
build=true
[[ -z "${DMUC_NODE_BINARY:-}" ]] || build=false
for arg in "$@"; do
  case "$arg" in
    --no-build) build=false ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 2 ;;
  esac
done
ready_timeout_seconds=90

missing=()
for tool in prosody curl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "Not installed: ${missing[*]}; installing Debian's packages (apt-get install ${missing[*]})"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
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
gc = { mode = "incremental", threshold = 200, speed = 500 }
VirtualHost "localhost"
  dmuc_multicast_senders = { "conference.localhost" }
Component "conference.localhost"
  component_secret = "$secret"
  modules_enabled = { "dmuc_stream_ack", "dmuc_delivered" }
CFG
for user in alice bob carol admin; do
  prosodyctl --config "$run/prosody.cfg.lua" register "$user" localhost password >/dev/null 2>&1 || true
done

if $build; then
  echo "Building the node (Release; log in $run/build.log)..."
  dotnet build "$repo/src/Dmuc.Host" -c Release --nologo -v quiet >"$run/build.log" 2>&1 || { cat "$run/build.log" >&2; exit 1; }
fi
[[ -x "$node_binary" ]] || { echo "No node binary at $node_binary: run without --no-build" >&2; exit 1; }

# Both run in sessions of their own, so that a Ctrl-C in this terminal reaches only this script, which then stops
# them in order. (setsid execs in place here: a background job is no process group leader, so $! is the process.)
prosody_pid=""
node_pid=""
setsid prosody --config "$run/prosody.cfg.lua" -F >"$run/prosody.console.log" 2>&1 </dev/null &
prosody_pid=$!
setsid "$node_binary" --server "127.0.0.1:$component_port" --domain conference.localhost --secret "$secret" \
  --data "$run/dmuc-data" --management-url "http://127.0.0.1:$management_port" --Dmuc:Admins:0 admin@localhost \
  >"$run/dmuc-node.log" 2>&1 </dev/null &
node_pid=$!

# Stops a process with SIGTERM and waits for it (SIGKILL after $2 seconds).
stop_process() {
  local pid="$1" seconds="$2" name="$3"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((seconds * 10))); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "$name ignored SIGTERM for $seconds s: killed" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# The node first: it tells its occupants (status 332) and flushes the journal while Prosody still carries them.
stop_all() {
  trap - INT TERM
  echo "Stopping the node (occupants get status 332)..."
  stop_process "$node_pid" 30 "The node"
  echo "Stopping Prosody..."
  stop_process "$prosody_pid" 10 Prosody
  echo "Stopped."
}
trap 'stop_all; exit 0' INT TERM
trap 'status=$?; if ((status != 0)); then stop_all; fi' EXIT

ready() { curl -fsS -o /dev/null "http://127.0.0.1:$management_port/ready" 2>/dev/null; }
deadline=$((SECONDS + ready_timeout_seconds))
until ready; do
  for pid in "$node_pid" "$prosody_pid"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$([[ $pid == "$node_pid" ]] && echo "The node" || echo Prosody) exited before it was ready; its log:" >&2
      tail -n 30 "$([[ $pid == "$node_pid" ]] && echo "$run/dmuc-node.log" || echo "$run/prosody.console.log")" >&2
      exit 1
    fi
  done
  if ((SECONDS > deadline)); then
    echo "The node was not ready within $ready_timeout_seconds s (see $run/dmuc-node.log)" >&2
    exit 1
  fi
  sleep 0.2
done

echo "Dmuc is ready: log in as alice@localhost (password: password) on 127.0.0.1:$c2s_port without TLS and join lobby@conference.localhost."
echo "  dmuc CLI: http://127.0.0.1:$management_port; logs: $run/dmuc-node.log, $run/prosody.log"
echo "  Stop with Ctrl-C (or: kill $$)."
# wait returns when a trapped signal arrives (the trap then stops both), or when the node exits on its own.
status=0
wait "$node_pid" || status=$?
node_pid=""
echo "The node exited on its own (status $status; see $run/dmuc-node.log)." >&2
stop_all
exit "$status"
