# End-to-end latency through librdkafka (confluent-kafka) with its default fetch.wait.max.ms
# (500 ms): a producer (acks=all, linger.ms=0) sends N records at 5,000/s to a new topic on a
# broker at 127.0.0.1:9092, each carrying its send time; an assigned consumer polls one record
# at a time and the script prints the latency percentiles. The producer is warmed up first (one
# record, flushed), so the figures leave out its bootstrap: librdkafka reconnects to the broker
# it learns from Metadata, and its first produce is acked tens of milliseconds late.
# Usage: cargo run --release -p sluice -- server &  [BS=host:port] python3 scripts/e2e-latency.py [N=20000]
import os, sys, time, threading
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bs = os.environ.get("BS", "127.0.0.1:9092"); topic = "e2e-" + str(int(time.time()))
a = AdminClient({"bootstrap.servers": bs})
a.create_topics([NewTopic(topic, 1, 1)])["%s" % topic].result()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
rate = 5000
lat = []
c = Consumer({"bootstrap.servers": bs, "group.id": "x", "enable.auto.commit": False})
c.assign([TopicPartition(topic, 0, 0)])
done = threading.Event()
def consume():
    while len(lat) < n:
        m = c.poll(0.5)
        if m is None or m.error() or m.value() == b"warmup": continue
        lat.append(time.time() - float(m.value()))
    done.set()
t = threading.Thread(target=consume); t.start()
time.sleep(1.0)
p = Producer({"bootstrap.servers": bs, "acks": "all", "linger.ms": 0})
p.produce(topic, value=b"warmup")
p.flush()
start = time.time()
for i in range(n):
    target = start + i / rate
    d = target - time.time()
    if d > 0: time.sleep(d)
    p.produce(topic, value=repr(time.time()).encode())
    p.poll(0)
p.flush()
done.wait(60)
lat.sort()
q = lambda x: lat[int(x * (len(lat) - 1))] * 1000
print(f"n={len(lat)} p50={q(0.5):.2f}ms p99={q(0.99):.2f}ms p999={q(0.999):.2f}ms max={lat[-1]*1000:.1f}ms")
