# Shared by the local-stack scripts: where things live and which loopback ports they use.
# Source it; do not run it. Every value can be overridden from the environment.
set -euo pipefail

STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$STACK_DIR/.." && pwd)"
CACHE="${LEADSYNC_STACK_CACHE:-$ROOT/.cache}"
VENV_PY="$ROOT/.venv/bin/python"

# Off the usual ports so that a Kafka or PostgreSQL already on the machine is left alone;
# leadsync/settings.py uses the same numbers as its defaults.
KAFKA_PORT="${LEADSYNC_STACK_KAFKA_PORT:-29092}"
CONTROLLER_PORT="${LEADSYNC_STACK_CONTROLLER_PORT:-29093}"
PG_PORT="${LEADSYNC_STACK_PG_PORT:-25432}"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# Runs a command with apt-get available, installing the named Debian packages first.
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing Debian packages: $*"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
