"""The Spark Structured Streaming job that sensord replaces, with the example's
three mistakes corrected (README, "How sensord differs from the Spark
example") and nothing else changed in what it computes.

For the parity test and the peers benchmark it also:
- runs on local[N] with Trigger.AvailableNow, so that it reads what the topic
  holds at start, in batches of at most --max-offsets messages, and stops;
- sends each batch's update-mode rows to a Kafka topic (--out-topic) as JSON,
  with the batch id, through foreachBatch: the console sink's tables cannot
  be compared row for row.

Run it with scripts/spark.sh run tests/bench/peers/spark_job.py ARGS.
"""
import argparse
import os
import sys
from datetime import datetime

from pyspark.sql import SparkSession
from pyspark.sql.functions import avg, col, count, from_json, lit, max, min, struct, to_json, window
from pyspark.sql.types import DoubleType, StringType, StructField, StructType, TimestampType


def arguments():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="sensor-data")
    p.add_argument("--out-topic", required=True)
    p.add_argument("--max-offsets", type=int, default=5, help="maxOffsetsPerTrigger (sensord's batch.max_messages)")
    p.add_argument("--checkpoint", required=True, help="the query's checkpoint directory")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--shuffle-partitions", type=int, default=2)
    p.add_argument("--driver-memory", default="1g")
    return p.parse_args()


def main():
    a = arguments()
    spark = (
        SparkSession.builder.appName("SensorDataProcessor")
        .master(f"local[{a.cores}]")
        .config("spark.jars", os.environ["SPARK_KAFKA_JARS"])
        # timestamps without a zone are UTC, as in semantics.md
        .config("spark.sql.session.timeZone", "UTC")
        # Spark's default of 200 state-store partitions per batch only slows
        # a two-core run down; the rows do not depend on it
        .config("spark.sql.shuffle.partitions", str(a.shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", a.driver_memory)
        # every batch's progress, the first one's start included
        .config("spark.sql.streaming.numRecentProgressUpdates", "1000000")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")

    schema = StructType(
        [
            StructField("sensor_id", StringType()),
            StructField("value", DoubleType()),
            StructField("timestamp", TimestampType()),
        ]
    )

    # Correction of mistake 3, the broken line continuations: the example
    # split this chain over lines with backslashes that did not continue it,
    # so it did not run. Parentheses hold the chain together instead.
    # Correction of mistake 1, fetchMaxBytes: the example set
    # .option("fetchMaxBytes", 10240), which Spark's Kafka source does not
    # have and silently ignores; only maxOffsetsPerTrigger bounds a batch,
    # so the option is gone (sensord runs beside it with a byte bound that
    # never cuts a batch).
    df = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", a.bootstrap)
        .option("subscribe", a.topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", a.max_offsets)
        .load()
    )

    parsed = df.selectExpr("CAST(value AS STRING)").select(from_json(col("value"), schema).alias("data")).select("data.*")

    # Correction of mistake 2, only the minimum: the example passed
    # agg({"value": "avg", "value": "max", "value": "min"}), a dict whose
    # three entries share one key, so only min was computed. Each aggregate
    # is its own column now, with the count the output rows show.
    result = (
        parsed.withWatermark("timestamp", "5 minutes")
        .groupBy(window(col("timestamp"), "10 minutes", "5 minutes"), col("sensor_id"))
        .agg(
            avg("value").alias("avg_value"),
            max("value").alias("max_value"),
            min("value").alias("min_value"),
            count("value").alias("count"),
        )
    )

    def send_batch(rows, batch_id):
        (
            rows.select(
                to_json(
                    struct(
                        lit(batch_id).alias("batch"),
                        "window",
                        "sensor_id",
                        "avg_value",
                        "max_value",
                        "min_value",
                        "count",
                    ),
                    {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"},
                ).alias("value")
            )
            .write.format("kafka")
            .option("kafka.bootstrap.servers", a.bootstrap)
            .option("topic", a.out_topic)
            .save()
        )

    query = (
        result.writeStream.outputMode("update")
        .foreachBatch(send_batch)
        .option("checkpointLocation", a.checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    progress = query.recentProgress
    # the first trigger's start: when the query began to read
    first = datetime.fromisoformat(progress[0]["timestamp"].replace("Z", "+00:00")) if progress else None
    print(f"spark: {len(progress)} batches, {sum(p['numInputRows'] for p in progress)} input rows, "
          f"first_record_ms={int(first.timestamp() * 1000) if first else 0}", file=sys.stderr)
    spark.stop()


if __name__ == "__main__":
    main()
