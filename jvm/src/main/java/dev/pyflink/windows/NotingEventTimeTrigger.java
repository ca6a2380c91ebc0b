package dev.pyflink.windows;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.triggers.TriggerResult;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;

/**
 * Flink's {@code EventTimeTrigger}, plus a note of why it fires: the watermark passing the
 * window's end (on time), or an event arriving after that (a late update). The port of
 * {@code jobs/late_data.py}'s {@code NotingEventTimeTrigger}, for {@code --build jvm};
 * {@link NumberedFiring} reads the note.
 */
public final class NotingEventTimeTrigger extends Trigger<Object, TimeWindow> {
    private static final long serialVersionUID = 1L;

    /** Whether the firing about to happen is a late update. The trigger and the window function
     * of the same firing see the same per-key, per-window state under this descriptor. */
    static final ValueStateDescriptor<Boolean> LATE_FIRING = new ValueStateDescriptor<>("late-firing", Types.BOOLEAN);

    @Override
    public TriggerResult onElement(Object element, long timestamp, TimeWindow window, TriggerContext ctx)
            throws Exception {
        if (window.maxTimestamp() <= ctx.getCurrentWatermark()) {
            ctx.getPartitionedState(LATE_FIRING).update(true);
            return TriggerResult.FIRE;
        }
        ctx.registerEventTimeTimer(window.maxTimestamp());
        return TriggerResult.CONTINUE;
    }

    @Override
    public TriggerResult onEventTime(long time, TimeWindow window, TriggerContext ctx) throws Exception {
        if (time != window.maxTimestamp()) {
            return TriggerResult.CONTINUE; // the window operator's cleanup timer
        }
        ctx.getPartitionedState(LATE_FIRING).update(false);
        return TriggerResult.FIRE;
    }

    @Override
    public TriggerResult onProcessingTime(long time, TimeWindow window, TriggerContext ctx) {
        return TriggerResult.CONTINUE;
    }

    @Override
    public void clear(TimeWindow window, TriggerContext ctx) {
        ctx.deleteEventTimeTimer(window.maxTimestamp());
        ctx.getPartitionedState(LATE_FIRING).clear();
    }

    /** In the window function of a firing: whether the trigger fired it as a late update. */
    static boolean isLateFiring(ValueState<Boolean> note) throws Exception {
        return Boolean.TRUE.equals(note.value());
    }
}
