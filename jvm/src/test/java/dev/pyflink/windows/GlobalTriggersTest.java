package dev.pyflink.windows;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.windowing.assigners.GlobalWindows;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

/** global_triggers' --build jvm pipeline on Flink's keyed harness, watermarks fed by hand. */
class GlobalTriggersTest {

    private static KeyedOneInputStreamOperatorTestHarness<String, Row, Tuple2<String, Long>> globalWindows(String kind, String arg)
            throws Exception {
        SingleOutputStreamOperator<Tuple2<String, Long>> windows = WindowOperators.byUser()
                .window(GlobalWindows.create())
                .trigger(GlobalTriggers.of(kind, arg, WindowOperators.ACTION))
                .aggregate(
                        new FiringTotals(WindowOperators.VALUE, WindowOperators.TS),
                        new FiringRecord(),
                        Types.TUPLE(Types.LONG, Types.DOUBLE, Types.LONG, Types.LONG),
                        Types.TUPLE(Types.LONG, Types.DOUBLE, Types.LONG, Types.LONG),
                        Types.TUPLE(Types.STRING, Types.LONG));
        return WindowOperators.harness(windows);
    }

    @SuppressWarnings("unchecked")
    private static List<String> firings(KeyedOneInputStreamOperatorTestHarness<String, Row, Tuple2<String, Long>> harness) {
        return harness.getOutput().stream()
                .filter(StreamRecord.class::isInstance)
                .map(r -> ((StreamRecord<Tuple2<String, Long>>) r).getValue())
                .map(t -> t.f1 + " " + t.f0)
                .collect(Collectors.toList());
    }

    private static String firing(String trigger, long firedAt, long count, String sum, long first, long last) {
        return firedAt + " {\"user_id\": \"a\\u00e9\", \"trigger\": \"" + trigger + "\", \"fired_at\": \""
                + dev.pyflink.json.PythonJsonWriter.time(firedAt) + "\", \"event_count\": " + count + ", \"sum\": " + sum
                + ", \"first_event\": \"" + dev.pyflink.json.PythonJsonWriter.time(first) + "\", \"last_event\": \""
                + dev.pyflink.json.PythonJsonWriter.time(last) + "\"}";
    }

    @Test
    void aDeadlineFollowsAnEarlierEventFiresAtOnceWhenBehindAndTheRestFiresAtTheEnd() throws Exception {
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Tuple2<String, Long>> harness = globalWindows("time", "10000")) {
            harness.processElement(WindowOperators.record("aé", null, 1.0, 20_000));
            harness.processElement(WindowOperators.record("aé", null, 2.0, 14_000)); // deadline 30 s -> 24 s
            harness.processWatermark(35_000); // the 24 s deadline fires
            harness.processElement(WindowOperators.record("aé", null, 4.0, 5_000)); // 15 s: behind, fires at once
            harness.processElement(WindowOperators.record("aé", null, null, 40_000));
            harness.processWatermark(Long.MAX_VALUE);
            assertThat(firings(harness)).containsExactly(
                    firing("time", 24_000, 2, "3.0", 14_000, 20_000),
                    firing("time", 15_000, 1, "4.0", 5_000, 5_000),
                    firing("end_of_input", 40_000, 1, "0.0", 40_000, 40_000));
            assertThat(harness.numEventTimeTimers()).isZero();
        }
    }

    @Test
    void countAndConditionFireWithTheirEventAndPurge() throws Exception {
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Tuple2<String, Long>> harness = globalWindows("count", "2")) {
            harness.processElement(WindowOperators.record("aé", null, 0.1, 1_000));
            harness.processElement(WindowOperators.record("aé", null, 0.2, 2_000));
            harness.processElement(WindowOperators.record("aé", null, -0.0, 3_000));
            harness.processWatermark(Long.MAX_VALUE);
            assertThat(firings(harness)).containsExactly(
                    firing("count", 2_000, 2, "0.3", 1_000, 2_000), firing("end_of_input", 3_000, 1, "0.0", 3_000, 3_000));
        }
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Tuple2<String, Long>> harness =
                globalWindows("condition", "purchase")) {
            harness.processElement(WindowOperators.record("aé", "view", 1.0, 1_000));
            harness.processElement(WindowOperators.record("aé", "purchase", 2.0, 2_000));
            harness.processWatermark(Long.MAX_VALUE);
            assertThat(firings(harness)).containsExactly(firing("condition", 2_000, 2, "3.0", 1_000, 2_000));
        }
    }
}
