"""The real-browser check of lesson 03 (tools/browser_check.py), run when Chromium is installed."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
@pytest.mark.skipif(importlib.util.find_spec("playwright") is None, reason="playwright is not installed")
def test_slider_changes_the_lesson03_plot(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "browser_check.py"), "--out", str(tmp_path), "--timeout", "180"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    before, after = tmp_path / "browser_lesson03_before.png", tmp_path / "browser_lesson03_after.png"
    assert before.stat().st_size > 5000 and after.stat().st_size > 5000, "screenshots should show a plot"
    assert before.read_bytes() != after.read_bytes()
