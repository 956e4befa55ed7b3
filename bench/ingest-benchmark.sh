#!/usr/bin/env bash
# DICOM ingest benchmark: the gateway vs DCMTK's storescp, same files, same storescu, same machine.
#
#   bench/ingest-benchmark.sh [--slices 300] [--size 512] [--repeats 3] [--quiet-period 2s]
#                             [--warmup 30] [--storescp-only]
#
# What it does (everything under data/bench/, nothing else touched):
#   1. builds the TCP_NODELAY LD_PRELOAD shim (bench/nodelay/nodelay.c -> data/bench/libnodelay.so);
#      storescu and storescp always run with it, otherwise the numbers measure Nagle + delayed ACK
#   2. generates the CT series once (data/bench/ct-SLICESxSIZE/) with the project's
#      org.meddiff.gateway.tools.SyntheticCtSeries if the packaged app has it, else with
#      bench/make-ct-series.py (python3-pydicom); plus a small warm-up series for the gateway JVM
#   3. alternates, REPEATS times: (a) storescp (plain, writing to disk) receiving the files from one
#      storescu association; (b) the gateway (fresh bin/kafka-broker + java -jar, fresh spool on the
#      same disk, quiet period QUIET) receiving the same files from the same storescu command,
#      after a warm-up series; wall time of storescu -> instances/s
#   4. (c) series-ready latency: CreateTime of the dicom.series.ready record for the benchmark series
#      (read with Kafka's ConsoleConsumer from kafka/lib) minus the time storescu returned (last
#      instance acknowledged) minus the quiet period
#   5. prints a Markdown table (machine, date, medians) for docs/BENCHMARKS.md; logs stay in
#      data/bench/run-*/ (received files, spool and Kafka data are deleted unless KEEP_OUTPUT=1)
# Needs the packaged app (./mvnw -B package -DskipTests) unless --storescp-only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SLICES=300; SIZE=512; REPEATS=3; QUIET=2s; WARMUP=30; SCP_ONLY=0
while (($#)); do
  case "$1" in
    --slices) SLICES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --repeats) REPEATS=$2; shift 2 ;;
    --quiet-period) QUIET=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --storescp-only) SCP_ONLY=1; shift ;;
    -h|--help) awk 'NR > 1 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "ingest-benchmark: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$QUIET" in
  *ms) QUIET_MS=${QUIET%ms} ;;
  *s) QUIET_MS=$(( ${QUIET%s} * 1000 )) ;;
  *) echo "ingest-benchmark: --quiet-period must look like 2s or 1500ms" >&2; exit 2 ;;
esac

. bin/java-env
for tool in storescu storescp gcc curl; do
  command -v $tool >/dev/null || { echo "ingest-benchmark: $tool missing: run bin/setup" >&2; exit 1; }
done
JAR=target/quarkus-app/quarkus-run.jar
if [ $SCP_ONLY = 0 ] && [ ! -f "$JAR" ]; then
  echo "ingest-benchmark: $JAR is missing: build the gateway first (./mvnw -B package -DskipTests)," >&2
  echo "  or run with --storescp-only for the storescp baseline alone." >&2
  exit 1
fi
if [ $SCP_ONLY = 0 ] && ! ls kafka/lib/kafka_2.13-*.jar >/dev/null 2>&1; then
  echo "ingest-benchmark: kafka/lib is empty: run bin/setup" >&2; exit 1
fi

B=data/bench
mkdir -p $B
SHIM="$ROOT/$B/libnodelay.so"
if [ ! -f "$SHIM" ] || [ bench/nodelay/nodelay.c -nt "$SHIM" ]; then
  gcc -shared -fPIC -O2 -Wall -o "$SHIM" bench/nodelay/nodelay.c -ldl
fi

now_ms() { date +%s%3N; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
new_uid() { /usr/bin/python3 -c 'import uuid; print("2.25.%d" % uuid.uuid4().int)'; }

APP_CP="target/quarkus-app/app/*:target/quarkus-app/lib/main/*"
have_generator() {
  [ -f "$JAR" ] && for j in target/quarkus-app/app/*.jar; do
    unzip -l "$j" 2>/dev/null | grep -q 'org/meddiff/gateway/tools/SyntheticCtSeries.class' && return 0
  done; return 1
}
# generate DIR SLICES STUDY_UID SERIES_UID
generate() {
  local dir=$1 n=$2 study=$3 series=$4
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  if have_generator; then
    java -cp "$APP_CP" org.meddiff.gateway.tools.SyntheticCtSeries --out "$dir.tmp" --slices "$n" --size "$SIZE" \
      --thickness 1 --description "Synthetic CT 1 mm" --study-uid "$study" --series-uid "$series" >/dev/null
  else
    /usr/bin/python3 bench/make-ct-series.py --out "$dir.tmp" --slices "$n" --size "$SIZE" --thickness 1 >/dev/null
  fi
  # Record the UIDs the files really carry.
  local f=("$dir.tmp"/*.dcm)   # (no `ls | head`: with pipefail, SIGPIPE would end the script)
  { echo "STUDY=$(dcmdump +P 0020,000d "${f[0]}" | sed 's/.*\[\(.*\)\].*/\1/')"
    echo "SERIES=$(dcmdump +P 0020,000e "${f[0]}" | sed 's/.*\[\(.*\)\].*/\1/')"; } > "$dir.tmp/uids.env"
  mv "$dir.tmp" "$dir"
}
DATA=$B/ct-${SLICES}x${SIZE}
[ -f $DATA/uids.env ] || { echo "generating $SLICES CT slices of ${SIZE}x${SIZE} in $DATA ..."; generate $DATA "$SLICES" "$(new_uid)" "$(new_uid)"; }
WDATA=$B/ct-warmup-${WARMUP}x${SIZE}
if [ $SCP_ONLY = 0 ] && [ "$WARMUP" -gt 0 ] && [ ! -f $WDATA/uids.env ]; then
  generate $WDATA "$WARMUP" "$(new_uid)" "$(new_uid)"
