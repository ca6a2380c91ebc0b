package dev.pyflink.parsing;

import dev.pyflink.json.JsonRoundTrip;
import java.util.HashSet;
import java.util.Set;

/**
 * Reads one line as {@code udfs/events.py}'s {@code decode_object} does with Python 3.11's
 * {@code json.loads} (the C scanner of {@code Modules/_json.c}), keeping only what
 * {@link EventParser} needs: whether the line is accepted, and the top-level members it asks for.
 *
 * <p>Python's grammar, not RFC 8259's alone: whitespace is space, tab, LF and CR only; {@code NaN},
 * {@code Infinity} and {@code -Infinity} are numbers; strings are strict (no raw control characters
 * below U+0020) and know the escapes {@code \" \\ \/ \b \f \n \r \t \\uXXXX}, where an escaped high
 * surrogate directly followed by an escaped low one makes one character; an integer literal of more
 * than {@link #MAX_INT_DIGITS} digits is refused ({@code int()}'s limit); a duplicate key's last value
 * wins. On top of json.loads, {@code decode_object} refuses a line nested deeper than
 * {@link #MAX_NESTING} arrays/objects, and one whose decoded strings (keys included, duplicates
 * overwritten already) hold a lone surrogate.
 *
 * <p>One instance reads one line. The line holds no lone surrogate characters itself (it is decoded
 * from UTF-8 with replacement), so surrogates only come from escapes.
 */
final class PythonJsonReader {
    /** udfs/events.py MAX_NESTING: levels of arrays/objects, the top-level object being level 1. */
    static final int MAX_NESTING = 500;
    /** Python's sys.get_int_max_str_digits() (its default; the test checks the interpreter's). */
    static final int MAX_INT_DIGITS = 4300;

    /** Kinds of a captured member's value; ABSENT for a member the line does not have. */
    static final byte ABSENT = 0, NULL = 1, BOOLEAN = 2, INT = 3, FLOAT = 4, STRING = 5, ARRAY = 6, OBJECT = 7;

