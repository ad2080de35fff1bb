#!/bin/bash
# The Spark example's own producer (kafka-python's KafkaProducer with a JSON
# value serializer), pointed at the devbroker, feeds sensord correctly.
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import kafka' 2>/dev/null || fail "python3-kafka is not installed"
start_broker sensor-data:1
/usr/bin/python3 - "$BROKER" "$SHARED_DATA/seed.json" >"$WORK/producer.log" 2>"$WORK/producer.err" <<'PY'
import json, sys
from kafka import KafkaProducer
producer = KafkaProducer(bootstrap_servers=sys.argv[1],
                         value_serializer=lambda v: json.dumps(v).encode("utf-8"))
for record in json.load(open(sys.argv[2])):
    producer.send("sensor-data", value=record)
producer.flush()
producer.close()
PY
write_config "$WORK/sensord.conf"
run_available_now "$WORK/sensord.conf" out
$CHECK compare "$SHARED_DATA/seed-update.expected.jsonl" "$WORK/out.jsonl"
echo "kafka_python: ok"
