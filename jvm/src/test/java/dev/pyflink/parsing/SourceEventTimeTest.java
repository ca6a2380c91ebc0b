package dev.pyflink.parsing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.junit.jupiter.api.Test;

/** The Kafka inputs' event time: read from the raw record, a watermark per partition. */
class SourceEventTimeTest {
    private static final EventParser PARSER =
            new EventParser(new String[] {"user_id"}, new String[] {EventParser.STRING}, new boolean[] {true});
    private static final SourceEventTime TWO_SECONDS = new SourceEventTime(PARSER, 2_000);

    private static String event(long ts) {
        return "{\"user_id\": \"ann\", \"timestamp\": " + ts + "}";
    }

    /** The watermarks one partition's generator emits, one list entry per record. */
    private static final class Partition implements WatermarkOutput {
        final WatermarkGenerator<String> generator = TWO_SECONDS.createWatermarkGenerator(null);
        final List<Long> emitted = new ArrayList<>();

        List<Long> read(String... records) {
            List<Long> perRecord = new ArrayList<>();
            for (String record : records) {
                emitted.clear();
                generator.onEvent(record, 0L, this);
                generator.onPeriodicEmit(this);
                perRecord.add(emitted.isEmpty() ? null : emitted.get(emitted.size() - 1));
            }
            return perRecord;
        }

        @Override
        public void emitWatermark(Watermark watermark) {
            emitted.add(watermark.getTimestamp());
        }

        @Override
        public void markIdle() {}

        @Override
        public void markActive() {}
    }

    @Test
    void theTimestampIsTheParsedEventTimeAndARejectedRecordKeepsKafkas() {
        TimestampAssigner<String> assigner = TWO_SECONDS.createTimestampAssigner(null);
        assertThat(assigner.extractTimestamp(event(5_000), 77L)).isEqualTo(5_000L);
        assertThat(assigner.extractTimestamp("{\"user_id\": \"ann\", \"timestamp\": \"2026-11-24T10:00:00Z\"}", 77L))
                .isEqualTo(1_795_514_400_000L);
        assertThat(assigner.extractTimestamp("not json", 77L)).isEqualTo(77L);
        assertThat(assigner.extractTimestamp("{\"timestamp\": 5000}", 77L)).isEqualTo(77L); // no user_id
    }

    @Test
    void eachRecordThatRaisesTheLargestEventTimeEmitsItMinusTheBoundAtOnce() {
        Partition partition = new Partition();
        assertThat(partition.read(event(5_000), event(4_000), "not json", event(5_000), event(9_000), "{}"))
                .containsExactly(3_000L, null, null, null, 7_000L, null);
    }

    @Test
    void partitionsKeepTheirOwnWatermarks() {
        Partition fast = new Partition();
        Partition slow = new Partition();
        assertThat(fast.read(event(60_000))).containsExactly(58_000L);
        // The slow partition's older records are not measured against the fast one's watermark.
        assertThat(slow.read(event(10_000), event(12_000))).containsExactly(8_000L, 10_000L);
    }

    @Test
    void aNegativeBoundIsRefused() {
        assertThatThrownBy(() -> new SourceEventTime(PARSER, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
