package dev.pyflink.routing;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.pyflink.json.JsonRecords;
import dev.pyflink.json.JsonRoundTrip;
import dev.pyflink.parsing.TopLevelMember;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * {@code jobs/event_router.py}'s {@code RouteEvents} in the JVM: each event row to exactly one
 * output, checked in the job's order: {@code errors} (no value, or a negative one), the late
 * output (behind the watermark on arrival), a tenant's output, else the main output ({@code valid}).
 * The rules are the Python job's: its reasons (templates with {@code {state}} and {@code {value}})
 * and its tenants' output names come from there.
 *
 * <p>A routed event is written as {@code json.dumps(json.loads(raw), ensure_ascii=False)}
 * ({@link JsonRoundTrip}). Side outputs keep the event's timestamp, as the main output does.
 */
public final class RouteEvents extends ProcessFunction<Row, String> {
    private static final long serialVersionUID = 1L;

    private final String job;
    private final int value;
    private final int tenant;
    private final int raw;
    private final int behindWatermark;
    /** The schema's field the rules check: the seed's validation of a router event. */
    private static final String VALUE = "value";

    private final String noValue;
    private final String negativeValue;
    private final OutputTag<String> late;
    private final OutputTag<String> errors;
    private final HashMap<String, OutputTag<String>> tenants = new HashMap<>();

    /**
     * @param fields the event row's field names, {@code value}, {@code tenant}, {@code raw} and
     *     {@code behind_watermark} among them
     * @param noValue the reason for a missing or null value, {@code {state}} being "missing" or "null"
     * @param negativeValue the reason for a negative value, {@code {value}} being it as Python writes it
     * @param lateOutput the late side output's name
     * @param errorsOutput the errors side output's name
     * @param tenantNames the routed tenants
     * @param tenantOutputs the name of each routed tenant's output
     */
    public RouteEvents(
            String job,
            String[] fields,
            String noValue,
            String negativeValue,
            String lateOutput,
            String errorsOutput,
            String[] tenantNames,
            String[] tenantOutputs) {
        if (tenantNames.length != tenantOutputs.length) {
            throw new IllegalArgumentException("one output per tenant");
        }
        this.job = job;
        List<String> names = Arrays.asList(fields);
        value = index(names, VALUE);
        tenant = index(names, "tenant");
        raw = index(names, "raw");
        behindWatermark = index(names, "behind_watermark");
        this.noValue = noValue;
        this.negativeValue = negativeValue;
        late = new OutputTag<>(lateOutput, Types.STRING);
        errors = new OutputTag<>(errorsOutput, Types.STRING);
        for (int t = 0; t < tenantNames.length; t++) {
            tenants.put(tenantNames[t], new OutputTag<>(tenantOutputs[t], Types.STRING));
        }
    }

    private static int index(List<String> names, String name) {
        int index = names.indexOf(name);
        if (index < 0) {
            throw new IllegalArgumentException("the event rows have no field '" + name + "': " + names);
        }
        return index;
    }

    /** The side output of that name: the late one, errors, or a tenant's. */
    public OutputTag<String> output(String name) {
        if (late.getId().equals(name)) {
            return late;
        }
        if (errors.getId().equals(name)) {
            return errors;
        }
        for (Map.Entry<String, OutputTag<String>> entry : tenants.entrySet()) {
            if (entry.getValue().getId().equals(name)) {
                return entry.getValue();
            }
        }
        throw new IllegalArgumentException("no side output named " + name);
    }

    @Override
    public void processElement(Row event, Context ctx, Collector<String> out) {
        String text = (String) event.getField(raw);
        Double amount = (Double) event.getField(value);
        if (amount == null || amount < 0) {
            // The row cannot tell a missing value from a null one, or 5 from 5.0: the text can.
            TopLevelMember member = TopLevelMember.of(text, VALUE);
            String reason = amount == null
                    ? noValue.replace("{state}", member.present() ? "null" : "missing")
                    : negativeValue.replace("{value}", member.numberText());
            ctx.output(errors, JsonRecords.error(job, reason, text));
            return;
        }
        String record = JsonRoundTrip.dumpsLoads(text);
        if (Boolean.TRUE.equals(event.getField(behindWatermark))) {
            ctx.output(late, record);
            return;
        }
        Object name = event.getField(tenant);
        OutputTag<String> tag = name == null ? null : tenants.get(name);
        if (tag != null) {
            ctx.output(tag, record);
        } else {
            out.collect(record);
        }
    }
}
