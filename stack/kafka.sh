#!/usr/bin/env bash
# Apache Kafka for the local stack: resolved from Maven Central, one KRaft node on loopback;
# with KAFKA_BROKERS=3 (make run KAFKA_BROKERS=3), a three-broker cluster instead.
# Usage: stack/kafka.sh start|stop|status|wait|bootstrap
#   stop and status act on whichever is running, single broker or cluster.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_HOME="$CACHE/kafka"
LIB="$KAFKA_HOME/lib"
DATA="$KAFKA_HOME/data"
LOGS="$KAFKA_HOME/logs"
PIDFILE="$KAFKA_HOME/kafka.pid"
CONFIG="$KAFKA_HOME/server.properties"
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

resolve() {
  # The stamp names the pom's content, so a version bump re-resolves into a clean folder.
  local stamp
  stamp="$(sha256sum "$STACK_DIR/kafka/pom.xml" | cut -c1-16)"
  if [ -f "$LIB/.resolved-$stamp" ]; then return; fi
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  log "resolving Apache Kafka from Maven Central into $LIB"
  rm -rf "$LIB"
  mvn -q -B -Dstyle.color=never -f "$STACK_DIR/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIB" >&2
  touch "$LIB/.resolved-$stamp"
}

configure() {
  mkdir -p "$DATA" "$LOGS"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
    -e "s|@DATA_DIR@|$DATA|g" "$STACK_DIR/kafka/server.properties.in" >"$CONFIG"
  if [ ! -f "$DATA/meta.properties" ]; then
    local cluster_id
    cluster_id="$(java -cp "$LIB/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
    log "formatting storage (cluster $cluster_id)"
    java -cp "$LIB/*" -Dlog4j2.configurationFile="$STACK_DIR/kafka/log4j2.properties" \
      -Dkafka.logs.dir="$LOGS" kafka.tools.StorageTool format --ignore-formatted \
      -t "$cluster_id" -c "$CONFIG" >"$LOGS/format.log" 2>&1 \
      || { cat "$LOGS/format.log" >&2; die "kafka storage format failed"; }
  fi
}

wait_ready() {
  # An open port is not a ready broker: ask for metadata until it answers. A cluster's nodes
  # are asked one by one, until each sees every broker registered: a node that just started
  # answers with the cluster as it last knew it (too small, topics missing) until caught up.
  local timeout="${1:-90}" bootstrap="${2:-$BOOTSTRAP}" brokers="${3:-1}"
  "$VENV_PY" - "$bootstrap" "$timeout" "$brokers" <<'PY' || die "Kafka did not become ready; see $LOGS/server.log"
import sys, time
from confluent_kafka.admin import AdminClient
bootstrap, timeout, brokers = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
admins = [AdminClient({"bootstrap.servers": s, "log_level": 0}) for s in bootstrap.split(",")]
deadline = time.monotonic() + timeout
while True:
    try:
        mds = [admin.list_topics(timeout=2) for admin in admins]
        if all(len(md.brokers) >= brokers and md.controller_id >= 0 for md in mds):
            sys.exit(0)
    except Exception:
        pass
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.5)
PY
}

