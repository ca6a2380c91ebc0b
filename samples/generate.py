"""Deterministic sample data for every job: ``python -m samples.generate [--seed N] [--out DIR]``.

Writes ``activity.jsonl``, ``clicks.jsonl``, ``purchases.jsonl`` and ``profiles.jsonl``: several
users and tenants, events out of order within the default 5 s bound and beyond it (late), and
invalid records of every kind SPEC names. The seed module's own examples (Alice and Bob) open the
activity and click/purchase streams. Same seed, same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC
from pathlib import Path

#: 2026-11-24T10:00:00Z: every sample is relative to this instant.
BASE_MS = 1_795_514_400_000
TENANTS = ["acme", "globex", "initech"]
ACTIONS = ["login", "view", "click", "search", "add_to_cart", "purchase", "logout"]
PAGES = ["/home", "/search", "/product/1", "/product/2", "/product/3", "/cart", "/checkout"]


def iso(ms: int, style: int = 0) -> str:
    """The same instant in the spellings SPEC accepts (Z, an offset, naive UTC)."""
    from datetime import datetime, timedelta, timezone

    t = datetime.fromtimestamp(ms / 1000, UTC)
    if style == 1:
        return t.astimezone(timezone(timedelta(hours=1))).isoformat(timespec="milliseconds")
    if style == 2:
        return t.replace(tzinfo=None).isoformat(timespec="milliseconds")
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def timestamp(rng: random.Random, ms: int):
    """Mostly ISO strings, some epoch milliseconds, as producers do."""
    return ms if rng.random() < 0.25 else iso(ms, rng.choice([0, 0, 1, 2]))


def arrival_order(
    rng: random.Random, timed: list[tuple[int, dict]], late_fraction: float = 0.04
) -> list[tuple[int, dict]]:
    """Order events by arrival: event time plus a small delay (within the 5 s bound), and a few
    records delayed far beyond it (late)."""
    arrivals = []
    for ms, record in timed:
        delay = rng.uniform(0, 3_000)
        if rng.random() < late_fraction:
            delay += rng.uniform(8_000, 40_000)
        arrivals.append((ms + delay, ms, record))
    arrivals.sort(key=lambda arrival: arrival[0])
    return [(ms, record) for _, ms, record in arrivals]


def seed_activity() -> list[dict]:
    """Seed section 1: Alice at 0, 1, 2, 7, 8 s and Bob at 0, 1, 5 s (gap 3 s: sessions of 3+2 and 2+1)."""
    alice = [("login", 0), ("view", 1), ("click", 2), ("search", 7), ("logout", 8)]
    bob = [("login", 0), ("view", 1), ("login", 5)]
    events = [(s, {"user_id": "Alice", "action": a, "value": 1.0, "tenant": "acme"}) for a, s in alice]
    events += [(s, {"user_id": "Bob", "action": a, "value": 2.0, "tenant": "globex"}) for a, s in bob]
    events.sort(key=lambda pair: pair[0])
    return [{**e, "timestamp": iso(BASE_MS + s * 1000)} for s, e in events]


def invalid_records() -> list[str]:
    """One of each kind of invalid record (SPEC: "Input events")."""
    t = iso(BASE_MS + 30_000)
    return [
        "this is not json",
        '{"user_id": "Carol", "action": "view", "timestamp": ',  # truncated
        json.dumps(["an", "array"]),
        json.dumps({"action": "view", "timestamp": t}),  # no user_id
        json.dumps({"user_id": "Carol", "action": "view"}),  # no timestamp
        json.dumps({"user_id": 42, "action": "view", "timestamp": t}),  # wrong type
        json.dumps({"user_id": "Carol", "value": "12.5", "timestamp": t}),  # number as string
        json.dumps({"user_id": "Carol", "action": "view", "timestamp": "yesterday at noon"}),
        json.dumps({"user_id": None, "action": "view", "timestamp": t}),
        "",
    ]


def activity(rng: random.Random, users: int = 12, per_user: int = 30) -> list[str]:
    timed = []
    for u in range(1, users + 1):
        user, tenant = f"user{u:02d}", TENANTS[u % len(TENANTS)]
        ms = BASE_MS + 60_000 + rng.randint(0, 20_000)
        for _ in range(per_user):
            # bursts of activity with occasional pauses longer than the session gaps used in tests
            ms += rng.choice([rng.randint(200, 4_000)] * 6 + [rng.randint(20_000, 400_000)])
            record: dict[str, object] = {
                "user_id": user,
                "action": rng.choice(ACTIONS),
                "tenant": tenant,
                "page": rng.choice(PAGES),
            }
            if rng.random() < 0.9:
                record["value"] = round(rng.uniform(0, 100), 2)
            if rng.random() < 0.05:
                record["value"] = -round(rng.uniform(1, 10), 2)  # valid JSON; event_router rejects it
            if rng.random() < 0.1:
                record["session_hint"] = rng.randint(1, 9)  # an unknown field: kept
            timed.append((ms, record))
    lines = [json.dumps(e) for e in seed_activity()]
    bad = invalid_records()
    for ms, event in arrival_order(rng, timed):
        lines.append(json.dumps({**event, "timestamp": timestamp(rng, ms)}))
        if bad and rng.random() < 0.05:
            lines.append(bad.pop())
    return lines + bad


def clicks_purchases_profiles(rng: random.Random, users: int = 8) -> tuple[list[str], list[str], list[str]]:
    # Seed section 3: clicks Alice 0 s, Bob 1 s, Alice 6 s; purchases Alice 2 s, Charlie 3 s, Alice 7 s.
    clicks = [
        (0, {"user_id": "Alice", "page": "/product/1"}),
        (1_000, {"user_id": "Bob", "page": "/product/2"}),
        (6_000, {"user_id": "Alice", "page": "/product/3"}),
    ]
    purchases = [
        (2_000, {"user_id": "Alice", "product_id": 1, "amount": 50}),
        (3_000, {"user_id": "Charlie", "product_id": 4, "amount": 30}),
        (7_000, {"user_id": "Alice", "product_id": 3, "amount": 75}),
    ]
    profiles = [
        (-60_000, {"user_id": "Alice", "tier": "silver", "country": "DE"}),
        (5_000, {"user_id": "Alice", "tier": "gold", "country": "DE"}),
        (0, {"user_id": "Bob", "tier": "bronze", "country": "FR"}),
    ]
    for u in range(1, users + 1):
        user = f"user{u:02d}"
        ms = 60_000 + rng.randint(0, 30_000)
        profiles.append(
            (
                ms - rng.randint(0, 90_000),
                {
                    "user_id": user,
                    "tier": rng.choice(["bronze", "silver"]),
                    "country": rng.choice(["DE", "FR", "US", "JP"]),
                },
            )
        )
        for _ in range(15):
            ms += rng.randint(500, 20_000)
            page = rng.choice(PAGES)
            clicks.append((ms, {"user_id": user, "page": page}))
            if rng.random() < 0.35:
                purchases.append(
                    (
                        ms + rng.randint(0, 8_000),
                        {"user_id": user, "product_id": rng.randint(1, 9), "amount": round(rng.uniform(5, 200), 2)},
                    )
                )
            if rng.random() < 0.08:
                profiles.append(
                    (
                        ms + rng.randint(0, 5_000),
                        {"user_id": user, "tier": "gold", "country": rng.choice(["DE", "FR", "US", "JP"])},
                    )
                )

    def lines(timed, bad):
        return [
            json.dumps({**r, "timestamp": timestamp(rng, BASE_MS + ms)})
            for ms, r in arrival_order(rng, timed, late_fraction=0.02)
        ] + bad

    t = iso(BASE_MS + 10_000)
    return (
        lines(clicks, ["{not json", json.dumps({"page": "/home", "timestamp": t})]),
        lines(
            purchases,
            [
                json.dumps({"user_id": "Bob", "amount": "ten", "timestamp": t}),
                json.dumps({"user_id": "Bob", "product_id": 2, "timestamp": t}),
            ],
        ),
        lines(profiles, [json.dumps({"user_id": "Bob", "tier": "gold", "timestamp": "soon"})]),
    )


def generate(out: Path, seed: int = 5) -> dict[str, int]:
    rng = random.Random(seed)
    files = {"activity.jsonl": activity(rng)}
    files["clicks.jsonl"], files["purchases.jsonl"], files["profiles.jsonl"] = clicks_purchases_profiles(rng)
    out.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {name: len(lines) for name, lines in files.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    for name, count in generate(args.out, args.seed).items():
        print(f"{name}: {count} records")


if __name__ == "__main__":
    main()
