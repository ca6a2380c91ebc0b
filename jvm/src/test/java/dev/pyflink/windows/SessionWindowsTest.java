package dev.pyflink.windows;

import static dev.pyflink.windows.WindowOperators.ACTION;
import static dev.pyflink.windows.WindowOperators.EVENT;
import static dev.pyflink.windows.WindowOperators.TS;
import static dev.pyflink.windows.WindowOperators.byUser;
import static dev.pyflink.windows.WindowOperators.harness;
import static dev.pyflink.windows.WindowOperators.record;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.Row;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code sessions --build jvm}'s operator (jobs/jvm/sessions.py): Flink's session windows, a 3 s
 * gap and 2 s of allowed lateness, with {@link SessionSummary} writing each firing.
 */
class SessionWindowsTest {
    private static final OutputTag<Row> LATE = new OutputTag<>("late", EVENT);

    private KeyedOneInputStreamOperatorTestHarness<String, Row, String> harness;

    @BeforeEach
    void open() throws Exception {
        SingleOutputStreamOperator<String> sessions = byUser()
                .window(EventTimeSessionWindows.withGap(Duration.ofSeconds(3)))
                .allowedLateness(Duration.ofSeconds(2))
                .sideOutputLateData(LATE)
                .process(new SessionSummary(TS, ACTION), Types.STRING);
        harness = harness(sessions);
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    private static String session(String user, String start, String end, String windowEnd, String duration,
            List<String> actions) {
        return "{\"user_id\": \"" + user + "\", \"session_start\": \"1970-01-01T00:00:" + start
                + "Z\", \"session_end\": \"1970-01-01T00:00:" + end + "Z\", \"window_end\": \"1970-01-01T00:00:"
                + windowEnd + "Z\", \"duration_s\": " + duration + ", \"event_count\": " + actions.size()
                + ", \"actions\": [" + String.join(", ", actions) + "]}";
    }

    /** The records fired since the last call, with their timestamps. */
    private List<StreamRecord<String>> firings() {
        List<StreamRecord<String>> out = harness.extractOutputStreamRecords().stream()
                .map(r -> new StreamRecord<String>(r.getValue(), r.getTimestamp()))
                .toList();
        harness.getOutput().clear();
        return out;
    }

    private List<StreamRecord<Row>> late() {
        List<StreamRecord<Row>> out = harness.getSideOutput(LATE) == null ? List.of() : List.copyOf(harness.getSideOutput(LATE));
        if (harness.getSideOutput(LATE) != null) {
            harness.getSideOutput(LATE).clear();
        }
        return out;
    }

    @Test
    void outOfOrderEventsMergeIntoSessionsThatCloseWithTheWatermark() throws Exception {
        harness.processElement(record("ann", "view", null, 1_000));
        harness.processElement(record("ann", "click", null, 3_500));
        harness.processElement(record("bob", "view", null, 2_000));
        harness.processElement(record("ann", "scroll", null, 2_000)); // out of order, inside ann's session
        harness.processWatermark(new Watermark(5_000));
        assertThat(firings()).containsExactly(new StreamRecord<>(
                session("bob", "02.000", "02.000", "05.000", "0.0", List.of("\"view\"")), 4_999));

        harness.processElement(record("ann", "buy", null, 7_000)); // 3.5 s after click: a session of its own
        harness.processWatermark(new Watermark(7_000));
        assertThat(firings()).containsExactly(new StreamRecord<>(
                session("ann", "01.000", "03.500", "06.500", "2.5", List.of("\"view\"", "\"scroll\"", "\"click\"")),
                6_499));

        harness.processWatermark(new Watermark(Long.MAX_VALUE));
        assertThat(firings()).containsExactly(new StreamRecord<>(
                session("ann", "07.000", "07.000", "10.000", "0.0", List.of("\"buy\"")), 9_999));
        assertThat(late()).isEmpty();
        assertThat(harness.numKeyedStateEntries()).isZero();
    }

    @Test
    void aLateEventWithinTheAllowedLatenessFiresTheSessionAgainAndAfterItGoesToLate() throws Exception {
        harness.processElement(record("ann", "view", null, 1_000));
        harness.processElement(record("ann", "click", null, 3_500));
        harness.processElement(record("bob", "view", null, 2_000));
        harness.processWatermark(new Watermark(7_000)); // both closed; bob's cleaned up (4 999 + 2 000)
        assertThat(firings()).hasSize(2);

        // ann's session [1 s, 6.5 s) is kept until the watermark passes 8.499 s: it fires again, whole.
        harness.processElement(record("ann", "back", null, 3_000));
        assertThat(firings()).containsExactly(new StreamRecord<>(
                session("ann", "01.000", "03.500", "06.500", "2.5", List.of("\"view\"", "\"back\"", "\"click\"")),
                6_499));
        // bob's is gone: an event that would have joined it is late, with its own time.
        harness.processElement(record("bob", "buy", null, 1_000));
        harness.processWatermark(new Watermark(8_500));
        harness.processElement(record("ann", "gone", null, 2_500));
        assertThat(firings()).isEmpty();
        assertThat(late()).extracting(StreamRecord::getTimestamp).containsExactly(1_000L, 2_500L);
        assertThat(harness.numKeyedStateEntries()).isZero();
    }

    @Test
    void eventsAtTheSameTimeAreListedByActionNoActionFirst() throws Exception {
        harness.processElement(record("ann", "b", null, 1_000));
        harness.processElement(record("ann", null, null, 1_000));
        harness.processElement(record("ann", "\u00e9", null, 1_000));
        harness.processElement(record("ann", "a", null, 1_000));
        harness.processWatermark(new Watermark(Long.MAX_VALUE));
        assertThat(firings()).extracting(StreamRecord::getValue).containsExactly(session(
                "ann", "01.000", "01.000", "04.000", "0.0", List.of("null", "\"a\"", "\"b\"", "\"\\u00e9\"")));
    }
}
