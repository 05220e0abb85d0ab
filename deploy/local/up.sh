#!/usr/bin/env bash
# Starts XEP-0282's example deployment on loopback: four XMPP hosts, each a Prosody with its own Dmuc node
# serving channel.avalon.irc as an external component (XEP-0114). The nodes form one Akka.NET cluster; the node
# of avalon.irc is the primary (it holds the rooms), the others are replicas. No s2s: room traffic between hosts
# crosses the cluster. It is a drill environment: netsplit drills are on (`dmuc netsplit cut|heal`), so the nodes'
# addresses are akka.trttl.ssl.tcp://… Nodes talk over mutual TLS with certificates from a throwaway authority
# made here (run/tls, deploy/tls/make-certs.sh). Stop it all with down.sh.
#
#   up.sh [--postgres] [--failover] [--standby] [--no-build]
#     --postgres   journal in a local PostgreSQL 15 (started here) instead of one SQLite file per node
#     --failover   a second primary-capable node for avalon.irc (dmuc-node-avalon.irc-2): the rooms are sharded over
#                  both (--placement Sharded, implies --postgres), and those of a node that dies move to the other.
#                  Prosody takes one component connection: the second node keeps its stream off while the first
#                  serves avalon.irc, and its rooms reach avalon's users through the first (the own-host relay); it
#                  takes the stream over when the first dies. `dmuc node drain NODE --node OTHER` empties a node first.
#     --standby    a second node for killrc.oulubox.irc (dmuc-node-killrc.oulubox.irc-standby) that stands by and takes
#                  the host over when its node dies: try `crash.sh dmuc-node-killrc.oulubox.irc` (docs/operations.md#a-standby-node-for-a-host)
#     --no-build   use the node as last built (src/Dmuc.Host/bin/Release)
#
# Environment:
#   DMUC_LOCAL_BASE_PORT  host i (0 = avalon.irc) uses BASE+10i+2 (c2s), +3 (cluster), +7 (component);
#                         PostgreSQL BASE+45, the failover node BASE+43 (cluster) and +49 (management), the standby
#                         BASE+53 (cluster) and +59 (management). Default 4050: the primary's cluster port is 4053.
#   DMUC_LOCAL_RUN_DIR    state, logs and topology.json (default deploy/local/run)
#   DMUC_COMPONENT_SECRET the component secret shared by every Prosody and node
#   DMUC_NODE_BINARY      a dmuc-node built elsewhere (the tests pass their own); implies --no-build
#   DMUC_LOCAL_READY_TIMEOUT  seconds the topology may take to be ready once started (default 150)
set -euo pipefail
source "$(dirname "$0")/common.sh"

use_postgres=false
failover=false
use_standby=false
build=true
for arg in "$@"; do
  case "$arg" in
    --postgres) use_postgres=true ;;
    --failover) failover=true; use_postgres=true ;;
    --standby) use_standby=true ;;
    --no-build) build=false ;;
    *) echo "usage: $0 [--postgres] [--failover] [--standby] [--no-build]" >&2; exit 2 ;;
  esac
done

base_port="${DMUC_LOCAL_BASE_PORT:-4050}"
secret="${DMUC_COMPONENT_SECRET:-dmuc-local-secret}"
muc_domain="channel.avalon.irc"
room="wallops@$muc_domain"
primary_host="avalon.irc"
admin="admin@$primary_host"
password="password"
hosts=(avalon.irc killrc.oulubox.irc eris.dclxvii.irc vesa.yeggmaex.irc)
declare -A users=(
  [avalon.irc]="alice bob admin"
  [killrc.oulubox.irc]="argl valdis phaedrus"
  [eris.dclxvii.irc]="squit troy"
  [vesa.yeggmaex.irc]="rubenro msa"
)
node_binary="${DMUC_NODE_BINARY:-$repo/src/Dmuc.Host/bin/Release/net10.0/dmuc-node}"
[[ -z "${DMUC_NODE_BINARY:-}" ]] || build=false
# How long the whole topology may take to be ready once started: ~30 s usually, over 90 s on a 2-core machine at load 30.
ready_timeout_seconds="${DMUC_LOCAL_READY_TIMEOUT:-150}"

