package dev.pyflink.timers;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

/** The timeouts function on Flink's keyed harness, watermarks fed by hand. */
class InactivityTimeoutsTest {
    private static final String[] FIELDS = {"user_id", "action", "value", "tenant", "page", "ts", "raw", "behind_watermark"};

    private static StreamRecord<Row> event(String user, long ts, boolean late) {
        String raw = "{\"user_id\":\"" + user + "\", \"timestamp\": " + ts + "}";
        return new StreamRecord<>(Row.of(user, null, null, null, null, ts, raw, late), ts);
    }

    @SuppressWarnings("unchecked")
    private static List<String> timeouts(KeyedOneInputStreamOperatorTestHarness<String, Row, Tuple2<String, Long>> harness) {
        return harness.getOutput().stream()
                .filter(StreamRecord.class::isInstance)
                .map(r -> ((StreamRecord<Tuple2<String, Long>>) r).getValue())
                .map(t -> t.f1 + " " + t.f0)
                .collect(Collectors.toList());
    }

    @Test
    void gapsLongerThanTheTimeoutAndTheLastEventEndActivitiesOutOfOrderEventsFoldInTimeOrder() throws Exception {
        InactivityTimeouts function = new InactivityTimeouts(3_000, FIELDS);
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Tuple2<String, Long>> harness =
                ProcessFunctionTestHarnesses.forKeyedProcessFunction(function, row -> (String) row.getField(0), Types.STRING)) {
            harness.processElement(event("a", 1_000, false));
            harness.processElement(event("a", 0, false)); // out of order, within the bound
            harness.processElement(event("a", 4_000, false)); // a gap of exactly 3 s: no timeout
            harness.processElement(event("a", 9_000, false));
            harness.processElement(event("a", 500, true)); // behind the watermark on arrival
            harness.processWatermark(7_000); // 4 s + 3 s: a next event at 7 s would still be in time
            assertThat(timeouts(harness)).isEmpty();
            String first = "7000 {\"user_id\": \"a\", \"last_seen\": \"1970-01-01T00:00:04.000Z\", \"timeout_at\": "
                    + "\"1970-01-01T00:00:07.000Z\", \"inactive_s\": 3.0, \"event_count\": 3}";
            harness.processWatermark(7_001);
            assertThat(timeouts(harness)).containsExactly(first);
            harness.processWatermark(Long.MAX_VALUE);
            assertThat(timeouts(harness)).containsExactly(
                    first,
                    "12000 {\"user_id\": \"a\", \"last_seen\": \"1970-01-01T00:00:09.000Z\", \"timeout_at\": "
                            + "\"1970-01-01T00:00:12.000Z\", \"inactive_s\": 3.0, \"event_count\": 1}");
            assertThat(harness.getSideOutput(InactivityTimeouts.LATE).stream().map(r -> r.getTimestamp() + " " + r.getValue()))
                    .containsExactly("500 {\"user_id\": \"a\", \"timestamp\": 500}");
            assertThat(harness.numKeyedStateEntries()).isZero();
        }
    }
}
