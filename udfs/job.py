"""What a job is, declared once: its inputs, its own options, its operators and how its outputs
account for its input records. One runner (``runner/``) turns any declaration into a program.

A job file holds its concept and a :class:`Job`::

    @dataclass(frozen=True)
    class SessionOptions:
        gap_ms: int = option("--gap", positive_duration, "5min", "inactivity gap that ends a session")

    def build(t_env, streams, options: SessionOptions) -> dict[str, DataStream]: ...

    ACCOUNTING = (Count("sessions", "event_count"), *LATE_AND_ERRORS)
    JOB = Job(
        name="sessions",
        doc=__doc__,
        inputs=(ACTIVITY_EVENTS,),
        options=SessionOptions,
        build=build,
        accounting=ACCOUNTING,
    )

Nothing here starts a JVM: declarations, option types and accounting are plain Python.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pyflink.datastream import DataStream
from pyflink.table import StreamTableEnvironment

from udfs.drawing import Drawing
from udfs.events import ACTIVITY, CLICKS, PROFILES, PURCHASES, EventSchema
from udfs.timeutil import parse_duration


@dataclass(frozen=True)
class Input:
    """One input stream of a job: its schema, its bundled sample, the options that name it."""

    name: str
    schema: EventSchema
    sample: str  # a file under samples/
    path_option: str = "--input"
    topic_option: str = "--topic"


#: The inputs of the jobs (with several inputs, each is named by its own options).
ACTIVITY_EVENTS = Input("events", ACTIVITY, "activity.jsonl")
CLICK_EVENTS = Input("clicks", CLICKS, "clicks.jsonl", "--clicks", "--clicks-topic")
PURCHASE_EVENTS = Input("purchases", PURCHASES, "purchases.jsonl", "--purchases", "--purchases-topic")
PROFILE_VERSIONS = Input("profiles", PROFILES, "profiles.jsonl", "--profiles", "--profiles-topic")


# --- the job's own options ------------------------------------------------------------------


def option(flag: str, parse: Callable[[str], Any] | None, default: Any, help: str, metavar: str = "DURATION"):
    """A field of a job's options dataclass and its command-line option.

    ``parse`` is an argparse type (it raises ``argparse.ArgumentTypeError`` with the reason; None:
    the text itself). A ``default`` string is written as a user would type it (``"5min"``) and
    parsed the same way; any other default is the value itself.
    """
    value = parse(default) if parse is not None and isinstance(default, str) else default
    return field(default=value, metadata={"flag": flag, "parse": parse, "help": help, "metavar": metavar})


def command_line_options(options: type) -> list[dataclasses.Field]:
    """The fields of a job's options dataclass, in declaration order."""
    return [f for f in dataclasses.fields(options) if "flag" in f.metadata]


@dataclass(frozen=True)
class NoOptions:
    """The options of a job that has none of its own."""


def duration(text: str) -> int:
    """Option type: a duration in milliseconds (``500ms``, ``3s``, ``5min``, ``1h``, ``1d``), not
    negative (an option that may be negative is a :func:`signed_duration`)."""
    try:
        return parse_duration(text)
    except ValueError as error:
        if _is_negative_duration(text):
            raise argparse.ArgumentTypeError(f"negative durations are not allowed, got {text!r}") from None
        raise argparse.ArgumentTypeError(str(error)) from None


def _is_negative_duration(text: str) -> bool:
    """``-1s``: a duration with a minus sign."""
    stripped = text.strip()
    if not stripped.startswith("-"):
        return False
    try:
        parse_duration(stripped[1:])
    except ValueError:
        return False
    return True


def positive_duration(text: str) -> int:
    """Option type: a duration longer than zero, in milliseconds."""
    ms = duration(text)
    if ms <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0ms, got {text!r}")
    return ms


def signed_duration(text: str) -> int:
    """Option type: a duration that may be negative (``-30s``), in milliseconds."""
    stripped = text.strip()
    negative = stripped.startswith("-")
    try:
        magnitude = parse_duration(stripped[1:] if negative else stripped)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid duration {text!r}: write a whole number and a unit, optionally signed, e.g. -30s, 500ms, 5min"
        ) from None
    return -magnitude if negative else magnitude


def one_of(*choices: str) -> Callable[[str], str]:
    """Option type: one of ``choices``, as written."""

    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {text!r}")
        return text

    return parse


