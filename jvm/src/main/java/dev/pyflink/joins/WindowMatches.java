package dev.pyflink.joins;

import dev.pyflink.json.JsonRoundTrip;
import dev.pyflink.json.PythonJsonWriter;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.types.Row;

/** {@code jobs/window_join.py}'s {@code match_record}: a window's click x purchase pair, both events as their producers wrote them. */
public final class WindowMatches implements MapFunction<Row, String> {
    private static final long serialVersionUID = 1L;

    @Override
    public String map(Row pair) {
        String click = (String) pair.getField("left_raw");
        String purchase = (String) pair.getField("right_raw");
        StringBuilder out = new StringBuilder(click.length() + purchase.length() + 128).append("{\"user_id\": ");
        PythonJsonWriter.appendString(out, (String) pair.getField("key"), false);
        out.append(", \"window_start\": \"").append(PythonJsonWriter.time((Long) pair.getField("window_start")));
        out.append("\", \"window_end\": \"").append(PythonJsonWriter.time((Long) pair.getField("window_end")));
        out.append("\", \"click\": ");
        JsonRoundTrip.appendDumpsLoads(out, click);
        out.append(", \"purchase\": ");
        JsonRoundTrip.appendDumpsLoads(out, purchase);
        return out.append('}').toString();
    }
}
