"""One consumer-group member, or a look at a group's committed offsets, for tests/group_clients.rs.

argv: CLIENT BOOTSTRAP TOPIC GROUP MODE PARTITIONS, CLIENT being kafka-python, confluent-kafka
or aiokafka. Every line on stdout is one fact the test reads:

  member     subscribes with the client's defaults (only auto.offset.reset=earliest set) and
             prints "assigned P,P,..." after each assignment (the whole assignment: the
             default assignors are eager), "revoked" before it is taken away, and
             "record P OFFSET" for each record the application is handed. When stdin closes
             it closes the consumer (which commits, auto-commit being on by default) and
             prints "closed".
  committer  the same, but with enable.auto.commit=false and a synchronous commit after every
             record (20 ms apart), printing "commit-ok P NEXT" only once the coordinator
             acknowledged it.
  committed  prints "committed P OFFSET" (-1 for none) for partitions 0..PARTITIONS-1 as the
             client's own API reads them, and exits.

Errors go to stderr; the test bounds every run and kills a member with kill -9 at will.
"""

import sys
import threading
import time

client, bootstrap, topic, group, mode, partitions = sys.argv[1:7]
partitions = int(partitions)
closing = threading.Event()
COMMIT_SPACING_SECONDS = 0.02


def say(line):
    print(line, flush=True)


def warn(line):
    print(line, file=sys.stderr, flush=True)


def watch_stdin():
    """Sets `closing` when the test closes our stdin."""
    for _ in sys.stdin:
        pass
    closing.set()


def assigned(numbers):
    say("assigned " + ",".join(str(p) for p in sorted(numbers)))


def confluent():
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    settings = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    if mode == "committed":
        consumer = Consumer(dict(settings, **{"enable.auto.commit": False}))
        wanted = [TopicPartition(topic, p) for p in range(partitions)]
        for tp in consumer.committed(wanted, timeout=30):
            if tp.error is not None:
                raise SystemExit("committed: %s" % tp.error)
            say("committed %d %d" % (tp.partition, tp.offset if tp.offset >= 0 else -1))
        consumer.close()
        return
    if mode == "committer":
        settings["enable.auto.commit"] = False
    consumer = Consumer(settings)
    consumer.subscribe(
        [topic],
        on_assign=lambda _, tps: assigned(tp.partition for tp in tps),
        on_revoke=lambda _, tps: say("revoked"),
    )
    while not closing.is_set():
        message = consumer.poll(0.2)
        if message is None:
            continue
        if message.error():
            warn("poll: %s" % message.error())
            continue
        say("record %d %d" % (message.partition(), message.offset()))
        if mode == "committer":
            # Paced, so that the test's kill lands while commits are still going.
            time.sleep(COMMIT_SPACING_SECONDS)
            try:
                for tp in consumer.commit(message=message, asynchronous=False):
                    if tp.error is None:
                        say("commit-ok %d %d" % (tp.partition, tp.offset))
                    else:
                        warn("commit %d: %s" % (tp.partition, tp.error))
            except KafkaException as error:
                warn("commit: %s" % error)
    consumer.close()
    say("closed")


def kafka_python():
    from kafka import ConsumerRebalanceListener, KafkaConsumer, OffsetAndMetadata, TopicPartition
    from kafka.errors import KafkaError

    settings = {"bootstrap_servers": bootstrap, "group_id": group, "auto_offset_reset": "earliest"}
    if mode == "committed":
        consumer = KafkaConsumer(enable_auto_commit=False, **settings)
        for p in range(partitions):
            offset = consumer.committed(TopicPartition(topic, p))
            say("committed %d %d" % (p, -1 if offset is None else offset))
        consumer.close()
        return
    if mode == "committer":
        settings["enable_auto_commit"] = False
    consumer = KafkaConsumer(**settings)

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            say("revoked")

        def on_partitions_assigned(self, tps):
            assigned(tp.partition for tp in tps)

    consumer.subscribe([topic], listener=Listener())
    while not closing.is_set():
        for tp, messages in consumer.poll(timeout_ms=200).items():
            for message in messages:
                say("record %d %d" % (message.partition, message.offset))
                if mode != "committer":
                    continue
                time.sleep(COMMIT_SPACING_SECONDS)
                offsets = {tp: OffsetAndMetadata(message.offset + 1, "", -1)}
                try:
                    consumer.commit(offsets)
                    say("commit-ok %d %d" % (tp.partition, message.offset + 1))
                except KafkaError as error:
                    warn("commit: %r" % error)
    consumer.close()
    say("closed")


def aiokafka():
    import asyncio

    from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
    from aiokafka.errors import KafkaError

    settings = {"bootstrap_servers": bootstrap, "group_id": group, "auto_offset_reset": "earliest"}

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            say("revoked")

        def on_partitions_assigned(self, tps):
            assigned(tp.partition for tp in tps)

    async def run():
        if mode == "committed":
            consumer = AIOKafkaConsumer(enable_auto_commit=False, **settings)
            await consumer.start()
            try:
                for p in range(partitions):
                    offset = await consumer.committed(TopicPartition(topic, p))
                    say("committed %d %d" % (p, -1 if offset is None else offset))
            finally:
                await consumer.stop()
            return
        if mode == "committer":
            settings["enable_auto_commit"] = False
        consumer = AIOKafkaConsumer(**settings)
        await consumer.start()
        try:
            consumer.subscribe([topic], listener=Listener())
            while not closing.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                for tp, messages in batches.items():
                    for message in messages:
                        say("record %d %d" % (message.partition, message.offset))
                        if mode != "committer":
                            continue
                        await asyncio.sleep(COMMIT_SPACING_SECONDS)
                        try:
                            await consumer.commit({tp: message.offset + 1})
                            say("commit-ok %d %d" % (tp.partition, message.offset + 1))
                        except KafkaError as error:
                            warn("commit: %r" % error)
        finally:
            await consumer.stop()
        say("closed")

    asyncio.run(run())


if mode != "committed":
    threading.Thread(target=watch_stdin, daemon=True).start()
{"confluent-kafka": confluent, "kafka-python": kafka_python, "aiokafka": aiokafka}[client]()
