#!/usr/bin/env bash
# A/B of two sluice binaries on the 3-node path: kbench 1 KiB produce with acks=all (500,000
# records, one partition, RF 3, min ISR 2) against 3 fresh nodes per run, the two binaries
# alternately, PAIRS times; prints each run's MB/s and median latency. Usage:
#   scripts/ab-three.sh BEFORE_BINARY AFTER_BINARY [PAIRS]
# Needs kbench (KBENCH, default /work/target-kbench/release/kbench) and ports 9481-9483 and
# 9491-9493 free; works in /tmp/ab-three.
set -u
before=$1 after=$2 pairs=${3:-3}
K="${KBENCH:-/work/target-kbench/release/kbench}"
brokers=127.0.0.1:9491,127.0.0.1:9492,127.0.0.1:9493
run_one() { # label binary
  local label=$1 bin=$2 n pids=()
  local dir=/tmp/ab-three/$label
  rm -rf "$dir" && mkdir -p "$dir"
  for n in 1 2 3; do
    "$bin" server --override node.id=$n \
      --override listeners=PLAINTEXT://127.0.0.1:949$n,CONTROLLER://127.0.0.1:948$n \
      --override controller.listener.names=CONTROLLER \
      --override controller.quorum.voters=1@127.0.0.1:9481,2@127.0.0.1:9482,3@127.0.0.1:9483 \
      --override log.dirs="$dir/data-$n" \
      --override default.replication.factor=3 --override min.insync.replicas=2 \
      > "$dir/n$n.log" 2>&1 &
    pids+=($!)
  done
  sleep 8
  "$K" create-topic --brokers $brokers --topic ab3 --partitions 1 --replication 3 > /dev/null 2>&1
  sleep 2
  echo "$label: $("$K" produce --brokers $brokers --topic ab3 --messages 500000 --size 1024 \
    --acks all 2>&1 | grep -o 'mb_per_s=[0-9.]*\|p50_ms=[0-9.]*' | tr '\n' ' ')"
  kill "${pids[@]}"; wait "${pids[@]}" 2> /dev/null
  rm -rf "$dir"
}
uptime
for _ in $(seq "$pairs"); do
  run_one before "$before"
  run_one after "$after"
done
uptime
