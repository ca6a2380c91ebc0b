package dev.pyflink.windows;

import dev.pyflink.json.PythonJsonWriter;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.GlobalWindow;
import org.apache.flink.util.Collector;

/**
 * {@code jobs/global_triggers.py}'s {@code Firing}: one firing -> its {@code firings} record in the
 * bytes Python writes ({@code json.dumps} with its default {@code ensure_ascii}), with its time,
 * {@code fired_at}, for the runner to stamp. The trigger's note ({@link GlobalTriggers}) says why
 * and when; it is taken (cleared), since a global window outlives its firings.
 */
public final class FiringRecord
        extends ProcessWindowFunction<Tuple4<Long, Double, Long, Long>, Tuple2<String, Long>, String, GlobalWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(
            String user, Context context, Iterable<Tuple4<Long, Double, Long, Long>> totals, Collector<Tuple2<String, Long>> out)
            throws Exception {
        Tuple4<Long, Double, Long, Long> total = totals.iterator().next();
        ValueState<String> trigger = context.windowState().getState(GlobalTriggers.NOTE_TRIGGER);
        ValueState<Long> firedAtNote = context.windowState().getState(GlobalTriggers.NOTE_FIRED_AT);
        String kind = trigger.value();
        long firedAt = firedAtNote.value() == null ? total.f3 : firedAtNote.value();
        trigger.clear();
        firedAtNote.clear();
        StringBuilder json = new StringBuilder(224).append("{\"user_id\": ");
        PythonJsonWriter.appendString(json, user, true);
        json.append(", \"trigger\": ");
        if (kind == null) {
            json.append("null");
        } else {
            PythonJsonWriter.appendString(json, kind, true);
        }
        json.append(", \"fired_at\": \"").append(PythonJsonWriter.time(firedAt));
        json.append("\", \"event_count\": ").append(total.f0);
        json.append(", \"sum\": ").append(PythonJsonWriter.floatRepr(PythonJsonWriter.round(total.f1, 9)));
        json.append(", \"first_event\": \"").append(PythonJsonWriter.time(total.f2));
        json.append("\", \"last_event\": \"").append(PythonJsonWriter.time(total.f3)).append("\"}");
        out.collect(Tuple2.of(json.toString(), firedAt));
    }
}