start() {
  if pid_alive "$PIDFILE"; then log "Kafka already running (pid $(cat "$PIDFILE")) on $BOOTSTRAP"; return; fi
  cluster_running && die "a Kafka cluster is running on $(cluster_bootstrap "$(cluster_size)"); stop it first (bash stack/kafka.sh stop)"
  resolve
  configure
  local started=$SECONDS
  log "starting Kafka on $BOOTSTRAP"
  # setsid: the broker must outlive the shell (make) that started it.
  setsid nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$STACK_DIR/kafka/log4j2.properties" -Dkafka.logs.dir="$LOGS" \
    -cp "$LIB/*" kafka.Kafka "$CONFIG" >"$LOGS/stdout.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  wait_ready 120
  log "Kafka ready on $BOOTSTRAP after $((SECONDS - started)) s"
}

stop() {
  if cluster_running; then cluster_stop
  elif ! pid_alive "$PIDFILE"; then log "Kafka not running"; fi
  if pid_alive "$PIDFILE"; then stop_pid "$PIDFILE" Kafka; else rm -f "$PIDFILE"; fi
}

stop_pid() {
  local pidfile="$1" name="$2" pid; pid="$(cat "$1")"
  log "stopping $name (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { log "$name did not stop in 30 s, killing it"; kill -9 "$pid"; }
  rm -f "$pidfile"
}

status() {
  if pid_alive "$PIDFILE"; then echo "kafka: running (pid $(cat "$PIDFILE")) on $BOOTSTRAP"
  elif cluster_running; then cluster_status
  else echo "kafka: stopped"; return 3; fi
}

# --- The cluster (KAFKA_BROKERS > 1) ------------------------------------------------------
# Node i (1..N) serves clients on KAFKA_PORT+i-1 (29092, 29093, 29094) and its controller on
# CLUSTER_CONTROLLER_PORT+i-1 (29192, ...), a block apart so no N makes them meet; its data,
# logs and pid file are in $CLUSTER/node-i. Every node is broker and controller (see
# stack/kafka/cluster.properties.in): three JVMs, not six, and a quorum that survives one.
CLUSTER="$KAFKA_HOME/cluster"
CLUSTER_CONTROLLER_PORT="${LEADSYNC_STACK_CLUSTER_CONTROLLER_PORT:-29192}"

cluster_bootstrap() {
  local n="$1" i servers=()
  for ((i = 0; i < n; i++)); do servers+=("127.0.0.1:$((KAFKA_PORT + i))"); done
  (IFS=,; echo "${servers[*]}")
}

# The size of the cluster on disk (the nodes ever started), 0 when there is none.
cluster_size() {
  if [ -d "$CLUSTER" ]; then find "$CLUSTER" -maxdepth 1 -name 'node-*' -type d | wc -l; else echo 0; fi
}

cluster_running() {
  local pidfile
  for pidfile in "$CLUSTER"/node-*/kafka.pid; do pid_alive "$pidfile" && return 0; done
  return 1
}

cluster_configure() {
  local n="$1" rf="$2" min_isr="$3" i voters=() cluster_id
  for ((i = 1; i <= n; i++)); do voters+=("$i@127.0.0.1:$((CLUSTER_CONTROLLER_PORT + i - 1))"); done
  mkdir -p "$CLUSTER"
  # One id for all nodes, kept so that a node whose data was wiped rejoins the same cluster.
  [ -s "$CLUSTER/cluster-id" ] \
    || java -cp "$LIB/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1 >"$CLUSTER/cluster-id"
  cluster_id="$(cat "$CLUSTER/cluster-id")"
  for ((i = 1; i <= n; i++)); do
    local node="$CLUSTER/node-$i"
    mkdir -p "$node/data" "$node/logs"
    sed -e "s|@NODE_ID@|$i|g" -e "s|@VOTERS@|$(IFS=,; echo "${voters[*]}")|g" \
      -e "s|@KAFKA_PORT@|$((KAFKA_PORT + i - 1))|g" \
      -e "s|@CONTROLLER_PORT@|$((CLUSTER_CONTROLLER_PORT + i - 1))|g" \
      -e "s|@DATA_DIR@|$node/data|g" -e "s|@REPLICATION_FACTOR@|$rf|g" -e "s|@MIN_ISR@|$min_isr|g" \
      "$STACK_DIR/kafka/cluster.properties.in" >"$node/server.properties"
    if [ ! -f "$node/data/meta.properties" ]; then
      log "formatting node $i's storage (cluster $cluster_id)"
      java -cp "$LIB/*" -Dlog4j2.configurationFile="$STACK_DIR/kafka/log4j2.properties" \
        -Dkafka.logs.dir="$node/logs" kafka.tools.StorageTool format --ignore-formatted \
        -t "$cluster_id" -c "$node/server.properties" >"$node/logs/format.log" 2>&1 \
        || { cat "$node/logs/format.log" >&2; die "kafka storage format failed for node $i"; }
    fi
  done
}

