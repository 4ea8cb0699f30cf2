#!/usr/bin/env bash
# Installs what the test suite needs beyond cargo, only where it is missing, so that the
# README's test command works on a fresh machine: rustfmt and clippy, a C compiler (zstd-sys),
# kcat (librdkafka, Debian), the Python Kafka clients the broker's tests drive (PyPI) and
# kafkajs (npm; node must be on the machine), pinned so that a new client release cannot change
# a green run.
set -euo pipefail

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

missing_apt=()
command -v cc >/dev/null 2>&1 || missing_apt+=(gcc libc6-dev)
command -v kcat >/dev/null 2>&1 || missing_apt+=(kcat)
if [ ${#missing_apt[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing_apt[@]}"
fi

python_clients=(kafka-python==3.0.12 confluent-kafka==2.16.1 aiokafka==0.14.0)
if ! python3 - <<'PY' 2>/dev/null
import importlib.metadata as m
wanted = {"kafka-python": "3.0.12", "confluent-kafka": "2.16.1", "aiokafka": "0.14.0"}
raise SystemExit(any(m.version(name) != version for name, version in wanted.items()))
PY
then
  python3 -m pip install --quiet --disable-pip-version-check "${python_clients[@]}"
fi

# kafkajs (npm) for the group consumer tests, pinned, into a gitignored node_modules next to
# the client scripts (node finds it from there); installed only when that version is missing.
kafkajs_version=2.2.4
clients_dir="$(cd "$(dirname "$0")/.." && pwd)/real-runtime/tests/clients"
installed=$(node -p "require('$clients_dir/node_modules/kafkajs/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$kafkajs_version" ]; then
  npm install --prefix "$clients_dir" --no-save --no-package-lock --no-audit --no-fund \
    "kafkajs@$kafkajs_version"
fi