c2s_port() { echo $((base_port + 10 * $1 + 2)); }
cluster_port() { echo $((base_port + 10 * $1 + 3)); }
component_port() { echo $((base_port + 10 * $1 + 7)); }
# The node's management endpoint (dmuc CLI): loopback only, so no token.
management_port() { echo $((base_port + 10 * $1 + 9)); }
postgres_port=$((base_port + 45))
# The standby serves killrc.oulubox.irc (host 1) and takes the ports of a sixth host's cluster and management endpoints
# (the fifth's are the failover node's).
standby_host="killrc.oulubox.irc"
standby_name="dmuc-node-$standby_host-standby"
standby_ports=5
# Netsplit drills run Akka.Remote (over TLS) through its throttler adapter, whose addresses have this scheme.
cluster_scheme="akka.trttl.ssl.tcp"
# Every node, the primary included, gets the same seeds: every host's node, the primary first. A restarted node then
# rejoins whichever nodes still run, and the primary forms a new cluster only when none does (docs/operations.md#seeds).
seed_args=()
for index in "${!hosts[@]}"; do
  seed_args+=(--Dmuc:Seeds:$index "$cluster_scheme://dmuc@127.0.0.1:$(cluster_port "$index")")
done

if [[ -s "$started" ]]; then
  echo "A local topology is already running from $run (see $started); run down.sh first." >&2
  exit 1
fi

# If anything below fails, stop what was started so far: a half topology is worse than none.
trap 'status=$?; if ((status != 0)); then echo "up.sh failed; stopping what it started" >&2; stop_all; fi' EXIT

