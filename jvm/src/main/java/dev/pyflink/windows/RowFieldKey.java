package dev.pyflink.windows;

import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.types.Row;

/** Keys rows by one text field, by position: the JVM's key for a JVM window operator. */
public final class RowFieldKey implements KeySelector<Row, String> {
    private static final long serialVersionUID = 1L;

    private final int field;

    public RowFieldKey(int field) {
        this.field = field;
    }

    @Override
    public String getKey(Row row) {
        return (String) row.getField(field);
    }
}
