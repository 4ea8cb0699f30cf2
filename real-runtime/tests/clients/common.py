"""What the client scripts share: the records to send and the check of what came back.

Each script produces RECORDS keyed records with its client's default settings, remembers the
partition and offset every acknowledgement named, reads every partition back from the start,
and exits non-zero naming the first record that is missing, moved or altered.
"""

import sys

RECORDS = 300
KEYS = 10
WAIT_SECONDS = 30


def records():
    """(key, value) pairs; keys repeat so several records share each partition."""
    return [(b"k%d" % (i % KEYS), b"value-%d" % i) for i in range(RECORDS)]


def check(acked, consumed):
    """acked: (partition, offset, key, value) per acknowledged record, in send order.
    consumed: partition -> [(offset, key, value)] in the order the consumer returned them."""
    if len(acked) != RECORDS:
        fail("only %d of %d records were acknowledged" % (len(acked), RECORDS))
    for partition, rows in consumed.items():
        offsets = [offset for offset, _, _ in rows]
        if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
            fail("partition %d returned offsets out of order: %r" % (partition, offsets[:20]))
    found = {(p, offset): (key, value) for p, rows in consumed.items() for offset, key, value in rows}
    last_offset = {}
    for partition, offset, key, value in acked:
        if found.get((partition, offset)) != (key, value):
            fail("acknowledged %r at %d/%d, read back %r" % (value, partition, offset, found.get((partition, offset))))
        # Records of one key go to one partition in the order they were sent.
        if last_offset.get(key, (partition, -1))[0] != partition:
            fail("key %r went to two partitions" % key)
        if offset <= last_offset.get(key, (partition, -1))[1]:
            fail("key %r: %r landed before an earlier record" % (key, value))
        last_offset[key] = (partition, offset)
    print("ok: %d records acknowledged and read back in order" % len(acked))


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)
