"""The command line every job shares (docs/contract.md, "Options shared by every job"), its own
options declared by the job, and fail-fast validation: a bad option or a missing input stops the
program before anything is submitted, with one line on stderr and exit code 2.

    python -m jobs.<name> [shared options] [the job's options]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from runner.config import EventTimeConfig, ExecutionConfig, RunConfig, SinkConfig, SourceConfig, TimelineConfig
from runner.errors import OptionError, option_error
from udfs.job import TEACHING_BUILD, Job, command_line_options, duration, one_of, positive_duration, positive_int
from udfs.timeutil import parse_duration

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "samples"
#: Flink refuses checkpoints more often than this (``CheckpointConfig``'s minimum interval).
MIN_CHECKPOINT_INTERVAL_MS = 10


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):  # argparse calls this for every bad option
        raise OptionError(f"{self.prog}: error: {message}")


def checkpoint_interval(text: str) -> int:
    """Option type: a checkpoint interval Flink accepts (at least 10ms)."""
    ms = duration(text)
    if ms < MIN_CHECKPOINT_INTERVAL_MS:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_CHECKPOINT_INTERVAL_MS}ms (Flink's minimum), got {text!r}"
        )
    return ms


def port(text: str) -> int:
    """Option type: a TCP port number."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 1-65535, got {text!r}")
    return value


def samples_folder() -> Path:
    """The bundled samples, the default inputs. In a checkout they are beside this package. Under
    ``flink run -py jobs/<name>.py --pyFiles <zip>`` (``scripts/flink-cluster run``) this module is
    Flink's temporary copy of the shipped zip (tools/package.py), which holds no samples; the
    client then runs the job script itself from the checkout, so they are the samples of the
    checkout that holds the script (``<checkout>/jobs/<name>.py``). The default is a path on the
    client's machine, as any ``--input`` is."""
    if SAMPLES.is_dir():
        return SAMPLES
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    if script:
        beside_script = Path(script).resolve().parent.parent / "samples"
        if beside_script.is_dir():
            return beside_script
    return SAMPLES


