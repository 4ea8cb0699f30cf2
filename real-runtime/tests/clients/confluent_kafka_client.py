"""confluent-kafka (librdkafka) with its default settings against the broker at argv[1]."""

import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

import common

address, topic = sys.argv[1], sys.argv[2]
producer = Producer({"bootstrap.servers": address})
acked = []
errors = []


def delivered(error, message):
    if error is not None:
        errors.append(error)
    else:
        acked.append((message.partition(), message.offset(), message.key(), message.value()))


for key, value in common.records():
    producer.produce(topic, value=value, key=key, on_delivery=delivered)
    producer.poll(0)
if producer.flush(common.WAIT_SECONDS) != 0 or errors:
    common.fail("delivery failed: %r" % errors[:3])
# Delivery reports of one partition come in offset order; sort the send order back.
order = {value: i for i, (_, value) in enumerate(common.records())}
acked.sort(key=lambda row: order[row[3]])

consumer = Consumer({"bootstrap.servers": address, "group.id": "check", "enable.auto.commit": False})
partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
consumed = {p: [] for p in partitions}
deadline = time.time() + common.WAIT_SECONDS
while sum(map(len, consumed.values())) < len(acked) and time.time() < deadline:
    message = consumer.poll(0.5)
    if message is None:
        continue
    if message.error():
        common.fail("consume: %s" % message.error())
    consumed[message.partition()].append((message.offset(), message.key(), message.value()))
consumer.close()
common.check(acked, consumed)
