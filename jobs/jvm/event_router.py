"""``event_router --build jvm``: the same routing in one Java ProcessFunction (``RouteEvents.java``),
by the rules ``jobs/event_router.py`` declares (its reasons and its tenants' output names), with
each routed event written in the bytes Python's ``json.dumps(json.loads(raw))`` writes
(``JsonRoundTrip.java``). Java side outputs keep the event's timestamp, so nothing is stamped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyflink.common import Types
from pyflink.datastream import DataStream

from udfs.events import ACTIVITY
from udfs.eventtime import timed_row_type
from udfs.job import FastBuild
from udfs.jvm import functions, java_process, java_strings


def jvm_build(job: str, no_value: str, negative_value: str, tenant_output: Callable[[str], str]) -> FastBuild:
    """The fast build of a router whose reasons are ``no_value`` and ``negative_value`` (templates
    of ``{state}`` and ``{value}``) and whose tenant ``t`` goes to output ``tenant_output(t)``."""

    def build(t_env, streams, options: Any) -> dict[str, DataStream]:
        tenants = list(options.tenants)
        router = functions().routing.RouteEvents(
            job,
            java_strings(timed_row_type(ACTIVITY).get_field_names()),
            no_value,
            negative_value,
            "late",
            "errors",
            java_strings(tenants),
            java_strings(tenant_output(t) for t in tenants),
        )
        valid = java_process(streams["events"], router, Types.STRING(), "route-events")
        side_outputs = ["late", "errors", *(tenant_output(t) for t in tenants)]
        return {"valid": DataStream(valid)} | {
            name: DataStream(valid.getSideOutput(router.output(name))) for name in side_outputs
        }

    return FastBuild(
        build, help="one Java ProcessFunction routes by the job's rules and writes each event", reuses_objects=True
    )