def parser_for(job: Job) -> argparse.ArgumentParser:
    parser = _OneLineParser(prog=f"python -m jobs.{job.name}", description=job.description)
    io = parser.add_argument_group("sources and sinks")
    io.add_argument("--source", choices=["file", "kafka"], default="file")
    samples = samples_folder()
    for spec in job.inputs:
        io.add_argument(
            spec.path_option,
            dest=f"path_{spec.name}",
            metavar="PATH",
            default=str(samples / spec.sample),
            help=f"JSONL file or folder of {spec.schema.name} events (default: the bundled sample)",
        )
        io.add_argument(
            spec.topic_option,
            dest=f"topic_{spec.name}",
            metavar="TOPIC",
            default=spec.schema.name,
            help=f"Kafka topic of {spec.schema.name} events (default: %(default)s)",
        )
    io.add_argument(
        "--sink",
        choices=["print", "file", "kafka"],
        default=None,
        help="where the outputs go (default: print, or file with --output)",
    )
    io.add_argument(
        "--output",
        metavar="DIR",
        help="each output goes to DIR/<output>/ (--sink file; implied when --sink is not given)",
    )
    io.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"))
    io.add_argument("--output-topic-prefix", default=job.name, help="output <out> goes to topic <prefix>.<out>")
    io.add_argument(
        "--bounded", action="store_true", help="Kafka source: stop at the offsets that were latest at start"
    )
    io.add_argument("--group-id", default=f"pyflink-{job.name}")

    time = parser.add_argument_group("event time")
    time.add_argument(
        "--out-of-orderness",
        type=duration,
        default=parse_duration("5s"),
        metavar="DURATION",
        help="bounded out-of-orderness of the watermark (default 5s)",
    )
    time.add_argument(
        "--idleness",
        type=duration,
        default=None,
        metavar="DURATION",
        help="mark the event-time source idle after this long without records",
    )
    time.add_argument(
        "--max-watermark-drift",
        type=positive_duration,
        default=None,
        metavar="DURATION",
        help="Kafka source: pause the partitions whose watermark runs more than this ahead of the "
        "slowest (watermark alignment; default: no alignment)",
    )

    runtime = parser.add_argument_group("runtime")
    runtime.add_argument("--parallelism", type=positive_int, default=1, metavar="N")
    runtime.add_argument(
        "--execution-mode",
        choices=["thread", "process"],
        default=None,
        help="PyFlink Python execution mode (default: the cluster's python.execution-mode "
        "when submitted with flink run, else thread; see README, Performance)",
    )
    runtime.add_argument(
        "--process-bundle-size",
        type=positive_int,
        default=1,
        metavar="N",
        help="process mode: records per bundle of the Python workers (default 1: every record "
        "sees the watermark thread mode gives it; larger is faster, but a record may then "
        "see an older watermark, so fewer records may be late)",
    )
    runtime.add_argument("--checkpoint-interval", type=checkpoint_interval, default=None, metavar="DURATION")
    runtime.add_argument(
        "--state-backend",
        choices=["hashmap", "rocksdb"],
        default=None,
        help="where keyed state lives: hashmap (the JVM heap) or rocksdb (local disk, state larger "
        "than memory, incremental checkpoints); default: the cluster's state.backend.type when "
        "submitted with flink run, else hashmap (docs/state.md)",
    )
    runtime.add_argument(
        "--delivery-guarantee", choices=["none", "at-least-once", "exactly-once"], default="at-least-once"
    )
    runtime.add_argument(
        "--transaction-timeout",
        type=positive_duration,
        default=parse_duration("10min"),
        metavar="DURATION",
        help="exactly-once Kafka sink: transaction timeout, at most the broker's "
        "transaction.max.timeout.ms (default 10min)",
    )

    runtime.add_argument(
        "--metrics-port",
        type=port,
        default=None,
        metavar="PORT",
        help="a local run serves its metrics for Prometheus on http://127.0.0.1:PORT/metrics while it runs "
        "(a cluster's reporter is configured in its config.yaml; docs/metrics.md)",
    )

    picture = parser.add_argument_group("timeline (docs/timeline.md)")
    picture.add_argument(
        "--timeline",
        metavar="FILE.html",
        default=None,
        help="draw the run's event time per key (events, watermark, windows, firings, late records) into one HTML file",
    )
    picture.add_argument(
        "--timeline-keys",
        metavar="KEY,KEY",
        default=None,
        help="with --timeline: draw only these keys (default: all, or a sample of a big run)",
    )

    if job.fast_builds:
        builds = [TEACHING_BUILD, *job.fast_builds]
        parser.add_argument(
            "--build",
            "--window-operator",  # its name while only the window jobs had a fast build
            dest="build",
            type=one_of(*builds),
            default=TEACHING_BUILD,
            metavar="{" + ",".join(builds) + "}",
            help=f"{TEACHING_BUILD}: the build this job's file teaches, on PyFlink's Python operators (default); "
            + "; ".join(f"{name}: {fast.help}" for name, fast in job.fast_builds.items())
            + " (the same outputs; docs/windowing.md)",
        )

    own = command_line_options(job.options)
    if own:
        group = parser.add_argument_group(f"{job.name} options")
        for f in own:
            group.add_argument(
                f.metadata["flag"],
                dest=f"job_{f.name}",
                type=f.metadata["parse"],
                default=f.default,
                metavar=f.metadata["metavar"],
                help=f.metadata["help"],
            )
    return parser


