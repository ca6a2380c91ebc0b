package dev.pyflink.parsing;

import java.time.Duration;

import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.eventtime.TimestampAssignerSupplier;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.types.Row;

/**
 * Event time read in the source, from the raw record: the watermark strategy of the Kafka inputs.
 *
 * <p>A source that reads several partitions gives each its own timestamp assigner call and its own
 * watermark generator (Flink's split-local watermarks), and a reader emits the minimum over its
 * partitions: a partition that lags behind the others holds the reader's watermark back instead
 * of making its records late.
 *
 * <p>The event time is the one {@link EventParser} gives the record, so it is the same as the
 * parsed row's {@code ts}. A record the parser rejects keeps the time it came with (Kafka's record
 * timestamp) and does not move the watermark: it goes to {@code errors}, as from a file.
 *
 * <p>The watermark is the same bounded out-of-orderness as the Table API's {@code WATERMARK FOR
 * rt AS rt - bound} that file inputs get (udfs/eventtime.py): the largest event time seen minus
 * the bound, emitted after every record that raises it, so lateness does not depend on a
 * processing-time interval.
 */
public final class SourceEventTime implements WatermarkStrategy<String> {
    private static final long serialVersionUID = 1L;

    private final EventParser parser;
    private final long outOfOrdernessMs;

    public SourceEventTime(EventParser parser, long outOfOrdernessMs) {
        if (outOfOrdernessMs < 0) {
            throw new IllegalArgumentException("outOfOrdernessMs must not be negative, got " + outOfOrdernessMs);
        }
        this.parser = parser;
        this.outOfOrdernessMs = outOfOrdernessMs;
    }

    /**
     * This strategy with idleness (a partition without records for {@code idleMs} stops holding
     * the watermark back; 0: never) and alignment ({@code maxDriftMs}: partitions whose watermark
     * runs more than this ahead of the slowest of the group are paused; 0: none).
     */
    public WatermarkStrategy<String> configured(long idleMs, long maxDriftMs, String alignmentGroup, long updateMs) {
        WatermarkStrategy<String> strategy = this;
        if (idleMs > 0) {
            strategy = strategy.withIdleness(Duration.ofMillis(idleMs));
        }
        if (maxDriftMs > 0) {
            strategy = strategy.withWatermarkAlignment(
                    alignmentGroup, Duration.ofMillis(maxDriftMs), Duration.ofMillis(updateMs));
        }
        return strategy;
    }

    /**
     * The record's event time, or {@code Long.MIN_VALUE} when the parser rejects it. The assigner,
     * the record's partition's generator and then {@link ParseEvents} parse the same record one
     * after the other in the reader's thread: {@link EventParser#parseShared} parses it once.
     */
    long eventTime(String record) {
        Row row = parser.parseShared(record);
        return row == null ? Long.MIN_VALUE : (Long) row.getField(row.getArity() - 2);
    }

    @Override
    public TimestampAssigner<String> createTimestampAssigner(TimestampAssignerSupplier.Context context) {
        return (record, recordTimestamp) -> {
            long eventTime = eventTime(record);
            return eventTime == Long.MIN_VALUE ? recordTimestamp : eventTime;
        };
    }

    @Override
    public WatermarkGenerator<String> createWatermarkGenerator(WatermarkGeneratorSupplier.Context context) {
        return new BoundedOutOfOrderness();
    }

    /** One per partition: the largest valid event time so far, minus the bound, on every rise. */
    private final class BoundedOutOfOrderness implements WatermarkGenerator<String> {
        private long maxEventTime = Long.MIN_VALUE;

        @Override
        public void onEvent(String record, long timestamp, WatermarkOutput output) {
            // The assigner's timestamp of a rejected record is Kafka's, not an event time: only a
            // valid record's own time counts.
            long eventTime = eventTime(record);
            if (eventTime != Long.MIN_VALUE && eventTime > maxEventTime) {
                maxEventTime = eventTime;
                output.emitWatermark(new Watermark(eventTime - outOfOrdernessMs));
            }
        }

        @Override
        public void onPeriodicEmit(WatermarkOutput output) {
            // Every watermark is emitted on the record that raises it.
        }
    }
}
