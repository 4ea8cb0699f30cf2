"""aiokafka with its default settings against the broker at argv[1]."""

import asyncio
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

import common


async def main(address, topic):
    producer = AIOKafkaProducer(bootstrap_servers=address)
    await producer.start()
    try:
        sent = [await producer.send(topic, value=value, key=key) for key, value in common.records()]
        acked = []
        for (key, value), future in zip(common.records(), sent):
            metadata = await asyncio.wait_for(future, common.WAIT_SECONDS)
            acked.append((metadata.partition, metadata.offset, key, value))
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=address, auto_offset_reset="earliest")
    await consumer.start()
    consumed = {}
    try:
        async def read():
            while sum(map(len, consumed.values())) < len(acked):
                message = await consumer.getone()
                consumed.setdefault(message.partition, []).append((message.offset, message.key, message.value))

        await asyncio.wait_for(read(), common.WAIT_SECONDS)
    finally:
        await consumer.stop()
    common.check(acked, consumed)


asyncio.run(main(sys.argv[1], sys.argv[2]))
