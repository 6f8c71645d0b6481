"""The real-browser check of lesson 03 (tools/browser_check.py), run when Chromium is installed."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("browser_check", ROOT / "tools" / "browser_check.py")
browser_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(browser_check)


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
    assert browser_check.changed_fraction(before.read_bytes(), after.read_bytes()) >= browser_check.MIN_CHANGED
    from PIL import Image

    w, h = Image.open(before).size
    assert w < 1400 and h < 1000, "the screenshot should be cropped to the plot, not the page or output area"


# Checks of the tool itself that need no browser --------------------------------------------------
def _png(draw) -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (200, 100), "white")
    draw(ImageDraw.Draw(img))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_changed_fraction_sees_the_plot_not_noise():
    curve = _png(lambda d: d.line([(0, 80), (100, 20), (200, 80)], fill="blue", width=2))
    moved = _png(lambda d: d.line([(0, 70), (100, 40), (200, 70)], fill="blue", width=2))
    speck = _png(lambda d: (d.line([(0, 80), (100, 20), (200, 80)], fill="blue", width=2),
                            d.point([(5, 5)], fill=(250, 250, 250))))
    assert browser_check.changed_fraction(curve, curve) == 0.0
    assert browser_check.changed_fraction(curve, moved) >= browser_check.MIN_CHANGED
    assert browser_check.changed_fraction(curve, speck) < browser_check.MIN_CHANGED  # a faint speck is noise


def test_changed_fraction_of_different_sizes_is_total():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(buf, format="PNG")
    assert browser_check.changed_fraction(_png(lambda d: None), buf.getvalue()) == 1.0


def test_quiet_settings_turn_news_and_toasts_off(tmp_path):
    import json

    browser_check.write_quiet_settings(tmp_path)
    path = tmp_path / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    assert json.loads(path.read_text()) == {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}
