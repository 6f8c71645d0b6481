"""The GPU paths: codecs, crop cache, mixed-precision model and one whole training run on CUDA agree with the
CPU. They need a CUDA device; without one each says so and is skipped (CI has none; tools/gpu_check.sh runs
them on the project's lent GPU machine)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from simcc_lab.codecs import build_codec
from simcc_lab.data.crops import CropCache
from simcc_lab.data.synthetic import ensure_dataset
from simcc_lab.data.transforms import AugmentConfig
from simcc_lab.models import build_model
from simcc_lab.training import engine
from simcc_lab.training.config import config_from_preset

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none on this machine)")


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return ensure_dataset(cache_dir=tmp_path_factory.mktemp("cache"), name="cuda", num_train=12, num_val=4, seed=0,
                          clean=True, progress=False)


@pytest.mark.parametrize("decoding", ["none", "quarter", "dark"])
def test_heatmap_decodings_on_cuda_match_cpu(decoding):
    codec = build_codec("heatmap", (192, 256), sigma=2.0, encoding="unbiased").with_decoding(decoding)
    kp = torch.rand(64, 17, 2, dtype=torch.float64) * torch.tensor([180.0, 240.0]) + 4
    maps = codec.encode(kp.float(), torch.ones(64, 17)).heatmaps + 0.01 * torch.rand(64, 17, 64, 48)
    kc, sc = codec.decode(maps)
    kg, sg = codec.decode(maps.cuda())
    assert kg.device.type == "cuda"
    assert torch.allclose(kc, kg.cpu(), atol=1e-3) and torch.allclose(sc, sg.cpu(), atol=1e-6)


def test_simcc_decode_on_cuda_matches_cpu():
    codec = build_codec("simcc", (192, 256), k=2.0, sigma=4.0)
    x, y = torch.randn(64, 17, 384), torch.randn(64, 17, 512)
    (kc, sc), (kg, sg) = codec.decode(x, y, from_logits=True), codec.decode(x.cuda(), y.cuda(), from_logits=True)
    assert torch.equal(kc, kg.cpu()) and torch.allclose(sc, sg.cpu(), atol=1e-6)


def test_crop_cache_on_cuda_serves_the_cpu_batch(synth):
    codec = build_codec("simcc", (64, 64), k=2.0, sigma=3.0)
    aug = AugmentConfig(flip_prob=0.5, scale_factor=0.25, rotation_factor=15.0, half_body_prob=0.0)
    cpu, gpu = (CropCache(*synth["train"], (64, 64), codec, augment=aug, seed=3, device=d) for d in ("cpu", "cuda"))
    idx = list(range(min(8, len(cpu))))
    a, b = cpu.__getitems__(idx), gpu.__getitems__(idx)
    assert b["image"].device.type == "cuda"
    # same draws, same keypoints: identical targets; pixels from grid_sample differ only by rounding
    for ta, tb in zip(a["targets"], b["targets"]):
        assert torch.allclose(ta, tb.cpu(), atol=1e-5)
    assert (a["image"].float() - b["image"].cpu().float()).abs().mean() < 0.02


@pytest.mark.parametrize("codec_kind", ["simcc", "heatmap"])
def test_bf16_channels_last_model_tracks_float32(codec_kind):
    codec = build_codec(codec_kind, (64, 64))
    model = build_model("compact", codec, 17).cuda().eval()
    x = torch.randn(4, 3, 64, 64, device="cuda")
    with torch.no_grad():
        ref = model(x)
        model.to(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            low = model(x.contiguous(memory_format=torch.channels_last))
    for r, lo in zip(ref, low):
        rel = (r - lo.float()).norm() / r.norm()
        assert rel < 0.05, f"bf16 output differs from float32 by {rel:.3f} (relative)"


def test_one_training_run_on_cuda(synth, tmp_path):
    cfg = config_from_preset("synth-heatmap-64-tiny", device="cuda", amp="auto", channels_last=True, crop_cache=True,
                             cache_dir=str(tmp_path / "cache"), out_dir=str(tmp_path / "run"), synth_clean=True,
                             synth_train_images=12, synth_val_images=4, epochs=2, batch_size=4,
                             max_steps_per_epoch=2, eval_epochs=(1, 2), flip_test=True)
    result = engine.train(cfg)
    assert result.environment["gpu"] and result.environment["device"].startswith("cuda")
    assert set(result.metrics) == {"none", "quarter", "dark"}
    assert all(math.isfinite(h["train_loss"]) for h in result.history) and len(result.history) == 2
    assert result.history[-1]["AP_dark"] == result.metrics["dark"]["AP"]
    assert result.params_m and result.gflops and np.isfinite(result.gflops)
