"""kafka-python 3.x's KafkaAdminClient against the broker at argv[1]: every admin API Sluice
serves, each step checked, exiting non-zero naming the first step whose answer is wrong."""

import sys
import time

import kafka.errors as Errors
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.admin import NewPartitions, NewTopic

import common

address = sys.argv[1]
TOPIC = "admin-orders"
TOPIC_RESOURCE = ConfigResourceType.TOPIC


def expect(step, condition, detail):
    if not condition:
        common.fail("%s: %s" % (step, detail))
    print("ok: " + step)


def eventually(step, probe, seconds=common.WAIT_SECONDS):
    """Polls probe() until it returns a true value, failing the step at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            common.fail("%s: not seen within %ds" % (step, seconds))
        time.sleep(0.2)


def topic_configs(admin, *keys):
    resource = ConfigResource(TOPIC_RESOURCE, TOPIC, configs=list(keys) or None)
    described = admin.describe_configs([resource], include_synonyms=True, config_filter="all")
    return described["topic"][TOPIC]


def raises(error_type, call):
    try:
        call()
    except error_type:
        return True
    except Exception as error:  # noqa: BLE001 - reported as the step's failure
        common.fail("expected %s, got %r" % (error_type.__name__, error))
    return False


admin = KafkaAdminClient(bootstrap_servers=address, request_timeout_ms=common.WAIT_SECONDS * 1000)

cluster = admin.describe_cluster()
expect("describe_cluster names this broker", len(cluster["brokers"]) == 1 and cluster["cluster_id"],
       repr(cluster))

admin.create_topics([NewTopic(TOPIC, 3, 1, topic_configs={"retention.ms": "3600000"})])
expect("create_topics makes the topic listed",
       TOPIC in eventually("list_topics", lambda: TOPIC in admin.list_topics() and admin.list_topics()),
       "missing")
expect("a second create_topics is TOPIC_ALREADY_EXISTS",
       raises(Errors.TopicAlreadyExistsError, lambda: admin.create_topics([NewTopic(TOPIC, 1, 1)])),
       "created twice")
expect("a bad config value is INVALID_CONFIG",
       raises(Errors.InvalidConfigurationError,
              lambda: admin.create_topics([NewTopic("admin-bad", 1, 1, topic_configs={"retention.ms": "soon"})])),
       "accepted")
expect("an unknown config is INVALID_CONFIG",
       raises(Errors.InvalidConfigurationError,
              lambda: admin.create_topics([NewTopic("admin-bad", 1, 1, topic_configs={"no.such.config": "1"})])),
       "accepted")

configs = topic_configs(admin)
retention = configs.get("retention.ms", {})
expect("describe_configs shows the topic's retention.ms as DYNAMIC_TOPIC_CONFIG",
       retention.get("value") == "3600000" and retention.get("config_source") == "DYNAMIC_TOPIC_CONFIG",
       repr(retention))
cleanup = configs.get("cleanup.policy", {})
expect("describe_configs shows cleanup.policy's default as DEFAULT_CONFIG",
       cleanup.get("value") == "delete" and cleanup.get("config_source") == "DEFAULT_CONFIG", repr(cleanup))
expect("describe_configs lists every topic config", len(configs) >= 30, "%d configs" % len(configs))

def altered(resource, incremental):
    """The broker's answer for the one resource altered: 'OK' or the error's text."""
    return admin.alter_configs([resource], incremental=incremental)["topic"][TOPIC]


answer = altered(ConfigResource(TOPIC_RESOURCE, TOPIC, configs={"retention.ms": "7200000"}), False)
expect("alter_configs (AlterConfigs) is accepted", answer == "OK", answer)
configs = topic_configs(admin, "retention.ms", "segment.ms")
expect("alter_configs (AlterConfigs) replaces the topic's configs",
       configs["retention.ms"]["value"] == "7200000" and configs["segment.ms"]["config_source"] == "DEFAULT_CONFIG",
       repr(configs))

answer = altered(ConfigResource(TOPIC_RESOURCE, TOPIC, configs={
    "cleanup.policy": (AlterConfigOp.APPEND, "compact"),
    "min.insync.replicas": (AlterConfigOp.SET, "1"),
    "retention.ms": (AlterConfigOp.DELETE, None),
}), True)
expect("incremental alter_configs is accepted", answer == "OK", answer)
configs = topic_configs(admin, "cleanup.policy", "min.insync.replicas", "retention.ms")
expect("incremental alter_configs appends, sets and deletes",
       configs["cleanup.policy"]["value"] == "delete,compact"
       and configs["min.insync.replicas"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
       and configs["retention.ms"]["config_source"] == "DEFAULT_CONFIG"
       and configs["retention.ms"]["value"] == "604800000",
       repr(configs))
answer = altered(ConfigResource(TOPIC_RESOURCE, TOPIC, configs={"min.insync.replicas": "0"}), True)
expect("an invalid altered value is INVALID_CONFIG", "InvalidConfigurationError" in answer, answer)
configs = topic_configs(admin, "min.insync.replicas")
expect("the refused value was not stored", configs["min.insync.replicas"]["value"] == "1", repr(configs))

admin.create_partitions({TOPIC: NewPartitions(5)})
expect("create_partitions grows the topic to 5 partitions",
       eventually("partitions", lambda: len(admin.describe_topics([TOPIC])[0]["partitions"]) == 5), "not grown")
expect("shrinking is INVALID_PARTITIONS",
       raises(Errors.InvalidPartitionsError, lambda: admin.create_partitions({TOPIC: NewPartitions(2)})),
       "accepted")

# Acks=1 without idempotence: Sluice does not serve InitProducerId yet. The topic is
# compacted since the APPEND above (delete,compact), so its records need keys.
producer = KafkaProducer(bootstrap_servers=address, acks=1, enable_idempotence=False)
for i in range(10):
    sent = producer.send(TOPIC, key=b"k%d" % i, value=b"v%d" % i, partition=0)
    sent.get(timeout=common.WAIT_SECONDS)
producer.close()
partition = TopicPartition(TOPIC, 0)
deleted = admin.delete_records({partition: 4})
expect("delete_records answers low watermark 4", deleted[partition]["low_watermark"] == 4, repr(deleted))
consumer = KafkaConsumer(bootstrap_servers=address, auto_offset_reset="earliest", consumer_timeout_ms=3000)
expect("the log starts at 4 now", consumer.beginning_offsets([partition])[partition] == 4, "not moved")
consumer.assign([partition])
first = eventually("consume", lambda: consumer.poll(timeout_ms=500).get(partition))
expect("consumption from the beginning starts at offset 4", first[0].offset == 4, repr(first[0]))
consumer.close()
expect("delete_records beyond the high watermark is OFFSET_OUT_OF_RANGE",
       raises(Errors.OffsetOutOfRangeError, lambda: admin.delete_records({partition: 99})), "accepted")

admin.delete_topics([TOPIC])
expect("delete_topics removes the topic",
       eventually("deleted", lambda: TOPIC not in admin.list_topics()), "still listed")
expect("deleting it again is UNKNOWN_TOPIC_OR_PARTITION",
       raises(Errors.UnknownTopicOrPartitionError, lambda: admin.delete_topics([TOPIC])), "accepted")
admin.close()
print("ok: every admin step")
