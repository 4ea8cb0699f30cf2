#!/usr/bin/env bash
# The simulator's speed per scenario: wall seconds for seeds 0..19 run one at a time (one
# core), the best of three passes, with the events a seed processes on average. Simulated
# seconds per wall second = 20 x the scenario's simulated length / the best time (110 s for
# the replication scenarios, 100 s for the metadata ones and admin-under-faults).
# Build first: cargo build --release -p sluice-chaos
set -euo pipefail
chaos="${CARGO_TARGET_DIR:-$(dirname "$0")/../target}/release/sluice-chaos"
out=$(mktemp -d)
for scenario in $("$chaos" list | awk '{print $1}'); do
  best=""
  for pass in 1 2 3; do
    start=$(date +%s.%N)
    for seed in $(seq 0 19); do
      "$chaos" run "$scenario" --seed "$seed" > "$out/$scenario-$seed" 2>&1 || true
    done
    took=$(echo "$(date +%s.%N) - $start" | bc)
    if [ -z "$best" ] || [ "$(echo "$took < $best" | bc)" = 1 ]; then best=$took; fi
  done
  events=$(cat "$out/$scenario"-* | grep -o 'events=[0-9]*' | cut -d= -f2 \
    | awk '{s += $1} END {print int(s / NR)}')
  printf '%s best_of_3_for_20_seeds=%.2fs events_per_seed=%s\n' "$scenario" "$best" "$events"
done
rm -r "$out"
