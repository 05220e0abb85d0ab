# Sourced by up.sh and down.sh: where a local topology keeps its state, and how to stop what it started.
# DMUC_LOCAL_RUN_DIR moves the state elsewhere, so a second topology (the tests' one) does not touch the first.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
run="${DMUC_LOCAL_RUN_DIR:-$here/run}"

# Every process up.sh starts is listed here, one "pid name" per line, in start order.
started="$run/started.pids"
# How each was started (commands/NAME: its log, then its command line, shell-quoted), so restart.sh can start it again.
commands="$run/commands"

# Runs a command in the background, detached from this shell's session (it outlives the script), logging to $log.
# setsid execs in place here (a background job is no group leader), so $! is the process itself.
start_detached() {
  local name="$1" log="$2"
  shift 2
  { printf '%q\n' "$log"; printf '%q ' "$@"; } >"$commands/$name"
  setsid "$@" >"$log" 2>&1 </dev/null &
  echo "$! $name" >>"$started"
}

# The pid recorded for a process up.sh (or restart.sh) started, by name.
pid_of() { awk -v name="$1" '$2 == name { print $1 }' "$started"; }

# True if the pid is running and is still the process we started: a pid can be reused once its process is gone,
# so the command line must still mention our run folder.
is_ours() {
  kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$run"
}

# Stops one recorded process if it is still the one we started.
stop_process() {
  local pid="$1" name="$2"
  if ! kill -0 "$pid" 2>/dev/null; then
    return 0
  fi
  if ! is_ours "$pid"; then
    echo "  $name: pid $pid is no longer ours; left alone"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { echo "  stopped $name (pid $pid)"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  echo "  killed $name (pid $pid): it ignored SIGTERM for 10 s"
}

# PostgreSQL forks its own workers and refuses signals from the wrong user's tools; pg_ctl stops it properly.
stop_postgres() {
  local data="$run/postgres/data"
  if [[ -f "$data/postmaster.pid" ]]; then
    su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D '$data' -m fast -w stop" >/dev/null && echo "  stopped PostgreSQL"
  fi
}

# Stops the nodes first, all at once (a node takes seconds to leave the cluster, and they can leave together), so
# that each tells its occupants (status 332) through a Prosody that still runs; then the Prosodies, then PostgreSQL.
stop_all() {
  if [[ -f "$started" ]]; then
    local pass stoppers
    for pass in nodes servers; do
      stoppers=()
      while read -r pid name; do
        case "$pass:$name" in
          *:postgres | servers:dmuc-node-*) ;;
          nodes:dmuc-node-* | servers:*) stop_process "$pid" "$name" & stoppers+=($!) ;;
        esac
      done <"$started"
      # Only for the stoppers: a bare wait in up.sh (which stops what it started when it fails) would also wait
      # for the processes it started itself, its children, forever.
      ((${#stoppers[@]} == 0)) || wait "${stoppers[@]}"
    done
  fi
  stop_postgres
  rm -f "$started"
}
