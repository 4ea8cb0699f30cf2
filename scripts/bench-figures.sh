#!/usr/bin/env bash
# The benchmark figures of the issue notes, in two parts (`scripts/bench-figures.sh
# [all|sluice|kbench]`, default all):
# - sluice: the `sluice bench` tools against a single node (acks=1; 1 KiB and 200 B produce and
#   consume, kcat consuming, end-to-end latency, peak RSS, then 100 partitions under full load),
#   a single node that syncs before every answer, and the README's 3-node cluster (acks=all).
# - kbench: the same setups driven by librdkafka (the kbench load generator, KBENCH=path),
#   each figure printed beside its limit: `sluice bench sink` for produce, then
#   scripts/machine-limits.sh.
# Needs `cargo build --release -p sluice` first (SLUICE=path, or CARGO_TARGET_DIR, says where
# the binary is) and ports 9091-9093, 9101-9103 and 9190 free; works in /tmp/sluice-bench.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"
B="${SLUICE:-${CARGO_TARGET_DIR:-$root/target}/release/sluice}"
mode="${1:-all}"
case "$mode" in
  all | sluice | kbench) ;;
  *) echo "usage: $0 [all|sluice|kbench]" >&2; exit 2 ;;
esac
work=/tmp/sluice-bench
rm -rf $work && mkdir -p $work

# The nodes this script started: it stops only those, by pid, since other checkouts on the
# same machine may run their own `sluice server`.
nodes=()
node=

# A single node (127.0.0.1:9092, data in the current directory) with the given overrides.
start_one() {
  $B server "$@" > server.log 2>&1 &
  node=$!
  nodes=($node)
  sleep 4
}

# The README's 3-node cluster: each node a broker and a controller, RF 3, min ISR 2.
start_three() {
  local n
  nodes=()
  for n in 1 2 3; do
    $B server --override node.id=$n \
      --override listeners=PLAINTEXT://127.0.0.1:909$n,CONTROLLER://127.0.0.1:910$n \
      --override controller.listener.names=CONTROLLER \
      --override controller.quorum.voters=1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103 \
      --override log.dirs=./sluice-data-$n \
      --override default.replication.factor=3 --override min.insync.replicas=2 > n$n.log 2>&1 &
    nodes+=($!)
  done
  sleep 8
}

