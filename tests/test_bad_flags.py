"""Flags and output paths (issue 21): checked for finiteness and range before any work, each mistake one line
``simcc-lab CMD: error: ...`` naming the flag, exit code 2; internal errors keep their traceback."""
from __future__ import annotations

import pytest

from simcc_lab import cli
from simcc_lab.cli import main


def _one_line(capsys, command):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"simcc-lab {command}: error: "), lines
    return lines[0]


@pytest.mark.parametrize("flags,named", [
    (["--lr", "inf"], "--lr) must be a finite number, got inf"),
    (["--rotation-factor", "nan"], "--rotation-factor) must be a finite number, got nan"),
    (["--weight-decay", "inf"], "--weight-decay) must be a finite number"),
    (["--device", "bogus"], "--device) must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'bogus'"),
    (["--input-size", "100000x100000"], "--input-size) must be a (W, H) pair of 1..4096 px"),
    (["--eval-epochs", "100", "--epochs", "2"], "--eval-epochs) must be epochs in 1..epochs (2)"),
    (["--flip-prob", "2"], "--flip-prob) must be a probability in [0, 1]"),
    (["--scale-factor", "1.5"], "--scale-factor) must be in [0, 1)"),
    (["--sigma", "0"], "--sigma) must be > 0"),
    (["--milestones", "0.5,nan"], "--milestones) must be finite numbers"),
    (["--resume", "--overwrite"], "--overwrite) must be False with resume"),
], ids=lambda v: v[0] if isinstance(v, list) else None)
def test_bad_train_flags_stop_before_any_work(tmp_path, capsys, flags, named):
    out = tmp_path / "run"
    assert main(["train", "--out-dir", str(out)] + flags) == 2
    assert named in _one_line(capsys, "train")
    assert not out.exists()  # nothing made, nothing generated


def test_output_paths_are_checked_before_the_work(tmp_path, capsys):
    folder, afile = tmp_path / "folder", tmp_path / "afile"
    folder.mkdir()
    afile.write_text("x")
    # eval: the missing checkpoint would be the error if the outputs were checked after the evaluation
    for flag in ("--out-json", "--results-json"):
        assert main(["eval", "--checkpoint", str(tmp_path / "nope.pt"), flag, str(folder)]) == 2
        assert f"{flag} {folder} is a folder" in _one_line(capsys, "eval")
    assert main(["eval", "--checkpoint", "x.pt", "--out-json", str(afile / "m.json")]) == 2
    assert "afile is a file, not a folder" in _one_line(capsys, "eval")
    assert main(["synth", "--out", str(afile), "--num-images", "2"]) == 2
    assert "--out " in _one_line(capsys, "synth") and afile.read_text() == "x"
    assert main(["oracle", "--data", str(tmp_path / "nope.json"), "--input-size", "64x64", "--out", str(folder)]) == 2
    assert "--out " in _one_line(capsys, "oracle")
    assert main(["quantization", "--out", str(afile), "--samples", "10"]) == 2
    assert "is a file, not a folder" in _one_line(capsys, "quantization")
    assert main(["quantization", "--seed", "-1", "--out", str(folder)]) == 2
    assert "--seed must be >= 0, got -1" in _one_line(capsys, "quantization")


def test_internal_errors_keep_their_traceback_and_user_errors_can_show_theirs(monkeypatch, capsys, tmp_path):
    parser = cli.build_parser()

    def broken(args):
        raise KeyError("a bug")

    args = parser.parse_args(["synth", "--out", str(tmp_path), "--num-images", "1"])
    args.func = broken
    monkeypatch.setattr(cli, "build_parser", lambda: type("P", (), {"parse_args": lambda self, a: args})())
    with pytest.raises(KeyError):
        main([])
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    args.func = lambda a: (_ for _ in ()).throw(ValueError("a user's mistake"))
    with pytest.raises(ValueError, match="a user's mistake"):
        main([])
    monkeypatch.delenv(cli.TRACEBACK_ENV)
    assert main([]) == 2 and "a user's mistake" in _one_line(capsys, "synth")


def test_help_imports_no_torch_and_every_command_registers_its_arguments():
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys\nfrom simcc_lab import cli\nfor argv in (['--help'], ['synth', '--help'], ['quantization', '--help']):\n"
            "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
            "print('torch' in sys.modules)")
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip().splitlines()[-1] == "False"
    parser = cli.build_parser()
    parser.subcommands.add_all_arguments()  # the deferred ones too (oracle, train, eval, reproduce)
    for name, sub in parser.subcommands.choices.items():
        assert any(a.option_strings and a.dest != "help" for a in sub._actions), name


def test_whole_number_fields_refuse_fractions_and_keep_ints():
    from simcc_lab.training.config import config_from_preset

    with pytest.raises(ValueError, match="epochs.*whole number"):
        config_from_preset(None, epochs=2.5)
    assert type(config_from_preset(None, batch_size=3.0).batch_size) is int


def test_eval_refinement_on_a_simcc_model_is_refused(tmp_path):
    from simcc_lab.training import engine
    from simcc_lab.training.config import config_from_preset

    cfg = config_from_preset("synth-simcc-64-tiny", out_dir=str(tmp_path / "run"), cache_dir=str(tmp_path / "c"))
    with pytest.raises(ValueError, match="applies to heatmap models"):
        engine.evaluate(cfg, refinement="dark")


def test_reproduce_seeds_must_be_integers(capsys):
    from simcc_lab.cli import main

    assert main(["reproduce", "--mode", "tiny", "--seeds", "a", "--report-only", "--out", "/nonexistent"]) == 2
    assert "--seeds must be comma-separated integers" in capsys.readouterr().err
