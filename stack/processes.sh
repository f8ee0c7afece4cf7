#!/usr/bin/env bash
# The leadsync processes of the local stack, each in the background with a pid file and a log.
# Usage: stack/processes.sh start|stop|status [name...]   (default: all of them)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUN="$CACHE/run"
LOGS="$CACHE/logs"
LEADSYNC="$ROOT/.venv/bin/leadsync"

# name -> the leadsync sub-command that runs it. Later processes are added here.
declare -A COMMANDS=(
  [sandbox]="sandbox --demo"
  [worker]="worker"
  [scheduler]="scheduler"
  [admin]="admin"
  [ingress]="ingress"
)
ORDER=(sandbox ingress worker scheduler admin)

start_one() {
  local name="$1" pidfile="$RUN/$1.pid"
  if pid_alive "$pidfile"; then log "$name already running (pid $(cat "$pidfile"))"; return; fi
  mkdir -p "$RUN" "$LOGS"
  cd "$ROOT"
  # setsid: the process outlives the shell (make) that started it; all its output goes to the
  # log, so nothing holds the caller's terminal or pipe open. $! is the leadsync process.
  # shellcheck disable=SC2086  # the command is words on purpose
  setsid nohup "$LEADSYNC" ${COMMANDS[$name]} >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  sleep 1
  pid_alive "$pidfile" || { tail -20 "$LOGS/$name.log" >&2; die "$name exited at start; see $LOGS/$name.log"; }
  log "$name started (pid $(cat "$pidfile")), log: $LOGS/$name.log"
}

stop_one() {
  local name="$1" pidfile="$RUN/$1.pid"
  if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return; fi
  local pid; pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  log "$name stopped"
}

status_one() {
  local pidfile="$RUN/$1.pid"
  if pid_alive "$pidfile"; then echo "$1: running (pid $(cat "$pidfile"))"; else echo "$1: stopped"; fi
}

action="${1:-}"; shift || true
names=("$@"); [ ${#names[@]} -gt 0 ] || names=("${ORDER[@]}")
case "$action" in
  start) for n in "${names[@]}"; do start_one "$n"; done ;;
  stop) for ((i=${#names[@]}-1; i>=0; i--)); do stop_one "${names[$i]}"; done ;;
  status) for n in "${names[@]}"; do status_one "$n"; done ;;
  *) die "usage: $0 start|stop|status [name...]" ;;
esac