stop_nodes() {
  [ ${#nodes[@]} -gt 0 ] && kill "${nodes[@]}" 2> /dev/null
  wait "${nodes[@]}" 2> /dev/null
  nodes=()
}
trap stop_nodes EXIT

sluice_figures() {
  mkdir -p $work/one && cd $work/one
  start_one
  echo "== single node, acks=1"
  $B bench produce --topic k1 --num-records 1000000 --record-size 1024 --acks 1 | tail -2
  $B bench consume --topic k1 --num-records 1000000 | tail -1
  $B bench consume --topic k1 --num-records 1000000 | tail -1
  /usr/bin/time -f "kcat consume 1 GB of 1 KiB: %e s" kcat -b 127.0.0.1:9092 -C -t k1 -e -o beginning -q -f ''
  $B bench produce --topic s1 --num-records 3000000 --record-size 200 --acks 1 | tail -2
  $B bench consume --topic s1 --num-records 3000000 | tail -1
  $B bench consume --topic s1 --num-records 3000000 | tail -1
  $B bench end-to-end --topic e1 --num-records 50000 | tail -3
  grep VmHWM /proc/$node/status
  echo "== single node, 100 partitions"
  $B topics --bootstrap-server 127.0.0.1:9092 create --topic hp --partitions 100
  $B bench produce --topic hp --num-records 1000000 --record-size 1024 --acks 1 | tail -2
  $B bench consume --topic hp --num-records 1000000 | tail -1
  grep VmHWM /proc/$node/status
  stop_nodes
  echo "== single node, a sync before every answer (log.flush.interval.messages=1), acks=1"
  mkdir -p $work/fsync && cd $work/fsync
  start_one --override log.flush.interval.messages=1
  $B bench produce --topic f1 --num-records 300000 --record-size 1024 --acks 1 | tail -2
  # Eight producers of 200 B records without linger: only group commit can keep up.
  producers=()
  for i in 1 2 3 4 5 6 7 8; do
    $B bench produce --topic f2 --num-records 20000 --record-size 200 --acks 1 --linger-ms 0 \
      --batch-size 16384 > producer-$i.txt &
    producers+=($!)
  done
  wait "${producers[@]}"
  for i in 1 2 3 4 5 6 7 8; do tail -n 2 producer-$i.txt | head -n 1; done
  stop_nodes
  echo "== 3 nodes, acks=all, RF 3, min ISR 2"
  mkdir -p $work/three && cd $work/three
  start_three
  BS=127.0.0.1:9091,127.0.0.1:9092,127.0.0.1:9093
  $B bench produce --bootstrap-server $BS --topic k3 --num-records 300000 --record-size 1024 --acks all | tail -2
  $B bench consume --bootstrap-server $BS --topic k3 --num-records 300000 | tail -1
  $B bench produce --bootstrap-server $BS --topic s3 --num-records 1000000 --record-size 200 --acks all | tail -2
  $B bench consume --bootstrap-server $BS --topic s3 --num-records 1000000 | tail -1
  $B bench end-to-end --bootstrap-server $BS --topic e3 --num-records 50000 --acks all | tail -3
  for p in "${nodes[@]}"; do grep VmHWM /proc/$p/status; done
  stop_nodes
}

# ---------------------------------------------------------------------------------------------
# kbench: the same figures through librdkafka (/work/shared/tools/kbench), the client most
# Kafka-wire brokers are compared with. Produce figures are divided by what kbench reaches
# against `sluice bench sink` in this same run (the client's own ceiling on this machine, which
# moves with whatever else the machine is doing); fsync figures by one fdatasync per MiB, and
# consume figures by one loopback TCP stream (scripts/machine-limits.sh).
# ---------------------------------------------------------------------------------------------

KBENCH="${KBENCH:-/work/target-kbench/release/kbench}"
# Three runs per figure, the median reported: figures on a shared 2-core machine are noisy.
KB_RUNS="${KB_RUNS:-3}"
# Sized for 2 to 6 s per run at the rates seen on a 2-core machine (about 5 minutes in all, and
# 12 GB written under /tmp/sluice-bench).
KB_SINK_1K="${KB_SINK_1K:-6000000}"
KB_SINK_200="${KB_SINK_200:-8000000}"
KB_1K="${KB_1K:-1000000}"
KB_200="${KB_200:-4000000}"
KB_FSYNC_1K="${KB_FSYNC_1K:-800000}"
KB_FSYNC_200_EACH="${KB_FSYNC_200_EACH:-200000}"
KB_THREE_1K="${KB_THREE_1K:-500000}"
KB_E2E="${KB_E2E:-20000}"
SINK_ADDRESS=127.0.0.1:9190

declare -A FIG

# The value of KEY in a RESULT line.
kb_field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# The median of the numbers on standard input (the lower middle one for an even count).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# Runs one kbench command KB_RUNS times as case NAME; keeps each run's RESULT line in
# $kbwork/NAME.results and the full output in $kbwork/NAME.log.
kb_case() {
  local name=$1; shift
  local run line
  : > "$kbwork/$name.results"
  for run in $(seq "$KB_RUNS"); do
    if timeout 300 "$KBENCH" "$@" >> "$kbwork/$name.log" 2>&1; then
      line=$(grep '^RESULT ' "$kbwork/$name.log" | tail -n 1)
      echo "$name #$run: ${line#RESULT }"
      echo "$line" >> "$kbwork/$name.results"
    else
      echo "$name #$run: kbench failed (status $?); last lines of $kbwork/$name.log:"
      tail -n 3 "$kbwork/$name.log" | sed 's/^/    /'
    fi
  done
}

# The median of KEY over case NAME's runs, stored as FIG[NAME.KEY].
kb_median() {
  local name=$1 key=$2
  FIG[$name.$key]=$(sed -n "s/.* $key=\([^ ]*\).*/\1/p" "$kbwork/$name.results" | median)
}

# Eight producers of 200 B records at linger.ms=0 at once, KB_RUNS times: with a sync before
# each answer, only group commit lets their small batches share fdatasyncs. Each round's
# figure is all their records over the slowest one's time.
kb_fsync_eight() {
  local name=fsync_8x200 run i line delivered elapsed total slowest
  : > "$kbwork/$name.results"
  for run in $(seq "$KB_RUNS"); do
    local pids=()
    for i in 1 2 3 4 5 6 7 8; do
      timeout 300 "$KBENCH" produce --topic kf2 --messages "$KB_FSYNC_200_EACH" --size 200 \
        --acks 1 --linger-ms 0 > "$kbwork/$name.$run.$i.log" 2>&1 &
      pids+=($!)
    done
    wait "${pids[@]}"
    total=0 slowest=0
    for i in 1 2 3 4 5 6 7 8; do
      line=$(grep '^RESULT ' "$kbwork/$name.$run.$i.log" | tail -n 1)
      delivered=$(kb_field "$line" delivered) elapsed=$(kb_field "$line" elapsed_s)
      total=$((total + ${delivered:-0}))
      slowest=$(awk -v a="$slowest" -v b="${elapsed:-0}" 'BEGIN { print (b > a) ? b : a }')
    done
    if [ "$total" -gt 0 ] && [ "$slowest" != 0 ]; then
      awk -v n="$total" -v s="$slowest" 'BEGIN {
        printf "RESULT msgs_per_s=%.0f mb_per_s=%.2f delivered=%d elapsed_s=%s\n", n / s, n * 200 / s / 1e6, n, s }' \
        >> "$kbwork/$name.results"
    fi
    echo "$name #$run: 8 producers delivered $total x 200 B, slowest in $slowest s"
  done
}

# MB/s from a dd or machine-limits figure such as "1.2 GB/s" or "350 MB/s".
to_mb_per_s() {
  awk -v v="$1" -v u="$2" 'BEGIN {
    f = (u ~ /^kB/) ? 1e-3 : (u ~ /^GB/) ? 1e3 : (u ~ /^B/) ? 1e-6 : 1; printf "%.1f", v * f }'
}

