"""Models: output shapes from the codec, derived head sizes, a training step per backbone, compute counts."""
from __future__ import annotations

import pytest
import torch

from simcc_lab.codecs import HeatmapCodec, SimCCCodec
from simcc_lab.losses import build_loss
from simcc_lab.models import build_model, count_params_flops


@pytest.mark.parametrize("backbone", ["compact", "transformer", "resnet18"])
@pytest.mark.parametrize("size", [(64, 64), (96, 128)])
def test_output_shapes_follow_the_codec(backbone, size):
    for codec in (SimCCCodec(size, k=2), SimCCCodec(size, k=3), HeatmapCodec(size, stride=4)):
        model = build_model(backbone, codec, num_keypoints=17).eval()
        out = model(torch.zeros(2, 3, size[1], size[0]))
        if codec.kind == "simcc":
            assert [tuple(o.shape) for o in out] == [(2, 17, codec.simcc_size[0]), (2, 17, codec.simcc_size[1])]
        else:
            w, h = codec.heatmap_size
            assert [tuple(o.shape) for o in out] == [(2, 17, h, w)]


def test_simcc_head_in_features_are_derived():
    codec = SimCCCodec((64, 64), k=2)
    m = build_model("compact", codec, 17)  # stride 8 -> 8x8 = 64 features per keypoint
    assert m.head.x_fc.in_features == 64 and m.head.x_fc.out_features == 128
    m = build_model("compact", codec, 17, deconvs=2)  # two deconvs -> 32x32
    assert m.head.x_fc.in_features == 1024


def test_heatmap_head_with_wrong_deconvs_is_a_clear_error():
    with pytest.raises(ValueError, match="deconvs=1"):
        build_model("compact", HeatmapCodec((64, 64), stride=4), 17, deconvs=3)


@pytest.mark.parametrize("backbone", ["transformer", "resnet18"])
@pytest.mark.parametrize("kind", ["simcc", "heatmap"])
def test_a_training_step_runs(backbone, kind):
    torch.manual_seed(0)
    codec = SimCCCodec((64, 64), k=2) if kind == "simcc" else HeatmapCodec((64, 64), stride=4)
    model, loss_fn = build_model(backbone, codec, 17), build_loss(codec)
    kp = torch.rand(4, 17, 2) * 60
    t = codec.encode(kp, torch.ones(4, 17))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss = loss_fn(model(torch.randn(4, 3, 64, 64)), tuple(t)[:-1], t.weights)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.head.parameters())


def test_pretrained_without_cached_weights_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        build_model("resnet18", SimCCCodec((64, 64)), 17, pretrained=True)


def test_resnet50_params_match_the_paper():
    # PAPER.md: SimBa-Res50 heatmap 34.0M; SimCC keeps the deconvs and adds Linear heads: 36.8M at
    # 256x192, 34.1M at 64x64.
    hm = count_params_flops(build_model("resnet50", HeatmapCodec((192, 256), stride=4), 17), (192, 256))
    sc = count_params_flops(build_model("resnet50", SimCCCodec((192, 256), k=2), 17, deconvs=3), (192, 256))
    sc64 = build_model("resnet50", SimCCCodec((64, 64), k=2), 17, deconvs=3)
    assert hm["params"]["total"] / 1e6 == pytest.approx(34.0, rel=0.02)
    assert sc["params"]["total"] / 1e6 == pytest.approx(36.8, rel=0.02)
    assert sum(p.numel() for p in sc64.parameters()) / 1e6 == pytest.approx(34.1, rel=0.02)
    # without deconvs SimCC saves the upsampling compute
    no_up = count_params_flops(build_model("resnet50", SimCCCodec((192, 256), k=2), 17), (192, 256))
    assert no_up["gflops"]["upsampling"] == 0 < hm["gflops"]["upsampling"]
    assert no_up["gflops"]["total"] < hm["gflops"]["total"]
