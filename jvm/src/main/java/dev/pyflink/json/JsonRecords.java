package dev.pyflink.json;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.types.Row;

/**
 * Rows -> one JSON object each, in the bytes Python's {@code json.dumps(..., ensure_ascii=False)}
 * writes for the same record: the i-th field of the row under the i-th name, written as its kind
 * says. Output records formatted here cost no crossing into Python.
 *
 * <p>Kinds: {@code text} (a string), {@code integer}, {@code float} (Python's repr),
 * {@code float9} (Python's {@code round(x, 9)}, which hides float addition noise such as
 * 0.1 + 0.2), {@code sql-time} (Flink SQL's text of a UTC {@code TIMESTAMP(3)},
 * {@code 2026-11-24 10:00:05.000}, as the outputs' {@code 2026-11-24T10:00:05.000Z}), {@code time}
 * (epoch ms, in the outputs' time format, {@code udfs.timeutil.format_time}). Null is
 * {@code null} in every kind.
 */
public final class JsonRecords implements MapFunction<Row, String> {
    private static final long serialVersionUID = 1L;

    private final String[] names;
    private final String[] kinds;

    public JsonRecords(String[] names, String[] kinds) {
        if (names.length != kinds.length) {
            throw new IllegalArgumentException("one kind per name");
        }
        for (String kind : kinds) {
            if (!kind.matches("text|integer|float|float9|sql-time|time")) {
                throw new IllegalArgumentException("unknown kind " + kind);
            }
        }
        this.names = names.clone();
        this.kinds = kinds.clone();
    }

    @Override
    public String map(Row row) {
        StringBuilder out = new StringBuilder(160).append('{');
        for (int i = 0; i < names.length; i++) {
            if (i > 0) {
                out.append(", ");
            }
            PythonJsonWriter.appendString(out, names[i], false);
            out.append(": ");
            Object value = row.getField(i);
            if (value == null) {
                out.append("null");
                continue;
            }
            switch (kinds[i]) {
                case "text" -> PythonJsonWriter.appendString(out, (String) value, false);
                case "integer" -> out.append(((Number) value).longValue());
                case "float" -> out.append(PythonJsonWriter.floatRepr(((Number) value).doubleValue()));
                case "float9" -> out.append(PythonJsonWriter.floatRepr(PythonJsonWriter.round(((Number) value).doubleValue(), 9)));
                case "time" -> out.append('"').append(PythonJsonWriter.time(((Number) value).longValue())).append('"');
                default -> { // sql-time
                    String text = (String) value;
                    out.append('"').append(text, 0, 10).append('T').append(text, 11, text.length()).append("Z\"");
                }
            }
        }
        return out.append('}').toString();
    }

    /** {@code udfs.parsing.error_record}: an {@code errors} record, the reason and the input as it came. */
    public static String error(String job, String reason, String raw) {
        StringBuilder out = new StringBuilder(raw.length() + reason.length() + 48).append("{\"job\": ");
        PythonJsonWriter.appendString(out, job, false);
        out.append(", \"error\": ");
        PythonJsonWriter.appendString(out, reason, false);
        out.append(", \"raw\": ");
        PythonJsonWriter.appendString(out, raw, false);
        return out.append('}').toString();
    }
}
