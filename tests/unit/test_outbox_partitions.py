"""The outbox relay picks partitions itself (whole batches per partition): exactly as
Kafka's default partitioner does, so keys land where every other producer puts them."""

import random

from aiokafka.partitioner import DefaultPartitioner

from shared.messaging.outbox import partition_for


def test_partition_for_equals_kafkas_default_partitioner() -> None:
    rng = random.Random(2015)
    default = DefaultPartitioner()
    keys = [rng.randbytes(rng.randrange(0, 40)) for _ in range(5000)]
    keys += [b"91650102MA0000001X", b"tests/7f1c1b4e-5d0f-4c41-9d3a-2b0f8f0e9a11", b"2015/jobs/650000"]
    for n in (1, 6, 7, 12):
        parts = list(range(n))
        assert [partition_for(k, parts) for k in keys] == [default(k, parts, parts) for k in keys]


def test_a_known_key_keeps_its_partition() -> None:
    # murmur2(b"foo") with Kafka's seed is 597841616 (aiokafka's port of Java's Utils.murmur2).
    assert partition_for(b"foo", list(range(6))) == 597841616 % 6 == 2
