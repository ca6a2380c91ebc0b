package dev.pyflink.joins;

import java.util.Map;

import dev.pyflink.json.JsonRoundTrip;
import dev.pyflink.json.PythonJsonWriter;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.types.Row;

/**
 * {@code jobs/interval_join.py}'s {@code conversion_record}: a click and the purchase within its
 * interval, the delay between them, and the click's {@code page} and the purchase's
 * {@code product_id} and {@code amount} as their producers wrote them (any JSON value).
 */
public final class Conversions implements MapFunction<Row, String> {
    private static final long serialVersionUID = 1L;

    private static final String PAGE = JsonRoundTrip.key("page");
    private static final String PRODUCT_ID = JsonRoundTrip.key("product_id");
    private static final String AMOUNT = JsonRoundTrip.key("amount");

    @Override
    public String map(Row pair) {
        long clickTime = (Long) pair.getField("left_ts");
        long purchaseTime = (Long) pair.getField("right_ts");
        Map<String, String> click = JsonRoundTrip.members((String) pair.getField("left_raw"));
        Map<String, String> purchase = JsonRoundTrip.members((String) pair.getField("right_raw"));
        StringBuilder out = new StringBuilder(192).append("{\"user_id\": ");
        PythonJsonWriter.appendString(out, (String) pair.getField("key"), false);
        out.append(", \"click_time\": \"").append(PythonJsonWriter.time(clickTime));
        out.append("\", \"purchase_time\": \"").append(PythonJsonWriter.time(purchaseTime));
        // udfs.timeutil.seconds_between: (end - start) / 1000, one correctly rounded division.
        out.append("\", \"delay_s\": ").append(PythonJsonWriter.floatRepr((double) (purchaseTime - clickTime) / 1000));
        out.append(", \"page\": ").append(click.getOrDefault(PAGE, "null"));
        out.append(", \"product_id\": ").append(purchase.getOrDefault(PRODUCT_ID, "null"));
        out.append(", \"amount\": ").append(purchase.get(AMOUNT));
        return out.append('}').toString();
    }
}