def positive_int(text: str) -> int:
    """Option type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


# --- accounting -----------------------------------------------------------------------------

#: :attr:`Count.output` for "every output not counted otherwise".
EVERY_OUTPUT = "*"


@dataclass(frozen=True)
class Count:
    """How many input records one output accounts for.

    Each record is one input record; or, with ``field``, holds ``field`` input records (a session's
    ``event_count``). With ``per``, only the largest ``field`` of the records with equal ``per``
    fields counts: a window re-fired by allowed lateness repeats its count, updated. With ``span``
    too (the fields of a record's first and last time), only the largest of the records of one
    ``per`` group whose spans overlap counts: a merging window re-fired by allowed lateness (a
    session a late event extended, or joined to another) holds every event of its earlier
    firings, and two sessions that never merged never overlap.
    """

    output: str
    field: str | None = None
    per: tuple[str, ...] = ()
    span: tuple[str, str] | None = None

    def of(self, records: Sequence[Mapping]) -> int:
        if self.field is None:
            return len(records)
        if not self.per:
            return sum(r[self.field] for r in records)
        groups: dict[str, list[Mapping]] = {}
        for r in records:
            groups.setdefault(json.dumps([r[name] for name in self.per]), []).append(r)
        if self.span is None:
            return sum(max(r[self.field] for r in group) for group in groups.values())
        return sum(self._largest_per_overlap(group) for group in groups.values())

    def _largest_per_overlap(self, group: list[Mapping]) -> int:
        assert self.field is not None and self.span is not None
        first, last = self.span
        total, end, largest = 0, None, 0
        for r in sorted(group, key=lambda r: r[first]):
            if end is not None and r[first] <= end:  # overlaps the records before it
                end, largest = max(end, r[last]), max(largest, r[self.field])
            else:
                total, end, largest = total + largest, r[last], r[self.field]
        return total + largest


#: The records no operator could place, and the invalid ones: one input record each.
LATE_AND_ERRORS = (Count("late"), Count("errors"))


# --- the declaration ------------------------------------------------------------------------

Options = TypeVar("Options")  # the job's own options
Streams = Mapping[str, DataStream]
Outputs = Mapping[str, DataStream]


#: The build every job has: the one its file teaches, on PyFlink's Python operators.
TEACHING_BUILD = "python"


@dataclass(frozen=True)
class FastBuild(Generic[Options]):
    """Another build of a job, declared beside the one its file teaches (``--build NAME``): the
    same outputs, byte for byte, computed with less or no Python per record.

    ``refuses(options)`` is why these options cannot be computed that way exactly (one line), or
    None; the runner refuses such a command line before anything runs."""

    build: Callable[[StreamTableEnvironment, Streams, Options], Outputs]
    help: str  # what computes the outputs, for --help
    refuses: Callable[[Options], str | None] = lambda options: None
    #: No function of the build keeps a record it was handed beyond the call (state and windows
    #: hold copies), so the runner lets Flink hand one object down a chain of operators instead
    #: of a copy per operator (``pipeline.object-reuse``): most of a JVM pipeline's per-record
    #: cost is those copies (docs/performance.md).
    reuses_objects: bool = False


@dataclass(frozen=True, kw_only=True)
class Job(Generic[Options]):
    """A job, ``Job(name=..., doc=..., inputs=..., options=..., build=..., accounting=...)``.

    ``build(t_env, streams, options)`` turns its inputs' parsed, event-timed streams into named
    outputs of JSON strings; the runner adds sources, parsing, event time, ``errors`` and sinks.
    ``accounting`` says how the outputs hold every input record (``errors`` included);
    ``timeline`` what each output's record stands for on a ``--timeline`` picture."""

    name: str  # the module jobs.<name>; also the Flink job name and the default topic prefix
    doc: str  # the module's docstring: its first line is the job's description
    inputs: tuple[Input, ...]
    options: type  # a frozen dataclass of option() fields, or NoOptions
    build: Callable[[StreamTableEnvironment, Streams, Options], Outputs]
    accounting: tuple[Count, ...]
    # How --timeline draws each output's records (udfs/drawing.py; EVERY_OUTPUT: any other).
    timeline: Mapping[str, Drawing] = field(default_factory=dict)
    # Builds besides ``build`` (the teaching one, TEACHING_BUILD), by name: ``--build NAME``.
    fast_builds: Mapping[str, FastBuild] = field(default_factory=dict)

    def build_named(self, name: str) -> Callable[[StreamTableEnvironment, Streams, Options], Outputs]:
        return self.build if name == TEACHING_BUILD else self.fast_builds[name].build

    @property
    def description(self) -> str:
        return self.doc.strip().splitlines()[0]

    def accounted(self, outputs: Mapping[str, Sequence[Mapping]]) -> int:
        """How many input records ``outputs`` (records by output name) account for."""
        named = {count.output for count in self.accounting}
        total = 0
        for count in self.accounting:
            if count.output == EVERY_OUTPUT:
                total += sum(len(records) for name, records in outputs.items() if name not in named)
            else:
                total += count.of(outputs[count.output])
        return total
