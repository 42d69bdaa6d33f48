#!/usr/bin/env bash
# Real servers for the integration tests, without Docker: Apache Kafka (KRaft, one node acting as
# broker and controller) and FerretDB (MongoDB wire protocol, SQLite backend), both on 127.0.0.1 on
# ports that are free when `up` runs.
#
# Usage: scripts/services.sh <command>
#   up                      install what is missing, start both servers, wait until each answers a
#                           real request, then write .services/env (KAFKA_BROKERS=…, MONGODB_URL=…)
#   down                    stop both servers and remove .services/env
#   status                  pid, address and memory of each server; exits 1 unless both run
#   stop-kafka [--kill]     stop the broker only; --kill sends SIGKILL at once, like a crash
#   start-kafka             start the broker again, same port and same data, and wait until ready
#   restart-kafka [--kill]  stop-kafka, then start-kafka
# The last three are for tests that take the broker away mid-stream: .services/env stays valid, and
# a client that retries reconnects to the same address once the broker is back.
#
# Installs (pinned, cached under .tools/, each with a stamp of version + input hash, so a warm run
# neither downloads nor builds):
#   Kafka     tools/kafka/pom.xml → Maven Central → .tools/kafka-<version>/libs, run with `java -cp`
#   FerretDB  tools/ferretdb (go.mod, go.sum) → Go module proxy → .tools/bin/ferretdb-<version>
# Per run: .services/kafka and .services/ferretdb hold data, logs and pid files. Servers are found
# through their pid files only, and a pid is signalled only while /proc/<pid>/cmdline still shows
# the process we started. Stopping sends TERM, then KILL after a timeout. A failed `up` stops what it
# had started.
#
# Environment: SERVICES_READY_TIMEOUT (seconds to wait for each server, default 120).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

readonly TOOLS="$ROOT/.tools"
readonly RUN="$ROOT/.services"
readonly ENV_FILE="$RUN/env"
readonly KAFKA_DIR="$RUN/kafka"
readonly FERRET_DIR="$RUN/ferretdb"
readonly READY_TIMEOUT="${SERVICES_READY_TIMEOUT:-120}"
# A broker's controlled shutdown takes a few seconds; FerretDB stops at once.
readonly KAFKA_STOP_TIMEOUT=30
readonly FERRET_STOP_TIMEOUT=10

