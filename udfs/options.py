"""The options every job shares (SPEC: "Options shared by every job"), and fail-fast validation.

A job declares its inputs and its own options; :func:`parse_options` returns one namespace. A bad
option or a missing input stops the program before anything is submitted, with one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from udfs.events import EventSchema
from udfs.timeutil import parse_duration

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "samples"


@dataclass(frozen=True)
class Input:
    """One input stream of a job: its schema, where it comes from by default."""

    name: str  # also the option (``--clicks``) for jobs with several inputs
    schema: EventSchema
    sample: str  # bundled sample file under samples/
    path_option: str = "--input"
    topic_option: str = "--topic"

    @property
    def dest(self) -> str:
        return self.path_option.lstrip("-").replace("-", "_")

    @property
    def topic_dest(self) -> str:
        return self.topic_option.lstrip("-").replace("-", "_")


class OptionError(SystemExit):
    """Raised instead of argparse's usage dump: one line, exit code 2."""

    def __init__(self, message: str):
        super().__init__(2)
        self.message = message


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):  # argparse calls this for every bad option
        raise OptionError(f"{self.prog}: error: {message}")


def duration(text: str) -> int:
    """argparse type: a duration in milliseconds."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive_duration(text: str) -> int:
    """argparse type: a duration longer than zero, in milliseconds."""
    ms = duration(text)
    if ms <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0ms, got {text!r}")
    return ms


def signed_duration(text: str) -> int:
    """argparse type: a duration that may be negative (``-30s``), in milliseconds.

    :func:`parse_options` attaches a value starting with ``-`` to its option (``--lower -30s``
    becomes ``--lower=-30s``): argparse would otherwise read it as an option of its own.
    """
    stripped = text.strip()
    negative = stripped.startswith("-")
    try:
        magnitude = parse_duration(stripped[1:] if negative else stripped)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: write a whole number and a unit, optionally "
                                         "signed, e.g. -30s, 500ms, 5min") from None
    return -magnitude if negative else magnitude


#: Flink refuses checkpoints more often than this (``CheckpointConfig``'s minimum interval).
MIN_CHECKPOINT_INTERVAL_MS = 10


def checkpoint_interval(text: str) -> int:
    """argparse type: a checkpoint interval Flink accepts (at least 10ms)."""
    ms = duration(text)
    if ms < MIN_CHECKPOINT_INTERVAL_MS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_CHECKPOINT_INTERVAL_MS}ms (Flink's minimum), got {text!r}")
    return ms


def option_error(job: str, message: str) -> OptionError:
    """A check across several options, failed: the same one line as argparse's own errors."""
    return OptionError(f"python -m jobs.{job}: error: {message}")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def parse_options(
    job: str,
    inputs: Sequence[Input],
    argv: Sequence[str] | None = None,
    configure: Callable[[argparse.ArgumentParser], None] | None = None,
    description: str | None = None,
) -> argparse.Namespace:
    parser = _OneLineParser(prog=f"python -m jobs.{job}", description=description)
    io = parser.add_argument_group("sources and sinks")
    io.add_argument("--source", choices=["file", "kafka"], default="file")
    for spec in inputs:
        io.add_argument(
            spec.path_option, dest=spec.dest, metavar="PATH", default=str(SAMPLES / spec.sample),
            help=f"JSONL file or folder of {spec.schema.name} events (default: the bundled sample)",
        )
        io.add_argument(spec.topic_option, dest=spec.topic_dest, metavar="TOPIC", default=spec.schema.name,
                        help=f"Kafka topic of {spec.schema.name} events (default: %(default)s)")
    io.add_argument("--sink", choices=["print", "file", "kafka"], default="print")
    io.add_argument("--output", metavar="DIR", help="with --sink file: each output goes to DIR/<output>/")
    io.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"))
    io.add_argument("--output-topic-prefix", default=job, help="output <out> goes to topic <prefix>.<out>")
    io.add_argument("--bounded", action="store_true",
                    help="Kafka source: stop at the offsets that were latest at start")
    io.add_argument("--group-id", default=f"pyflink-{job}")

    time = parser.add_argument_group("event time")
    time.add_argument("--out-of-orderness", type=duration, default=parse_duration("5s"), metavar="DURATION",
                      help="bounded out-of-orderness of the watermark (default 5s)")
    time.add_argument("--idleness", type=duration, default=None, metavar="DURATION",
                      help="mark the event-time source idle after this long without records")

    runtime = parser.add_argument_group("runtime")
    runtime.add_argument("--parallelism", type=positive_int, default=1, metavar="N")
    runtime.add_argument("--execution-mode", choices=["thread", "process"], default=None,
                         help="PyFlink Python execution mode (default: the cluster's python.execution-mode "
                              "when submitted with flink run, else thread; see README, Performance)")
    runtime.add_argument("--process-bundle-size", type=positive_int, default=1, metavar="N",
                         help="process mode: records per bundle of the Python workers (default 1: every record "
                              "sees the watermark thread mode gives it; larger is faster, but a record may then "
                              "see an older watermark, so fewer records may be late)")
    runtime.add_argument("--checkpoint-interval", type=checkpoint_interval, default=None, metavar="DURATION")
    runtime.add_argument("--delivery-guarantee", choices=["none", "at-least-once", "exactly-once"],
                         default="at-least-once")
    runtime.add_argument("--transaction-timeout", type=positive_duration, default=parse_duration("10min"), metavar="DURATION",
                         help="exactly-once Kafka sink: transaction timeout, at most the broker's "
                              "transaction.max.timeout.ms (default 10min)")

    if configure:
        configure(parser.add_argument_group(f"{job} options"))

    options = parser.parse_args(_attach_signed_values(parser, sys.argv[1:] if argv is None else list(argv)))
    options.job = job
    options.inputs = list(inputs)
    _validate(parser, options)
    return options


