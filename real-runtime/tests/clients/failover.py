"""A producer with acks=all across a partition leader's kill -9, then every record read back.

argv: CLIENT BOOTSTRAP TOPIC, CLIENT being confluent-kafka (idempotence on, so that retries
through the fail-over cannot reorder), kafka-python (its defaults: idempotent, acks=all) or
aiokafka (acks=all, its defaults otherwise: not idempotent, one request in flight per broker).
After a third of the records are acknowledged the script prints MIDSTREAM, and the test kills
the leader of partition 0; it then checks that every record was acknowledged and is read
back at its acknowledged offset, in order within its partition.
"""

import logging
import sys
import time

import common

client, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
MIDSTREAM = common.RECORDS // 3
SPACING_SECONDS = 0.01
told = False


def midstream(acked):
    global told
    if not told and len(acked) >= MIDSTREAM:
        told = True
        print("MIDSTREAM", flush=True)


def confluent():
    from confluent_kafka import Consumer, Producer, TopicPartition

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    acked, errors = [], []

    def delivered(error, message):
        if error is not None:
            errors.append(error)
        else:
            acked.append((message.partition(), message.offset(), message.key(), message.value()))

    for key, value in common.records():
        producer.produce(topic, value=value, key=key, on_delivery=delivered)
        producer.poll(0)
        midstream(acked)
        time.sleep(SPACING_SECONDS)
    deadline = time.time() + 90
    while len(acked) + len(errors) < common.RECORDS and time.time() < deadline:
        producer.poll(0.2)
        midstream(acked)
    if errors:
        common.fail("delivery failed: %r" % errors[:3])
    order = {value: i for i, (_, value) in enumerate(common.records())}
    acked.sort(key=lambda row: order[row[3]])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "check", "enable.auto.commit": False})
    partitions = sorted(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    consumed = {p: [] for p in partitions}
    deadline = time.time() + 60
    while sum(map(len, consumed.values())) < len(acked) and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        consumed[message.partition()].append((message.offset(), message.key(), message.value()))
    consumer.close()
    return acked, consumed


def kafka_python():
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    acked = []
    futures = []
    for key, value in common.records():
        future = producer.send(topic, value=value, key=key)
        futures.append((key, value, future))
        future.add_callback(lambda metadata, key=key, value=value: acked.append((metadata.partition, metadata.offset, key, value)))
        midstream(acked)
        time.sleep(SPACING_SECONDS)
    producer.flush(90)
    midstream(acked)
    acked = []
    for key, value, future in futures:
        metadata = future.get(timeout=90)
        acked.append((metadata.partition, metadata.offset, key, value))
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=1000)
    partitions = sorted(consumer.partitions_for_topic(topic) or [])
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    consumed = {p: [] for p in partitions}
    deadline = time.time() + 60
    while sum(map(len, consumed.values())) < len(acked) and time.time() < deadline:
        for message in consumer:
            consumed[message.partition].append((message.offset, message.key, message.value))
    consumer.close()
    return acked, consumed


def aiokafka():
    """aiokafka names the killed broker in "Unable connect to node with id N" lines until the
    controller fences it (broker.session.timeout.ms): until then Metadata still names it
    leader, as Kafka's does, and every failed connect makes aiokafka refresh its metadata.
    By the time the producer is done the partition has moved, so the consumer, started after
    it, reads from the new leader. A consumer left running across the kill recovers too, but
    its stop() can raise CancelledError when a fetch to the dead node is in its retry backoff
    (aiokafka 0.14.0, fetcher.py _proc_fetch_request: the sleep in its `except KafkaError`
    is not covered by its `except CancelledError`), so the script does not do that."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    logging.basicConfig(format="%(relativeCreated)d ms %(name)s %(levelname)s %(message)s")

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            partitions = sorted(await producer.partitions_for(topic))
            futures, so_far = [], []
            for key, value in common.records():
                future = await producer.send(topic, value=value, key=key)
                future.add_done_callback(lambda f: f.cancelled() or f.exception() or so_far.append(f))
                futures.append(future)
                midstream(so_far)
                await asyncio.sleep(SPACING_SECONDS)
            acked = []
            for (key, value), future in zip(common.records(), futures):
                metadata = await asyncio.wait_for(future, 90)
                acked.append((metadata.partition, metadata.offset, key, value))
                midstream(acked)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(topic, p) for p in partitions])
            consumed = {p: [] for p in partitions}
            deadline = time.time() + 60
            while sum(map(len, consumed.values())) < len(acked) and time.time() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for tp, messages in batches.items():
                    consumed[tp.partition].extend((m.offset, m.key, m.value) for m in messages)
        finally:
            await consumer.stop()
        return acked, consumed

    return asyncio.run(run())


acked, consumed = {"confluent-kafka": confluent, "kafka-python": kafka_python, "aiokafka": aiokafka}[client]()
common.check(acked, consumed)
