package dev.pyflink.windows;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.types.Row;

/**
 * {@code jobs/global_triggers.py}'s {@code Totals}: {@code (event_count, sum of value, first event
 * time, last event time)}, the values added in arrival order (a missing value, and -0.0, add 0.0,
 * as Python's {@code value or 0.0}). An empty accumulator's times are {@code Long.MAX_VALUE} and
 * {@code Long.MIN_VALUE}: a window function only ever sees one with events.
 */
public final class FiringTotals implements AggregateFunction<Row, Tuple4<Long, Double, Long, Long>, Tuple4<Long, Double, Long, Long>> {
    private static final long serialVersionUID = 1L;

    private final int valueField;
    private final int tsField;

    public FiringTotals(int valueField, int tsField) {
        this.valueField = valueField;
        this.tsField = tsField;
    }

    @Override
    public Tuple4<Long, Double, Long, Long> createAccumulator() {
        return Tuple4.of(0L, 0.0, Long.MAX_VALUE, Long.MIN_VALUE);
    }

    @Override
    public Tuple4<Long, Double, Long, Long> add(Row event, Tuple4<Long, Double, Long, Long> acc) {
        Double value = (Double) event.getField(valueField);
        long ts = (Long) event.getField(tsField);
        double added = value == null || value == 0 ? 0.0 : value;
        return Tuple4.of(acc.f0 + 1, acc.f1 + added, Math.min(acc.f2, ts), Math.max(acc.f3, ts));
    }

    @Override
    public Tuple4<Long, Double, Long, Long> getResult(Tuple4<Long, Double, Long, Long> acc) {
        return acc;
    }

    @Override
    public Tuple4<Long, Double, Long, Long> merge(Tuple4<Long, Double, Long, Long> a, Tuple4<Long, Double, Long, Long> b) {
        return Tuple4.of(a.f0 + b.f0, a.f1 + b.f1, Math.min(a.f2, b.f2), Math.max(a.f3, b.f3));
    }
}
