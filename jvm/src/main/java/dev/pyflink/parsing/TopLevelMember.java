package dev.pyflink.parsing;

import dev.pyflink.json.PythonJsonWriter;

/**
 * One top-level member of a line {@link EventParser} accepted, as Python's {@code json.loads} gives
 * it: for the few records whose text tells more than their row (a missing member and a null one are
 * both a null field; {@code 5} and {@code 5.0} both the double 5.0).
 */
public final class TopLevelMember {
    private final byte kind;
    private final String literal;

    private TopLevelMember(byte kind, String literal) {
        this.kind = kind;
        this.literal = literal;
    }

    /** The member {@code name} of the accepted {@code line} (its last value if given twice). */
    public static TopLevelMember of(String line, String name) {
        PythonJsonReader json = new PythonJsonReader(line, new String[] {name});
        if (!json.read()) {
            throw new IllegalArgumentException("not a line the event parser accepts: " + line);
        }
        byte kind = json.kinds[0];
        return new TopLevelMember(kind, kind == PythonJsonReader.ABSENT ? null : line.substring(json.starts[0], json.ends[0]));
    }

    /** {@code name in record}. */
    public boolean present() {
        return kind != PythonJsonReader.ABSENT;
    }

    /** Python's {@code str()} of a number member: an int's digits, a float's repr. */
    public String numberText() {
        if (kind == PythonJsonReader.INT) {
            return literal.equals("-0") ? "0" : literal;
        }
        if (kind == PythonJsonReader.FLOAT) {
            return PythonJsonWriter.floatRepr(Double.parseDouble(literal));
        }
        throw new IllegalStateException("not a number: " + literal);
    }
}
