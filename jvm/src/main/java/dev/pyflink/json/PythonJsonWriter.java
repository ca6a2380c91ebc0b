package dev.pyflink.json;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * JSON text exactly as Python's {@code json.dumps(..., ensure_ascii=False)} writes it, for the
 * records the JVM formats: the same records in the same bytes whichever side formats them.
 */
public final class PythonJsonWriter {
    private static final MathContext FIFTEEN_DIGITS = new MathContext(15, RoundingMode.HALF_EVEN);

    private PythonJsonWriter() {}

    /** A JSON string as json.dumps writes it: quotes, backslashes and control characters escaped;
     * with {@code ensureAscii} (json.dumps' default) also every character outside printable ASCII,
     * as a {@code \\uXXXX} escape per UTF-16 unit, as Python does. */
    public static void appendString(StringBuilder out, String text, boolean ensureAscii) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    /** The outputs' time format ({@code udfs.timeutil.format_time}): {@code 2026-11-24T10:00:02.000Z}. */
    public static String time(long epochMs) {
        return TIME.format(Instant.ofEpochMilli(epochMs));
    }

    /** Python's {@code round(x, digits)}: the exact binary value rounded half-even, back to a double. */
    public static double round(double x, int digits) {
        if (!Double.isFinite(x)) {
            return x;
        }
        double rounded = new BigDecimal(x).setScale(digits, RoundingMode.HALF_EVEN).doubleValue();
        return rounded == 0 ? Math.copySign(0.0, x) : rounded; // Python keeps the sign: round(-1e-12, 9) is -0.0
    }

    /** Python's {@code repr(float)} as json.dumps writes it: the shortest digits that read back as
     * {@code x}, fixed notation from 1e-4 to below 1e16, else {@code 1.5e-05}, {@code 1e+16}. */
    public static String floatRepr(double x) {
        if (Double.isNaN(x)) {
            return "NaN";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "Infinity" : "-Infinity";
        }
        if (x == 0) {
            return 1 / x < 0 ? "-0.0" : "0.0";
        }
        BigDecimal shortest = shortest(x).stripTrailingZeros();
        String digits = shortest.unscaledValue().abs().toString();
        int n = digits.length();
        int point = n - shortest.scale(); // x = 0.<digits> * 10^point
        StringBuilder out = new StringBuilder(24);
        if (x < 0) {
            out.append('-');
        }
        if (point <= -4 || point > 16) {
            out.append(digits.charAt(0));
            if (n > 1) {
                out.append('.').append(digits, 1, n);
            }
            int exponent = point - 1;
            out.append(exponent < 0 ? "e-" : "e+");
            int magnitude = Math.abs(exponent);
            if (magnitude < 10) {
                out.append('0');
            }
            out.append(magnitude);
        } else if (point <= 0) {
            out.append("0.").append("0".repeat(-point)).append(digits);
        } else if (point >= n) {
            out.append(digits).append("0".repeat(point - n)).append(".0");
        } else {
            out.append(digits, 0, point).append('.').append(digits, point, n);
        }
        return out.toString();
    }

    /**
     * The shortest decimal that reads back as {@code x}, the nearest of them if several (Python's
     * dtoa, mode 0). A normal double has more than 15 significant digits, so a decimal of at most
     * 15 that reads back is the only one of its length and none shorter does (two such decimals
     * differ by more than a double's rounding interval): the nearest 15-digit decimal settles
     * almost every value. Otherwise, and for subnormals (fewer digits: 5e-324), the decimals on
     * both sides of x are tried from the fewest digits up, as x's interval is lopsided at powers
     * of two.
     */
    private static BigDecimal shortest(double x) {
        BigDecimal exact = new BigDecimal(x);
        boolean normal = Math.abs(x) >= Double.MIN_NORMAL;
        if (normal) {
            BigDecimal nearest = exact.round(FIFTEEN_DIGITS);
            if (nearest.doubleValue() == x) {
                return nearest;
            }
        }
        for (int precision = normal ? 16 : 1; ; precision++) {
            BigDecimal below = exact.round(new MathContext(precision, RoundingMode.FLOOR));
            BigDecimal above = exact.round(new MathContext(precision, RoundingMode.CEILING));
            boolean belowReads = below.doubleValue() == x;
            boolean aboveReads = above.doubleValue() == x;
            if (belowReads && aboveReads) {
                int closer = exact.subtract(below).compareTo(above.subtract(exact));
                return closer < 0 ? below : closer > 0 ? above : exact.round(new MathContext(precision, RoundingMode.HALF_EVEN));
            }
            if (belowReads) {
                return below;
            }
            if (aboveReads) {
                return above;
            }
        }
    }
}
