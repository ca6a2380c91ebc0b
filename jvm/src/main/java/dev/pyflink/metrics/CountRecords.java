package dev.pyflink.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.metrics.Counter;

/**
 * Counts the records of one job output in the {@code output.<name>.records} counter and passes them
 * on, optionally prefixed with the output's name ({@code <output>\t<record>}) for a collecting sink.
 *
 * <p>In the JVM so that counting costs no crossing into Python per output record. With a ledger
 * folder (a local run whose records the client cannot read back, such as a Kafka sink's), each
 * parallel instance writes its final count to a file of its own there when it closes: Flink drops a
 * job's metrics with its MiniCluster. {@code udfs.metrics.ledger_counts} sums them.
 */
public final class CountRecords extends RichMapFunction<String, String> {
    private static final long serialVersionUID = 1L;

    /** The key of the group the counters are in: the output's name is a label of the metric. */
    public static final String OUTPUT_GROUP = "output";

    private final String output;
    private final boolean tag;
    private final String ledger;
    private transient Counter counter;
    private transient long count;

    public CountRecords(String output, boolean tag, String ledger) {
        this.output = output;
        this.tag = tag;
        this.ledger = ledger;
    }

    @Override
    public void open(OpenContext context) {
        counter = getRuntimeContext().getMetricGroup().addGroup(OUTPUT_GROUP, output).counter("records");
        count = 0;
    }

    @Override
    public String map(String record) {
        counter.inc();
        count++;
        return tag ? output + "\t" + record : record;
    }

    @Override
    public void close() throws IOException {
        if (ledger != null) {
            Path file = Path.of(ledger, output + "." + UUID.randomUUID().toString().replace("-", ""));
            Files.writeString(file, Long.toString(count), StandardCharsets.UTF_8);
        }
    }
}
