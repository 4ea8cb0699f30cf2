#!/usr/bin/env bash
# This machine's own limits, to read `sluice bench` figures against: sequential write
# bandwidth to the page cache and to disk (dd, 1 MiB blocks, with and without fdatasync), and
# one TCP stream over loopback (Python, 1 MiB sends). Usage: scripts/machine-limits.sh [DIR]
set -euo pipefail
dir="${1:-.}"
file="$dir/.sluice-machine-limits.$$"
trap 'rm -f "$file"' EXIT

echo "page-cache write: $(dd if=/dev/zero of="$file" bs=1M count=2048 2>&1 | tail -n 1)"
rm -f "$file"
echo "disk write (fdatasync): $(dd if=/dev/zero of="$file" bs=1M count=2048 conv=fdatasync 2>&1 | tail -n 1)"
rm -f "$file"
# What a broker that syncs before it answers can reach at best: one fdatasync per MiB written.
echo "disk write (fdatasync per MiB): $(dd if=/dev/zero of="$file" bs=1M count=256 oflag=dsync 2>&1 | tail -n 1)"
rm -f "$file"

python3 - <<'PY'
import socket, threading, time
TOTAL = 8 << 30
CHUNK = 1 << 20
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
port = server.getsockname()[1]

def sink():
    conn, _ = server.accept()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    got = 0
    while got < TOTAL:
        n = conn.recv_into(view)
        if n == 0:
            break
        got += n
    conn.close()

reader = threading.Thread(target=sink)
reader.start()
client = socket.create_connection(("127.0.0.1", port))
payload = b"x" * CHUNK
start = time.time()
sent = 0
while sent < TOTAL:
    client.sendall(payload)
    sent += CHUNK
client.close()
reader.join()
elapsed = time.time() - start
print("loopback TCP, one stream: %.2f GB/s (%d MiB in %.2f s)" % (sent / elapsed / 1e9, sent >> 20, elapsed))
PY
