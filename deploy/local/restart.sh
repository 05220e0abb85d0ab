#!/usr/bin/env bash
# Starts again one process of the local topology that is no longer running (after crash.sh, or a crash of its own),
# with the command line up.sh gave it; its log is appended to, and started.pids and topology.json get the new pid.
#   restart.sh NAME    NAME as in run/started.pids: prosody-HOST or dmuc-node-HOST
# It returns once the process runs; the caller waits for whatever readiness it needs (c2s port, component).
set -euo pipefail
source "$(dirname "$0")/common.sh"

name="${1:?usage: $0 NAME (prosody-HOST or dmuc-node-HOST, as in $started)}"
[[ -f "$commands/$name" ]] || { echo "No recorded command for $name in $commands" >&2; exit 1; }
old_pid="$(pid_of "$name")"
if [[ -n "$old_pid" ]] && is_ours "$old_pid"; then
  echo "$name is still running (pid $old_pid); crash or stop it first" >&2
  exit 1
fi

mapfile -t recorded <"$commands/$name"
eval "log=${recorded[0]}; command=(${recorded[1]})"
setsid "${command[@]}" >>"$log" 2>&1 </dev/null &
pid=$!
# Rewritten in place, keeping the start order that down.sh relies on.
awk -v name="$name" -v pid="$pid" '$2 == name { $1 = pid } { print }' "$started" >"$started.new" && mv "$started.new" "$started"
if [[ -f "$run/topology.json" ]]; then
  case "$name" in
    prosody-*) filter='(.hosts[] | select(.domain == $host) | .prosody.pid) = $pid'; host="${name#prosody-}" ;;
    dmuc-node-*) filter='(.hosts[] | select(.domain == $host) | .node.pid) = $pid'; host="${name#dmuc-node-}" ;;
  esac
  jq --arg host "$host" --argjson pid "$pid" "$filter" "$run/topology.json" >"$run/topology.json.new" && mv "$run/topology.json.new" "$run/topology.json"
fi
echo "started $name again (pid $pid)"