# NUMERATOR / DENOMINATOR to two places, or "-" when either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

# Waits until something listens on HOST:PORT (at most 20 s).
wait_port() {
  local i
  for i in $(seq 200); do
    (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1"
  return 1
}

kbench_figures() {
  echo "== kbench (librdkafka): $KBENCH, $KB_RUNS runs per figure, medians"
  if [ ! -x "$KBENCH" ]; then
    echo "kbench not found at $KBENCH (set KBENCH, see /work/shared/tools/kbench); skipping the kbench figures"
    return 0
  fi
  kbwork=$work/kbench
  rm -rf "$kbwork" && mkdir -p "$kbwork" && cd "$kbwork" || return 1
  local started=$SECONDS

  echo "-- machine limits"
  "$root/scripts/machine-limits.sh" "$kbwork" | tee limits.txt
  local fsync_limit loopback_limit
  fsync_limit=$(sed -n 's/^disk write (fdatasync per MiB):.*, \([0-9.]*\) \([kMG]*B\/s\)$/\1 \2/p' limits.txt)
  fsync_limit=$(to_mb_per_s $fsync_limit)
  loopback_limit=$(sed -n 's/^loopback TCP, one stream: \([0-9.]*\) GB\/s.*/\1/p' limits.txt)
  loopback_limit=$(to_mb_per_s "$loopback_limit" GB/s)

  echo "-- sink: sluice bench sink, the client's ceiling (no create-topic: the sink's Metadata names any topic)"
  "$B" bench sink --listen $SINK_ADDRESS > sink.log 2>&1 &
  nodes=($!)
  wait_port $SINK_ADDRESS
  kb_case sink_1k produce --brokers $SINK_ADDRESS --topic s1k --messages "$KB_SINK_1K" --size 1024 --acks 1
  kb_case sink_200 produce --brokers $SINK_ADDRESS --topic s200 --messages "$KB_SINK_200" --size 200 --acks 1
  stop_nodes

  echo "-- single node, page cache, acks=1, 1 partition"
  start_one
  "$KBENCH" create-topic --topic k1 --partitions 1 --replication 1 > /dev/null 2>&1
  "$KBENCH" create-topic --topic k2 --partitions 1 --replication 1 > /dev/null 2>&1
  "$KBENCH" create-topic --topic ke --partitions 1 --replication 1 > /dev/null 2>&1
  kb_case one_produce_1k produce --topic k1 --messages "$KB_1K" --size 1024 --acks 1
  kb_case one_produce_200 produce --topic k2 --messages "$KB_200" --size 200 --acks 1
  # 1 KiB records are read about five times faster than written: every run reads what all the
  # produce runs wrote, so that it lasts long enough to time.
  kb_case one_consume_1k consume --topic k1 --messages $((KB_RUNS * KB_1K)) --from beginning
  kb_case one_consume_200 consume --topic k2 --messages "$KB_200" --from beginning
  # librdkafka stops fetching for up to fetch.queue.backoff.ms (1000) once its queue holds
  # queued.min.messages: the broker sits idle then (docs/profiles-issue-13.md, case 3). The same
  # reads without that pause show what the broker serves.
  kb_case one_consume_1k_nb consume --topic k1 --messages $((KB_RUNS * KB_1K)) --from beginning \
    --set fetch.queue.backoff.ms=5
  kb_case one_consume_200_nb consume --topic k2 --messages "$KB_200" --from beginning \
    --set fetch.queue.backoff.ms=5
  # librdkafka's default fetch.wait.max.ms (500): a fetch held until data arrives shows here.
  kb_case one_e2e e2e --topic ke --messages "$KB_E2E" --warmup 1000 --rate 5000 --size 200 --acks 1
  grep VmHWM /proc/$node/status
  stop_nodes

  echo "-- single node, a sync before every answer (log.flush.interval.messages=1), acks=1"
  start_one --override log.flush.interval.messages=1
  "$KBENCH" create-topic --topic kf1 --partitions 1 --replication 1 > /dev/null 2>&1
  "$KBENCH" create-topic --topic kf2 --partitions 1 --replication 1 > /dev/null 2>&1
  kb_case fsync_produce_1k produce --topic kf1 --messages "$KB_FSYNC_1K" --size 1024 --acks 1
  kb_fsync_eight
  stop_nodes

  echo "-- 3 nodes, acks=all, RF 3, min ISR 2"
  start_three
  local bs=127.0.0.1:9091,127.0.0.1:9092,127.0.0.1:9093
  "$KBENCH" create-topic --brokers $bs --topic k3 --partitions 1 --replication 3 > /dev/null 2>&1
  "$KBENCH" create-topic --brokers $bs --topic ke3 --partitions 1 --replication 3 > /dev/null 2>&1
  kb_case three_produce_1k produce --brokers $bs --topic k3 --messages "$KB_THREE_1K" --size 1024 --acks all
  kb_case three_consume_1k consume --brokers $bs --topic k3 --messages $((KB_RUNS * KB_THREE_1K)) --from beginning
  kb_case three_e2e e2e --brokers $bs --topic ke3 --messages "$KB_E2E" --warmup 1000 --rate 5000 --size 200 --acks all
  for p in "${nodes[@]}"; do grep VmHWM /proc/$p/status; done
  stop_nodes

  local name
  for name in sink_1k sink_200 one_produce_1k one_produce_200 one_consume_1k one_consume_200 \
    one_consume_1k_nb one_consume_200_nb fsync_produce_1k fsync_8x200 three_produce_1k \
    three_consume_1k; do
    kb_median $name msgs_per_s
    kb_median $name mb_per_s
  done
  for name in one_e2e three_e2e; do
    kb_median $name p50_ms
    kb_median $name p99_ms
    kb_median $name p50_produce_ms
  done

  local sink_1k=${FIG[sink_1k.mb_per_s]} sink_200=${FIG[sink_200.mb_per_s]}
  echo
  echo "== kbench figures (median of $KB_RUNS; MB = 10^6 B of values; the kbench part took $((SECONDS - started)) s)"
  printf '%-44s %12s %10s   %-34s %7s\n' figure msgs/s MB/s "limit (MB/s)" ratio
  row() { # name label limit-label limit-MB/s
    printf '%-44s %12s %10s   %-34s %7s\n' "$2" "${FIG[$1.msgs_per_s]:--}" "${FIG[$1.mb_per_s]:--}" \
      "$3${4:+ $4}" "$(ratio "${FIG[$1.mb_per_s]}" "$4")"
  }
  row sink_1k "sink produce 1 KiB, acks=1" "(the ceiling)" ""
  row sink_200 "sink produce 200 B, acks=1" "(the ceiling)" ""
  row one_produce_1k "1 node produce 1 KiB, acks=1" "sink 1 KiB" "$sink_1k"
  row one_produce_200 "1 node produce 200 B, acks=1" "sink 200 B" "$sink_200"
  row one_consume_1k "1 node consume 1 KiB" "loopback TCP" "$loopback_limit"
  row one_consume_200 "1 node consume 200 B" "loopback TCP" "$loopback_limit"
  row one_consume_1k_nb "1 node consume 1 KiB, fetch.queue.backoff 5" "loopback TCP" "$loopback_limit"
  row one_consume_200_nb "1 node consume 200 B, fetch.queue.backoff 5" "loopback TCP" "$loopback_limit"
  row fsync_produce_1k "1 node fsync produce 1 KiB, acks=1" "fdatasync per MiB" "$fsync_limit"
  row fsync_8x200 "1 node fsync 8 producers 200 B, linger 0" "fdatasync per MiB" "$fsync_limit"
  row three_produce_1k "3 nodes produce 1 KiB, acks=all" "sink 1 KiB" "$sink_1k"
  row three_consume_1k "3 nodes consume 1 KiB" "loopback TCP" "$loopback_limit"
  printf '%-44s %s\n' "1 node e2e 200 B at 5000/s, acks=1" \
    "p50 ${FIG[one_e2e.p50_ms]:--} ms, p99 ${FIG[one_e2e.p99_ms]:--} ms (produce p50 ${FIG[one_e2e.p50_produce_ms]:--} ms)"
  printf '%-44s %s\n' "3 nodes e2e 200 B at 5000/s, acks=all" \
    "p50 ${FIG[three_e2e.p50_ms]:--} ms, p99 ${FIG[three_e2e.p99_ms]:--} ms (produce p50 ${FIG[three_e2e.p50_produce_ms]:--} ms)"
}

[ "$mode" = kbench ] || sluice_figures
[ "$mode" = sluice ] || kbench_figures
