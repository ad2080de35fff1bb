"""The job as a PyFlink SQL job, for the peers benchmark
(tests/bench/peers/run.sh): Flink's HOP window table function, 10 minutes
every 5, over the readings' event time with a watermark 5 minutes behind,
avg, max, min and count per (window, sensor), written to the output topic
as sensord writes its rows. The Kafka source is bounded at the offsets the
topic has at start, so the job ends, and the last watermark closes every
window.

    python flink_job.py BROKERS INPUT OUTPUT CONNECTOR_JAR PARALLELISM

Prints first_record_ms on stderr: the moment the job is submitted, which
includes its start (Flink's SQL reports no first record). A window
function writes each window once, when the watermark passes its end, which
is append mode, not update mode; Flink's Kafka source keeps one watermark
per partition and takes the lowest."""
import sys
import time

from pyflink.table import EnvironmentSettings, TableEnvironment


def main():
    brokers, input_topic, output_topic, jar, parallelism = sys.argv[1:6]
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = env.get_config()
    config.set("pipeline.jars", f"file://{jar}")
    config.set("parallelism.default", parallelism)
    config.set("table.local-time-zone", "UTC")
    env.execute_sql(f"""
        CREATE TABLE readings (
            sensor_id STRING,
            `value` DOUBLE,
            `timestamp` STRING,
            ts AS TO_TIMESTAMP_LTZ(
                UNIX_TIMESTAMP(SUBSTRING(`timestamp`, 1, 19), 'yyyy-MM-dd''T''HH:mm:ss') * 1000
                + CASE WHEN CHAR_LENGTH(`timestamp`) > 20 THEN CAST(SUBSTRING(`timestamp`, 21, 3) AS INT) ELSE 0 END,
                3),
            WATERMARK FOR ts AS ts - INTERVAL '5' MINUTE
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{input_topic}',
            'properties.bootstrap.servers' = '{brokers}',
            'properties.group.id' = 'flink-peer-{time.time_ns()}',
            'scan.startup.mode' = 'earliest-offset',
            'scan.bounded.mode' = 'latest-offset',
            'format' = 'json'
        )""")
    env.execute_sql(f"""
        CREATE TABLE rows_out (
            `window` ROW<`start` STRING, `end` STRING>,
            sensor_id STRING,
            avg_value DOUBLE,
            max_value DOUBLE,
            min_value DOUBLE,
            `count` BIGINT
        ) WITH (
            'connector' = 'kafka',
            'topic' = '{output_topic}',
            'properties.bootstrap.servers' = '{brokers}',
            'format' = 'json'
        )""")
    first = int(time.time() * 1000)
    env.execute_sql("""
        INSERT INTO rows_out
        SELECT ROW(DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss''Z'''),
                   DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss''Z''')),
               sensor_id, AVG(`value`), MAX(`value`), MIN(`value`), COUNT(*)
        FROM TABLE(HOP(TABLE readings, DESCRIPTOR(ts), INTERVAL '5' MINUTES, INTERVAL '10' MINUTES))
        GROUP BY window_start, window_end, sensor_id""").wait()
    print(f"first_record_ms={first}", file=sys.stderr)


if __name__ == "__main__":
    main()
