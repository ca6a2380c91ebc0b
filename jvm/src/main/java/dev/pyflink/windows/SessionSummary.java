package dev.pyflink.windows;

import dev.pyflink.json.PythonJsonWriter;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * All events of one closed session -> the {@code sessions} record, in the bytes
 * {@code jobs/sessions.py}'s {@code SessionSummary} writes (Python's {@code json.dumps} with its
 * default {@code ensure_ascii}), for {@code --build jvm}. Flink's window operator gives
 * the record the window's max timestamp, on a late re-firing too.
 */
public final class SessionSummary extends ProcessWindowFunction<Row, String, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    /** Event time, then the action (a missing one first), compared as Python compares strings:
     * by code point. Equal times are ordered by action: the order of a merged session's events
     * is otherwise the order its windows were merged in, which neither operator defines. */
    static final Comparator<Event> ORDER = Comparator.<Event>comparingLong(e -> e.ts)
            .thenComparing(e -> e.action, Comparator.nullsFirst(SessionSummary::compareCodePoints));

    private final int tsField;
    private final int actionField;

    public SessionSummary(int tsField, int actionField) {
        this.tsField = tsField;
        this.actionField = actionField;
    }

    record Event(long ts, String action) {}

    @Override
    public void process(String user, Context context, Iterable<Row> rows, Collector<String> out) {
        List<Event> events = new ArrayList<>();
        for (Row row : rows) {
            events.add(new Event((Long) row.getField(tsField), (String) row.getField(actionField)));
        }
        events.sort(ORDER);
        long first = events.get(0).ts;
        long last = events.get(events.size() - 1).ts;
        StringBuilder json = new StringBuilder(128 + 16 * events.size());
        json.append("{\"user_id\": ");
        PythonJsonWriter.appendString(json, user, true);
        json.append(", \"session_start\": \"").append(PythonJsonWriter.time(first));
        json.append("\", \"session_end\": \"").append(PythonJsonWriter.time(last));
        json.append("\", \"window_end\": \"").append(PythonJsonWriter.time(context.window().getEnd()));
        json.append("\", \"duration_s\": ").append(PythonJsonWriter.floatRepr((last - first) / 1000.0));
        json.append(", \"event_count\": ").append(events.size()).append(", \"actions\": [");
        for (int i = 0; i < events.size(); i++) {
            if (i > 0) {
                json.append(", ");
            }
            String action = events.get(i).action;
            if (action == null) {
                json.append("null");
            } else {
                PythonJsonWriter.appendString(json, action, true);
            }
        }
        out.collect(json.append("]}").toString());
    }

    static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int x = a.codePointAt(i);
            int y = b.codePointAt(j);
            if (x != y) {
                return Integer.compare(x, y);
            }
            i += Character.charCount(x);
            j += Character.charCount(y);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }
}
