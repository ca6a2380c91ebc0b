package dev.pyflink.joins;

import java.util.LinkedHashMap;

import dev.pyflink.json.JsonRoundTrip;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.types.Row;

/**
 * {@code jobs/temporal_join.py}'s {@code enriched_record}: the purchase as its producer wrote it,
 * with {@code profile}: the profile version valid at its time without the members that identify
 * the version rather than describe the user (the job's {@code NOT_ATTRIBUTES}), or null.
 */
public final class EnrichedPurchases implements MapFunction<Row, String> {
    private static final long serialVersionUID = 1L;

    private static final String PROFILE = JsonRoundTrip.key("profile");

    private final String[] notAttributes;

    public EnrichedPurchases(String[] notAttributes) {
        this.notAttributes = new String[notAttributes.length];
        for (int k = 0; k < notAttributes.length; k++) {
            this.notAttributes[k] = JsonRoundTrip.key(notAttributes[k]);
        }
    }

    @Override
    public String map(Row pair) {
        String purchaseText = (String) pair.getField("left_raw");
        LinkedHashMap<String, String> purchase = JsonRoundTrip.members(purchaseText);
        String versionText = (String) pair.getField("right_raw");
        String profile = "null";
        if (versionText != null) {
            LinkedHashMap<String, String> version = JsonRoundTrip.members(versionText);
            for (String key : notAttributes) {
                version.remove(key);
            }
            StringBuilder text = new StringBuilder(versionText.length());
            JsonRoundTrip.appendObject(text, version);
            profile = text.toString();
        }
        purchase.put(PROFILE, profile);
        StringBuilder out = new StringBuilder(purchaseText.length() + profile.length() + 16);
        JsonRoundTrip.appendObject(out, purchase);
        return out.toString();
    }
}
