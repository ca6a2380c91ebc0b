package dev.pyflink.json;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The JSON the JVM writes against what Python writes for the same values (the expected texts are
 * Python 3.11's {@code repr}, {@code round} and {@code json.dumps}). */
class PythonJsonWriterTest {

    @ParameterizedTest(name = "repr({0}) = {1}")
    @CsvSource({
        "0.1, 0.1",
        "0.30000000000000004, 0.30000000000000004",
        "0.3333333333333333, 0.3333333333333333",
        "123.0, 123.0",
        "2.5, 2.5",
        "-0.0, -0.0",
        "1e16, 1e+16",
        "9999999999999998.0, 9999999999999998.0",
        "1e-4, 0.0001",
        "0.0001234, 0.0001234",
        "1.5e-05, 1.5e-05",
        "4.9e-324, 5e-324",
        "1e-323, 1e-323",
        "1.5e-323, 1.5e-323",
        "4.4e-323, 4.4e-323",
        "-3e-320, -3e-320",
        "1e-310, 1e-310",
        "1.23456789e-315, 1.23456789e-315",
        "2.225073858507201e-308, 2.225073858507201e-308",
        "2.2250738585072014e-308, 2.2250738585072014e-308",
        "1.7976931348623157e308, 1.7976931348623157e+308",
        "1.4142135623730952e22, 1.4142135623730952e+22",
        "NaN, NaN",
        "Infinity, Infinity",
        "-Infinity, -Infinity",
    })
    void floatReprIsPythons(double x, String python) {
        assertThat(PythonJsonWriter.floatRepr(x)).isEqualTo(python);
    }

    @ParameterizedTest(name = "round({0}, {1}) = {2}")
    @CsvSource({
        "2.675, 2, 2.67",
        "0.30000000000000004, 9, 0.3",
        "-1e-12, 9, -0.0",
        "1.0000000005, 9, 1.000000001",
        "2.0000000015, 9, 2.000000002",
    })
    void roundIsPythonsOnTheExactBinaryValue(double x, int digits, String python) {
        assertThat(PythonJsonWriter.floatRepr(PythonJsonWriter.round(x, digits))).isEqualTo(python);
    }

    @ParameterizedTest(name = "ensure_ascii={1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "true | \"\\u00e9\\u2028\\\"\\\\\\n\\u0001\\ud83d\\ude00\"",
                "false | \"\u00e9\u2028\\\"\\\\\\n\\u0001\ud83d\ude00\"",
            })
    void stringsAreEscapedAsJsonDumpsDoes(boolean ensureAscii, String python) {
        StringBuilder out = new StringBuilder();
        PythonJsonWriter.appendString(out, "\u00e9\u2028\"\\\n\u0001\ud83d\ude00", ensureAscii);
        assertThat(out).hasToString(python);
    }

    @ParameterizedTest(name = "{0} ms")
    @CsvSource({
        "0, 1970-01-01T00:00:00.000Z",
        "1795514800609, 2026-11-24T10:06:40.609Z",
        "253402300799999, 9999-12-31T23:59:59.999Z",
    })
    void timesAreTheOutputsFormat(long epochMs, String text) {
        assertThat(PythonJsonWriter.time(epochMs)).isEqualTo(text);
    }
}
