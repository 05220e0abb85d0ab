#!/usr/bin/env bash
# Crashes one process of the local topology on purpose: SIGKILL, no chance to clean up (a chaos drill).
#   crash.sh NAME    NAME as in run/started.pids: prosody-HOST or dmuc-node-HOST (e.g. dmuc-node-avalon.irc)
# Start it again with restart.sh NAME.
set -euo pipefail
source "$(dirname "$0")/common.sh"

name="${1:?usage: $0 NAME (prosody-HOST or dmuc-node-HOST, as in $started)}"
pid="$(pid_of "$name")"
[[ -n "$pid" ]] || { echo "No process named $name in $started" >&2; exit 1; }
is_ours "$pid" || { echo "$name (pid $pid) is not running" >&2; exit 1; }
kill -KILL "$pid"
# Gone once /proc no longer lists it as running (a zombie waits only for its parent, which is not us).
for _ in $(seq 1 50); do
  state="$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo gone)"
  [[ "$state" == gone || "$state" == Z ]] && { echo "killed $name (pid $pid)"; exit 0; }
  sleep 0.1
done
echo "$name (pid $pid) is still running 5 s after SIGKILL" >&2
exit 1
