package dev.pyflink.parsing;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.flink.types.Row;

/**
 * {@code udfs/events.py}'s {@code EventSchema.parse} in the JVM: one input line (a JSON object) to
 * the schema's typed row, with exactly Python's decisions and values, so that the lines it accepts
 * need no Python and only the ones it refuses go there (for the reason text, which only Python
 * writes). Exactly: it accepts a line if and only if {@code schema.parse(text)} returns, and then its
 * row equals Python's field for field (strings equal, doubles bit for bit, {@code ts} equal);
 * {@code tests/test_jvm_parser.py} compares the two on hand-written edge cases and generated lines.
 *
 * <p>The pieces: {@link PythonJsonReader} reads the line as {@code decode_object} does ({@code json.loads}
 * and the project's rules on top of it), this class applies {@code _field_value} and
 * {@code parse_event_time}, and {@link PythonIsoFormat} is {@code datetime.fromisoformat}.
 */
public final class EventParser implements Serializable {
    private static final long serialVersionUID = 1L;

    /** udfs/events.py STRING and NUMBER: a field's kind. */
    public static final String STRING = "string", NUMBER = "number";

    /** udfs/timeutil.py MIN_EVENT_TIME_MS and MAX_EVENT_TIME_MS (1970-01-01 .. 9999-12-31). */
    static final long MIN_EVENT_TIME_MS = 0L;
    static final long MAX_EVENT_TIME_MS = 253_402_300_799_999L;

    private static final String TIMESTAMP = "timestamp";

    private final boolean[] numeric;
    private final boolean[] required;
    /** The top-level members read: each distinct field name, then "timestamp" if no field has it. */
    private final String[] wanted;
    /** Per field, and for the timestamp, its index in wanted. */
    private final int[] fieldSlot;
    private final int timestampSlot;
    /** The schema as text: parsers of equal schemas share their last parse ({@link #parseShared}). */
    private final String schema;

    /** This thread's last shared parse: the record, its parser's schema, the row (or null). */
    private static final ThreadLocal<Object[]> LAST_PARSE = ThreadLocal.withInitial(() -> new Object[3]);

    /** One input's schema: its fields (besides timestamp), as udfs/events.py's Field(name, kind, required). */
    public EventParser(String[] names, String[] kinds, boolean[] required) {
        if (names.length != kinds.length || names.length != required.length) {
            throw new IllegalArgumentException("names, kinds and required differ in length");
        }
        numeric = new boolean[names.length];
        for (int f = 0; f < names.length; f++) {
            if (!STRING.equals(kinds[f]) && !NUMBER.equals(kinds[f])) {
                throw new IllegalArgumentException("field '" + names[f] + "' has an unknown kind: " + kinds[f]);
            }
            numeric[f] = NUMBER.equals(kinds[f]);
        }
        this.required = required.clone();
        List<String> distinct = new ArrayList<>(Arrays.asList(names));
        fieldSlot = new int[names.length];
        for (int f = 0; f < names.length; f++) {
            fieldSlot[f] = distinct.indexOf(names[f]);
        }
        if (!distinct.contains(TIMESTAMP)) {
            distinct.add(TIMESTAMP);
        }
        timestampSlot = distinct.indexOf(TIMESTAMP);
        wanted = distinct.toArray(new String[0]);
        schema = Arrays.toString(names) + Arrays.toString(kinds) + Arrays.toString(required);
    }

