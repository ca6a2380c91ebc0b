"""Headless Chromium (Debian's package, installed by scripts/setup) for pictures: the timeline's
browser test and screenshots for the docs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path


def chromium(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Headless Chromium in a process group of its own, killed by that group if anything is left."""
    command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    command += [f"--user-data-dir={cwd / 'chromium-profile'}", *args]
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # helpers (zygote, GPU) it may have left behind
        process.wait()
    return subprocess.CompletedProcess(command, process.returncode, out, err)
