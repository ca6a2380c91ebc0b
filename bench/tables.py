"""The benchmark's report as Markdown: events per second and per CPU-second, ratios to Flink SQL,
the seed and the peers, the output checks, stage costs and scaling."""

from __future__ import annotations

from bench.peers import PEERS
from bench.peers import compare as peer_compare
from bench.report import header


def stages_markdown(entries) -> str:
    lines = [
        "| job | pipeline up to | events/s | wall us/event | added (wall us) | CPU us/event | added (CPU us) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for e in entries:
        for c in e["stage_costs"]:
            lines.append(
                f"| {e['job']} | {c['stage']} | {c['events_per_s'] or 'n/a':,} | {c['us_per_event']} | "
                f"{c['added_us_per_event']} | {c['cpu_us_per_event']} | {c['added_cpu_us_per_event']} |"
            )
    return "\n".join(lines) + "\n"


def fmt_rate(r) -> str:
    """``12,345``; ``>=12,345*`` where the larger size was not slower (start-up included: a lower bound)."""
    if not r:
        return "n/a"
    return f">={r['events_per_s']:,}*" if r.get("noisy") else f"{r['events_per_s']:,}"


def fmt_ratio(x) -> str:
    if x is None:
        return "n/a"
    return f"{x:.2f}x" if x >= 0.1 else f"{x:.3f}x"


def markdown(report: dict) -> str:
    peers = [p for p in PEERS if any(p in run for e in report["jobs"] for run in e["runs"].values())]
    lines = [
        header(report),
        f"Input: {report['keys']:,} keys, sizes {', '.join(f'{n:,}' for n in report['sizes'])} events, "
        f"event time +10 ms per event with +-0.5 s disorder, 0.2 % of activity events 2-10 s late, "
        f"watermark bound 1 s, parallelism {report['parallelism']}. Events/s exclude start-up "
        "(slope between the two sizes); ev/CPU-s: the same slope over the CPU time of the process tree, "
        "robust to other load on the machine; peak memory is the whole process tree (client, JVM, Python workers). "
        "`>=N*`: the larger run was not slower than the smaller one (other load swamped the difference), so N is "
        "the larger run's events / execution time, start-up included: a lower bound.",
        "",
        "| job | variant | (a) job ev/s | (b) SQL ev/s | SQL blackhole ev/s | (c) seed ev/s | job/SQL "
        "| job/SQL blackhole | job/seed | job ev/CPU-s | SQL ev/CPU-s | job/SQL by CPU | peak MB job / SQL "
        "| (a) = (b) | accounting "
        + "".join(f"| {p} ev/s | {p} ev/CPU-s | job/{p} by CPU | {p} peak MB | {p} vs job " for p in peers)
        + "| load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
        + "---:|---:|---:|---:|---|" * len(peers)
        + "---|",
    ]
    for e in report["jobs"]:
        checks = e["checks"].values()
        same = [c.get("same_as_sql") for c in checks if "same_as_sql" in c]
        acct = [c.get("accounting_ok") for c in checks if "accounting_ok" in c]
        loads: list[float] = [
            r["load_avg_1m"]
            for run in e["runs"].values()
            for k, r in run.items()
            if isinstance(r, dict) and r.get("load_avg_1m") is not None
        ]
        failed = [
            f"{k} n={n}: {r.get('error')}"
            for n, run in e["runs"].items()
            for k, r in run.items()
            if isinstance(r, dict) and not r.get("ok") and not r.get("skipped")
        ]
        lines.append(
            " | ".join(
                [
                    f"| {e['job']}",
                    e["variant"],
                    fmt_rate(e["job_rate"]),
                    fmt_rate(e["sql_rate"]),
                    fmt_rate(e["blackhole_rate"]),
                    fmt_rate(e["seed_rate"]),
                    fmt_ratio(e["job_over_sql"]),
                    fmt_ratio(e["job_over_blackhole"]),
                    fmt_ratio(e["job_over_seed"]),
                    fmt_rate(e.get("job_cpu_rate")),
                    fmt_rate(e.get("sql_cpu_rate")),
                    fmt_ratio(e.get("job_over_sql_cpu")),
                    f"{e['job_peak_mb'] or 'n/a'} / {e['sql_peak_mb'] or 'n/a'}",
                    ("yes" if all(same) else "**NO**") if same else "n/a",
                    ("ok" if all(acct) else "**MISMATCH**") if acct else "n/a",
                    *(cell for p in peers for cell in peer_cells(e, p)),
                    f"{min(loads):.1f}-{max(loads):.1f}" if loads else "",
                ]
            )
            + " |"
        )
        if failed:
            lines.append(f"|  | failed: {'; '.join(failed)[:300]} |" + "|" * (15 + 5 * len(peers)))
    notes = [f"- {e['job']}: {e['note']}" for e in report["jobs"] if e.get("note")]
    if notes:
        lines += ["", *dict.fromkeys(notes)]
    brokered = {  # one per job: each variant of a job is compared with the same peer run
        f"{e['job']} {p} {fmt_rate(e[f'{p}_broker_cpu_rate'])}": None
        for e in report["jobs"]
        for p in peers
        if e.get(f"{p}_broker_cpu_rate")
    }
    if brokered:
        lines += [
            "",
            "Quix's columns count its own process tree; with the Kafka broker's CPU during the run added, "
            f"ev/CPU-s: {', '.join(brokered)}. Peak memory of the peers: their process tree (not the broker).",
        ]
    if peers:
        lines += ["", *peer_differences(report, peers)]
    return "\n".join(lines) + "\n"


def last_check(e: dict, peer: str) -> dict | None:
    """The peer's check at the largest size it was compared at."""
    checks = [e["checks"][str(n)].get(peer) for n in e["sizes"] if str(n) in e["checks"]]
    checks = [c for c in checks if c]
    return checks[-1] if checks else None


def records_in(e: dict, n: int) -> int:
    return e["runs"][str(n)]["records_in"]


def peer_cells(e: dict, peer: str) -> list[str]:
    if not any(peer in run for run in e["runs"].values()):
        return ["n/a"] * 5
    check = last_check(e, peer)
    return [
        fmt_rate(e.get(f"{peer}_rate")),
        fmt_rate(e.get(f"{peer}_cpu_rate")),
        fmt_ratio(e.get(f"job_over_{peer}_cpu")),
        str(e.get(f"{peer}_peak_mb") or "n/a"),
        peer_compare.summary(check) if check else "n/a",
    ]


def peer_differences(report: dict, peers: list[str]) -> list[str]:
    """Every difference between a peer's records and the job's, by cause, at every size."""
    lines = [
        "Peers against the job (records reduced as for SQL; causes in bench/peers/compare.py; "
        "`behind wm`: input events behind one reader's watermark, the only ones any engine may treat as late):",
        "",
        "| job | peer | events | job records | peer records | only in job | only in peer | causes (job / peer side) "
        "| late: job / peer | behind wm | peer accounts for |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for e in report["jobs"]:
        for peer in peers:
            for n in e["sizes"]:
                c = e["checks"].get(str(n), {}).get(peer)
                if not c:
                    continue
                if c.get("error"):
                    lines.append(f"| {e['job']} | {peer} | {n:,} | error: {c['error'][:200]} ||||||||")
                    continue
                causes = (
                    "; ".join(
                        f"{name}: {v['only_in_job']} / {v['only_in_peer']} ({v['keys']} keys)"
                        for name, v in c["causes"].items()
                    )
                    or "none (equal)"
                )
                lines.append(
                    f"| {e['job']} | {peer} | {n:,} | {c['job_records']:,} | {c['peer_records']:,} | "
                    f"{c['only_in_job']:,} | {c['only_in_peer']:,} | {causes} | {c['job_late']} / {c['peer_late']} | "
                    f"{c['behind_watermark']} | {c.get('peer_accounted', 'n/a')} of {records_in(e, n):,} |"
                )
    return list(dict.fromkeys(lines))  # each variant of a job is checked against the same peer run


def scaling_markdown(report: dict) -> str:
    """Events per CPU-second by parallelism (relative to parallelism 1), and memory per key: the
    peak of the run with many keys minus the peak with --keys, over the extra distinct keys."""
    lines = [
        header(report),
        f"Sizes {', '.join(f'{n:,}' for n in report['sizes'])} events (slopes between them), one input file; "
        "peak memory of the whole process tree; memory per key = (peak with more keys - peak at the "
        "same parallelism with fewer) / (extra distinct keys in the larger input).",
        "",
        "| job | variant | parallelism | keys (distinct in largest input) | job ev/s | job ev/CPU-s | ev/CPU-s vs p1 "
        "| peak MB | bytes per extra key | accounting | load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    jobs = report["jobs"]
    for e in jobs:
        base = next(
            (b for b in jobs if b["job"] == e["job"] and b["variant"] == e["variant"] and b["parallelism"] == 1), None
        )
        few = next(
            (
                b
                for b in jobs
                if b["job"] == e["job"] and b["parallelism"] == e["parallelism"] and b["keys"] < e["keys"]
            ),
            None,
        )
        cpu, base_cpu = e.get("job_cpu_rate"), base and base.get("job_cpu_rate")
        per_key = "n/a"
        if few and e.get("job_peak_mb") and few.get("job_peak_mb"):
            extra = e["distinct_keys"] - few["distinct_keys"]
            per_key = f"{(e['job_peak_mb'] - few['job_peak_mb']) * 1024 * 1024 / extra:,.0f}" if extra > 0 else "n/a"
        acct = [c.get("accounting_ok") for c in e["checks"].values() if "accounting_ok" in c]
        loads = [r["load_avg_1m"] for run in e["runs"].values() for r in run.values() if isinstance(r, dict)]
        lines.append(
            f"| {e['job']} | {e['variant']} | {e['parallelism']} | {e['keys']:,} ({e['distinct_keys']:,}) | "
            f"{fmt_rate(e['job_rate'])} | {fmt_rate(cpu)} | "
            f"{fmt_ratio(cpu['events_per_s'] / base_cpu['events_per_s']) if cpu and base_cpu else 'n/a'} | "
            f"{e['job_peak_mb'] or 'n/a'} | {per_key} | "
            f"{('ok' if all(acct) else '**MISMATCH**') if acct else 'n/a'} | "
            f"{f'{min(loads):.1f}-{max(loads):.1f}' if loads else ''} |"
        )
    return "\n".join(lines) + "\n"


def render(report: dict) -> str:
    if report.get("mode") == "scaling":
        return scaling_markdown(report)
    if report["jobs"] and "stage_costs" in report["jobs"][0]:
        return header(report) + "\n\n" + stages_markdown(report["jobs"])
    return markdown(report)
