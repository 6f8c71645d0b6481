"""Real-browser check of lesson 03: JupyterLab on loopback, headless Chromium, a slider moved.

Starts JupyterLab on 127.0.0.1 with a random token and its own settings directory (news, update checks
and toast notifications off, so that no pop-up covers the page), opens
``notebooks/03_label_smoothing.ipynb`` in Debian's Chromium driven by Playwright (the system browser;
nothing is downloaded), runs all cells, screenshots the first interactive plot (the figure's own
image, not the sliders or their readouts), moves its first slider with the keyboard and screenshots
the plot again. Writes ``docs/browser_lesson03_before.png`` and ``docs/browser_lesson03_after.png``
and exits non-zero unless the plot's pixels changed.

    python tools/browser_check.py [--out docs] [--chromium /usr/bin/chromium] [--timeout 240]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "03_label_smoothing.ipynb"
# Chromium flags for a closed network: no background services that phone home.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def find_chromium(explicit: str | None = None) -> str:
    """Path of the system Chromium; a clear error when there is none."""
    for cand in (explicit, shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if cand and Path(cand).exists():
            return cand
    raise FileNotFoundError("no Chromium found: install Debian's 'chromium' package (apt-get install chromium)")


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# JupyterLab user settings for the check: no news, no update checks, no toasts over the notebook.
QUIET_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                  {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}}
# A plot counts as changed when at least this share of its pixels differ (a moved marker or curve;
# antialiasing noise alone stays far below it).
MIN_CHANGED = 0.002


def write_quiet_settings(settings_dir: Path) -> Path:
    """Write :data:`QUIET_SETTINGS` as JupyterLab user settings under ``settings_dir``; returns it."""
    for rel, values in QUIET_SETTINGS.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))
    return settings_dir


def changed_fraction(png_a: bytes, png_b: bytes) -> float:
    """Share of pixels that differ between two PNG screenshots (1.0 when their sizes differ)."""
    import numpy as np
    from PIL import Image

    a, b = (np.asarray(Image.open(io.BytesIO(p)).convert("RGB"), dtype=np.int16) for p in (png_a, png_b))
    if a.shape != b.shape:
        return 1.0
    return float((np.abs(a - b).max(axis=-1) > 16).mean())


def start_lab(port: int, token: str, log_path: Path, settings_dir: Path) -> subprocess.Popen:
    """Start JupyterLab on loopback in fast mode (the kernel inherits SIMCC_LAB_FAST=1), with the user
    settings in ``settings_dir``."""
    env = dict(os.environ, SIMCC_LAB_FAST="1", MPLBACKEND="module://matplotlib_inline.backend_inline",
               JUPYTERLAB_SETTINGS_DIR=str(settings_dir))
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
        "--ServerApp.disable_check_xsrf=True", "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    return subprocess.Popen(cmd, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)


def wait_http(url: str, timeout: float) -> None:
    """Poll ``url`` until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer at {url} within {timeout:.0f} s")


def run_check(out_dir: Path, chromium: str, timeout: float) -> tuple[Path, Path]:
    """Drive the browser; returns the two screenshot paths (raises if the plot did not change)."""
    from playwright.sync_api import sync_playwright

    port, token = free_port(), secrets.token_hex(16)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = Path(tempfile.gettempdir()) / "simcc_lab_browser_check_lab.log"  # JupyterLab output, for debugging
    settings = write_quiet_settings(Path(tempfile.mkdtemp(prefix="simcc_lab_lab_settings_")))
    lab = start_lab(port, token, log, settings)
    before, after = out_dir / "browser_lesson03_before.png", out_dir / "browser_lesson03_after.png"
    try:
        wait_http(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=90)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout * 1000)
            page.goto(f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell")
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-Toolbar-kernelStatus",
                                   state="attached")
            page.wait_for_timeout(2000)  # let the kernel settle before running
            page.click(".jp-Notebook")
            # Run > Run All Cells, by the command palette so no menu layout is assumed.
            page.keyboard.press("Control+Shift+C")
            page.keyboard.type("Run All Cells")
            page.keyboard.press("Enter")
            slider = page.wait_for_selector(".jp-OutputArea .widget-slider .noUi-handle, .jp-OutputArea .slider-container input[type=range]")
            widget = slider.evaluate_handle("el => el.closest('.jp-OutputArea-output')").as_element()
            slider.scroll_into_view_if_needed()
            plot = widget.wait_for_selector("img")  # the figure the interact output shows
            page.wait_for_timeout(2000)  # let the first draw settle
            first_src = plot.get_attribute("src")
            plot.screenshot(path=str(before))
            slider.click()
            for _ in range(8):
                page.keyboard.press("ArrowRight")
            # the kernel redraws: wait for a new image in the widget's output
            page.wait_for_function(
                "([w, src]) => { const i = w.querySelector('img'); return i && i.complete && i.src !== src; }",
                arg=[widget, first_src])
            page.wait_for_timeout(1000)
            widget.wait_for_selector("img").screenshot(path=str(after))
            browser.close()
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()
    frac = changed_fraction(before.read_bytes(), after.read_bytes())
    if frac < MIN_CHANGED:
        raise RuntimeError(f"moving the slider did not change the plot: {frac:.4%} of its pixels differ "
                           f"(at least {MIN_CHANGED:.1%} needed)")
    return before, after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--chromium", default=None)
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds allowed for each browser step")
    args = parser.parse_args(argv)
    before, after = run_check(args.out, find_chromium(args.chromium), args.timeout)
    frac = changed_fraction(before.read_bytes(), after.read_bytes())
    print(f"plot changed after moving the slider ({frac:.1%} of its pixels): {before} -> {after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