fi
. $DATA/uids.env
FILES=("$DATA"/*.dcm)
N=${#FILES[@]}
BYTES=$(du -cb "${FILES[@]}" | tail -1 | cut -f1)

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
stop_pid() {  # SIGTERM, wait up to 30 s, SIGKILL
  local p=$1
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

# storescu with the shim; prints wall milliseconds; fails on any non-success response.
store() {  # AET PORT LOG FILES...
  local aet=$1 port=$2 log=$3; shift 3
  local t0 t1 ok
  t0=$(now_ms)
  LD_PRELOAD="$SHIM" storescu -v -aet BENCH -aec "$aet" -to 30 -ta 30 -td 120 127.0.0.1 "$port" "$@" > "$log" 2>&1 \
    || { echo "storescu failed (see $log)" >&2; return 1; }
  t1=$(now_ms)
  ok=$(grep -c 'Received Store Response (Success)' "$log" || true)
  [ "$ok" = "$#" ] || { echo "storescu: only $ok of $# stored with success (see $log)" >&2; return 1; }
  echo $(( t1 - t0 )) "$t1"
}

rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.0f", n / (ms / 1000.0) }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The run_* functions run in this shell (not in $(...)) so that cleanup knows every PID they
# start; they leave their result in RESULT.
run_storescp() {  # RUN_DIR -> RESULT="wall_ms"
  local d=$1 port pid
  rm -rf "$d/storescp-out"; mkdir -p "$d/storescp-out"
  port=$(free_port)
  LD_PRELOAD="$SHIM" storescp -aet STORESCP -od "$d/storescp-out" "$port" > "$d/storescp.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  for _ in $(seq 1 100); do port_open "$port" && break; sleep 0.05; done
  local r; r=$(store STORESCP "$port" "$d/storescu-storescp.log" "${FILES[@]}")
  stop_pid "$pid"
  local got; got=$(find "$d/storescp-out" -type f | wc -l)
  [ "$got" = "$N" ] || { echo "storescp wrote $got of $N files" >&2; return 1; }
  [ "${KEEP_OUTPUT:-0}" = 1 ] || rm -rf "$d/storescp-out"
  RESULT="${r% *}"
}

run_gateway() {  # RUN_DIR -> RESULT="wall_ms ready_latency_ms"
  local d=$1 kport cport dport hport kpid gpid cpid
  rm -rf "$d/kafka" "$d/spool"; mkdir -p "$d"
  kport=$(free_port); cport=$(free_port); dport=$(free_port); hport=$(free_port)
  bin/kafka-broker --data-dir "$d/kafka" --port "$kport" --controller-port "$cport" > "$d/kafka.log" 2>&1 &
  kpid=$!; PIDS+=("$kpid")
  for i in $(seq 1 900); do port_open "$kport" && break; kill -0 $kpid 2>/dev/null || { echo "broker died (see $d/kafka.log)" >&2; return 1; }; sleep 0.1; done
  java --enable-native-access=ALL-UNNAMED -Xmx2g \
    -Dkafka.bootstrap.servers=127.0.0.1:$kport -Dgateway.dicom.port=$dport -Dquarkus.http.port=$hport \
    -Dgateway.spool.dir="$ROOT/$d/spool" -Dgateway.assemble.series-quiet-period=$QUIET \
    -jar "$JAR" > "$d/gateway.log" 2>&1 &
  gpid=$!; PIDS+=("$gpid")
  for i in $(seq 1 900); do
    curl -fsS -o /dev/null "http://127.0.0.1:$hport/q/health/ready" 2>/dev/null && break
    kill -0 $gpid 2>/dev/null || { echo "gateway died (see $d/gateway.log)" >&2; return 1; }
    [ "$i" = 900 ] && { echo "gateway not ready in 90 s (see $d/gateway.log)" >&2; return 1; }
    sleep 0.1
  done
  java -Dlog4j2.configurationFile=kafka/log4j2.properties -cp 'kafka/lib/*' \
    org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server 127.0.0.1:$kport \
    --topic dicom.series.ready --from-beginning --property print.timestamp=true --property print.key=true \
    > "$d/series-ready.txt" 2> "$d/console-consumer.log" &
  cpid=$!; PIDS+=("$cpid")
  if [ "$WARMUP" -gt 0 ]; then
    store "$(gw_aet)" "$dport" "$d/storescu-warmup.log" "$WDATA"/*.dcm > /dev/null
    sleep 1
  fi
  local r ms end_ms
  r=$(store "$(gw_aet)" "$dport" "$d/storescu-gateway.log" "${FILES[@]}")
  ms=${r% *}; end_ms=${r#* }
  # dicom.series.ready for our series: "CreateTime:<ms>\t<key>\t<json>"
  local line="" i
  for i in $(seq 1 $(( (QUIET_MS + 120000) / 200 ))); do
    line=$(grep -m1 -F "$SERIES" "$d/series-ready.txt" || true)
    [ -n "$line" ] && break
    kill -0 $gpid 2>/dev/null || break
    sleep 0.2
  done
  curl -fsS "http://127.0.0.1:$hport/api/studies/$STUDY" > "$d/status.json" 2>/dev/null || true
  stop_pid "$cpid"; stop_pid "$gpid"; stop_pid "$kpid"
  [ "${KEEP_OUTPUT:-0}" = 1 ] || rm -rf "$d/spool" "$d/kafka"
  local lat="n/a"
  if [ -n "$line" ]; then
    local ct; ct=$(echo "$line" | sed -n 's/^CreateTime:\([0-9]*\).*/\1/p')
    [ -n "$ct" ] && lat=$(( ct - end_ms - QUIET_MS ))
    echo "$line" | grep -o '"instanceCount":[0-9]*' > "$d/instance-count.txt" || true
  else
    echo "no dicom.series.ready for $SERIES within $(( QUIET_MS / 1000 + 120 )) s (see $d/)" >&2
  fi
  RESULT="$ms $lat"
}
gw_aet() { echo "${GATEWAY_AET:-MEDDIFF}"; }

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "benchmark: $N files ($(awk -v b="$BYTES" 'BEGIN{printf "%.0f", b/1e6}') MB, ${SIZE}x${SIZE}) from $DATA, $REPEATS repeats, quiet period $QUIET"
SCP_MS=(); GW_MS=(); LAT=(); ROWS=()
for r in $(seq 1 "$REPEATS"); do
  d=$B/run-$r
  run_storescp "$d"; s=$RESULT
  SCP_MS+=("$s")
  if [ $SCP_ONLY = 0 ]; then
    run_gateway "$d"; g=$RESULT
    GW_MS+=("${g% *}"); LAT+=("${g#* }")
    ROWS+=("| $r | $(rate "$N" "$s") | $(rate "$N" "${g% *}") | $(awk -v a="$s" -v b="${g% *}" 'BEGIN{printf "%.2f", a/b}') | ${g#* } |")
    echo "run $r: storescp $s ms ($(rate "$N" "$s")/s), gateway ${g% *} ms ($(rate "$N" "${g% *}")/s), series-ready latency ${g#* } ms" >&2
  else
    ROWS+=("| $r | $(rate "$N" "$s") | - | - | - |")
    echo "run $r: storescp $s ms ($(rate "$N" "$s")/s)" >&2
  fi
