#!/usr/bin/env bash
# A/B of two sluice binaries on one workload: kbench 1 KiB produce (1 M records, acks=1, one
# partition) against a fresh single node, the two binaries alternately, PAIRS times; prints each
# run's MB/s and the broker's CPU time for the 1024 MB. Usage:
#   scripts/ab-produce.sh BEFORE_BINARY AFTER_BINARY [PAIRS]
# Needs kbench (KBENCH, default /work/target-kbench/release/kbench) and ports 9391-9392 free.
set -u
before=$1 after=$2 pairs=${3:-3}
K="${KBENCH:-/work/target-kbench/release/kbench}"
run_one() { # label binary
  local label=$1 bin=$2
  local dir=/tmp/ab-produce/$label
  rm -rf "$dir" && mkdir -p "$dir"
  "$bin" server --override listeners=PLAINTEXT://127.0.0.1:9391,CONTROLLER://127.0.0.1:9392 \
    --override controller.listener.names=CONTROLLER \
    --override controller.quorum.voters=1@127.0.0.1:9392 \
    --override log.dirs="$dir/data" > "$dir/server.log" 2>&1 &
  local pid=$!
  sleep 3
  "$K" create-topic --brokers 127.0.0.1:9391 --topic ab --partitions 1 --replication 1 > /dev/null 2>&1
  local t0 t1 mb
  t0=$(awk '{print $14+$15}' /proc/$pid/stat)
  mb=$("$K" produce --brokers 127.0.0.1:9391 --topic ab --messages 1000000 --size 1024 --acks 1 2>&1 |
    grep -o 'mb_per_s=[0-9.]*' | tail -1)
  t1=$(awk '{print $14+$15}' /proc/$pid/stat)
  echo "$label: ${mb#mb_per_s=} MB/s, broker cpu $(( (t1 - t0) * 1000 / $(getconf CLK_TCK) )) ms"
  kill $pid; wait $pid 2>/dev/null
  rm -rf "$dir"
}
uptime
for _ in $(seq "$pairs"); do
  run_one before "$before"
  run_one after "$after"
done
uptime
