"""Keyless and keyed records to a compacted topic with confluent-kafka, for
tests/compacted_topic.rs.

argv: BOOTSTRAP TOPIC. Produces, in order: a keyed record, a keyless one, a keyed tombstone;
prints one line per delivery report, "ok OFFSET" or "error NAME", then reads partition 0 from
the beginning and prints "record KEY VALUE" per record ("-" for a null value).
"""

import sys

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, topic = sys.argv[1:3]


def report(error, message):
    if error is None:
        print("ok %d" % message.offset(), flush=True)
    else:
        print("error %s" % error.name(), flush=True)


producer = Producer({"bootstrap.servers": bootstrap})
for key, value in [(b"k1", b"v1"), (None, b"no key"), (b"k2", None)]:
    producer.produce(topic, key=key, value=value, partition=0, on_delivery=report)
    # One at a time, so that the reports come in the order sent.
    producer.flush(30)

consumer = Consumer(
    {"bootstrap.servers": bootstrap, "group.id": "compacted-check", "enable.auto.commit": False}
)
consumer.assign([TopicPartition(topic, 0, 0)])
seen = 0
while seen < 2:
    message = consumer.poll(10)
    if message is None:
        raise SystemExit("no record within 10 s")
    if message.error():
        raise SystemExit("poll: %s" % message.error())
    value = message.value()
    print("record %s %s" % (message.key().decode(), "-" if value is None else value.decode()))
    seen += 1
consumer.close()
