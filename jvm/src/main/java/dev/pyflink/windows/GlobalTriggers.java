package dev.pyflink.windows;

import java.util.Objects;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.windowing.triggers.Trigger;
import org.apache.flink.streaming.api.windowing.triggers.TriggerResult;
import org.apache.flink.streaming.api.windowing.windows.GlobalWindow;
import org.apache.flink.types.Row;

/**
 * {@code jobs/global_triggers.py}'s three triggers for per-user {@code GlobalWindow}s, ported for
 * {@code --build jvm}: {@code count:N}, {@code time:T} and {@code condition:ACTION}, each firing and
 * purging, each also firing what is left at the end of input, each noting why and when it fired
 * for {@link FiringRecord}. The same state and timers as the Python ones, so the same firings.
 */
public final class GlobalTriggers {
    /** The final watermark of a bounded input fires timers set here, and nothing else does. */
    static final long END_OF_INPUT = Long.MAX_VALUE;
    /** The firing note: the trigger's kind ... */
    static final ValueStateDescriptor<String> NOTE_TRIGGER = new ValueStateDescriptor<>("firing-trigger", Types.STRING);
    /** ... and the time it fired at (none at the end of input). */
    static final ValueStateDescriptor<Long> NOTE_FIRED_AT = new ValueStateDescriptor<>("firing-fired-at", Types.LONG);

    private GlobalTriggers() {}

    /**
     * The trigger of the job's {@code --trigger KIND:ARG}: {@code count} (ARG events), {@code time}
     * (ARG ms of event time) or {@code condition} (an event whose field {@code actionField} of the
     * row is ARG).
     */
    public static Trigger<Object, GlobalWindow> of(String kind, String arg, int actionField) {
        switch (kind) {
            case "count":
                return new EveryCount(Long.parseLong(arg));
            case "time":
                return new EveryEventTime(Long.parseLong(arg));
            case "condition":
                return new OnAction(arg, actionField);
            default:
                throw new IllegalArgumentException("no trigger " + kind);
        }
    }

    /** What all three share: fire and purge what is left when the input ends. */
    abstract static class EndOfInputTrigger extends Trigger<Object, GlobalWindow> {
        private static final long serialVersionUID = 1L;

        TriggerResult fire(TriggerContext ctx, String trigger, Long firedAt) throws Exception {
            reset(ctx);
            // The purge empties the window: no end-of-input firing is owed until the next element.
            ctx.deleteEventTimeTimer(END_OF_INPUT);
            ctx.getPartitionedState(NOTE_TRIGGER).update(trigger);
            ValueState<Long> firedAtNote = ctx.getPartitionedState(NOTE_FIRED_AT);
            if (firedAt == null) {
                firedAtNote.clear();
            } else {
                firedAtNote.update(firedAt);
            }
            return TriggerResult.FIRE_AND_PURGE;
        }

        void reset(TriggerContext ctx) throws Exception {}

        @Override
        public TriggerResult onEventTime(long time, GlobalWindow window, TriggerContext ctx) throws Exception {
            return time == END_OF_INPUT ? fire(ctx, "end_of_input", null) : TriggerResult.CONTINUE;
        }

        @Override
        public TriggerResult onProcessingTime(long time, GlobalWindow window, TriggerContext ctx) {
            return TriggerResult.CONTINUE; // no processing-time timers are set
        }

        @Override
        public void clear(GlobalWindow window, TriggerContext ctx) throws Exception {
            reset(ctx);
            ctx.deleteEventTimeTimer(END_OF_INPUT);
        }
    }

    /** {@code count:N}: fires with the N-th event (in arrival order) since the last firing. */
    static final class EveryCount extends EndOfInputTrigger {
        private static final long serialVersionUID = 1L;
        private static final ValueStateDescriptor<Long> COUNT = new ValueStateDescriptor<>("count", Types.LONG);

        private final long n;

        EveryCount(long n) {
            this.n = n;
        }

        @Override
        public TriggerResult onElement(Object element, long timestamp, GlobalWindow window, TriggerContext ctx)
                throws Exception {
            ValueState<Long> state = ctx.getPartitionedState(COUNT);
            long count = (state.value() == null ? 0 : state.value()) + 1;
            if (count >= n) {
                return fire(ctx, "count", timestamp);
            }
            if (count == 1) {
                ctx.registerEventTimeTimer(END_OF_INPUT);
            }
            state.update(count);
            return TriggerResult.CONTINUE;
        }

        @Override
        void reset(TriggerContext ctx) {
            ctx.getPartitionedState(COUNT).clear();
        }
    }

    /** {@code condition:ACTION}: fires when an event with that action arrives (the event included). */
    static final class OnAction extends EndOfInputTrigger {
        private static final long serialVersionUID = 1L;

        private final String action;
        private final int actionField;

        OnAction(String action, int actionField) {
            this.action = action;
            this.actionField = actionField;
        }

        @Override
        public TriggerResult onElement(Object element, long timestamp, GlobalWindow window, TriggerContext ctx)
                throws Exception {
            if (Objects.equals(((Row) element).getField(actionField), action)) {
                return fire(ctx, "condition", timestamp);
            }
            ctx.registerEventTimeTimer(END_OF_INPUT);
            return TriggerResult.CONTINUE;
        }
    }

    /** {@code time:T}: fires when the watermark passes (earliest event time pending) + T. */
    static final class EveryEventTime extends EndOfInputTrigger {
        private static final long serialVersionUID = 1L;
        private static final ValueStateDescriptor<Long> DEADLINE = new ValueStateDescriptor<>("deadline", Types.LONG);

        private final long interval;

        EveryEventTime(long interval) {
            this.interval = interval;
        }

        @Override
        public TriggerResult onElement(Object element, long timestamp, GlobalWindow window, TriggerContext ctx)
                throws Exception {
            ValueState<Long> state = ctx.getPartitionedState(DEADLINE);
            Long deadline = state.value();
            long candidate = timestamp + interval;
            if (deadline != null && deadline <= candidate) {
                return TriggerResult.CONTINUE;
            }
            if (deadline == null) {
                ctx.registerEventTimeTimer(END_OF_INPUT);
            } else {
                ctx.deleteEventTimeTimer(deadline);
            }
            if (candidate <= ctx.getCurrentWatermark()) {
                return fire(ctx, "time", candidate);
            }
            state.update(candidate);
            ctx.registerEventTimeTimer(candidate);
            return TriggerResult.CONTINUE;
        }

        @Override
        public TriggerResult onEventTime(long time, GlobalWindow window, TriggerContext ctx) throws Exception {
            if (time == END_OF_INPUT) {
                return fire(ctx, "end_of_input", null);
            }
            if (!Objects.equals(time, ctx.getPartitionedState(DEADLINE).value())) {
                return TriggerResult.CONTINUE; // a deadline that moved earlier
            }
            if (ctx.getCurrentWatermark() == END_OF_INPUT) {
                return fire(ctx, "end_of_input", null);
            }
            return fire(ctx, "time", time);
        }

        @Override
        void reset(TriggerContext ctx) throws Exception {
            ValueState<Long> state = ctx.getPartitionedState(DEADLINE);
            Long deadline = state.value();
            if (deadline != null) {
                ctx.deleteEventTimeTimer(deadline);
            }
            state.clear();
        }
    }
}
