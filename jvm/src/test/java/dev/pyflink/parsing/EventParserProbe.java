package dev.pyflink.parsing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

import dev.pyflink.json.JsonRoundTrip;
import org.apache.flink.types.Row;

/**
 * The comparison entry point of {@code tests/test_jvm_parser.py}, which checks {@link EventParser}
 * against Python's {@code EventSchema.parse}: many lines and parsers per py4j call (a call costs
 * ~50-100 µs and moves its text once), every result in a text form Python writes from its own row.
 * Not used by any job.
 */
public final class EventParserProbe {
    private EventParserProbe() {}

    /**
     * Parses every line of {@code batch} (each written as its length in code points, ':', the line)
     * with every parser, and describes each result on a line of its own, the parsers' results for a
     * line one after the other: "!" for null, else the row's fields joined by '|', each "n" (null),
     * "s" + the hex of its UTF-8 bytes (String), "d" + the 16 hex digits of its raw bits (Double) or
     * "l" + its decimal value (Long); the last field, raw, as "r" + its length + ':' + the CRC-32 of
     * its UTF-8 bytes in hex (the line itself: this checks that it crossed py4j intact).
     */
    public static String describeAll(EventParser[] parsers, String batch) {
        StringBuilder out = new StringBuilder();
        for (String line : lines(batch)) {
            for (EventParser parser : parsers) {
                describe(parser.parse(line), out);
                out.append('\n');
            }
        }
        return out.toString();
    }

    /**
     * Per line of {@code batch} (written as in {@link #describeAll}), on a line of its own: "!" if
     * {@code decode_object} refuses it, else {@link JsonRoundTrip#dumpsLoads} of it (which writes no
     * line break: json.dumps escapes them).
     */
    public static String dumpsLoadsAll(String batch) {
        StringBuilder out = new StringBuilder();
        for (String line : lines(batch)) {
            if (line.indexOf('\uFFFD') < 0 && new PythonJsonReader(line, new String[0]).read()) {
                JsonRoundTrip.appendDumpsLoads(out, line);
            } else {
                out.append('!');
            }
            out.append('\n');
        }
        return out.toString();
    }

    /** The lines of a batch, each written as its length in code points, ':', the line. */
    private static List<String> lines(String batch) {
        List<String> lines = new ArrayList<>();
        int i = 0;
        while (i < batch.length()) {
            int colon = batch.indexOf(':', i);
            int codePoints = Integer.parseInt(batch, i, colon, 10);
            int end = batch.offsetByCodePoints(colon + 1, codePoints);
            lines.add(batch.substring(colon + 1, end));
            i = end;
        }
        return lines;
    }

    private static void describe(Row row, StringBuilder out) {
        if (row == null) {
            out.append('!');
            return;
        }
        int raw = row.getArity() - 1;
        for (int f = 0; f < raw; f++) {
            Object value = row.getField(f);
            if (value == null) {
                out.append('n');
            } else if (value instanceof String) {
                out.append('s');
                for (byte b : ((String) value).getBytes(StandardCharsets.UTF_8)) {
                    out.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
                }
            } else if (value instanceof Double) {
                out.append('d').append(String.format("%016x", Double.doubleToRawLongBits((Double) value)));
            } else {
                out.append('l').append((long) (Long) value);
            }
            out.append('|');
        }
        String line = (String) row.getField(raw);
        CRC32 crc = new CRC32();
        crc.update(line.getBytes(StandardCharsets.UTF_8));
        out.append('r').append(line.codePointCount(0, line.length())).append(':').append(Long.toHexString(crc.getValue()));
    }
}
