"""``simcc-lab train`` and ``simcc-lab eval`` (:mod:`simcc_lab.training.engine`).

Their flags are TrainConfig's fields (:mod:`simcc_lab.training.config`, which imports the codecs and so
torch): added when one of the two commands is chosen.
"""
from __future__ import annotations


def register_cli(subparsers) -> None:
    """``simcc-lab train --preset NAME [--field value ...] [--resume [PATH]]`` and
    ``simcc-lab eval --checkpoint PATH [--flip-test] [--refinement dark] ...``."""
    p = subparsers.add_parser("train", help="train a pose model (torchrun for several GPUs)",
                              description="Train a model. Every TrainConfig field is a flag; see docs/training.md.",
                              arguments=train_arguments)
    p.set_defaults(func=run_train)
    e = subparsers.add_parser("eval", help="evaluate a checkpoint (COCO AP, pixel errors)", arguments=eval_arguments)
    e.set_defaults(func=run_eval)


def train_arguments(p) -> None:
    from ..training.config import PRESETS, add_config_arguments

    p.add_argument("--preset", default=None, help=f"named config: {', '.join(sorted(PRESETS))}")
    add_config_arguments(p)


def eval_arguments(e) -> None:
    from ..training.config import EVAL_FIELDS, add_config_arguments

    e.add_argument("--checkpoint", required=True, help="a last.pt or best.pt written by `simcc-lab train`")
    e.add_argument("--out-json", default=None, help="write the metrics here as JSON")
    e.add_argument("--results-json", default=None, help="write the COCO keypoint results here")
    add_config_arguments(e, only=EVAL_FIELDS)


def run_train(args) -> int:
    from ..training import engine

    return engine._cli_train(args)


def run_eval(args) -> int:
    from ..training import engine

    return engine._cli_eval(args)
