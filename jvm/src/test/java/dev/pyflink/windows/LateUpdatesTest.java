package dev.pyflink.windows;

import static dev.pyflink.windows.WindowOperators.EVENT;
import static dev.pyflink.windows.WindowOperators.VALUE;
import static dev.pyflink.windows.WindowOperators.byUser;
import static dev.pyflink.windows.WindowOperators.harness;
import static dev.pyflink.windows.WindowOperators.record;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.Row;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code late_data --build jvm}'s operator (jobs/jvm/late_data.py): 10 s tumbling windows with 5 s
 * of allowed lateness, {@link NotingEventTimeTrigger}, {@link CountSum} and {@link NumberedFiring}.
 */
class LateUpdatesTest {
    private static final OutputTag<Row> LATE = new OutputTag<>("late", EVENT);

    private KeyedOneInputStreamOperatorTestHarness<String, Row, String> harness;

    @BeforeEach
    void open() throws Exception {
        SingleOutputStreamOperator<String> windows = byUser()
                .window(TumblingEventTimeWindows.of(Duration.ofSeconds(10)))
                .trigger(new NotingEventTimeTrigger())
                .allowedLateness(Duration.ofSeconds(5))
                .sideOutputLateData(LATE)
                .aggregate(new CountSum(VALUE), new NumberedFiring(),
                        Types.TUPLE(Types.LONG, Types.DOUBLE), Types.TUPLE(Types.LONG, Types.DOUBLE), Types.STRING);
        harness = harness(windows);
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    private static StreamRecord<String> firing(String user, int window, long count, String sum, int firing, boolean late) {
        String json = "{\"user_id\": \"" + user + "\", \"window_start\": \"1970-01-01T00:00:" + window
                + "0.000Z\", \"window_end\": \"1970-01-01T00:00:" + (window + 1) + "0.000Z\", \"count\": " + count
                + ", \"sum\": " + sum + ", \"firing\": " + firing + ", \"late_update\": " + late + "}";
        return new StreamRecord<>(json, window * 10_000L + 9_999);
    }

    /** The records fired since the last call, with their timestamps. */
    private List<StreamRecord<String>> firings() {
        List<StreamRecord<String>> out = harness.extractOutputStreamRecords().stream()
                .map(r -> new StreamRecord<String>(r.getValue(), r.getTimestamp()))
                .toList();
        harness.getOutput().clear();
        return out;
    }

    @Test
    void theWatermarkFiresOnceThenEachLateEventFiresANumberedLateUpdate() throws Exception {
        harness.processElement(record("ann", "view", 1.5, 1_000));
        harness.processElement(record("ann", "view", 2.0, 4_000));
        harness.processElement(record("bob", "view", 1.0, 12_000));
        harness.processWatermark(new Watermark(9_999));
        assertThat(firings()).containsExactly(firing("ann", 0, 2, "3.5", 1, false));

        harness.processElement(record("ann", "view", 0.25, 2_000));
        harness.processElement(record("ann", "view", null, 3_000)); // no value: counted, adds nothing
        assertThat(firings()).containsExactly(
                firing("ann", 0, 3, "3.75", 2, true), firing("ann", 0, 4, "3.75", 3, true));

        // At 14.999 s the window and its state are gone: the next event for it is late.
        harness.processWatermark(new Watermark(14_999));
        harness.processElement(record("ann", "view", 9.0, 5_000));
        assertThat(firings()).isEmpty();
        assertThat(harness.getSideOutput(LATE)).extracting(StreamRecord::getTimestamp).containsExactly(5_000L);

        harness.processWatermark(new Watermark(Long.MAX_VALUE));
        assertThat(firings()).containsExactly(firing("bob", 1, 1, "1.0", 1, false));
        assertThat(harness.numKeyedStateEntries()).isZero(); // the firing count and the trigger's note too
    }

    @Test
    void sumsAreRoundedAsPythonRoundsThem() throws Exception {
        harness.processElement(record("ann", "view", 0.1, 1_000));
        harness.processElement(record("ann", "view", 0.2, 2_000));
        harness.processWatermark(new Watermark(Long.MAX_VALUE));
        assertThat(firings()).containsExactly(firing("ann", 0, 2, "0.3", 1, false)); // round(0.1 + 0.2, 9)
    }
}
