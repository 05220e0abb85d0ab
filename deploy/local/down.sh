#!/usr/bin/env bash
# Stops what up.sh started (the processes it recorded in run/started.pids). Safe to run twice.
# Keeps the state (users, journals, logs) in run/: up.sh starts from it again; delete run/ for a clean slate.
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [[ ! -f "$started" && ! -f "$run/postgres/data/postmaster.pid" ]]; then
  echo "Nothing to stop in $run."
  exit 0
fi
echo "Stopping the local DMUC topology in $run..."
stop_all
rm -f "$run/topology.json"
