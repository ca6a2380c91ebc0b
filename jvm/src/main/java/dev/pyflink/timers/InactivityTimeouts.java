package dev.pyflink.timers;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.pyflink.json.JsonRoundTrip;
import dev.pyflink.json.PythonJsonWriter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * {@code jobs/inactivity_timeouts.py}'s {@code InactivityTimeouts} in the JVM: the same state
 * (the pending event times, in arrival order; the last event folded, the events folded since the
 * previous timeout, the one timer armed), the same single timer and the same fold, so the same
 * timeouts in the same bytes. A timeout leaves as {@code (record, timeout_at)} for the runner to
 * stamp (a timer's output carries the timer's time); a late event, on {@link #LATE}, keeps its own.
 */
public final class InactivityTimeouts extends KeyedProcessFunction<String, Row, Tuple2<String, Long>> {
    private static final long serialVersionUID = 1L;

    /** Events behind the watermark on arrival, echoed as their producer wrote them. */
    public static final OutputTag<String> LATE = new OutputTag<>("late", Types.STRING);
    /** udfs/metrics.py GROUP: the counter of users holding state, {@code records.live_users}. */
    private static final String GROUP = "records";

    private final long timeout;
    private final int tsField;
    private final int rawField;
    private final int behindWatermarkField;
    private final String inactiveSeconds;

    private transient ListState<Long> pending;
    /** {hasLast (0/1), last, count, timer}. */
    private transient ValueState<long[]> status;
    private transient Counter liveUsers;

    /** @param fields the event row's field names, {@code ts}, {@code raw} and {@code behind_watermark} among them */
    public InactivityTimeouts(long timeoutMs, String[] fields) {
        List<String> names = Arrays.asList(fields);
        timeout = timeoutMs;
        tsField = names.indexOf("ts");
        rawField = names.indexOf("raw");
        behindWatermarkField = names.indexOf("behind_watermark");
        if (tsField < 0 || rawField < 0 || behindWatermarkField < 0) {
            throw new IllegalArgumentException("the event rows need ts, raw and behind_watermark: " + names);
        }
        inactiveSeconds = PythonJsonWriter.floatRepr(timeoutMs / 1000.0); // Python's timeout / 1000
    }

    @Override
    public void open(OpenContext context) {
        pending = getRuntimeContext().getListState(new ListStateDescriptor<>("pending", Types.LONG));
        status = getRuntimeContext()
                .getState(new ValueStateDescriptor<>("status", PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
        liveUsers = getRuntimeContext().getMetricGroup().addGroup(GROUP).counter("live_users");
    }

    @Override
    public void processElement(Row event, Context ctx, Collector<Tuple2<String, Long>> out) throws Exception {
        if (Boolean.TRUE.equals(event.getField(behindWatermarkField))) {
            ctx.output(LATE, JsonRoundTrip.dumpsLoads((String) event.getField(rawField)));
            return;
        }
        long ts = (Long) event.getField(tsField);
        pending.add(ts);
        long[] current = status.value();
        if (current == null) {
            liveUsers.inc();
            status.update(new long[] {0, 0, 0, arm(ctx, ts + timeout + 1)});
        } else if (current[0] == 0 && ts + timeout + 1 < current[3]) {
            // Nothing folded yet: the earliest pending event decides when to look again.
            ctx.timerService().deleteEventTimeTimer(current[3]);
            status.update(new long[] {0, 0, 0, arm(ctx, ts + timeout + 1)});
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Tuple2<String, Long>> out) throws Exception {
        long[] current = status.value();
        if (current == null) {
            return; // a timer is armed only with status (a stray one is harmless)
        }
        // Every event before the frontier has arrived (at the end of input: every event).
        long frontier = Math.max(timestamp, ctx.timerService().currentWatermark());
        List<Long> all = new ArrayList<>();
        for (Long t : pending.get()) {
            all.add(t);
        }
        // The fold: the pending times before the frontier, in time order.
        List<Long> ready = new ArrayList<>();
        List<Long> waiting = new ArrayList<>();
        for (Long t : all) {
            (t < frontier ? ready : waiting).add(t);
        }
        ready.sort(null);
        boolean hasLast = current[0] == 1;
        long last = current[1];
        long count = current[2];
        String user = ctx.getCurrentKey();
        for (long t : ready) {
            if (hasLast && t - last > timeout) {
                out.collect(timeoutRecord(user, last, count));
                count = 0;
            }
            hasLast = true;
            last = t;
            count++;
        }
        if (hasLast && last + timeout < frontier) {
            out.collect(timeoutRecord(user, last, count));
            hasLast = false;
            count = 0;
        }
        if (waiting.size() < all.size()) {
            pending.update(waiting);
        }
        if (hasLast) {
            status.update(new long[] {1, last, count, arm(ctx, last + timeout + 1)});
        } else if (!waiting.isEmpty()) {
            status.update(new long[] {0, 0, 0, arm(ctx, waiting.stream().mapToLong(Long::longValue).min().getAsLong() + timeout + 1)});
        } else {
            status.clear();
            pending.clear();
            liveUsers.dec();
        }
    }

    private static long arm(Context ctx, long at) {
        ctx.timerService().registerEventTimeTimer(at);
        return at;
    }

    /** The job's {@code _timeout}: a {@code timeouts} record and its time, {@code timeout_at}. */
    private Tuple2<String, Long> timeoutRecord(String user, long last, long count) {
        StringBuilder out = new StringBuilder(160).append("{\"user_id\": ");
        PythonJsonWriter.appendString(out, user, false);
        out.append(", \"last_seen\": \"").append(PythonJsonWriter.time(last));
        out.append("\", \"timeout_at\": \"").append(PythonJsonWriter.time(last + timeout));
        out.append("\", \"inactive_s\": ").append(inactiveSeconds);
        out.append(", \"event_count\": ").append(count).append('}');
        return Tuple2.of(out.toString(), last + timeout);
    }
}
