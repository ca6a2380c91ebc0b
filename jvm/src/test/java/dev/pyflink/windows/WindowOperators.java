package dev.pyflink.windows;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.transformations.OneInputTransformation;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.Row;

/**
 * The window operators the fast builds declare (jobs/jvm/*.py), built here the same way through
 * the DataStream API and run in Flink's keyed operator test harness: watermarks and records are
 * fed by hand, so each test decides exactly which records are late.
 */
final class WindowOperators {
    private WindowOperators() {}

    /** The test events: user, action, value, event time (the jobs' rows have more fields; the
     * functions take the positions they read). */
    static final TypeInformation<Row> EVENT =
            Types.ROW_NAMED(new String[] {"user_id", "action", "value", "ts"}, Types.STRING, Types.STRING, Types.DOUBLE, Types.LONG);

    static final int USER = 0, ACTION = 1, VALUE = 2, TS = 3;

    static Row event(String user, String action, Double value, long ts) {
        return Row.of(user, action, value, ts);
    }

    /** The event as the window operator receives it: with its event time as the record's timestamp. */
    static StreamRecord<Row> record(String user, String action, Double value, long ts) {
        return new StreamRecord<>(event(user, action, value, ts), ts);
    }

    /** The events keyed as the fast builds key them, by user. */
    static KeyedStream<Row, String> byUser() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        return env.fromData(EVENT, event("nobody", null, null, 0L)).keyBy(new RowFieldKey(USER), Types.STRING);
    }

    /** The operator of {@code windows}' last step, in a harness, opened. */
    @SuppressWarnings("unchecked")
    static <OUT> KeyedOneInputStreamOperatorTestHarness<String, Row, OUT> harness(SingleOutputStreamOperator<OUT> windows)
            throws Exception {
        OneInputTransformation<Row, OUT> transformation = (OneInputTransformation<Row, OUT>) windows.getTransformation();
        KeyedOneInputStreamOperatorTestHarness<String, Row, OUT> harness = new KeyedOneInputStreamOperatorTestHarness<>(
                transformation.getOperator(),
                (org.apache.flink.api.java.functions.KeySelector<Row, String>) transformation.getStateKeySelector(),
                Types.STRING);
        harness.open();
        return harness;
    }
}
