package dev.pyflink.routing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;

import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.apache.flink.types.Row;
import org.junit.jupiter.api.Test;

/** The router on Flink's ProcessFunction harness: each event in one output, with its timestamp. */
class RouteEventsTest {
    /** The event rows' fields (udfs/eventtime.py timed_row_type(ACTIVITY)). */
    private static final String[] FIELDS = {"user_id", "action", "value", "tenant", "page", "ts", "raw", "behind_watermark"};

    private static RouteEvents router() {
        return new RouteEvents(
                "event_router",
                FIELDS,
                "field 'value' is {state}: the router needs a non-negative number",
                "field 'value' must not be negative, got {value}",
                "late",
                "errors",
                new String[] {"acme"},
                new String[] {"tenant-acme"});
    }

    private static StreamRecord<Row> event(String raw, Double value, String tenant, boolean late, long ts) {
        return new StreamRecord<>(Row.of("u", null, value, tenant, null, ts, raw, late), ts);
    }

    private static List<String> timed(java.util.Collection<StreamRecord<String>> records) {
        return records.stream().map(r -> r.getTimestamp() + " " + r.getValue()).collect(Collectors.toList());
    }

    @Test
    void errorsComeFirstThenLateThenTenantsAndEveryRecordKeepsItsTimestamp() throws Exception {
        RouteEvents router = router();
        try (OneInputStreamOperatorTestHarness<Row, String> harness = ProcessFunctionTestHarnesses.forProcessFunction(router)) {
            harness.processElement(event("{\"value\":1E1, \"tenant\": \"acme\"}", 10.0, "acme", false, 1));
            harness.processElement(event("{\"value\": 2, \"tenant\": \"acme\"}", 2.0, "acme", true, 2));
            harness.processElement(event("{\"value\": -5, \"tenant\": \"acme\"}", -5.0, "acme", true, 3));
            harness.processElement(event("{\"value\": -5.0}", -5.0, null, false, 4));
            harness.processElement(event("{\"value\": null}", null, null, false, 5));
            harness.processElement(event("{\"v\": 1}", null, null, false, 6));
            harness.processElement(event("{\"value\": 0, \"tenant\": \"initech\"}", 0.0, "initech", false, 7));

            assertThat(timed(harness.getOutput().stream()
                            .filter(StreamRecord.class::isInstance)
                            .map(r -> (StreamRecord<String>) r)
                            .collect(Collectors.toList())))
                    .containsExactly("7 {\"value\": 0, \"tenant\": \"initech\"}");
            assertThat(timed(harness.getSideOutput(router.output("tenant-acme"))))
                    .containsExactly("1 {\"value\": 10.0, \"tenant\": \"acme\"}");
            assertThat(timed(harness.getSideOutput(router.output("late"))))
                    .containsExactly("2 {\"value\": 2, \"tenant\": \"acme\"}");
            assertThat(timed(harness.getSideOutput(router.output("errors"))))
                    .containsExactly(
                            "3 {\"job\": \"event_router\", \"error\": \"field 'value' must not be negative, got -5\", "
                                    + "\"raw\": \"{\\\"value\\\": -5, \\\"tenant\\\": \\\"acme\\\"}\"}",
                            "4 {\"job\": \"event_router\", \"error\": \"field 'value' must not be negative, got -5.0\", "
                                    + "\"raw\": \"{\\\"value\\\": -5.0}\"}",
                            "5 {\"job\": \"event_router\", \"error\": \"field 'value' is null: the router needs a "
                                    + "non-negative number\", \"raw\": \"{\\\"value\\\": null}\"}",
                            "6 {\"job\": \"event_router\", \"error\": \"field 'value' is missing: the router needs a "
                                    + "non-negative number\", \"raw\": \"{\\\"v\\\": 1}\"}");
        }
    }
}
