package dev.pyflink.parsing;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.flink.types.Row;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The parser's row and a few of its refusals. tests/test_jvm_parser.py compares it with Python's
 * parser on every rule and on generated lines; these are the cases a Java reader checks first.
 */
class EventParserTest {
    private static final EventParser ACTIVITY = new EventParser(
            new String[] {"user_id", "action", "value"},
            new String[] {EventParser.STRING, EventParser.STRING, EventParser.NUMBER},
            new boolean[] {true, false, false});

    @Test
    void anAcceptedLineIsItsFieldsThenTheEventTimeThenTheLine() {
        String line = "{\"user_id\": \"ann\", \"value\": 3, \"timestamp\": \"2026-11-24T10:00:00.5+01:00\", \"x\": [1]}";
        assertThat(ACTIVITY.parse(line)).isEqualTo(Row.of("ann", null, 3.0, 1_795_510_800_500L, line));
    }

    @Test
    void epochMillisecondsAreAnEventTimeToo() {
        assertThat(ACTIVITY.parse("{\"user_id\": \"ann\", \"timestamp\": 1000}").getField(3)).isEqualTo(1_000L);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "not json",
        "[1, 2]",
        "{\"user_id\": \"ann\"}", // no event time
        "{\"action\": \"view\", \"timestamp\": 1000}", // no user_id
        "{\"user_id\": \"ann\", \"timestamp\": \"24/11/2026\"}",
        "{\"user_id\": \"ann\", \"timestamp\": 1000, \"value\": \"three\"}",
        "{\"user_id\": \"ann\", \"timestamp\": 1000",
        "{\"user_id\": \"ann\", \"timestamp\": 1000}\uFFFD",
    })
    void aLinePythonRefusesIsRefused(String line) {
        assertThat(ACTIVITY.parse(line)).isNull();
    }
}