say() { echo "services: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# Versions come from the files that pin them, so there is one place to bump each.
pom_property() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" tools/kafka/pom.xml | head -n 1; }
KAFKA_VERSION=$(pom_property kafka.version)
DEPENDENCY_PLUGIN_VERSION=$(pom_property dependency-plugin.version)
FERRETDB_VERSION=$(awk '$1 == "require" && $2 == "github.com/FerretDB/FerretDB" { print $3 }' tools/ferretdb/go.mod)
[[ -n $KAFKA_VERSION && -n $DEPENDENCY_PLUGIN_VERSION ]] || die "cannot read versions from tools/kafka/pom.xml"
[[ -n $FERRETDB_VERSION ]] || die "cannot read the FerretDB version from tools/ferretdb/go.mod"
readonly KAFKA_HOME="$TOOLS/kafka-$KAFKA_VERSION"
readonly FERRET_BIN="$TOOLS/bin/ferretdb-$FERRETDB_VERSION"

require_commands() {
  local missing=() command
  for command in "$@"; do command -v "$command" > /dev/null || missing+=("$command"); done
  [[ ${#missing[@]} -eq 0 ]] || die "missing on PATH: ${missing[*]}"
}

hash_of() { cat "$@" | sha256sum | cut -c1-64; }

# ---------------------------------------------------------------------------------------------------
# Installation

install_kafka() {
  local stamp="$KAFKA_HOME/.stamp" log="$KAFKA_HOME/install.log" want
  want="kafka $KAFKA_VERSION dependency-plugin $DEPENDENCY_PLUGIN_VERSION pom $(hash_of tools/kafka/pom.xml)"
  local jar="$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar"
  if [[ -f $jar && -f $stamp && $(< "$stamp") == "$want" ]]; then return 0; fi
  require_commands java mvn
  say "resolving Kafka $KAFKA_VERSION from Maven Central into ${KAFKA_HOME#"$ROOT"/}/libs"
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME"
  if ! mvn -B -q -ntp -f tools/kafka/pom.xml \
    "org.apache.maven.plugins:maven-dependency-plugin:$DEPENDENCY_PLUGIN_VERSION:copy-dependencies" \
    -Dkafka.libs="$KAFKA_HOME/libs" > "$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "Maven could not resolve the Kafka jars (log: ${log#"$ROOT"/})"
  fi
  [[ -f $jar ]] || die "${jar##*/} missing after Maven"
  echo "$want" > "$stamp"
}

install_ferretdb() {
  local stamp="$FERRET_BIN.stamp" log="$FERRET_BIN.build.log" want
  require_commands go
  want="ferretdb $FERRETDB_VERSION $(GOTOOLCHAIN=local go env GOVERSION) $(hash_of tools/ferretdb/go.mod tools/ferretdb/go.sum tools/ferretdb/main.go)"
  if [[ -x $FERRET_BIN && -f $stamp && $(< "$stamp") == "$want" ]]; then return 0; fi
  say "building FerretDB $FERRETDB_VERSION into ${FERRET_BIN#"$ROOT"/} (a few minutes the first time)"
  mkdir -p "$TOOLS/bin"
  rm -f "$FERRET_BIN" "$stamp"
  # GOTOOLCHAIN=local: never download a toolchain. -mod=readonly: the committed go.sum is the pin.
  # The PostgreSQL backend is compiled out; the tests use SQLite.
  if ! GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS='-mod=readonly -buildvcs=false' \
    go build -C tools/ferretdb -trimpath -tags ferretdb_no_postgresql -o "$FERRET_BIN.tmp" . > "$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "go build of FerretDB failed (log: ${log#"$ROOT"/})"
  fi
  mv "$FERRET_BIN.tmp" "$FERRET_BIN"
  echo "$want" > "$stamp"
}

# The cold path downloads jars and compiles Go at the same time: one waits on the network, the
# other on the CPU.
install_all() {
  local kafka_job ferret_job failed=0
  install_kafka &
  kafka_job=$!
  install_ferretdb &
  ferret_job=$!
  wait "$kafka_job" || failed=1
  wait "$ferret_job" || failed=1
  return "$failed"
}

# ---------------------------------------------------------------------------------------------------
# Processes

# Ports are taken from 20000–31999, below Linux's ephemeral range (32768+), so an outgoing
# connection cannot take the broker's port while a test has it stopped.
pick_ports() {
  node -e '
    const net = require("node:net");
    const want = Number(process.argv[1]);
    const held = [];
    let attempts = 0;
    function next() {
      if (held.length === want) {
        console.log(held.map((server) => server.address().port).join(" "));
        for (const server of held) server.close();
        return;
      }
      if (++attempts > 500) throw new Error("no free port found in 20000-31999");
      const server = net.createServer();
      server.once("error", next);
      server.listen({ port: 20000 + Math.floor(Math.random() * 12000), host: "127.0.0.1", exclusive: true }, () => {
        held.push(server);
        next();
      });
    }
    next();
  ' "$1"
}

# True while pid file $1 names a live (not zombie) process whose command line contains $2.
owned_pid() {
  local pid
  pid=$(cat "$1" 2> /dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2> /dev/null) != Z ]] || return 1
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2> /dev/null | grep -qF -- "$2" || return 1
  echo "$pid"
}

# start_process <pid file> <log file> <command...>: a new session, so a Ctrl-C meant for the test
# run does not reach the server; `down` (or the caller's trap) stops it.
start_process() {
  local pid_file=$1 log=$2
  shift 2
  rm -f "$pid_file"
  # 9>&-: the server must not inherit the lock that serialises services.sh commands.
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pid_file" "$@" >> "$log" 2>&1 < /dev/null 9>&- &
  local i
  for i in $(seq 1 50); do
    [[ -s $pid_file ]] && return 0
    sleep 0.1
  done
  die "no pid file from $*"
}

# stop_process <name> <pid file> <cmdline marker> <timeout s> [KILL]
stop_process() {
  local name=$1 pid_file=$2 marker=$3 timeout=$4 signal=${5:-TERM} pid i
  if ! pid=$(owned_pid "$pid_file" "$marker"); then
    rm -f "$pid_file"
    return 0
  fi
  kill "-$signal" "$pid" 2> /dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    owned_pid "$pid_file" "$marker" > /dev/null || break
    sleep 0.1
  done
  if owned_pid "$pid_file" "$marker" > /dev/null; then
    say "$name (pid $pid) still running after ${timeout}s; sending KILL"
    kill -KILL "$pid" 2> /dev/null || true
    for ((i = 0; i < 50; i++)); do
      owned_pid "$pid_file" "$marker" > /dev/null || break
      sleep 0.1
    done
  fi
  # Reap it if this shell started it (a failed `up`); otherwise init does.
  wait "$pid" 2> /dev/null || true
  rm -f "$pid_file"
  say "$name stopped (pid $pid)"
}

show_log() {
  [[ -f $2 ]] || return 0
  say "last lines of $1 log (${2#"$ROOT"/}):"
  tail -n 60 "$2" | sed 's/^/    /' >&2
}

# ---------------------------------------------------------------------------------------------------
# Kafka

readonly KAFKA_PROPS="$KAFKA_DIR/server.properties"
readonly KAFKA_PID="$KAFKA_DIR/kafka.pid"
readonly KAFKA_LOG="$KAFKA_DIR/kafka.log"

# The flags of Kafka's own start scripts, with a heap sized for tests. TieredStopAtLevel=1 (C1
# only) halves the broker's start on two cores (about 7 s to 3 s); tests never run it long enough
# for the optimising compiler to pay off.
readonly KAFKA_JVM=(-cp "$KAFKA_HOME/libs/*" -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:TieredStopAtLevel=1
  -Djava.awt.headless=true -Dlog4j.configuration="file:$ROOT/tools/kafka/log4j.properties"
  -Dkafka.logs.dir="$KAFKA_DIR")

kafka_broker() { sed -n 's/^KAFKA_BROKERS=//p' "$ENV_FILE" 2> /dev/null; }

# Writes server.properties for fresh ports and formats a fresh KRaft data dir.
kafka_prepare() {
  local broker_port=$1 controller_port=$2 cluster_id
  mkdir -p "$KAFKA_DIR/data"
  sed -e "s#@BROKER_PORT@#$broker_port#g" -e "s#@CONTROLLER_PORT@#$controller_port#g" \
    -e "s#@DATA_DIR@#$KAFKA_DIR/data#g" tools/kafka/server.properties.in > "$KAFKA_PROPS"
  # What `StorageTool random-uuid` prints (16 random bytes, base64url), without a second JVM start.
  cluster_id=$(node -e '
    let id;
    do id = require("node:crypto").randomBytes(16).toString("base64url"); while (id.startsWith("-"));
    console.log(id);')
  if ! java "${KAFKA_JVM[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_PROPS" > "$KAFKA_DIR/format.log" 2>&1; then
    show_log "Kafka storage format" "$KAFKA_DIR/format.log"
    die "could not format the Kafka data dir"
  fi
}

kafka_start() { start_process "$KAFKA_PID" "$KAFKA_LOG" java "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_PROPS"; }

kafka_wait_ready() {
  local broker=$1 pid
  pid=$(cat "$KAFKA_PID")
  if ! node tools/kafka/ready.mjs "$broker" "$pid" "$READY_TIMEOUT"; then
    show_log Kafka "$KAFKA_LOG"
    die "Kafka did not become ready"
  fi
}

kafka_stop() { stop_process Kafka "$KAFKA_PID" "$KAFKA_PROPS" "$KAFKA_STOP_TIMEOUT" "${1:-TERM}"; }

# ---------------------------------------------------------------------------------------------------
# FerretDB

readonly FERRET_PID="$FERRET_DIR/ferretdb.pid"
readonly FERRET_LOG="$FERRET_DIR/ferretdb.log"
# The data dir in the command line tells our server apart from one someone else runs from the
# same binary.
readonly FERRET_MARKER="file:$FERRET_DIR/data/"

ferret_start() {
  local port=$1
  mkdir -p "$FERRET_DIR/data"
  start_process "$FERRET_PID" "$FERRET_LOG" "$FERRET_BIN" -listen-addr "127.0.0.1:$port" \
    -sqlite-url "$FERRET_MARKER" -log-level warn
}

ferret_wait_ready() {
  local url=$1 pid
  pid=$(cat "$FERRET_PID")
  if ! node tools/ferretdb/ready.mjs "$url" "$pid" "$READY_TIMEOUT"; then
    show_log FerretDB "$FERRET_LOG"
    die "FerretDB did not become ready"
  fi
}

ferret_stop() { stop_process FerretDB "$FERRET_PID" "$FERRET_MARKER" "$FERRET_STOP_TIMEOUT"; }

# ---------------------------------------------------------------------------------------------------
# Commands

running() {
  owned_pid "$KAFKA_PID" "$KAFKA_PROPS" > /dev/null && owned_pid "$FERRET_PID" "$FERRET_MARKER" > /dev/null &&
    [[ -f $ENV_FILE ]]
}

stop_all() {
  rm -f "$ENV_FILE"
  ferret_stop
  kafka_stop
  # Data is per run; logs stay for a post-mortem until the next `up`.
  rm -rf "$KAFKA_DIR/data" "$FERRET_DIR/data"
}

cmd_up() {
  local started=$SECONDS
  if running; then
    say "already running (scripts/services.sh down stops them)"
    cat "$ENV_FILE"
    return 0
  fi
  require_commands node java setsid
  stop_all
  install_all
  rm -rf "$KAFKA_DIR" "$FERRET_DIR"
  mkdir -p "$KAFKA_DIR" "$FERRET_DIR"

  up_done=0
  trap '[[ $up_done == 1 ]] || { say "up failed; stopping what it started"; stop_all; }' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  local ports broker_port controller_port mongo_port
  ports=$(pick_ports 3)
  read -r broker_port controller_port mongo_port <<< "$ports"
  kafka_prepare "$broker_port" "$controller_port"
  kafka_start
  ferret_start "$mongo_port"
  ferret_wait_ready "mongodb://127.0.0.1:$mongo_port"
  kafka_wait_ready "127.0.0.1:$broker_port"

  printf '%s\n' "# written by scripts/services.sh up; removed by down" \
    "KAFKA_BROKERS=127.0.0.1:$broker_port" "MONGODB_URL=mongodb://127.0.0.1:$mongo_port" > "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  up_done=1
  say "Kafka $KAFKA_VERSION at 127.0.0.1:$broker_port, FerretDB $FERRETDB_VERSION at 127.0.0.1:$mongo_port" \
    "(up in $((SECONDS - started)) s; connection details in ${ENV_FILE#"$ROOT"/})"
}

cmd_down() {
  stop_all
}

memory_of() {
  awk '/^VmRSS/ { rss = $2 } /^VmHWM/ { hwm = $2 } END { printf "rss %d MiB, peak %d MiB", rss / 1024, hwm / 1024 }' \
    "/proc/$1/status"
}

cmd_status() {
  local pid ok=0
  if pid=$(owned_pid "$KAFKA_PID" "$KAFKA_PROPS"); then
    echo "kafka: running, pid $pid, $(kafka_broker), $(memory_of "$pid")"
  else
    echo "kafka: stopped"
    ok=1
  fi
  if pid=$(owned_pid "$FERRET_PID" "$FERRET_MARKER"); then
    echo "ferretdb: running, pid $pid, $(sed -n 's/^MONGODB_URL=//p' "$ENV_FILE" 2> /dev/null), $(memory_of "$pid")"
  else
    echo "ferretdb: stopped"
    ok=1
  fi
  return $ok
}

cmd_stop_kafka() {
  local signal=TERM
  [[ ${1:-} == --kill ]] && signal=KILL
  kafka_stop "$signal"
}

cmd_start_kafka() {
  [[ -f $KAFKA_PROPS && -f $ENV_FILE ]] || die "start-kafka needs a broker set up by \`up\` (run scripts/services.sh up)"
  if owned_pid "$KAFKA_PID" "$KAFKA_PROPS" > /dev/null; then
    say "Kafka is already running"
    return 0
  fi
  kafka_start
  kafka_wait_ready "$(kafka_broker)"
  say "Kafka back at $(kafka_broker)"
}

main() {
  local command=${1:-}
  shift || true
  [[ -z $command ]] || mkdir -p "$RUN"
  # One command at a time: a `down` from a trap must not race an `up` still starting servers.
  # `status` only reads, so it never waits behind a cold `up`.
  if command -v flock > /dev/null && [[ -n $command && $command != status ]]; then
    exec 9> "$RUN/.lock"
    flock 9
  fi
  case $command in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    stop-kafka) cmd_stop_kafka "$@" ;;
    start-kafka) cmd_start_kafka ;;
    restart-kafka)
      cmd_stop_kafka "$@"
      cmd_start_kafka
      ;;
    *)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
      exit 2
      ;;
  esac
}

main "$@"
