"""Event router (seed section 5): one ProcessFunction, one main output and side outputs.

Each activity event lands in exactly one output, checked in this order:

1. ``errors``: invalid records (the shared parser), and events whose ``value`` is missing, null or
   negative (the seed's validation), with the reason;
2. ``late``: event time behind the watermark when the event arrived;
3. ``tenant-<name>``: on-time events of a tenant named in ``--tenants``;
4. ``valid`` (the main output): everything else.

``--build jvm`` (jobs/jvm/event_router.py) routes in the JVM by the rules of this file: the same
checks in the same order, the reasons below and the tenants' output names.

    python -m jobs.event_router --tenants acme,globex --input events.jsonl --sink file --output out/
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass

from pyflink.common import Types
from pyflink.datastream import DataStream, OutputTag
from pyflink.datastream.functions import ProcessFunction

from jobs.jvm.event_router import jvm_build
from runner.cli import main
from udfs.drawing import Routed
from udfs.events import original_fields
from udfs.eventtime import stamped, stamped_type
from udfs.job import ACTIVITY_EVENTS, EVERY_OUTPUT, Count, Job, option
from udfs.parsing import error_record

#: Side outputs leave as ``(json, event time)`` pairs that :func:`udfs.eventtime.stamped`
#: timestamps: thread mode gives side outputs no timestamp (process mode the event's).
LATE = OutputTag("late", stamped_type())
ERRORS = OutputTag("errors", stamped_type())
#: Tenant names become output names, folder names and Kafka topic suffixes.
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Why an event goes to ``errors`` (the seed's validation: a router event needs a non-negative
#: ``value``). ``{state}`` is "missing" or "null"; ``{value}`` the value as the event wrote it.
NO_VALUE = "field 'value' is {state}: the router needs a non-negative number"
NEGATIVE_VALUE = "field 'value' must not be negative, got {value}"


def tenant_output(tenant: str) -> str:
    return f"tenant-{tenant}"


def tenant_tag(tenant: str) -> OutputTag:
    return OutputTag(tenant_output(tenant), stamped_type())


class RouteEvents(ProcessFunction):
    """Event rows -> ``valid`` (main) or the side output of :func:`route`'s choice."""

    def __init__(self, tenants: list[str]):
        # Tags of its own, never converted for the JVM: the function travels pickled.
        self.tenants = {t: tenant_tag(t) for t in tenants}

    def process_element(self, event, ctx):
        problem = value_problem(event)
        if problem:
            yield ERRORS, (error_record(JOB.name, problem, event.raw), event.ts)
            return
        record = json.dumps(original_fields(event), ensure_ascii=False)
        if event.behind_watermark:
            yield LATE, (record, event.ts)
        elif event.tenant in self.tenants:
            yield self.tenants[event.tenant], (record, event.ts)
        else:
            yield record


def value_problem(event) -> str | None:
    """Why ``event`` cannot be routed (:data:`NO_VALUE`, :data:`NEGATIVE_VALUE`), or None."""
    if event.value is None:
        return NO_VALUE.format(state="null" if "value" in original_fields(event) else "missing")
    if event.value < 0:
        return NEGATIVE_VALUE.format(value=original_fields(event)["value"])
    return None


def tenant_list(text: str) -> tuple[str, ...]:
    """argparse type: ``a,b,...`` -> distinct tenant names, in the order given."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    bad = [name for name in names if not _TENANT.match(name)]
    if bad:
        raise argparse.ArgumentTypeError(
            f"invalid tenant name {bad[0]!r}: use letters, digits, '.', '_' and '-' (it names an output)"
        )
    if not names:
        raise argparse.ArgumentTypeError("expected tenant names separated by commas, e.g. acme,globex")
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class RouterOptions:
    tenants: tuple[str, ...] = option(
        "--tenants",
        tenant_list,
        (),
        "tenants whose on-time valid events go to their own output tenant-<name> (default none)",
        metavar="A,B,...",
    )


def build(t_env, streams, options: RouterOptions) -> dict[str, DataStream]:
    router = RouteEvents(list(options.tenants))
    valid = streams["events"].process(router, output_type=Types.STRING()).name("route-events").uid("route-events")
    outputs = {
        "valid": valid,
        "late": stamped(valid.get_side_output(LATE), "late"),
        "errors": stamped(valid.get_side_output(ERRORS), "errors"),
    }
    for tenant in router.tenants:
        name = tenant_output(tenant)
        outputs[name] = stamped(valid.get_side_output(tenant_tag(tenant)), name)
    return outputs


#: Every input record is exactly one record of one output.
ACCOUNTING = (Count(EVERY_OUTPUT),)
JOB = Job(
    name="event_router",
    doc=__doc__,
    inputs=(ACTIVITY_EVENTS,),
    options=RouterOptions,
    build=build,
    accounting=ACCOUNTING,
    timeline={EVERY_OUTPUT: Routed()},
    fast_builds={"jvm": jvm_build("event_router", NO_VALUE, NEGATIVE_VALUE, tenant_output)},
)

if __name__ == "__main__":
    main(JOB)
