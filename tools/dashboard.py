"""Draws a Grafana dashboard's time-series panels from a Prometheus, into one self-contained HTML
file (inline SVG): the provisioned dashboard of docker-compose (docker/grafana/dashboards) where
no Grafana runs, e.g. for the README's picture and in tests/test_metrics.py. Only what the
project's dashboard uses: time-series panels, their grid positions, PromQL targets with
``legendFormat`` and the panel's unit.

    .venv/bin/python -m tools.dashboard --prometheus http://127.0.0.1:9090 --minutes 15 --out dashboard.html
"""

from __future__ import annotations

import argparse
import html
import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parent.parent / "docker" / "grafana" / "dashboards" / "pyflink-jobs.json"
COLUMN_PX, ROW_PX = 50, 30  # Grafana's grid: 24 columns, rows of about 30 px
COLORS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0"]


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[float, float]]  # (unix seconds, value)


def query_range(prometheus: str, promql: str, start: float, end: float, step: float) -> list[dict]:
    query = urllib.parse.urlencode({"query": promql, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{prometheus}/api/v1/query_range?{query}", timeout=10) as response:
        answer = json.load(response)
    if answer.get("status") != "success":
        raise RuntimeError(f"Prometheus refused {promql!r}: {answer.get('error')}")
    return answer["data"]["result"]


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip() or str(labels)


def panel_series(prometheus: str, panel: dict, start: float, end: float, step: float, rate_interval: str):
    series = []
    for target in panel.get("targets", []):
        promql = target["expr"].replace("$__rate_interval", rate_interval)
        for result in query_range(prometheus, promql, start, end, step):
            points = [(float(t), float(v)) for t, v in result["values"]]
            series.append(Series(legend(target.get("legendFormat", ""), result["metric"]), points))
    return series


def fmt(value: float, unit: str) -> str:
    if unit == "bytes":
        for size in ("B", "KiB", "MiB", "GiB"):
            if abs(value) < 1024 or size == "GiB":
                return f"{value:.0f} {size}" if size == "B" else f"{value:.1f} {size}"
            value /= 1024
    if unit == "ms":
        return f"{value / 1000:.1f} s" if abs(value) >= 1000 else f"{value:.0f} ms"
    suffix = {"rps": " /s"}.get(unit, "")
    return f"{value:,.1f}{suffix}" if abs(value) < 100 and value != int(value) else f"{value:,.0f}{suffix}"


def panel_svg(panel: dict, series: list[Series], start: float, end: float) -> str:
    grid = panel["gridPos"]
    x0, y0, width, height = grid["x"] * COLUMN_PX, grid["y"] * ROW_PX, grid["w"] * COLUMN_PX, grid["h"] * ROW_PX
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
    left, top, right, bottom = 64, 28, 10, 22 + 14 * min(len(series), 4)
    plot_w, plot_h = width - left - right - 8, height - top - bottom - 8
    values = [v for s in series for _, v in s.points]
    high = max([*values, 0.0]) or 1.0
    parts = [
        f'<g class="panel" data-title="{html.escape(panel["title"])}" data-series="{len(series)}" '
        f'transform="translate({x0 + 4},{y0 + 4})">',
        f'<rect width="{width - 8}" height="{height - 8}" rx="3" fill="#181b1f" stroke="#2c3235"/>',
        f'<text x="10" y="18" class="title">{html.escape(panel["title"])}</text>',
        f'<text x="{left - 6}" y="{top + 4}" class="axis" text-anchor="end">{fmt(high, unit)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" class="axis" text-anchor="end">{fmt(0, unit)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#444"/>',
        f'<line x1="{left}" y1="{top}" x2="{left + plot_w}" y2="{top}" stroke="#2c3235"/>',
    ]
    for label, t in (("start", start), ("end", end)):
        anchor, x = ("start", left) if label == "start" else ("end", left + plot_w)
        clock = time.strftime("%H:%M:%S", time.gmtime(t))
        parts.append(f'<text x="{x}" y="{top + plot_h + 14}" class="axis" text-anchor="{anchor}">{clock}</text>')
    for i, s in enumerate(series):
        color = COLORS[i % len(COLORS)]
        path = " ".join(
            f"{'M' if j == 0 else 'L'}{left + (t - start) / max(end - start, 1) * plot_w:.1f},"
            f"{top + plot_h - v / high * plot_h:.1f}"
            for j, (t, v) in enumerate(s.points)
        )
        parts.append(f'<path class="series" d="{path}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        if i < 4:
            latest = fmt(s.points[-1][1], unit) if s.points else ""
            parts.append(
                f'<rect x="{left}" y="{top + plot_h + 22 + 14 * i}" width="10" height="3" fill="{color}"/>'
                f'<text x="{left + 16}" y="{top + plot_h + 27 + 14 * i}" class="legend">'
                f"{html.escape(s.name[:90])}  ({latest})</text>"
            )
    if len(series) > 4:
        parts.append(f'<text x="{width - 20}" y="18" class="axis" text-anchor="end">{len(series)} series</text>')
    if not series:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" class="axis" text-anchor="middle">No data</text>')
    parts.append("</g>")
    return "\n".join(parts)


def render(prometheus: str, start: float, end: float, dashboard: dict | None = None, rate_interval: str = "1m") -> str:
    """The dashboard's panels over ``[start, end]`` (unix seconds), drawn from ``prometheus``."""
    dashboard = dashboard or json.loads(DASHBOARD.read_text())
    step = max(1.0, (end - start) / 240)
    panels = [p for p in dashboard["panels"] if p.get("type") == "timeseries"]
    width = 24 * COLUMN_PX
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels) * ROW_PX
    body = "\n".join(
        panel_svg(p, panel_series(prometheus, p, start, end, step, rate_interval), start, end) for p in panels
    )
    title = html.escape(dashboard["title"])
    span = (
        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(start))} to {time.strftime('%H:%M:%S', time.gmtime(end))} UTC"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ background: #111217; color: #ccccdc; font: 13px sans-serif; margin: 12px; }}
h1 {{ font-size: 16px; font-weight: 500; margin: 0 0 8px 4px; }}
.title {{ fill: #ccccdc; font-size: 13px; font-weight: 500; }}
.axis {{ fill: #8e8e8e; font-size: 11px; }}
.legend {{ fill: #ccccdc; font-size: 11px; }}
</style></head>
<body><h1>{title} <span class="axis">{span}; drawn from Prometheus by tools/dashboard.py</span></h1>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">
{body}
</svg></body></html>
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus's URL")
    parser.add_argument("--minutes", type=float, default=15, help="the last this many minutes (default 15)")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.html")
    args = parser.parse_args(argv)
    end = time.time()
    args.out.write_text(render(args.prometheus.rstrip("/"), end - args.minutes * 60, end))
    print(f"dashboard: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
