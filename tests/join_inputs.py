"""Inputs for the join tests: events as dicts with ``ts`` (epoch ms) in arrival order, the lines a
job reads, and randomized clicks/purchases/profiles (many users, bursts, out of order within the
watermark bound, a few far behind it)."""

from __future__ import annotations

import json
import random

from samples.generate import BASE_MS

PAGES = ["/home", "/search", "/product/1", "/product/2", "/cart"]


def at(second: float) -> int:
    """``second`` seconds after the samples' base instant, in epoch ms."""
    return BASE_MS + round(second * 1000)


#: Seed section 3, as the bundled sample writes it (ISO with and without offset, epoch ms).
SEED_CLICKS = [
    {"user_id": "Alice", "page": "/product/1", "timestamp": "2026-11-24T10:00:00.000Z"},
    {"user_id": "Bob", "page": "/product/2", "timestamp": at(1)},
    {"user_id": "Alice", "page": "/product/3", "timestamp": "2026-11-24T10:00:06.000Z"},
]
SEED_PURCHASES = [
    {"user_id": "Alice", "product_id": 1, "amount": 50, "timestamp": "2026-11-24T11:00:02.000+01:00"},
    {"user_id": "Charlie", "product_id": 4, "amount": 30, "timestamp": "2026-11-24T11:00:03.000+01:00"},
    {"user_id": "Alice", "product_id": 3, "amount": 75, "timestamp": "2026-11-24T10:00:07.000Z"},
]


def consumed_total(out: dict, name: str) -> int:
    """How many records of input ``name`` a join's ``consumed`` output says reached the join."""
    return sum(c["records"] for c in out["consumed"] if c["input"] == name)


def record(event: dict) -> dict:
    """The record a producer writes: the event's fields with ``ts`` as ``timestamp``."""
    return {**{k: v for k, v in event.items() if k != "ts"}, "timestamp": event["ts"]}


def lines(events) -> list[str]:
    return [json.dumps(record(e)) for e in events]


def arrival_order(rng: random.Random, events: list[dict], bound_ms: int, late_fraction: float) -> list[dict]:
    """Arrival = event time + a delay below the bound (on time), or far beyond it (late)."""
    timed = []
    for e in events:
        late = rng.random() < late_fraction
        delay = rng.uniform(bound_ms + 3_000, 30_000) if late else rng.uniform(0, bound_ms * 0.99)
        timed.append((e["ts"] + delay, e))
    return [e for _, e in sorted(timed, key=lambda pair: pair[0])]


def random_inputs(seed: int, users: int = 12, bursts: int = 6, bound_ms: int = 2_000, late_fraction: float = 0.05):
    """(clicks, purchases, profiles), each in its own arrival order."""
    rng = random.Random(seed)
    clicks, purchases, profiles = [], [], []
    for u in range(users):
        user = f"u{u:02d}"
        t = at(rng.uniform(0, 10))
        if rng.random() < 0.8:  # some users have no profile before their first purchase
            profiles.append({"user_id": user, "ts": t - rng.randint(0, 20_000), "tier": "bronze", "version": 0})
        for burst in range(bursts):
            t += rng.randint(2_000, 25_000)
            for _ in range(rng.randint(1, 4)):
                clicks.append({"user_id": user, "ts": t + rng.randint(0, 3_000), "page": rng.choice(PAGES)})
            for _ in range(rng.randint(0, 3)):
                purchases.append(
                    {
                        "user_id": user,
                        "ts": t + rng.randint(-1_000, 6_000),
                        "product_id": rng.randint(1, 9),
                        "amount": round(rng.uniform(1, 100), 2),
                    }
                )
            for _ in range(rng.choice([0, 0, 1, 2])):
                profiles.append(
                    {
                        "user_id": user,
                        "ts": t + rng.randint(0, 5_000),
                        "tier": rng.choice(["bronze", "silver", "gold"]),
                        "version": burst + 1,
                    }
                )
    return tuple(arrival_order(rng, events, bound_ms, late_fraction) for events in (clicks, purchases, profiles))