def _attach_signed_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--lower -30s`` -> ``--lower=-30s`` for every option of type :func:`signed_duration`:
    argparse takes a value that starts with ``-`` (and is not a plain number) for an option."""
    signed = {flag for action in parser._actions if action.type is signed_duration for flag in action.option_strings}
    attached: list[str] = []
    for arg in argv:
        if attached and attached[-1] in signed and arg[:1] == "-" and arg[1:2].isdigit():
            attached[-1] = f"{attached[-1]}={arg}"
        else:
            attached.append(arg)
    return attached


def _validate(parser: argparse.ArgumentParser, options: argparse.Namespace) -> None:
    if options.source == "file":
        for spec in options.inputs:
            path = Path(getattr(options, spec.dest))
            if not path.exists():
                parser.error(f"input not found: {path}")
            if path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
                parser.error(f"input folder is empty: {path}")
    if options.sink == "file" and not options.output:
        parser.error("--sink file needs --output DIR")
    if options.sink == "file":
        # The file sink adds part files beside whatever is there: the outputs of two runs would mix.
        output = Path(options.output)
        if output.exists() and not output.is_dir():
            parser.error(f"--output {output} is not a folder")
        if output.is_dir() and any(output.iterdir()):
            parser.error(f"--output {output} is not empty: the outputs of two runs would mix; "
                         "choose a new folder or empty it")
    if options.delivery_guarantee == "exactly-once" and options.sink == "kafka" and not options.checkpoint_interval:
        parser.error("--delivery-guarantee exactly-once commits on checkpoints: set --checkpoint-interval")
    if (options.delivery_guarantee == "exactly-once" and options.checkpoint_interval
            and options.transaction_timeout <= options.checkpoint_interval):
        parser.error("--transaction-timeout must be longer than --checkpoint-interval: a transaction stays open "
                     "from one checkpoint to the next")
    if getattr(options, "allowed_lateness", 0) and options.allowed_lateness < 0:
        parser.error("--allowed-lateness must not be negative")


def run_cli(module: str, argv: Sequence[str] | None = None) -> None:
    """A job's ``__main__``: runs ``<module>.main`` and turns option errors into one line on stderr
    and exit code 2.

    The job is imported by its module name, not run as ``__main__``, so that cloudpickle ships its
    functions by reference (``jobs.sessions.SessionSummary``) rather than by value with their
    module's globals, which do not all pickle.
    """
    import importlib

    try:
        code = importlib.import_module(module).main(argv)
    except OptionError as error:
        print(error.message, file=sys.stderr)
        code = 2
    sys.exit(code)
