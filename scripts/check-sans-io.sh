#!/usr/bin/env bash
# Fails if core or sim reach for real IO, the wall clock, threads, OS randomness or randomly
# ordered maps, or if core depends on tokio. Comments are ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='tokio::|std::fs|std::net|Instant::now|SystemTime|thread_rng|rand::rng\(|std::thread|HashMap<|HashSet<'
hits=$(grep -rnE "$pattern" core/src sim/src | grep -vE '^\S+:[0-9]+:\s*//' || true)
if [ -n "$hits" ]; then
  echo "determinism rule broken in core/ or sim/:"
  echo "$hits"
  exit 1
fi
if cargo tree -p sluice-core -e normal --prefix none | grep -qE '^(tokio|mio|rand|getrandom) '; then
  echo "sluice-core depends on an IO runtime or OS randomness:"
  cargo tree -p sluice-core -e normal --prefix none | grep -E '^(tokio|mio|rand|getrandom) '
  exit 1
fi
echo "core and sim are sans-IO"
