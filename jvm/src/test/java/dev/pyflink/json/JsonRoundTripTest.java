package dev.pyflink.json;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** Python's json.dumps(json.loads(text), ensure_ascii=False) (the expected texts are Python 3.11's);
 * tests/test_jvm_parser.py compares the two on generated lines too. */
class JsonRoundTripTest {

    /** Each line and what Python writes for it. */
    private static final String[][] CASES = {
        {"{\"a\":1,\"b\":[1,2,{\"c\":null}],\"d\":{}}", "{\"a\": 1, \"b\": [1, 2, {\"c\": null}], \"d\": {}}"},
        {" {\t\"a\" :\r\n[ ] , \"b\":{ } }\n", "{\"a\": [], \"b\": {}}"},
        {"{\"k\": \"\\u00e9\\ud83d\\ude00\\/\\n\\u001f\\u007f\"}", "{\"k\": \"\u00e9\ud83d\ude00/\\n\\u001f\u007f\"}"},
        {
            "{\"n\": [-0, -0.0, 1E5, 1e-5, 1.50, 1e400, 1e-400, NaN, -Infinity]}",
            "{\"n\": [0, -0.0, 100000.0, 1e-05, 1.5, Infinity, 0.0, NaN, -Infinity]}"
        },
        {"{\"a\": 1, \"b\": 2, \"a\": 3}", "{\"a\": 3, \"b\": 2}"},
        {"{\"a\": 1, \"\\u0061\": {\"x\": 1, \"x\": [true]}, \"b\": false}", "{\"a\": {\"x\": [true]}, \"b\": false}"},
    };

    @Test
    void dumpsLoadsIsPythons() {
        for (String[] line : CASES) {
            assertThat(JsonRoundTrip.dumpsLoads(line[0])).as(line[0]).isEqualTo(line[1]);
        }
    }

    @Test
    void manyMembersWithRepeatedKeysKeepTheirFirstPlaceAndLastValue() {
        StringBuilder text = new StringBuilder("{");
        Map<String, String> python = new LinkedHashMap<>();
        for (int i = 0; i < 40; i++) {
            text.append(i > 0 ? "," : "").append("\"k").append(i % 20).append("\":").append(i);
            python.put("\"k" + i % 20 + "\"", Integer.toString(i));
        }
        StringBuilder expected = new StringBuilder();
        JsonRoundTrip.appendObject(expected, python);
        assertThat(JsonRoundTrip.dumpsLoads(text.append('}').toString())).isEqualTo(expected.toString())
                .startsWith("{\"k0\": 20, \"k1\": 21");
    }

    @Test
    void membersAreTheDictsInItsOrder() {
        assertThat(JsonRoundTrip.members("{\"b\": 1, \"a\": {\"x\" : 2}, \"b\": \"é\"}"))
                .containsExactly(Map.entry("\"b\"", "\"é\""), Map.entry("\"a\"", "{\"x\": 2}"));
    }
}
