package dev.pyflink.parsing;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Raw text records -> typed event rows ({@link EventParser}); a record the parser rejects goes,
 * as it came, to the side output {@link #REJECTED}, where Python writes the reason.
 *
 * <p>Valid records never leave the JVM here, and they keep their arrival order, which decides
 * lateness: only rejected records, which have no event time, take the other path. Counts
 * {@code records.in} and {@code records.invalid}.
 */
public final class ParseEvents extends ProcessFunction<String, Row> {
    private static final long serialVersionUID = 1L;

    /** Records the parser rejected, unchanged: {@code udfs.parsing} turns them into errors. */
    public static final OutputTag<String> REJECTED = new OutputTag<>("rejected", Types.STRING);
    /** The metric group of the counters: {@code <operator>.records.in}, {@code .invalid}. */
    public static final String GROUP = "records";

    private final EventParser parser;
    private transient Counter recordsIn;
    private transient Counter invalid;

    public ParseEvents(EventParser parser) {
        this.parser = parser;
    }

    @Override
    public void open(OpenContext context) {
        MetricGroup group = getRuntimeContext().getMetricGroup().addGroup(GROUP);
        recordsIn = group.counter("in");
        invalid = group.counter("invalid");
    }

    @Override
    public void processElement(String text, Context ctx, Collector<Row> out) {
        recordsIn.inc();
        Row row = parser.parseShared(text);  // a Kafka source parsed it already
        if (row != null) {
            out.collect(row);
        } else {
            invalid.inc();
            ctx.output(REJECTED, text);
        }
    }
}
