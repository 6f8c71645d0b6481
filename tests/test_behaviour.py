"""Behaviour kept through refactorings: every codec setting's round trip on fixed random keypoints gives the
numbers recorded before the issue-12 restructuring (tests/golden/codec_roundtrip.json, written by
``python tools/codec_roundtrip.py --out tests/golden/codec_roundtrip.json`` at commit 0f33d47)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests" / "golden" / "codec_roundtrip.json").read_text())


def _table() -> dict:
    spec = importlib.util.spec_from_file_location("codec_roundtrip", ROOT / "tools" / "codec_roundtrip.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.roundtrip_table()


@pytest.fixture(scope="module")
def table():
    return _table()


def test_every_golden_setting_is_still_computed(table):
    assert sorted(table) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_codec_round_trip_numbers_unchanged(table, name):
    if "error" in GOLDEN[name]:  # a setting the codec rejects (e.g. MMPose's convention with continuous centres)
        assert table[name] == GOLDEN[name]
        return
    # float32 labels: the same numbers on one machine; other CPUs may differ in the last bits of exp()
    assert table[name] == pytest.approx(GOLDEN[name], rel=1e-6, abs=1e-9)
