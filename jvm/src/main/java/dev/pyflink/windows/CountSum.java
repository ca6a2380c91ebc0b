package dev.pyflink.windows;

import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.types.Row;

/**
 * Incremental {@code (count, sum of value)} of event rows; a missing value counts as 0. The port of
 * {@code jobs/late_data.py}'s {@code CountSum}: values are added in arrival order, as there, so the
 * sums are the same doubles.
 */
public final class CountSum implements AggregateFunction<Row, Tuple2<Long, Double>, Tuple2<Long, Double>> {
    private static final long serialVersionUID = 1L;

    private final int valueField;

    public CountSum(int valueField) {
        this.valueField = valueField;
    }

    @Override
    public Tuple2<Long, Double> createAccumulator() {
        return Tuple2.of(0L, 0.0);
    }

    @Override
    public Tuple2<Long, Double> add(Row event, Tuple2<Long, Double> acc) {
        Double value = (Double) event.getField(valueField);
        acc.f0 += 1;
        acc.f1 += value == null ? 0.0 : value;
        return acc;
    }

    @Override
    public Tuple2<Long, Double> getResult(Tuple2<Long, Double> acc) {
        return acc;
    }

    @Override
    public Tuple2<Long, Double> merge(Tuple2<Long, Double> a, Tuple2<Long, Double> b) {
        return Tuple2.of(a.f0 + b.f0, a.f1 + b.f1);
    }
}
