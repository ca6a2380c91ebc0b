"""The Python stream processors a data engineer would compare the jobs with (issue 12, item 2):
the same computation as a windowed job (moving_average, sessions, late_data), on the same input
file, in Bytewax 0.21 (``bench.peers.bytewax``) and Quix Streams 3.x against a local Kafka broker
(``bench.peers.quix``).

Both libraries live in the optional ``bench`` dependency group (``uv sync --group bench``, which
``make bench-peers`` runs into ``.venv-bench``); nothing outside ``bench/peers`` imports them, and
:mod:`bench.peers.compare` (how their outputs are compared with the job's) needs neither.
Each peer writes its results as the job writes its outputs (``<out>/<output>/part-0.jsonl``, the
job's field names and time format), so one reduction (``bench.cases.Case.job_rows``) reads both.
"""

from __future__ import annotations

#: peer name -> module under bench.peers (imported by the worker only, in its own process)
PEERS = {"bytewax": "bench.peers.bytewax_peer", "quix": "bench.peers.quix_peer"}

#: jobs each peer implements (the computation of bench.cases.CASES[job] with its options)
WINDOWED = ("moving_average", "sessions", "late_data")
COVERS = {"bytewax": WINDOWED, "quix": WINDOWED}

#: the options of those jobs in bench/cases.py, in milliseconds (late_data: its tumbling window)
SIZE_MS, SLIDE_MS, GAP_MS, WINDOW_MS = 10_000, 5_000, 300_000, 10_000

#: each job's outputs that the peers write
OUTPUTS = {"moving_average": ("windows", "late"), "sessions": ("sessions", "late"), "late_data": ("windows", "late")}
