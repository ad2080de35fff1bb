/* The job as a Kafka Streams application, for the peers benchmark
 * (tests/bench/peers/run.sh): hopping windows of 10 minutes every 5 with a
 * grace of 5 minutes over the readings' event time, count, sum, min and max
 * per (window, sensor), and each changed window written to the output
 * topic as sensord writes its rows. The record cache is large, so that a
 * window's updates are folded into one row per commit (commit.interval.ms,
 * 1 s), like update mode's one row per batch.
 *
 *   java -cp JARS:CLASSES SensorWindows BROKERS INPUT OUTPUT RECORDS THREADS
 *
 * It stops once it has read RECORDS records (closing flushes the cache and
 * commits) and prints first_record_ms (when it read the first record) and
 * records on stderr. Kafka Streams judges late data by each task's stream
 * time (the maximum event time of its partition), not by one watermark per
 * batch as Spark and sensord do. */
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.TimestampExtractor;

public final class SensorWindows {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A reading, parsed once by the value serde. */
    record Reading(String sensor, double value, long timeMs) {}

    /** count, sum, min, max of one (window, sensor). */
    static final class Agg {
        long count;
        double sum, min, max;

        Agg add(Reading r) {
            if (count == 0 || r.value() < min) min = r.value();
            if (count == 0 || r.value() > max) max = r.value();
            count++;
            sum += r.value();
            return this;
        }
    }

    static long epochMs(String text) {
        try {
            return OffsetDateTime.parse(text).toInstant().toEpochMilli();
        } catch (DateTimeParseException noZone) {
            return LocalDateTime.parse(text).toInstant(ZoneOffset.UTC).toEpochMilli();
        }
    }

    static final class ReadingSerde implements Serde<Reading> {
        public Serializer<Reading> serializer() {
            throw new UnsupportedOperationException("readings are only read");
        }

        public Deserializer<Reading> deserializer() {
            return (topic, data) -> {
                try {
                    JsonNode n = JSON.readTree(data);
                    return new Reading(n.get("sensor_id").asText(), n.get("value").asDouble(),
                                       epochMs(n.get("timestamp").asText()));
                } catch (Exception invalid) {
                    return null; // dropped by the timestamp extractor's -1
                }
            };
        }
    }

    static final class AggSerde implements Serde<Agg> {
        public Serializer<Agg> serializer() {
            return (topic, a) -> ByteBuffer.allocate(32).putLong(a.count).putDouble(a.sum).putDouble(a.min)
                                           .putDouble(a.max).array();
        }

        public Deserializer<Agg> deserializer() {
            return (topic, data) -> {
                ByteBuffer b = ByteBuffer.wrap(data);
                Agg a = new Agg();
                a.count = b.getLong();
                a.sum = b.getDouble();
                a.min = b.getDouble();
                a.max = b.getDouble();
                return a;
            };
        }
    }

    /** Event time from the parsed reading; -1 (skipped) for an invalid one. */
    public static final class EventTime implements TimestampExtractor {
        public long extract(org.apache.kafka.clients.consumer.ConsumerRecord<Object, Object> record, long partitionTime) {
            return record.value() instanceof Reading r ? r.timeMs() : -1;
        }
    }

    static String row(long startMs, long endMs, String sensor, Agg a) {
        return "{\"window\":{\"start\":\"" + Instant.ofEpochMilli(startMs) + "\",\"end\":\"" + Instant.ofEpochMilli(endMs)
               + "\"},\"sensor_id\":" + JSON.valueToTree(sensor) + ",\"avg_value\":" + (a.sum / a.count)
               + ",\"max_value\":" + a.max + ",\"min_value\":" + a.min + ",\"count\":" + a.count + ",\"sum\":" + a.sum + "}";
    }

    public static void main(String[] args) throws Exception {
        String brokers = args[0], input = args[1], output = args[2];
        long records = Long.parseLong(args[3]);
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "streams-peer-" + System.nanoTime());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args[4]));
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 256L * 1024 * 1024);
        p.put(StreamsConfig.STATE_DIR_CONFIG, System.getProperty("java.io.tmpdir") + "/streams-peer");
        p.put(StreamsConfig.DEFAULT_TIMESTAMP_EXTRACTOR_CLASS_CONFIG, EventTime.class);
        p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

        AtomicLong first = new AtomicLong(), seen = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        StreamsBuilder b = new StreamsBuilder();
        b.stream(input, Consumed.with(Serdes.String(), new ReadingSerde()))
            .peek((k, v) -> {
                first.compareAndSet(0, System.currentTimeMillis());
                if (seen.incrementAndGet() == records) done.countDown();
            })
            .groupByKey() // the producer keys each reading by its sensor
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(10), Duration.ofMinutes(5))
                            .advanceBy(Duration.ofMinutes(5)))
            .aggregate(Agg::new, (k, v, a) -> a.add(v), Materialized.with(Serdes.String(), new AggSerde()))
            .toStream()
            .map((w, a) -> KeyValue.pair(w.key() + "@" + w.window().start(),
                                         row(w.window().start(), w.window().end(), w.key(), a)))
            .to(output, Produced.with(Serdes.String(), Serdes.String()));

        KafkaStreams streams = new KafkaStreams(b.build(), p);
        // a client that fails for good never reads RECORDS: stop waiting
        streams.setStateListener((now, before) -> {
            if (now == KafkaStreams.State.ERROR) done.countDown();
        });
        streams.start();
        done.await();
        if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.PENDING_ERROR) {
            streams.close(Duration.ofSeconds(10));
            System.err.println("Kafka Streams failed after " + seen.get() + " records");
            System.exit(1);
        }
        streams.close(Duration.ofSeconds(60)); // flushes the cache and commits
        streams.cleanUp();
        System.err.println("first_record_ms=" + first.get() + " records=" + seen.get());
    }
}
