-- Where the service's consumer group has got to, written in the same transaction as the
-- effects of the records before it (shared/messaging/consumer.py). A consumer starts each
-- partition here when a row exists, so a database restored to an earlier moment catches
-- up from the log exactly, although Kafka's committed offsets are further on
-- (docs/durability.md). One copy for every service's schema; idempotent.
CREATE TABLE IF NOT EXISTS consumer_positions (
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    PRIMARY KEY (topic, partition)
);
