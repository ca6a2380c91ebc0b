"""Load generator: writes the sample event streams to Kafka at a chosen rate or as fast as possible.

    python -m tools.loadgen --bootstrap-servers 127.0.0.1:9092 --stream activity --events 100000 --rate 5000
    python -m tools.loadgen --stream clicks,purchases,profiles --events 20000 --rate 0   # as fast as possible
    python -m tools.loadgen --stream activity --events 1000 --dry-run                   # JSON lines to stdout

Events look like the bundled samples (samples/generate.py: same users, tenants, actions, pages,
timestamp spellings and kinds of invalid record). Each stream goes to the topic the jobs read by
default (its name: ``activity``, ``clicks``, ``purchases``, ``profiles``), or ``--topic-prefix``
+ name. Arrival order is event time plus a random delay of up to ``--out-of-orderness``; a
``--late-fraction`` of events is delayed a further ``--late-delay`` .. 2 x ``--late-delay``, so a
job whose ``--out-of-orderness`` is at least this generator's, and less than that plus
``--late-delay``, sees them as late (exactly which ones also depends on the other events around
them: use the jobs' ``late`` outputs as the truth). ``--invalid-fraction`` of the records are
replaced by invalid ones. The same seed and options give the same records in the same order.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from samples.generate import ACTIONS, BASE_MS, PAGES, TENANTS, invalid_records, timestamp
from udfs.timeutil import parse_duration

STREAMS = ["activity", "clicks", "purchases", "profiles"]


def invalid_for(stream: str) -> list[str]:
    """The kinds of invalid record (samples.generate.invalid_records) that ``stream``'s schema
    rejects: some are valid for another stream (a click needs no ``action``), and a valid record
    at their fixed time would be an unintended late event."""
    from udfs.events import ACTIVITY, CLICKS, PROFILES, PURCHASES, InvalidRecord

    schema = {"activity": ACTIVITY, "clicks": CLICKS, "purchases": PURCHASES, "profiles": PROFILES}[stream]
    rejected = []
    for record in invalid_records():
        try:
            schema.parse(record)
        except InvalidRecord:
            rejected.append(record)
    return rejected


def _events_in_time_order(rng: random.Random, stream: str, users: int, start_ms: int) -> Iterator[tuple[int, dict]]:
    """An endless stream of ``(event_time_ms, record)`` in event-time order: users take turns at
    random intervals, about ``users`` events per second of event time."""
    clocks = [(start_ms + rng.randint(0, 1_000), u) for u in range(users)]
    heapq.heapify(clocks)
    while True:
        ms, u = heapq.heappop(clocks)
        user = f"user{u:03d}"
        if stream == "activity":
            record: dict[str, object] = {
                "user_id": user,
                "action": rng.choice(ACTIONS),
                "tenant": TENANTS[u % len(TENANTS)],
                "page": rng.choice(PAGES),
            }
            if rng.random() < 0.9:
                record["value"] = round(rng.uniform(0, 100), 2)
        elif stream == "clicks":
            record = {"user_id": user, "page": rng.choice(PAGES)}
        elif stream == "purchases":
            record = {"user_id": user, "product_id": rng.randint(1, 9), "amount": round(rng.uniform(5, 200), 2)}
        else:
            record = {
                "user_id": user,
                "tier": rng.choice(["bronze", "silver", "gold"]),
                "country": rng.choice(["DE", "FR", "US", "JP"]),
            }
        yield ms, record
        # Mostly bursts, sometimes a pause longer than the default session gap (5 min).
        pause = rng.randint(200, 2_000) if rng.random() < 0.97 else rng.randint(60_000, 400_000)
        heapq.heappush(clocks, (ms + pause, u))


def generate(
    stream: str,
    count: int | None,
    *,
    seed: int = 5,
    users: int = 50,
    start_ms: int = BASE_MS,
    out_of_orderness_ms: int = 3_000,
    late_fraction: float = 0.0,
    late_delay_ms: int = 10_000,
    invalid_fraction: float = 0.0,
) -> Iterator[str]:
    """``count`` records of ``stream`` (endless if None) as JSON lines, in arrival order."""
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}: expected one of {', '.join(STREAMS)}")
    rng = random.Random(f"{seed}-{stream}")
    bad = invalid_for(stream)
    pending: list[tuple[float, int, str]] = []  # (arrival time, sequence, line): a delay buffer
    for sequence, (ms, record) in enumerate(_events_in_time_order(rng, stream, users, start_ms)):
        delay = rng.uniform(0, out_of_orderness_ms)
        if rng.random() < late_fraction:
            delay += rng.uniform(late_delay_ms, 2 * late_delay_ms)
        if rng.random() < invalid_fraction:
            line = bad[rng.randrange(len(bad))]
        else:
            line = json.dumps({**record, "timestamp": timestamp(rng, ms)})
        heapq.heappush(pending, (ms + delay, sequence, line))
        # Everything due to arrive before the newest event's time has arrived by now.
        while pending and pending[0][0] <= ms:
            yield heapq.heappop(pending)[2]
        if count is not None and sequence + 1 >= count:
            break
    while pending:
        yield heapq.heappop(pending)[2]


class Progress:
    """A plain progress bar on stderr (no dependency), redrawn at most ten times a second."""

    def __init__(self, total: int | None, label: str, enabled: bool):
        self.total, self.label, self.enabled = total, label, enabled
        self.started = self.drawn = time.monotonic()
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if self.enabled and now - self.drawn >= 0.1:
            self.drawn = now
            self._draw(now)

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            sys.stderr.write("\n")

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self.started, 1e-9)
        if self.total:
            filled = int(30 * self.done / self.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {100 * self.done / self.total:5.1f}% {self.done}/{self.total}"
        else:
            bar = f"{self.done} records"
        sys.stderr.write(f"\r{self.label}: {bar} {rate:,.0f}/s ")
        sys.stderr.flush()


def _start_time(text: str) -> int:
    if text == "now":
        return int(time.time() * 1000)
    if text.lstrip("-").isdigit():
        return int(text)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1000)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text}")
    return value


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def options(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.loadgen", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bootstrap-servers", default=None, help="Kafka brokers (default: $KAFKA_BOOTSTRAP_SERVERS or localhost:9092)"
    )
    parser.add_argument(
        "--stream", default="activity", help=f"comma-separated streams: {', '.join(STREAMS)} (default activity)"
    )
    parser.add_argument("--topic-prefix", default="", help="topic of a stream = prefix + stream name")
    parser.add_argument("--events", type=int, default=10_000, help="records per stream; 0 = endless (default 10000)")
    parser.add_argument("--rate", type=float, default=0, help="records per second per stream; 0 = as fast as possible")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--start",
        default=str(BASE_MS),
        help="event time of the first events: epoch ms, ISO-8601, or 'now' (default: the samples' day)",
    )
    parser.add_argument(
        "--out-of-orderness",
        type=_duration,
        default=3_000,
        metavar="DURATION",
        help="maximum arrival delay of on-time events (default 3s)",
    )
    parser.add_argument("--late-fraction", type=_fraction, default=0.0)
    parser.add_argument(
        "--late-delay",
        type=_duration,
        default=10_000,
        metavar="DURATION",
        help="late events arrive this much (up to twice) later still (default 10s)",
    )
    parser.add_argument("--invalid-fraction", type=_fraction, default=0.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--partitions", type=int, default=1, help="partitions of topics this run creates")
    parser.add_argument("--dry-run", action="store_true", help="write the records to stdout instead of Kafka")
    parser.add_argument(
        "--progress",
        choices=["auto", "on", "off"],
        default="auto",
        help="progress bar on stderr (auto: when stderr is a terminal)",
    )
    args = parser.parse_args(argv)
    args.streams = [s.strip() for s in args.stream.split(",") if s.strip()]
    unknown = [s for s in args.streams if s not in STREAMS]
    if unknown:
        parser.error(f"unknown stream {unknown[0]!r}: expected one of {', '.join(STREAMS)}")
    try:
        args.start_ms = _start_time(args.start)
    except ValueError:
        parser.error(f"--start: not epoch ms, ISO-8601 or 'now': {args.start!r}")
    return args


def _records(args, stream: str) -> Iterator[str]:
    return generate(
        stream,
        args.events or None,
        seed=args.seed,
        users=args.users,
        start_ms=args.start_ms,
        out_of_orderness_ms=args.out_of_orderness,
        late_fraction=args.late_fraction,
        late_delay_ms=args.late_delay,
        invalid_fraction=args.invalid_fraction,
    )


def _interleaved(args) -> Iterator[tuple[str, str]]:
    """``(stream, record)`` round-robin over the streams, so joins see their inputs side by side."""
    iterators = {s: _records(args, s) for s in args.streams}
    while iterators:
        for stream in list(iterators):
            record = next(iterators[stream], None)
            if record is None:
                del iterators[stream]
            else:
                yield stream, record


def main(argv=None) -> int:
    import os

    args = options(argv)
    total = args.events * len(args.streams) if args.events else None
    show = args.progress == "on" or (args.progress == "auto" and sys.stderr.isatty())
    producer = None
    if not args.dry_run:
        from kafka import KafkaProducer
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import KafkaError, TopicAlreadyExistsError

        servers = args.bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
        try:
            admin = KafkaAdminClient(bootstrap_servers=servers, client_id="loadgen")
            existing = set(admin.list_topics())
            new = [
                NewTopic(args.topic_prefix + s, args.partitions, 1)
                for s in args.streams
                if args.topic_prefix + s not in existing
            ]
            if new:
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics(new)
            admin.close()
            producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=20, batch_size=256 * 1024)
        except KafkaError as error:
            print(f"loadgen: cannot reach Kafka at {servers}: {error}", file=sys.stderr)
            return 2
    progress = Progress(total, "loadgen", show)
    started = time.monotonic()
    sent = 0
    per_second = args.rate * len(args.streams)
    for stream, record in _interleaved(args):
        if producer is None:
            print(record)
        else:
            producer.send(args.topic_prefix + stream, record.encode("utf-8"))
        sent += 1
        if per_second:
            ahead = sent / per_second - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)  # rate limiting
        if sent % 1000 == 0:
            progress.update(sent)
    if producer is not None:
        producer.flush()
        producer.close()
    progress.update(sent)
    progress.close()
    seconds = time.monotonic() - started
    print(
        f"loadgen: {sent} records to {', '.join(args.topic_prefix + s for s in args.streams)} "
        f"in {seconds:.1f}s ({sent / max(seconds, 1e-9):,.0f}/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