cluster_start() {
  local n="$1" on_disk; on_disk="$(cluster_size)"
  # Three replicas where there are three brokers or more; min ISR 2 from 3 (leadsync derives
  # the same for its topics from LEADSYNC_TOPIC_REPLICATION_FACTOR).
  local rf=$((n < 3 ? n : 3)); local min_isr=$((rf >= 3 ? 2 : 1))
  local bootstrap; bootstrap="$(cluster_bootstrap "$n")"
  pid_alive "$PIDFILE" && die "the single Kafka broker is running on $BOOTSTRAP; stop it first (bash stack/kafka.sh stop)"
  [ "$on_disk" -eq 0 ] || [ "$on_disk" -eq "$n" ] \
    || die "$CLUSTER holds a $on_disk-node cluster, not $n: use KAFKA_BROKERS=$on_disk, or remove $CLUSTER"
  resolve
  cluster_configure "$n" "$rf" "$min_isr"
  local started=$SECONDS i
  for ((i = 1; i <= n; i++)); do
    local node="$CLUSTER/node-$i"
    if pid_alive "$node/kafka.pid"; then log "node $i already running (pid $(cat "$node/kafka.pid"))"; continue; fi
    log "starting Kafka node $i on 127.0.0.1:$((KAFKA_PORT + i - 1))"
    # Three JVMs share the machine: a smaller heap each than the single broker's.
    setsid nohup java -Xms128m -Xmx256m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$STACK_DIR/kafka/log4j2.properties" -Dkafka.logs.dir="$node/logs" \
      -cp "$LIB/*" kafka.Kafka "$node/server.properties" >"$node/logs/stdout.log" 2>&1 </dev/null &
    echo $! >"$node/kafka.pid"
  done
  LOGS="$CLUSTER/node-*/logs" wait_ready 180 "$bootstrap" "$n"
  log "Kafka cluster of $n ready on $bootstrap after $((SECONDS - started)) s" \
    "(replication factor $rf, min.insync.replicas $min_isr; set LEADSYNC_TOPIC_REPLICATION_FACTOR=$rf)"
}

cluster_stop() {
  # All nodes at once: stopped one after the other, the last ones lose the controller quorum
  # and wait for it until they are killed.
  local pidfile pids=()
  for pidfile in "$CLUSTER"/node-*/kafka.pid; do
    if pid_alive "$pidfile"; then pids+=("$(cat "$pidfile")"); else rm -f "$pidfile"; fi
  done
  log "stopping the Kafka cluster (pids ${pids[*]})"
  kill "${pids[@]}"
  local pid
  for _ in $(seq 1 60); do
    local left=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    [ "$left" -eq 1 ] || break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null && { log "Kafka pid $pid did not stop in 30 s, killing it"; kill -9 "$pid"; }
  done
  rm -f "$CLUSTER"/node-*/kafka.pid
}

cluster_status() {
  local n; n="$(cluster_size)"
  echo "kafka: cluster of $n on $(cluster_bootstrap "$n")"
  local i up=0
  for ((i = 1; i <= n; i++)); do
    local pidfile="$CLUSTER/node-$i/kafka.pid"
    if pid_alive "$pidfile"; then echo "  node $i: running (pid $(cat "$pidfile")) on 127.0.0.1:$((KAFKA_PORT + i - 1))"; up=$((up + 1))
    else echo "  node $i: stopped"; fi
  done
  [ "$up" -eq "$n" ] || return 3
}

BROKERS="${KAFKA_BROKERS:-1}"
[[ "$BROKERS" =~ ^[1-9]$ ]] || die "KAFKA_BROKERS must be a number from 1 to 9, not '$BROKERS'"

case "${1:-}" in
  start) if [ "$BROKERS" -eq 1 ]; then start; else cluster_start "$BROKERS"; fi ;;
  stop) stop ;;
  status) status ;;
  wait)
    if [ "$BROKERS" -eq 1 ]; then wait_ready "${2:-60}"
    else wait_ready "${2:-60}" "$(cluster_bootstrap "$BROKERS")" "$BROKERS"; fi ;;
  bootstrap) if [ "$BROKERS" -eq 1 ]; then echo "$BOOTSTRAP"; else cluster_bootstrap "$BROKERS"; fi ;;
  *) die "usage: [KAFKA_BROKERS=3] $0 start|stop|status|wait|bootstrap" ;;
esac