def parse(job: Job, argv: Sequence[str] | None = None) -> RunConfig:
    """The command line -> a validated :class:`RunConfig`, or :class:`OptionError`."""
    parser = parser_for(job)
    args, unrecognized = parser.parse_known_args(_attach_values(parser, sys.argv[1:] if argv is None else list(argv)))
    if unrecognized:
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}{_inputs_hint(job, unrecognized)}")
    args.sink = _sink(job, args)
    try:
        own = job.options(**{f.name: getattr(args, f"job_{f.name}") for f in command_line_options(job.options)})
    except ValueError as error:  # the options dataclass's own checks across its fields
        raise option_error(job.name, str(error)) from None
    config = RunConfig(
        job=job.name,
        source=SourceConfig(
            kind=args.source,
            paths={spec.name: Path(getattr(args, f"path_{spec.name}")) for spec in job.inputs},
            topics={spec.name: getattr(args, f"topic_{spec.name}") for spec in job.inputs},
            bootstrap_servers=args.bootstrap_servers,
            group_id=args.group_id,
            bounded=args.bounded,
        ),
        sink=SinkConfig(
            kind=args.sink,
            output=Path(args.output) if args.output else None,
            bootstrap_servers=args.bootstrap_servers,
            topic_prefix=args.output_topic_prefix,
            delivery_guarantee=args.delivery_guarantee,
            transaction_timeout_ms=args.transaction_timeout,
        ),
        event_time=EventTimeConfig(
            out_of_orderness_ms=args.out_of_orderness,
            idleness_ms=args.idleness,
            max_drift_ms=args.max_watermark_drift,
        ),
        execution=ExecutionConfig(
            parallelism=args.parallelism,
            mode=args.execution_mode,
            process_bundle_size=args.process_bundle_size,
            checkpoint_interval_ms=args.checkpoint_interval,
            metrics_port=args.metrics_port,
            state_backend=args.state_backend,
        ),
        options=own,
        timeline=_timeline(parser, args),
        build=getattr(args, "build", TEACHING_BUILD),
    )
    if config.build != TEACHING_BUILD:
        refusal = job.fast_builds[config.build].refuses(own)
        if refusal:
            raise option_error(job.name, refusal)
    _validate(parser, config)
    return config


def _timeline(parser: argparse.ArgumentParser, args: argparse.Namespace) -> TimelineConfig | None:
    if args.timeline is None:
        if args.timeline_keys is not None:
            parser.error("--timeline-keys needs --timeline FILE.html")
        return None
    # The picture is drawn by the client from the outputs it reads back: Kafka outputs it cannot.
    if args.sink == "kafka":
        parser.error("--timeline needs --sink print or file (the client reads the outputs back to draw them)")
    keys = None
    if args.timeline_keys is not None:
        keys = tuple(key.strip() for key in args.timeline_keys.split(",") if key.strip())
        if not keys:
            parser.error("--timeline-keys needs at least one key, e.g. --timeline-keys u1,u2")
    return TimelineConfig(Path(args.timeline), keys)


def _sink(job: Job, args: argparse.Namespace) -> str:
    """``--output DIR`` writes files: without ``--sink`` it means ``--sink file``; with another sink
    it would be ignored, so it is refused."""
    if args.output is None:
        return args.sink or "print"
    if args.sink in (None, "file"):
        return "file"
    raise option_error(
        job.name, f"--output DIR is for --sink file; --sink {args.sink} writes no files, so it would be ignored"
    )


def _inputs_hint(job: Job, unrecognized: list[str]) -> str:
    """`` (<job> reads --clicks and --purchases)`` when ``--input`` or ``--topic`` is among
    the ``unrecognized`` arguments of a job whose inputs have options of their own."""
    given = {arg.partition("=")[0] for arg in unrecognized}
    reads = []
    if "--input" in given and "--input" not in {spec.path_option for spec in job.inputs}:
        reads.append(_and(spec.path_option for spec in job.inputs))
    if "--topic" in given and "--topic" not in {spec.topic_option for spec in job.inputs}:
        reads.append(f"the topics {_and(spec.topic_option for spec in job.inputs)}")
    return f" ({job.name} reads {'; '.join(reads)})" if reads else ""


