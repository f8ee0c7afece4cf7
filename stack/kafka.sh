#!/usr/bin/env bash
# Apache Kafka for the local stack: resolved from Maven Central, one KRaft node on loopback.
# Usage: stack/kafka.sh start|stop|status|wait
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
  # An open port is not a ready broker: ask for metadata until it answers.
  local timeout="${1:-90}"
  "$VENV_PY" - "$BOOTSTRAP" "$timeout" <<'PY' || die "Kafka did not become ready; see $LOGS/server.log"
import sys, time
from confluent_kafka.admin import AdminClient
bootstrap, timeout = sys.argv[1], float(sys.argv[2])
admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
deadline = time.monotonic() + timeout
while True:
    try:
        md = admin.list_topics(timeout=2)
        if md.brokers and md.controller_id >= 0:
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
  if ! pid_alive "$PIDFILE"; then log "Kafka not running"; rm -f "$PIDFILE"; return; fi
  local pid; pid="$(cat "$PIDFILE")"
  log "stopping Kafka (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { log "Kafka did not stop in 30 s, killing it"; kill -9 "$pid"; }
  rm -f "$PIDFILE"
}

status() {
  if pid_alive "$PIDFILE"; then echo "kafka: running (pid $(cat "$PIDFILE")) on $BOOTSTRAP"
  else echo "kafka: stopped"; return 3; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  wait) wait_ready "${2:-60}" ;;
  *) die "usage: $0 start|stop|status|wait" ;;
esac
