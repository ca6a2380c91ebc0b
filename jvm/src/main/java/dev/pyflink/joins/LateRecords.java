package dev.pyflink.joins;

import java.util.LinkedHashMap;

import dev.pyflink.json.JsonRoundTrip;
import dev.pyflink.json.PythonJsonWriter;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.types.Row;

/**
 * A join's late rows ({@code input, ts, raw, window_end}) -> {@code late} records, in the bytes
 * {@code udfs/joins.py}'s {@code _late_json} writes: the event as its producer wrote it, plus
 * {@code input} and, for the window join, the {@code window_end} it missed ({@code {**event, **extra}}:
 * a member of the event with either name keeps its place and takes the new value).
 */
public final class LateRecords implements MapFunction<Row, String> {
    private static final long serialVersionUID = 1L;

    private static final String INPUT = JsonRoundTrip.key("input");
    private static final String WINDOW_END = JsonRoundTrip.key("window_end");

    @Override
    public String map(Row late) {
        String raw = (String) late.getField("raw");
        LinkedHashMap<String, String> record = JsonRoundTrip.members(raw);
        record.put(INPUT, JsonRoundTrip.key((String) late.getField("input")));
        Object windowEnd = late.getField("window_end");
        if (windowEnd != null) {
            record.put(WINDOW_END, '"' + PythonJsonWriter.time((Long) windowEnd) + '"');
        }
        StringBuilder out = new StringBuilder(raw.length() + 64);
        JsonRoundTrip.appendObject(out, record);
        return out.toString();
    }
}