def _and(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _attach_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--lower -30s`` -> ``--lower=-30s`` for every option that takes a value: argparse takes a
    value that starts with ``-`` (and is not a plain number) for an option, and stops with
    "expected one argument". Attached, the option's type judges it: a signed duration
    (:func:`udfs.job.signed_duration`) takes it, any other duration says that negative ones are
    not allowed."""
    long_options = {flag: action for action in parser._actions for flag in action.option_strings if flag[:2] == "--"}
    attached: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--":  # the rest is not options
            return attached + argv[index:]
        previous = attached[-1] if attached else ""
        if arg[:1] == "-" and arg[1:2].isdigit() and _takes_value(previous, long_options):
            attached[-1] = f"{previous}={arg}"
        else:
            attached.append(arg)
    return attached


def _takes_value(arg: str, long_options: dict[str, argparse.Action]) -> bool:
    """Whether ``arg`` is an option that takes one value, named as argparse reads it: whole, or
    by an unambiguous prefix."""
    if arg[:2] != "--" or "=" in arg:
        return False
    named = [arg] if arg in long_options else [flag for flag in long_options if flag.startswith(arg)]
    return len(named) == 1 and long_options[named[0]].nargs is None


def _validate(parser: argparse.ArgumentParser, config: RunConfig) -> None:
    source, sink, execution = config.source, config.sink, config.execution
    if source.kind == "file":
        for path in source.paths.values():
            if not path.exists():
                parser.error(f"input not found: {path}")
            if path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
                parser.error(f"input folder is empty: {path}")
    if sink.kind == "file":
        if sink.output is None:
            parser.error("--sink file needs --output DIR")
        # The file sink adds part files beside whatever is there: the outputs of two runs would mix.
        if sink.output.exists() and not sink.output.is_dir():
            parser.error(f"--output {sink.output} is not a folder")
        if sink.output.is_dir() and any(sink.output.iterdir()):
            parser.error(
                f"--output {sink.output} is not empty: the outputs of two runs would mix; "
                "choose a new folder or empty it"
            )
    # Alignment pauses Kafka splits; a file input is read in order and has nothing to pause.
    if config.event_time.max_drift_ms is not None and source.kind != "kafka":
        parser.error("--max-watermark-drift aligns Kafka partitions: it needs --source kafka")
    exactly_once = sink.delivery_guarantee == "exactly-once"
    if exactly_once and sink.kind == "kafka" and not execution.checkpoint_interval_ms:
        parser.error("--delivery-guarantee exactly-once commits on checkpoints: set --checkpoint-interval")
    if (
        exactly_once
        and execution.checkpoint_interval_ms
        and sink.transaction_timeout_ms <= execution.checkpoint_interval_ms
    ):
        parser.error(
            "--transaction-timeout must be longer than --checkpoint-interval: a transaction stays open "
            "from one checkpoint to the next"
        )


def main(job: Job, argv: Sequence[str] | None = None) -> None:
    """A job's ``__main__``: runs it and exits with its code (see :func:`run_command`).

    The job is taken from its module ``jobs.<name>``, not from ``__main__``, so that cloudpickle
    ships its functions by reference (``jobs.<name>.<Function>``) rather than by value with
    their module's globals, which do not all pickle.
    """
    sys.exit(run_command(importlib.import_module(f"jobs.{job.name}").JOB, argv))


def run_command(job: Job, argv: Sequence[str] | None = None, **seams) -> int:
    """``python -m jobs.<name> ARGV`` in this process: the exit code; a bad option is one line on
    stderr and code 2. ``seams`` go to :func:`runner.run.run` (e.g. another ``build``)."""
    from runner.run import run

    try:
        return run(job, parse(job, argv), **seams)
    except OptionError as error:
        print(error.message, file=sys.stderr)
        return 2
