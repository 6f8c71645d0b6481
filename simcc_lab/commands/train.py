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
    from ..training import distributed as D
    from ..training import engine
    from ..training.config import config_from_preset, overrides_from_args

    cfg = config_from_preset(args.preset, **overrides_from_args(args))
    history = engine.fit(cfg)
    if D.env_info().is_main and history:
        final = {k: v for k, v in history[-1].items() if k in ("AP", "pixel_error", "train_loss")}
        print(f"done: {cfg.out_dir}/last.pt {final}")
    return 0


def run_eval(args) -> int:
    import json

    from ..files import check_output_file, write_json
    from ..training import engine
    from ..training.config import overrides_from_args

    for flag, path in (("--out-json", args.out_json), ("--results-json", args.results_json)):
        if path:  # before the evaluation, not after it
            check_output_file(path, flag)
    metrics = engine.evaluate(args.checkpoint, out_json=args.results_json, **overrides_from_args(args))
    print(json.dumps(metrics, indent=1))
    if args.out_json:
        write_json(args.out_json, metrics)
    return 0
