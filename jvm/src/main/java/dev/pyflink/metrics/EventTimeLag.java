package dev.pyflink.metrics;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Passes records on and publishes, as gauges, how far the watermark trails the data here:
 * {@code eventtime.lag_ms} (the newest event time seen minus the current watermark; 0 until the
 * first watermark), {@code eventtime.max_event_time_ms} and {@code eventtime.watermark_ms}. A lag
 * that keeps growing means a stalled watermark (an idle input, a source that stopped) and windows
 * that do not fire.
 *
 * <p>In the JVM: it sees every event, and a Python function would cost a crossing per event.
 */
public final class EventTimeLag<T> extends ProcessFunction<T, T> {
    private static final long serialVersionUID = 1L;

    /** The metric group of the gauges: {@code <operator>.eventtime.<gauge>}. */
    public static final String GROUP = "eventtime";

    // Written by the task thread, read by the metric reporters' threads.
    private transient volatile long maxEventTime;
    private transient volatile long watermark;
    private transient volatile long lag;
    private transient boolean seen;

    @Override
    public void open(OpenContext context) {
        MetricGroup group = getRuntimeContext().getMetricGroup().addGroup(GROUP);
        group.gauge("lag_ms", () -> lag);
        group.gauge("max_event_time_ms", () -> maxEventTime);
        group.gauge("watermark_ms", () -> watermark);
    }

    @Override
    public void processElement(T value, Context ctx, Collector<T> out) {
        Long ts = ctx.timestamp();
        if (ts != null && (!seen || ts > maxEventTime)) {
            seen = true;
            maxEventTime = ts;
        }
        long current = ctx.timerService().currentWatermark();
        if (seen && current > Long.MIN_VALUE) {
            watermark = current;
            lag = Math.max(0, maxEventTime - current);
        }
        out.collect(value);
    }
}
