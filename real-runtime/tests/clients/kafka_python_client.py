"""kafka-python (3.x: idempotent, acks=all by default) against the broker at argv[1]."""

import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

import common

address, topic = sys.argv[1], sys.argv[2]
producer = KafkaProducer(bootstrap_servers=address)
futures = [(key, value, producer.send(topic, value=value, key=key)) for key, value in common.records()]
producer.flush(common.WAIT_SECONDS)
acked = []
for key, value, future in futures:
    metadata = future.get(timeout=common.WAIT_SECONDS)
    acked.append((metadata.partition, metadata.offset, key, value))
producer.close()

consumer = KafkaConsumer(bootstrap_servers=address, auto_offset_reset="earliest", consumer_timeout_ms=3000)
partitions = sorted(consumer.partitions_for_topic(topic) or [])
if not partitions:
    common.fail("the consumer sees no partitions of %s" % topic)
consumer.assign([TopicPartition(topic, p) for p in partitions])
consumed = {p: [] for p in partitions}
for message in consumer:
    consumed[message.partition].append((message.offset, message.key, message.value))
    if sum(map(len, consumed.values())) >= len(acked):
        break
consumer.close()
common.check(acked, consumed)
