#!/usr/bin/env bash
# Produce quotas in docker compose, with the official image's kafka-configs.sh (neither
# confluent-kafka nor aiokafka can alter client quotas). As the `ops` principal:
#   (no arguments)      every user not named otherwise gets the sender quota
#                       (SENDER_PRODUCE_BYTES_PER_SECOND, default 1 MiB/s), so a new sender
#                       is throttled from its first write; the services and ops are exempt
#   NAME BYTES          one sender's own quota (docker compose run --rm kafka-quotas NAME BYTES)
set -euo pipefail
props=$(mktemp)
chmod 600 "$props"
trap 'rm -f "$props"' EXIT
cat > "$props" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="ops" password="${KAFKA_OPS_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/xj/kafka-ca.pem
PROPS
configs() {
  /opt/kafka/bin/kafka-configs.sh --bootstrap-server "${KAFKA_BOOTSTRAP_SERVERS}" --command-config "$props" "$@"
}
if [ "$#" -eq 2 ]; then
  configs --alter --entity-type users --entity-name "$1" --add-config "producer_byte_rate=$2"
  configs --describe --entity-type users --entity-name "$1"
  exit 0
fi
configs --alter --entity-type users --entity-default \
  --add-config "producer_byte_rate=${SENDER_PRODUCE_BYTES_PER_SECOND:-1048576}"
# The platform's own principals are not senders: their rate is the platform's throughput.
for user in ops registration awards reporting; do
  configs --alter --entity-type users --entity-name "$user" --add-config "producer_byte_rate=1099511627776"
done
configs --describe --entity-type users