missing=()
for tool in prosody jq openssl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if ((${#missing[@]})); then
  echo "Not installed: ${missing[*]}; installing Debian's packages (apt-get install ${missing[*]})"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

mkdir -p "$run/commands"
: >"$started"

if $build; then
  echo "Building the node (Release)..."
  dotnet build "$repo/src/Dmuc.Host" -c Release --nologo -v quiet --disable-build-servers >"$run/build.log" 2>&1 \
    || { cat "$run/build.log" >&2; exit 1; }
fi
[[ -x "$node_binary" ]] || { echo "No node binary at $node_binary: run without --no-build" >&2; exit 1; }

write_prosody_config() {
  local host="$1" dir="$2" index="$3"
  cat >"$dir/prosody.cfg.lua" <<CFG
run_as_root = true
pidfile = "$dir/prosody.pid"
data_path = "$dir/prosody-data"
certificates = "$dir/certs"
log = { info = "$dir/prosody.log" }
admins = { "$admin" }
plugin_paths = { "$repo/deploy/prosody" }
modules_enabled = { "roster", "saslauth", "disco", "ping", "presence", "dmuc_multicast" }
modules_disabled = { "s2s" }
c2s_ports = { $(c2s_port "$index") }
c2s_interfaces = { "127.0.0.1" }
component_ports = { $(component_port "$index") }
component_interfaces = { "127.0.0.1" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
gc = { mode = "incremental", threshold = 200, speed = 500 }
VirtualHost "$host"
  dmuc_multicast_senders = { "$muc_domain" }
Component "$muc_domain"
  component_secret = "$secret"
  modules_enabled = { "dmuc_stream_ack", "dmuc_delivered" }
CFG
}

start_postgres() {
  local dir="$run/postgres" bin=/usr/lib/postgresql/15/bin
  if [[ ! -x "$bin/pg_ctl" ]]; then
    echo "PostgreSQL 15 is not installed: installing Debian's package (apt-get install postgresql)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql
  fi
  # PostgreSQL refuses to run as root, and its user must be able to reach the folder: it may pass through the run folder
  # (a temporary folder is made private), without listing it.
  chmod o+x "$run"
  install -d -o postgres "$dir"
  [[ -d "$dir/data" ]] || su postgres -c "$bin/initdb -D '$dir/data' -A trust -U postgres --no-sync" >"$dir/initdb.log"
  su postgres -c "$bin/pg_ctl -D '$dir/data' -l '$dir/postgres.log' -o '-p $postgres_port -k $dir -c listen_addresses=127.0.0.1' -w start" >/dev/null
  echo "$(head -1 "$dir/data/postmaster.pid") postgres" >>"$started"
  su postgres -c "psql -h 127.0.0.1 -p $postgres_port -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname = 'dmuc'\"" | grep -q 1 \
    || su postgres -c "psql -h 127.0.0.1 -p $postgres_port -U postgres -qc 'CREATE DATABASE dmuc'"
}

journal_args=()
if $use_postgres; then
  start_postgres
  journal_args=(--journal PostgreSql --journal-connection "Host=127.0.0.1;Port=$postgres_port;Username=postgres;Database=dmuc")
  echo "PostgreSQL is up on 127.0.0.1:$postgres_port (database dmuc)"
fi

for index in "${!hosts[@]}"; do
  host="${hosts[$index]}"
  dir="$run/$host"
  mkdir -p "$dir/prosody-data" "$dir/certs" "$dir/dmuc-data"
  write_prosody_config "$host" "$dir" "$index"
  for user in ${users[$host]}; do
    prosodyctl --config "$dir/prosody.cfg.lua" register "$user" "$host" "$password" >/dev/null
  done
  start_detached "prosody-$host" "$dir/prosody.console.log" prosody --config "$dir/prosody.cfg.lua" -F
done

# Each node's certificate names its host, and the primary's also the MUC domain: what it may speak for.
tls="$run/tls"
"$repo/deploy/tls/make-certs.sh" "$tls" authority "Dmuc local topology authority" >/dev/null
for index in "${!hosts[@]}"; do
  host="${hosts[$index]}"
  primary_claim=()
  ((index == 0)) && primary_claim=(--primary "$muc_domain")
  "$repo/deploy/tls/make-certs.sh" "$tls" node "$host" --host "$host" "${primary_claim[@]}" >/dev/null
done

# With --failover the primary's rooms are sharded over it and a second primary-capable node of its host.
placement_args=()
$failover && placement_args=(--placement Sharded)
failover_name="dmuc-node-$primary_host-2"
failover_cluster_port=$((base_port + 43))
failover_management_port=$((base_port + 49))
if $failover; then
  "$repo/deploy/tls/make-certs.sh" "$tls" node "$primary_host-2" --host "$primary_host" --primary "$muc_domain" >/dev/null
fi

# The last lines of every node's and Prosody's log: what an operator needs when the topology does not come up.
print_log_tails() {
  local log
  for log in "$run"/*/dmuc-node.log "$run"/*/prosody.log; do
    [[ -f "$log" ]] || continue
    echo "--- last lines of $log" >&2
    tail -n 15 "$log" >&2
  done
  for log in "$run"/*/dmuc-node.log; do
    [[ -f "$log" ]] || continue
    echo "--- last warnings and errors of $log" >&2
    grep -E " (WRN|ERR|FTL)\] " "$log" | tail -n 10 | cut -c1-400 >&2
  done
}

# The name of a process up.sh started that is no longer running, if any.
dead_process() {
  local pid name
  while read -r pid name; do
    [[ "$name" == postgres ]] && continue
    # A child of this script that exited stays a zombie until reaped: kill -0 would still find it.
    [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" =~ ^[^Z] ]] || { echo "$name"; return 0; }
  done <"$started"
  return 1
}

# Polls until the command "$2.." succeeds; fails saying what it waited for when a process it started died or the
# topology's one deadline passed, with the logs' last lines.
ready_deadline=$((SECONDS + ready_timeout_seconds))
wait_until() {
  local what="$1" dead
  shift
  until "$@"; do
    local reason=""
    if dead=$(dead_process); then
      reason="$dead exited while waiting for $what"
    elif ((SECONDS > ready_deadline)); then
      reason="Timed out after ${ready_timeout_seconds} s waiting for $what"
    fi
    if [[ -n "$reason" ]]; then
      # Said before the tails and again after them: whoever sees only the end of a long output still reads why.
      echo "$reason" >&2
      print_log_tails
      echo "up.sh: $reason" >&2
      return 1
    fi
    sleep 0.2
  done
}

component_in() { grep -qF "External component successfully authenticated" "$run/$1/prosody.log" 2>/dev/null; }

# The primary leads the cluster and logs each member it moves to Up. Akka 1.5 swaps the addresses in that line
# ("Cluster Node [MEMBER] - Leader is moving node [Up] to [LEADER]"), so look for the two parts separately.
member_up() {
  grep -F "Leader is moving node [Up]" "$run/$primary_host/dmuc-node.log" 2>/dev/null | grep -qF "[$cluster_scheme://dmuc@127.0.0.1:$1]"
}

# A node routes to another only once that one proved with its certificate what it serves: every node checks every other.
member_admitted() {
  grep -qF "Admitted cluster member $cluster_scheme://dmuc@127.0.0.1:$2:" "$run/$1/dmuc-node.log" 2>/dev/null
}

# start_node NAME HOST DIR CLUSTER_PORT MANAGEMENT_PORT COMPONENT_PORT CERT ROLE_ARGS...
start_node() {
  local name="$1" host="$2" dir="$3" cluster="$4" management="$5" component="$6" cert="$7"
  shift 7
  mkdir -p "$dir/dmuc-data"
  start_detached "$name" "$dir/dmuc-node.log" "$node_binary" \
    --server "127.0.0.1:$component" --domain "$muc_domain" --secret "$secret" \
    --data "$dir/dmuc-data" --host-domain "$host" "$@" "${seed_args[@]}" \
    --tls-cert "$tls/$cert.pem" --tls-key "$tls/$cert-key.pem" --tls-ca "$tls/ca.pem" \
    --cluster-host 127.0.0.1 --cluster-port "$cluster" \
    --management-url "http://127.0.0.1:$management" --allow-netsplit-drills \
    --Dmuc:Admins:0 "$admin" "${journal_args[@]}" \
    --Serilog:MinimumLevel:Override:Akka.Actor.ActorSystem Information
}

# The primary first (it is the first seed), and each other node once the one before it is Up: nodes started all at once
# contact each other all at once, and two whose first associations crossed on a loaded machine were seen never to
# associate again (Akka.Remote: mutually unreachable for good, the cluster's leader stuck), and the topology never came up.
echo "Starting the nodes, each once the one before it is in the cluster..."
for index in "${!hosts[@]}"; do
  host="${hosts[$index]}"
  role_args=(--role Primary "${placement_args[@]}")
  ((index == 0)) || role_args=(--role Replica)
  start_node "dmuc-node-$host" "$host" "$run/$host" "$(cluster_port "$index")" "$(management_port "$index")" \
    "$(component_port "$index")" "$host" "${role_args[@]}"
  wait_until "$host's node to connect to its Prosody" component_in "$host"
  wait_until "$host's node to be Up in the cluster" member_up "$(cluster_port "$index")"
done
if $failover; then
  start_node "$failover_name" "$primary_host" "$run/$primary_host-2" "$failover_cluster_port" "$failover_management_port" \
    "$(component_port 0)" "$primary_host-2" --role Primary "${placement_args[@]}"
fi

# Started after the host's own node, so that it is the younger member and stands by.
if $use_standby; then
  "$repo/deploy/tls/make-certs.sh" "$tls" node "$standby_host-standby" --host "$standby_host" >/dev/null
  start_node "$standby_name" "$standby_host" "$run/$standby_host-standby" "$(cluster_port "$standby_ports")" \
    "$(management_port "$standby_ports")" "$(component_port 1)" "$standby_host-standby" --role Replica --standby
fi


echo "Waiting for every node to admit every other..."
for index in "${!hosts[@]}"; do
  for other in "${!hosts[@]}"; do
    ((other == index)) || wait_until "${hosts[$other]}'s node to be admitted by ${hosts[$index]}'s" \
      member_admitted "${hosts[$index]}" "$(cluster_port "$other")"
  done
done
if $failover; then
  wait_until "the failover node to be Up in the cluster" member_up "$failover_cluster_port"
  for index in "${!hosts[@]}"; do
    wait_until "the failover node to be admitted by ${hosts[$index]}'s" member_admitted "${hosts[$index]}" "$failover_cluster_port"
  done
fi

standing_by() { grep -qF "Standing by for $standby_host: $cluster_scheme://dmuc@127.0.0.1:$(cluster_port 1) serves the host" "$run/$standby_host-standby/dmuc-node.log" 2>/dev/null; }
if $use_standby; then
  wait_until "the standby to be Up in the cluster" member_up "$(cluster_port "$standby_ports")"
  wait_until "the standby to stand by for $standby_host" standing_by
fi

write_topology() {
  local index host json='[]' user_list
  for index in "${!hosts[@]}"; do
    host="${hosts[$index]}"
    user_list=$(printf '%s\n' ${users[$host]} | jq -R --arg host "$host" --arg password "$password" \
      '{ jid: (. + "@" + $host), password: $password }' | jq -s .)
    json=$(jq --arg host "$host" --argjson c2s "$(c2s_port "$index")" --argjson component "$(component_port "$index")" \
      --argjson users "$user_list" --arg role "$( ((index == 0)) && echo primary || echo replica)" \
      --argjson node_pid "$(pid_of "dmuc-node-$host")" --argjson prosody_pid "$(pid_of "prosody-$host")" \
      --arg cluster "$cluster_scheme://dmuc@127.0.0.1:$(cluster_port "$index")" --arg dir "$run/$host" \
      --arg management "http://127.0.0.1:$(management_port "$index")" \
      '. + [{ domain: $host, c2s: { host: "127.0.0.1", port: $c2s, tls: false }, users: $users,
              prosody: { pid: $prosody_pid, component_port: $component, log: ($dir + "/prosody.log") },
              node: { name: ("dmuc-node-" + $host), role: $role, pid: $node_pid, cluster_address: $cluster,
                      management_address: $management, log: ($dir + "/dmuc-node.log") } }]' <<<"$json")
  done
  local failover_node=null
  if $failover; then
    failover_node=$(jq -n --arg name "$failover_name" --argjson pid "$(pid_of "$failover_name")" \
      --arg cluster "$cluster_scheme://dmuc@127.0.0.1:$failover_cluster_port" \
      --arg management "http://127.0.0.1:$failover_management_port" --arg log "$run/$primary_host-2/dmuc-node.log" \
      '{ name: $name, role: "primary", pid: $pid, cluster_address: $cluster, management_address: $management, log: $log }')
  fi
  jq -n --arg muc "$muc_domain" --arg room "$room" --argjson hosts "$json" --argjson failover "$failover_node" \
    --arg journal "$($use_postgres && echo PostgreSql || echo Sqlite)" \
    '{ muc_domain: $muc, room: $room, journal: $journal, hosts: $hosts, failover_node: $failover }' >"$run/topology.json"
}
write_topology

echo
echo "The local DMUC topology is up (state and logs in $run, summary in $run/topology.json)."
echo "Join $room from any XMPP client: server 127.0.0.1, no TLS (plain authentication), password \"$password\":"
for index in "${!hosts[@]}"; do
  host="${hosts[$index]}"
  printf '  %-20s port %-5s users: %s\n' "$host" "$(c2s_port "$index")" "${users[$host]}"
done
echo "e.g. profanity: /account add argl; /account set argl jid argl@killrc.oulubox.irc; /account set argl server 127.0.0.1;"
echo "     /account set argl port $(c2s_port 1); /account set argl tls disable; /connect argl; /join $room"
$failover && echo "The rooms are sharded over avalon.irc's two nodes ($cluster_scheme://dmuc@127.0.0.1:$(cluster_port 0) and :$failover_cluster_port);" \
  "rehearse a failover with deploy/local/crash.sh dmuc-node-$primary_host (or $failover_name)."
echo "Watch it: http://127.0.0.1:$(management_port 0)/status (the cluster's picture); ./dmuc cluster show, ./dmuc room show wallops."
if $use_standby; then
  echo "$standby_host has a standby node ($standby_name, log $run/$standby_host-standby/dmuc-node.log): deploy/local/crash.sh"
  echo "  dmuc-node-$standby_host kills the host's node, and the standby takes the host over within about 10 s."
fi
echo "Stop it with deploy/local/down.sh."
