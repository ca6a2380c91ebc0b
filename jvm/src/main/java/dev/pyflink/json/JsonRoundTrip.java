package dev.pyflink.json;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Python's {@code json.dumps(json.loads(text), ensure_ascii=False)} of a line the event parser
 * accepted ({@code dev.pyflink.parsing.EventParser}): the text a job echoes an input record in,
 * written without Python.
 *
 * <p>What the round trip changes: whitespace between tokens goes, and {@code ", "} and
 * {@code ": "} separate; a string is written from its value (escapes decoded, then re-escaped as
 * {@link PythonJsonWriter#appendString} does, with {@code ensure_ascii=False}); a float literal is
 * written as Python's {@code repr} of its double ({@code 1E5} is {@code 100000.0}, {@code 1e400}
 * is {@code Infinity}); an integer keeps its digits ({@code -0} is {@code 0}); a key given twice
 * keeps its first place and its last value, as a dict does.
 *
 * <p>The line must be one the parser accepts (Python's grammar, no lone surrogate, nested at most
 * 500 deep): nothing is checked again here.
 */
public final class JsonRoundTrip {
    /** Members of an object compared key by key before a set takes over the duplicate check. */
    private static final int LINEAR_KEYS = 16;

    private final String s;
    private final StringBuilder out;

    private JsonRoundTrip(String text, StringBuilder out) {
        this.s = text;
        this.out = out;
    }

    /** {@code json.dumps(json.loads(text), ensure_ascii=False)} of an accepted line. */
    public static String dumpsLoads(String text) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        appendDumpsLoads(out, text);
        return out.toString();
    }

    /** {@link #dumpsLoads} appended to {@code out}. */
    public static void appendDumpsLoads(StringBuilder out, String text) {
        JsonRoundTrip copy = new JsonRoundTrip(text, out);
        copy.value(copy.skipWhitespace(0));
    }

    /**
     * Python's dict of an accepted line's object, {@code json.loads(text)}: each key and value as
     * json.dumps writes them (a key with its quotes), in the dict's order, a repeated key in its
     * first place with its last value.
     */
    public static LinkedHashMap<String, String> members(String text) {
        JsonRoundTrip copy = new JsonRoundTrip(text, new StringBuilder(64));
        return copy.topLevelMembers();
    }

    /** A dict of {@link #members} written as json.dumps writes it: {@code {"k": v, "k2": v2}}. */
    public static void appendObject(StringBuilder out, Map<String, String> members) {
        out.append('{');
        String separator = "";
        for (Map.Entry<String, String> member : members.entrySet()) {
            out.append(separator).append(member.getKey()).append(": ").append(member.getValue());
            separator = ", ";
        }
        out.append('}');
    }

    /** A key of {@link #members}: the name as json.dumps writes it, quoted (ensure_ascii=False). */
    public static String key(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2);
        PythonJsonWriter.appendString(out, text, false);
        return out.toString();
    }

    private LinkedHashMap<String, String> topLevelMembers() {
        LinkedHashMap<String, String> members = new LinkedHashMap<>();
        int i = skipWhitespace(skipWhitespace(0) + 1);
        if (s.charAt(i) == '}') {
            return members;
        }
        while (true) {
            out.setLength(0);
            i = skipWhitespace(string(i));
            String key = out.toString();
            out.setLength(0);
            i = skipWhitespace(value(skipWhitespace(i + 1)));
            members.put(key, out.toString());
            if (s.charAt(i) == '}') {
                return members;
            }
            i = skipWhitespace(i + 1);
        }
    }

    private int skipWhitespace(int i) {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                break;
            }
            i++;
        }
        return i;
    }

    /** Writes the value at i; returns the index after it. */
    private int value(int i) {
        switch (s.charAt(i)) {
            case '"':
                return string(i);
            case '{':
                return object(i);
            case '[':
                return array(i);
            case 'n':
                return word(i, "null");
            case 't':
                return word(i, "true");
            case 'f':
                return word(i, "false");
            case 'N':
                return word(i, "NaN");
            case 'I':
                return word(i, "Infinity");
            default:
                return s.startsWith("-Infinity", i) ? word(i, "-Infinity") : number(i);
        }
    }

    private int word(int i, String word) {
        out.append(word);
        return i + word.length();
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private boolean digitAt(int i) {
        return i < s.length() && isDigit(s.charAt(i));
    }

    /** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?: an int keeps its digits, a float is repr'd. */
    private int number(int i) {
        int start = i;
        if (s.charAt(i) == '-') {
            i++;
        }
        while (digitAt(i)) {
            i++;
        }
        boolean isFloat = false;
        if (i < s.length() && s.charAt(i) == '.' && digitAt(i + 1)) {
            isFloat = true;
            i += 2;
            while (digitAt(i)) {
                i++;
            }
        }
        if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            int exponent = i + 1;
            if (exponent < s.length() && (s.charAt(exponent) == '-' || s.charAt(exponent) == '+')) {
                exponent++;
            }
            if (digitAt(exponent)) {
                isFloat = true;
                i = exponent;
                while (digitAt(i)) {
                    i++;
                }
            }
        }
        if (isFloat) {
            out.append(PythonJsonWriter.floatRepr(Double.parseDouble(s.substring(start, i))));
        } else if (i - start == 2 && s.charAt(start) == '-' && s.charAt(start + 1) == '0') {
            out.append('0'); // int("-0") is 0
        } else {
            out.append(s, start, i);
        }
        return i;
    }

    /** Writes the string whose opening quote is at i; returns the index after its closing quote. */
    private int string(int i) {
        int j = i + 1;
        boolean escaped = false;
        while (true) {
            char c = s.charAt(j);
            if (c == '"') {
                break;
            }
            if (c == '\\') {
                escaped = true;
                j += s.charAt(j + 1) == 'u' ? 6 : 2;
            } else {
                j++;
            }
        }
        if (escaped) {
            PythonJsonWriter.appendString(out, unescape(s, i + 1, j), false);
        } else {
            // No escapes, so no quote, backslash or control character either: json.dumps writes
            // every other character as it is (ensure_ascii=False).
            out.append(s, i, j + 1);
        }
        return j + 1;
    }

    /**
     * The value of the contents [from, to) of a JSON string in {@code s}, already validated (by
     * {@code PythonJsonReader}): escapes decoded; a pair of escaped surrogates stays two chars, the
     * one character Python reads.
     */
    public static String unescape(String s, int from, int to) {
        StringBuilder text = new StringBuilder(to - from);
        int j = from;
        while (j < to) {
            char c = s.charAt(j);
            if (c != '\\') {
                text.append(c);
                j++;
                continue;
            }
            char e = s.charAt(j + 1);
            switch (e) {
                case 'u' -> {
                    text.append((char) Integer.parseInt(s, j + 2, j + 6, 16));
                    j += 6;
                    continue;
                }
                case 'b' -> text.append('\b');
                case 'f' -> text.append('\f');
                case 'n' -> text.append('\n');
                case 'r' -> text.append('\r');
                case 't' -> text.append('\t');
                default -> text.append(e); // '"', '\\', '/'
            }
            j += 2;
        }
        return text.toString();
    }

    private int array(int i) {
        out.append('[');
        i = skipWhitespace(i + 1);
        if (s.charAt(i) != ']') {
            while (true) {
                i = skipWhitespace(value(i));
                if (s.charAt(i) == ']') {
                    break;
                }
                out.append(", ");
                i = skipWhitespace(i + 1);
            }
        }
        out.append(']');
        return i + 1;
    }

    /**
     * Writes the object at i as Python's dict of it. Members are written as they come; a key seen
     * before (compared as written: equal keys are written alike) marks the object, which is then
     * rewritten from the members written, each key in its first place with its last value.
     */
    private int object(int i) {
        int objectStart = out.length();
        out.append('{');
        i = skipWhitespace(i + 1);
        if (s.charAt(i) == '}') {
            out.append('}');
            return i + 1;
        }
        // Per member: where its key starts and ends, where its value ends (it starts 2 after the key).
        int[] spans = new int[3 * 8];
        int members = 0;
        Set<String> keys = null;
        boolean repeated = false;
        while (true) {
            if (members > 0) {
                out.append(", ");
            }
            int keyStart = out.length();
            i = skipWhitespace(string(i));
            int keyEnd = out.length();
            if (!repeated) {
                if (members < LINEAR_KEYS) {
                    repeated = seenBefore(spans, members, keyStart, keyEnd);
                } else {
                    if (keys == null) {
                        keys = new HashSet<>();
                        for (int m = 0; m < members; m++) {
                            keys.add(out.substring(spans[3 * m], spans[3 * m + 1]));
                        }
                    }
                    repeated = !keys.add(out.substring(keyStart, keyEnd));
                }
            }
            out.append(": ");
            i = skipWhitespace(value(skipWhitespace(i + 1)));
            if (3 * members + 3 > spans.length) {
                spans = Arrays.copyOf(spans, 2 * spans.length);
            }
            spans[3 * members] = keyStart;
            spans[3 * members + 1] = keyEnd;
            spans[3 * members + 2] = out.length();
            members++;
            if (s.charAt(i) == '}') {
                break;
            }
            i = skipWhitespace(i + 1);
        }
        if (repeated) {
            Map<String, String> dict = new LinkedHashMap<>();
            for (int m = 0; m < members; m++) {
                int keyEnd = spans[3 * m + 1];
                dict.put(out.substring(spans[3 * m], keyEnd), out.substring(keyEnd + 2, spans[3 * m + 2]));
            }
            out.setLength(objectStart);
            appendObject(out, dict);
            return i + 1;
        }
        out.append('}');
        return i + 1;
    }

    /** Whether the key written at [start, end) equals one of the first {@code members} keys. */
    private boolean seenBefore(int[] spans, int members, int start, int end) {
        int length = end - start;
        for (int m = 0; m < members; m++) {
            int other = spans[3 * m];
            if (spans[3 * m + 1] - other != length) {
                continue;
            }
            int k = 0;
            while (k < length && out.charAt(other + k) == out.charAt(start + k)) {
                k++;
            }
            if (k == length) {
                return true;
            }
        }
        return false;
    }
}
