package dev.pyflink.windows;

import dev.pyflink.json.PythonJsonWriter;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * Each firing of a tumbling window -> a {@code windows} record numbered 1, 2, ..., in the bytes
 * {@code jobs/late_data.py}'s {@code NumberedFiring} writes ({@code json.dumps} with
 * {@code ensure_ascii=False}), for {@code --build jvm}. The firing number is per-window
 * state, dropped with the window when its allowed lateness has passed; {@code late_update} is
 * {@link NotingEventTimeTrigger}'s note. Flink's window operator gives the record the window's max
 * timestamp, on a late update too.
 */
public final class NumberedFiring extends ProcessWindowFunction<Tuple2<Long, Double>, String, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    private static final ValueStateDescriptor<Integer> FIRINGS = new ValueStateDescriptor<>("firings", Types.INT);

    @Override
    public void process(String user, Context context, Iterable<Tuple2<Long, Double>> results, Collector<String> out)
            throws Exception {
        Tuple2<Long, Double> countSum = results.iterator().next();
        ValueState<Integer> firings = context.windowState().getState(FIRINGS);
        int firing = (firings.value() == null ? 0 : firings.value()) + 1;
        firings.update(firing);
        boolean late = NotingEventTimeTrigger.isLateFiring(
                context.windowState().getState(NotingEventTimeTrigger.LATE_FIRING));
        TimeWindow window = context.window();
        StringBuilder json = new StringBuilder(192);
        json.append("{\"user_id\": ");
        PythonJsonWriter.appendString(json, user, false);
        json.append(", \"window_start\": \"").append(PythonJsonWriter.time(window.getStart()));
        json.append("\", \"window_end\": \"").append(PythonJsonWriter.time(window.getEnd()));
        json.append("\", \"count\": ").append(countSum.f0);
        json.append(", \"sum\": ").append(PythonJsonWriter.floatRepr(PythonJsonWriter.round(countSum.f1, 9)));
        json.append(", \"firing\": ").append(firing);
        json.append(", \"late_update\": ").append(late).append('}');
        out.collect(json.toString());
    }

    @Override
    public void clear(Context context) throws Exception {
        context.windowState().getState(FIRINGS).clear();
    }
}