    /**
     * The typed row: one field per schema field (String or Double, null when missing/null), then ts
     * (Long, epoch ms), then raw (the text itself) — or null when EventSchema.parse would raise.
     * Never throws.
     */
    public Row parse(String text) {
        // decode_object: U+FFFD is where the source's bytes were not UTF-8. (Its "empty record"
        // rule needs no test here: a blank line is no JSON object either.)
        if (text == null || text.indexOf('\uFFFD') >= 0) {
            return null;
        }
        PythonJsonReader json = new PythonJsonReader(text, wanted);
        if (!json.read()) {
            return null;
        }
        Object[] row = new Object[numeric.length + 2];
        for (int f = 0; f < numeric.length; f++) {
            int slot = fieldSlot[f];
            byte kind = json.kinds[slot];
            if (kind == PythonJsonReader.ABSENT || kind == PythonJsonReader.NULL) {
                if (required[f]) {
                    return null;
                }
                continue;
            }
            if (numeric[f]) {
                Double number = number(text, kind, json.starts[slot], json.ends[slot]);
                if (number == null) {
                    return null;
                }
                row[f] = number;
            } else {
                if (kind != PythonJsonReader.STRING) {
                    return null;
                }
                row[f] = json.strings[slot];
            }
        }
        long ts = eventTime(text, json, timestampSlot);
        if (ts < MIN_EVENT_TIME_MS || ts > MAX_EVENT_TIME_MS) {
            return null;
        }
        row[numeric.length] = ts;
        row[numeric.length + 1] = text;
        return Row.of(row);
    }

    /**
     * {@link #parse}, shared with the parse of the same record just before it in this thread by a
     * parser of the same schema: a Kafka source reads each record's event time with the parser
     * ({@link SourceEventTime}), and {@link ParseEvents}, chained right after it in the reader's
     * thread, gets the same String object (Flink copies a String between chained operators by
     * reference). Anything else parses as {@link #parse} does.
     */
    public Row parseShared(String text) {
        Object[] last = LAST_PARSE.get();
        if (text != null && last[0] == text && schema.equals(last[1])) {
            return (Row) last[2];
        }
        Row row = parse(text);
        last[0] = text;
        last[1] = schema;
        last[2] = row;
        return row;
    }

    /**
     * _field_value for a NUMBER: an int or float (not a bool), finite, that float() converts. An
     * int converts with correct rounding, and overflows (invalid) where it rounds past the largest
     * double; parseDouble rounds the same way. Python's int -0 is 0 and converts to 0.0, not -0.0.
     */
    private static Double number(String text, byte kind, int start, int end) {
        if (kind != PythonJsonReader.INT && kind != PythonJsonReader.FLOAT) {
            return null;
        }
        double value = Double.parseDouble(text.substring(start, end));
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return null;
        }
        return kind == PythonJsonReader.INT && value == 0 ? 0.0 : value;
    }

    /**
     * parse_event_time: epoch ms from an int (ms) or an ISO-8601 string; Long.MIN_VALUE where it
     * raises (a bool, a float, null, an array or object, a missing timestamp, an unparseable string).
     */
    private static long eventTime(String text, PythonJsonReader json, int slot) {
        byte kind = json.kinds[slot];
        if (kind == PythonJsonReader.INT) {
            // Any int is taken as ms and range-checked; more than 15 digits is out of range anyway.
            int start = json.starts[slot];
            int end = json.ends[slot];
            int digits = end - start - (text.charAt(start) == '-' ? 1 : 0);
            return digits > 15 ? Long.MIN_VALUE : Long.parseLong(text, start, end, 10);
        }
        if (kind == PythonJsonReader.STRING) {
            long micros = PythonIsoFormat.epochMicros(pythonStrip(json.strings[slot]));
            // delta.days, .seconds, .microseconds // 1000 of a normalized timedelta: the floor.
            return micros == PythonIsoFormat.INVALID ? Long.MIN_VALUE : Math.floorDiv(micros, 1_000L);
        }
        return Long.MIN_VALUE;
    }

    /** Python's str.strip(): the characters str.isspace() names, all of them in the BMP. */
    static String pythonStrip(String value) {
        int start = 0;
        int end = value.length();
        while (start < end && isPythonSpace(value.charAt(start))) {
            start++;
        }
        while (end > start && isPythonSpace(value.charAt(end - 1))) {
            end--;
        }
        return value.substring(start, end);
    }

    private static boolean isPythonSpace(char c) {
        if (c <= 0x20) {
            return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
        }
        switch (c) {
            case 0x85:
            case 0xa0:
            case 0x1680:
            case 0x2028:
            case 0x2029:
            case 0x202f:
            case 0x205f:
            case 0x3000:
                return true;
            default:
                return c >= 0x2000 && c <= 0x200a;
        }
    }
}
