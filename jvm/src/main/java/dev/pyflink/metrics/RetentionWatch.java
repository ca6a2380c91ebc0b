package dev.pyflink.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes one output's records on to its Kafka topic and counts those whose timestamp (the event
 * time the sink writes as the Kafka record timestamp) is older than the topic's {@code
 * retention.ms} at the moment they are written: Kafka deletes them at its next retention check,
 * after the job has committed them.
 *
 * <p>The count is the {@code output.<name>.past_retention} counter. The first such record of each
 * parallel instance is logged once as a warning (the TaskManager's log, on a cluster). With a
 * ledger folder (a local run), the instance also writes a file there at its first such record, so
 * that the client can warn while the job runs, and its final count when it closes: {@code
 * udfs.metrics.ledger_counts} sums them.
 */
public final class RetentionWatch extends ProcessFunction<String, String> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(RetentionWatch.class);

    private final String output;
    private final String topic;
    private final long retentionMs;
    private final String ledger;
    private transient Counter counter;
    private transient long count;
    private transient Path ledgerFile;

    /**
     * @param retentionMs the topic's {@code retention.ms} (positive: a topic without time-based
     *     retention, or with {@code LogAppendTime} timestamps, needs no watch)
     * @param ledger a folder for the counts, or null
     */
    public RetentionWatch(String output, String topic, long retentionMs, String ledger) {
        if (retentionMs <= 0) {
            throw new IllegalArgumentException("retentionMs must be positive, got " + retentionMs);
        }
        this.output = output;
        this.topic = topic;
        this.retentionMs = retentionMs;
        this.ledger = ledger;
    }

    @Override
    public void open(OpenContext context) {
        counter = getRuntimeContext()
                .getMetricGroup()
                .addGroup(CountRecords.OUTPUT_GROUP, output)
                .counter("past_retention");
        count = 0;
        ledgerFile = ledger == null
                ? null
                : Path.of(ledger, output + "." + UUID.randomUUID().toString().replace("-", ""));
    }

    @Override
    public void processElement(String record, Context context, Collector<String> out) throws IOException {
        Long timestamp = context.timestamp();
        // The broker compares the segment's newest timestamp with its own clock; this is the same
        // test at the moment of writing (a record near the limit may still go at the next check).
        if (timestamp != null && timestamp < System.currentTimeMillis() - retentionMs) {
            counter.inc();
            if (count++ == 0) {
                LOG.warn(
                        "Output {} writes records to Kafka topic {} with event-time timestamps older than the"
                                + " topic's retention.ms={}: Kafka deletes them at its next retention check."
                                + " First one: timestamp {}.",
                        output,
                        topic,
                        retentionMs,
                        timestamp);
                writeCount();
            }
        }
        out.collect(record);
    }

    @Override
    public void close() throws IOException {
        if (count > 0) {
            writeCount();
        }
    }

    private void writeCount() throws IOException {
        if (ledgerFile != null) {
            Files.writeString(ledgerFile, Long.toString(count), StandardCharsets.UTF_8);
        }
    }
}