    /** json.loads raises, or decode_object refuses: caught by {@link #read()} only (no stack trace, shared). */
    private static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Refused() {
            super(null, null, false, false);
        }
    }

    private static final Refused REFUSED = new Refused();
    /** What {@link #at} reads past the end: a NUL, which the grammar accepts nowhere at() is used. */
    private static final char END = '\0';

    private final String s;
    private final int n;
    private final String[] wanted;

    /** Per wanted name, its top-level member's value: kind, the literal's span (numbers), the string. */
    final byte[] kinds;
    final int[] starts;
    final int[] ends;
    final String[] strings;

    /** Set by every value and string scanned: it holds (after de-duplication) a lone surrogate. */
    private boolean lone;
    /** Set by every string scanned: it has backslash escapes (its text is not its value). */
    private boolean escaped;

    PythonJsonReader(String text, String[] wanted) {
        s = text;
        n = text.length();
        this.wanted = wanted;
        kinds = new byte[wanted.length];
        starts = new int[wanted.length];
        ends = new int[wanted.length];
        strings = new String[wanted.length];
    }

    /** Whether decode_object returns (a dict); the wanted members are then in kinds etc. */
    boolean read() {
        int i = skipWhitespace(0);
        if (at(i) != '{') {
            return false;  // not JSON, or JSON but not an object (a BOM is not whitespace either)
        }
        try {
            i = object(i, 1, true);
        } catch (Refused refused) {
            return false;
        }
        return skipWhitespace(i) == n && !lone;
    }

    private char at(int i) {
        return i < n ? s.charAt(i) : END;
    }

    private int skipWhitespace(int i) {
        while (i < n) {
            char c = s.charAt(i);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                break;
            }
            i++;
        }
        return i;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** The value at i; returns the index after it and sets {@link #lone}. slot >= 0: capture it. */
    private int value(int i, int depth, int slot) {
        lone = false;
        char c = at(i);
        switch (c) {
            case '"': {
                int end = string(i);
                if (slot >= 0) {
                    capture(slot, STRING, i, end);
                    strings[slot] = escaped ? decode(i + 1, end - 1) : s.substring(i + 1, end - 1);
                }
                return end;
            }
            case '{':
                capture(slot, OBJECT, i, i);
                return object(i, depth + 1, false);
            case '[':
                capture(slot, ARRAY, i, i);
                return array(i, depth + 1);
            case 'n':
                return literal(i, "null", slot, NULL);
            case 't':
                return literal(i, "true", slot, BOOLEAN);
            case 'f':
                return literal(i, "false", slot, BOOLEAN);
            case 'N':
                return literal(i, "NaN", slot, FLOAT);
            case 'I':
                return literal(i, "Infinity", slot, FLOAT);
            case '-':
                if (s.startsWith("-Infinity", i)) {
                    return literal(i, "-Infinity", slot, FLOAT);
                }
                return number(i, slot);
            default:
                return number(i, slot);
        }
    }

    private void capture(int slot, byte kind, int start, int end) {
        if (slot >= 0) {
            kinds[slot] = kind;
            starts[slot] = start;
            ends[slot] = end;
            strings[slot] = null;
        }
    }

    private int literal(int i, String word, int slot, byte kind) {
        if (!s.startsWith(word, i)) {
            throw REFUSED;
        }
        capture(slot, kind, i, i + word.length());
        return i + word.length();
    }

    /**
     * The number at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?, the longest such prefix
     * (Python backtracks over a '.' or an exponent without digits, which the caller then refuses).
     */
    private int number(int i, int slot) {
        int start = i;
        if (at(i) == '-') {
            i++;
        }
        int digitsStart = i;
        char c = at(i);
        if (c == '0') {
            i++;
        } else if (c >= '1' && c <= '9') {
            i++;
            while (isDigit(at(i))) {
                i++;
            }
        } else {
            throw REFUSED;
        }
        int intDigits = i - digitsStart;
        boolean isFloat = false;
        if (at(i) == '.' && isDigit(at(i + 1))) {
            isFloat = true;
            i += 2;
            while (isDigit(at(i))) {
                i++;
            }
        }
        if (at(i) == 'e' || at(i) == 'E') {
            int exponent = i;
            i++;
            if (at(i) == '-' || at(i) == '+') {
                i++;
            }
            if (isDigit(at(i))) {
                isFloat = true;
                while (isDigit(at(i))) {
                    i++;
                }
            } else {
                i = exponent;
            }
        }
        if (!isFloat && intDigits > MAX_INT_DIGITS) {
            throw REFUSED;  // int(literal) raises ValueError past the digit limit, wherever it is
        }
        capture(slot, isFloat ? FLOAT : INT, start, i);
        return i;
    }

    /**
     * The string whose opening quote is at i; returns the index after its closing quote and sets
     * {@link #lone} and {@link #escaped}.
     */
    private int string(int i) {
        boolean loneSurrogate = false;
        boolean hasEscapes = false;
        int j = i + 1;
        while (true) {
            if (j >= n) {
                throw REFUSED;
            }
            char c = s.charAt(j);
            if (c == '"') {
                break;
            }
            if (c < 0x20) {
                throw REFUSED;
            }
            if (c != '\\') {
                j++;
                continue;
            }
            hasEscapes = true;
            char e = at(j + 1);
            if (e == 'u') {
                int u = hex4(j + 2);
                j += 6;
                if (Character.isHighSurrogate((char) u)) {
                    // Python joins it with an escaped low surrogate right after it; anything else
                    // leaves it alone (the next escape is then read on its own).
                    if (at(j) == '\\' && at(j + 1) == 'u' && Character.isLowSurrogate((char) hex4(j + 2))) {
                        j += 6;
                    } else {
                        loneSurrogate = true;
                    }
                } else if (Character.isLowSurrogate((char) u)) {
                    loneSurrogate = true;
                }
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                j += 2;
            } else {
                throw REFUSED;
            }
        }
        lone = loneSurrogate;
        escaped = hasEscapes;
        return j + 1;
    }

    /** Four hex digits (ASCII, either case) at i, or refused. */
    private int hex4(int i) {
        int u = 0;
        for (int k = i; k < i + 4; k++) {
            char c = at(k);
            int d;
            if (c >= '0' && c <= '9') {
                d = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                d = c - 'a' + 10;
            } else if (c >= 'A' && c <= 'F') {
                d = c - 'A' + 10;
            } else {
                throw REFUSED;
            }
            u = u * 16 + d;
        }
        return u;
    }

    /** The value of a string's contents [from, to), already validated by {@link #string}. */
    private String decode(int from, int to) {
        return JsonRoundTrip.unescape(s, from, to);
    }

    /** The array at i (its '['); sets {@link #lone} for the whole array. */
    private int array(int i, int depth) {
        if (depth > MAX_NESTING) {
            throw REFUSED;
        }
        boolean anyLone = false;
        i = skipWhitespace(i + 1);
        if (at(i) != ']') {
            while (true) {
                i = value(i, depth, -1);
                anyLone |= lone;
                i = skipWhitespace(i);
                char c = at(i);
                if (c == ']') {
                    break;
                }
                if (c != ',') {
                    throw REFUSED;
                }
                i = skipWhitespace(i + 1);
            }
        }
        lone = anyLone;
        return i + 1;
    }

    /**
     * The object at i (its '{'); sets {@link #lone} for the dict Python keeps, where a duplicate
     * key's earlier value is gone. top: capture the wanted members.
     */
    private int object(int i, int depth, boolean top) {
        if (depth > MAX_NESTING) {
            throw REFUSED;
        }
        boolean loneKey = false;
        // Keys whose latest value holds a lone surrogate; created on the first such value (rare).
        Set<String> loneValues = null;
        i = skipWhitespace(i + 1);
        if (at(i) == '}') {
            lone = false;
            return i + 1;
        }
        while (true) {
            if (at(i) != '"') {
                throw REFUSED;
            }
            int keyStart = i;
            i = string(i);
            int keyEnd = i;
            boolean keyEscaped = escaped;
            loneKey |= lone;
            i = skipWhitespace(i);
            if (at(i) != ':') {
                throw REFUSED;
            }
            i = skipWhitespace(i + 1);
            i = value(i, depth, top ? slot(keyStart, keyEnd, keyEscaped) : -1);
            if (lone || loneValues != null) {
                String key = keyEscaped ? decode(keyStart + 1, keyEnd - 1) : s.substring(keyStart + 1, keyEnd - 1);
                if (lone) {
                    if (loneValues == null) {
                        loneValues = new HashSet<>();
                    }
                    loneValues.add(key);
                } else {
                    loneValues.remove(key);
                }
            }
            i = skipWhitespace(i);
            char c = at(i);
            if (c == '}') {
                break;
            }
            if (c != ',') {
                throw REFUSED;
            }
            i = skipWhitespace(i + 1);
        }
        lone = loneKey || (loneValues != null && !loneValues.isEmpty());
        return i + 1;
    }

    /** The wanted slot of the key string [keyStart, keyEnd) (its quotes included), or -1. */
    private int slot(int keyStart, int keyEnd, boolean keyEscaped) {
        if (keyEscaped) {
            String key = decode(keyStart + 1, keyEnd - 1);
            for (int k = 0; k < wanted.length; k++) {
                if (wanted[k].equals(key)) {
                    return k;
                }
            }
            return -1;
        }
        int length = keyEnd - keyStart - 2;
        for (int k = 0; k < wanted.length; k++) {
            if (wanted[k].length() == length && s.startsWith(wanted[k], keyStart + 1)) {
                return k;
            }
        }
        return -1;
    }
}
