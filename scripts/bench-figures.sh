#!/usr/bin/env bash
# The `sluice bench` figures of the issue notes: a single node (acks=1; 1 KiB and 200 B
# produce and consume, kcat consuming, end-to-end latency, peak RSS, then 100 partitions under
# full load) and the README's 3-node cluster (acks=all). Needs
# `cargo build --release -p sluice` first and ports 9091-9093 and 9101-9103 free; works in
# /tmp/sluice-bench. Read the figures against scripts/machine-limits.sh.
set -u
B="$(cd "$(dirname "$0")/.." && pwd)/target/release/sluice"
pkill -f "release/sluice server"; sleep 1
work=/tmp/sluice-bench
rm -rf $work && mkdir -p $work/one && cd $work/one
$B server > server.log 2>&1 &
sleep 4
P=$(pgrep -f "release/sluice server")
echo "== single node, acks=1"
$B bench produce --topic k1 --num-records 1000000 --record-size 1024 --acks 1 | tail -2
$B bench consume --topic k1 --num-records 1000000 | tail -1
$B bench consume --topic k1 --num-records 1000000 | tail -1
/usr/bin/time -f "kcat consume 1 GB of 1 KiB: %e s" kcat -b 127.0.0.1:9092 -C -t k1 -e -o beginning -q -f ''
$B bench produce --topic s1 --num-records 3000000 --record-size 200 --acks 1 | tail -2
$B bench consume --topic s1 --num-records 3000000 | tail -1
$B bench consume --topic s1 --num-records 3000000 | tail -1
$B bench end-to-end --topic e1 --num-records 50000 | tail -3
grep VmHWM /proc/$P/status
echo "== single node, 100 partitions"
$B topics --bootstrap-server 127.0.0.1:9092 create --topic hp --partitions 100
$B bench produce --topic hp --num-records 1000000 --record-size 1024 --acks 1 | tail -2
$B bench consume --topic hp --num-records 1000000 | tail -1
grep VmHWM /proc/$P/status
kill $P; sleep 2
echo "== single node, a sync before every answer (log.flush.interval.messages=1), acks=1"
mkdir -p $work/fsync && cd $work/fsync
$B server --override log.flush.interval.messages=1 > server.log 2>&1 &
sleep 4
P=$(pgrep -f "release/sluice server")
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
kill $P; sleep 2
echo "== 3 nodes, acks=all, RF 3, min ISR 2"
mkdir -p $work/three && cd $work/three
for n in 1 2 3; do
  $B server --override node.id=$n \
    --override listeners=PLAINTEXT://127.0.0.1:909$n,CONTROLLER://127.0.0.1:910$n \
    --override controller.listener.names=CONTROLLER \
    --override controller.quorum.voters=1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103 \
    --override log.dirs=./sluice-data-$n \
    --override default.replication.factor=3 --override min.insync.replicas=2 > n$n.log 2>&1 &
done
sleep 8
BS=127.0.0.1:9091,127.0.0.1:9092,127.0.0.1:9093
$B bench produce --bootstrap-server $BS --topic k3 --num-records 300000 --record-size 1024 --acks all | tail -2
$B bench consume --bootstrap-server $BS --topic k3 --num-records 300000 | tail -1
$B bench produce --bootstrap-server $BS --topic s3 --num-records 1000000 --record-size 200 --acks all | tail -2
$B bench consume --bootstrap-server $BS --topic s3 --num-records 1000000 | tail -1
$B bench end-to-end --bootstrap-server $BS --topic e3 --num-records 50000 --acks all | tail -3
for p in $(pgrep -f "release/sluice server"); do grep VmHWM /proc/$p/status; done
pkill -f "release/sluice server"
