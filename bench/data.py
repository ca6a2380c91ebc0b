"""Deterministic benchmark inputs (same arguments, same bytes).

Event time advances 100 ms per 10 events (10 ms per event) with +-0.5 s of disorder, inside the
1 s watermark bound the benchmark runs every job with; a small share of activity events (0.2 %)
arrive 2-10 s behind (late for some of their windows, as in production). Join inputs have no
events beyond the bound: with two sources, whether such an event is late at the join depends
on how the sources interleave, and (a) and (b) must be comparable record for record.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

#: 2026-11-24T10:00:00Z, as samples/generate.py.
BASE_MS = 1_795_514_400_000
STEP_MS = 10  # 100 ms per 10 events
DISORDER_MS = 500
BOUND = "1s"  # the --out-of-orderness every job runs with
LATE_FRACTION = 0.002
ACTIONS = ["login", "view", "click", "search", "add_to_cart", "purchase", "logout"]
PAGES = ["/home", "/search", "/product/1", "/product/2", "/product/3", "/cart", "/checkout"]
TENANTS = ["acme", "globex", "initech", "umbrella"]


def iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def _times(rng: random.Random, n: int, late: float):
    for i in range(n):
        ms = BASE_MS + i * STEP_MS + rng.randint(-DISORDER_MS, DISORDER_MS)
        if late and rng.random() < late:
            ms -= rng.randint(2_000, 10_000)
        yield ms


def user(rng: random.Random, keys: int) -> str:
    return f"user{rng.randrange(keys):07d}"


def activity(n: int, keys: int, seed: int = 7, late: float = LATE_FRACTION) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for ms in _times(rng, n, late):
        lines.append(
            json.dumps(
                {
                    "user_id": user(rng, keys),
                    "action": rng.choice(ACTIONS),
                    "value": round(rng.uniform(0, 100), 2),
                    "tenant": rng.choice(TENANTS),
                    "page": rng.choice(PAGES),
                    "timestamp": iso(ms),
                }
            )
        )
    return lines


def clicks_purchases(n: int, keys: int, seed: int = 8) -> tuple[list[str], list[str]]:
    """``n`` events on one timeline: 80 % clicks, 20 % purchases."""
    rng = random.Random(seed)
    clicks, purchases = [], []
    for ms in _times(rng, n, 0):
        if rng.random() < 0.8:
            clicks.append(json.dumps({"user_id": user(rng, keys), "page": rng.choice(PAGES), "timestamp": iso(ms)}))
        else:
            purchases.append(purchase(rng, keys, ms))
    return clicks, purchases


def purchase(rng: random.Random, keys: int, ms: int) -> str:
    """One purchase record (the draws in this order keep the datasets as they were)."""
    return json.dumps(
        {
            "user_id": user(rng, keys),
            "product_id": rng.randint(1, 50),
            "amount": round(rng.uniform(5, 200), 2),
            "timestamp": iso(ms),
        }
    )


def purchases_profiles(n: int, keys: int, seed: int = 9) -> tuple[list[str], list[str]]:
    """``n`` events: 90 % purchases, 10 % new profile versions (a user's tier or country changes)."""
    rng = random.Random(seed)
    purchases, profiles = [], []
    for ms in _times(rng, n, 0):
        if rng.random() < 0.9:
            purchases.append(purchase(rng, keys, ms))
        else:
            profiles.append(
                json.dumps(
                    {
                        "user_id": user(rng, keys),
                        "tier": rng.choice(["bronze", "silver", "gold"]),
                        "country": rng.choice(["DE", "FR", "US", "JP"]),
                        "timestamp": iso(ms),
                    }
                )
            )
    return purchases, profiles


#: dataset name -> (generator, file names it writes)
DATASETS = {
    "activity": (lambda n, k: (activity(n, k),), ("activity",)),
    "clicks_purchases": (lambda n, k: clicks_purchases(n, k), ("clicks", "purchases")),
    "purchases_profiles": (lambda n, k: purchases_profiles(n, k), ("purchases", "profiles")),
}


def ensure(directory: Path, dataset: str, n: int, keys: int) -> dict[str, Path]:
    """The dataset's files for ``n`` events over ``keys`` keys, generated once and cached."""
    generate, names = DATASETS[dataset]
    folder = Path(directory, f"{dataset}-{n}-{keys}")
    paths = {name: folder / f"{name}.jsonl" for name in names}
    if not all(p.exists() for p in paths.values()):
        folder.mkdir(parents=True, exist_ok=True)
        for name, lines in zip(names, generate(n, keys), strict=False):
            tmp = paths[name].with_suffix(".tmp")
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
            tmp.rename(paths[name])
    return paths


def lines_in(path: str | Path) -> int:
    """How many records (lines) a dataset file holds."""
    with open(path, "rb") as f:
        return sum(1 for _ in f)