done

SCP_MED=$(median "${SCP_MS[@]}")
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "### Ingest: gateway vs storescp ($(date -u +%Y-%m-%d), $(nproc) cores, $CPU)"
echo
echo "$N CT instances of ${SIZE}x${SIZE} ($(awk -v b="$BYTES" 'BEGIN{printf "%.0f", b/1e6}') MB) from one \`storescu\` association on loopback;"
echo "TCP_NODELAY forced on the DCMTK side (bench/nodelay); storescp writes to disk, the gateway spools"
echo "(fsync) and publishes to a local single-node Kafka; quiet period $QUIET. Load average at start: $LOAD_AT_START."
echo
echo "| run | storescp (instances/s) | gateway (instances/s) | gateway / storescp | series-ready latency (ms, after quiet period) |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
if [ $SCP_ONLY = 0 ]; then
  GW_MED=$(median "${GW_MS[@]}")
  LAT_NUM=(); for l in "${LAT[@]}"; do [ "$l" != "n/a" ] && LAT_NUM+=("$l"); done
  LAT_MED="n/a"; ((${#LAT_NUM[@]})) && LAT_MED=$(median "${LAT_NUM[@]}")
  echo "| **median** | **$(rate "$N" "$SCP_MED")** | **$(rate "$N" "$GW_MED")** | **$(awk -v a="$SCP_MED" -v b="$GW_MED" 'BEGIN{printf "%.2f", a/b}')** | **$LAT_MED** |"
else
  echo "| **median** | **$(rate "$N" "$SCP_MED")** | - | - | - |"
fi
echo
echo "Command: \`bench/ingest-benchmark.sh --slices $SLICES --size $SIZE --repeats $REPEATS --quiet-period $QUIET\`"
