"""Models: output shapes from the codec, derived head sizes, training steps, flip predict, compute counts."""
from __future__ import annotations

import pytest
import torch

from simcc_lab.codecs import HeatmapCodec, SimCCCodec
from simcc_lab.keypoints import COCO17
from simcc_lab.training.inference import predict_images
from simcc_lab.training.losses import build_loss
from simcc_lab.models import (PoseModel, TokenSimCCHead, build_model, count_params_flops, default_deconvs,
                              pretrained_path)

SIZES = [(64, 64), (96, 128), (192, 256)]  # (W, H): the paper's 64x64, 128x96, 256x192


def _codecs(size, fractional_k=False):
    return [SimCCCodec(size, k=1.5 if fractional_k else 2), HeatmapCodec(size, stride=4)]


def _check_shapes(model, codec, size, batch=2):
    out = model.eval()(torch.zeros(batch, 3, size[1], size[0]))
    assert isinstance(out, tuple)
    if codec.kind == "simcc":
        nx, ny = codec.simcc_size
        assert [tuple(o.shape) for o in out] == [(batch, 17, nx), (batch, 17, ny)]
    else:
        w, h = codec.heatmap_size
        assert [tuple(o.shape) for o in out] == [(batch, 17, h, w)]


@pytest.mark.parametrize("backbone", ["compact", "transformer", "resnet18"])
@pytest.mark.parametrize("size", [pytest.param(s, marks=pytest.mark.slow) if s[0] > 100 else s for s in SIZES])
def test_output_shapes_follow_the_codec(backbone, size):
    for codec in _codecs(size, fractional_k=backbone == "compact"):
        _check_shapes(build_model(backbone, codec, num_keypoints=17), codec, size)
    # SimCC with SimpleBaseline's upsampling in front (the paper's SimBa variant / the ablation)
    codec = SimCCCodec(size, k=2)
    _check_shapes(build_model(backbone, codec, 17, deconvs=1), codec, size, batch=1)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(64, 64), (192, 256)])
def test_resnet50_output_shapes(size):
    for codec in _codecs(size):
        _check_shapes(build_model("resnet50", codec, 17), codec, size, batch=1)


def test_transformer_feature_map_variant_and_compact_strides():
    codec = SimCCCodec((64, 64), k=2)
    _check_shapes(build_model("transformer", codec, 17, keypoint_tokens=False), codec, (64, 64))
    for stride in (8, 16, 32):
        _check_shapes(build_model("compact", codec, 17, stride=stride), codec, (64, 64))


def test_simcc_head_in_features_are_derived():
    codec = SimCCCodec((64, 64), k=2)
    m = build_model("compact", codec, 17)  # stride 8 -> 8x8 = 64 features per keypoint
    assert (m.head.x_fc.in_features, m.head.x_fc.out_features, m.head.y_fc.out_features) == (64, 128, 128)
    assert build_model("compact", codec, 17, stride=16).head.x_fc.in_features == 16
    assert build_model("compact", codec, 17, deconvs=2).head.x_fc.in_features == 32 * 32
    m = build_model("resnet18", SimCCCodec((96, 128), k=2), 17)  # stride 32: 3 x 4 map
    assert (m.head.x_fc.in_features, m.head.x_fc.out_features, m.head.y_fc.out_features) == (12, 192, 256)
    assert m.head.to_keypoints.in_channels == 512
    m = build_model("transformer", codec, 17, dim=64)  # keypoint tokens: the Linear layers see the token
    assert isinstance(m.head, TokenSimCCHead) and m.head.x_fc.in_features == 64


def test_default_deconvs_follow_the_strides():
    assert build_model("resnet18", HeatmapCodec((64, 64), stride=4), 17).head.deconvs == 3  # SimpleBaseline
    assert build_model("compact", HeatmapCodec((64, 64), stride=4), 17).head.deconvs == 1
    assert build_model("compact", HeatmapCodec((64, 64), stride=8), 17).head.deconvs == 0
    assert build_model("resnet18", SimCCCodec((64, 64)), 17).head.deconvs == 0
    assert default_deconvs("heatmap", 32, HeatmapCodec((64, 64), stride=2)) == 4


def test_invalid_combinations_are_clear_errors():
    with pytest.raises(ValueError, match="use deconvs=1"):
        build_model("compact", HeatmapCodec((64, 64), stride=4), 17, deconvs=3)
    with pytest.raises(ValueError, match="heatmap stride 3"):
        build_model("compact", HeatmapCodec((48, 48), stride=3), 17)
    with pytest.raises(ValueError, match="divisible by the resnet18 backbone's stride 32"):
        build_model("resnet18", SimCCCodec((48, 64)), 17)
    with pytest.raises(ValueError, match="backbone must be one of"):
        build_model("vgg", SimCCCodec((64, 64)), 17)
    with pytest.raises(ValueError, match="codec"):
        build_model("compact", None, 17)
    with pytest.raises(ValueError, match="num_keypoints"):
        build_model("compact", SimCCCodec((64, 64)), 0)
    with pytest.raises(ValueError, match="keypoint_tokens"):
        build_model("compact", SimCCCodec((64, 64)), 17, keypoint_tokens=True)
    with pytest.raises(ValueError, match="stride must be 8, 16 or 32"):
        build_model("compact", SimCCCodec((64, 64)), 17, stride=4)
    with pytest.raises(ValueError, match="pretrained"):
        build_model("compact", SimCCCodec((64, 64)), 17, pretrained=True)


@pytest.mark.parametrize("backbone", ["transformer", "resnet18", "compact"])
@pytest.mark.parametrize("kind", ["simcc", "heatmap"])
def test_a_training_step_runs(backbone, kind):
    torch.manual_seed(0)
    codec = SimCCCodec((64, 64), k=2) if kind == "simcc" else HeatmapCodec((64, 64), stride=4)
    model, loss_fn = build_model(backbone, codec, 17).train(), build_loss(codec)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    t = codec.encode(torch.rand(4, 17, 2) * 60, torch.ones(4, 17))
    images = torch.randn(4, 3, 64, 64)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = loss_fn(model(images), t.targets, t.weights)
        loss.backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None]
        assert not missing, f"parameters without gradient: {missing[:5]}"
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())
        opt.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[0] > 0
    assert losses[1] != losses[0]  # the step changed the model


def test_pretrained_without_cached_weights_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    expected = tmp_path / "checkpoints" / "resnet18-f37072fd.pth"  # torchvision's IMAGENET1K_V1 file name
    assert pretrained_path("resnet18") == expected
    with pytest.raises(FileNotFoundError, match=str(expected)):
        build_model("resnet18", SimCCCodec((64, 64)), 17, pretrained=True)


def test_pretrained_loads_the_cached_file(tmp_path, monkeypatch):
    import torchvision

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    torch.manual_seed(123)
    reference = torchvision.models.resnet18(weights=None)
    pretrained_path("resnet18").parent.mkdir(parents=True)
    torch.save(reference.state_dict(), pretrained_path("resnet18"))
    torch.manual_seed(0)  # a different random init, so equality means the file was loaded
    model = build_model("resnet18", SimCCCodec((64, 64)), 17, pretrained=True)
    torch.testing.assert_close(model.backbone.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)
    torch.testing.assert_close(model.backbone.bn1.running_var, reference.bn1.running_var)


def _mirror_image(h=64, w=64):
    half = torch.randn(1, 3, h, w // 2, generator=torch.Generator().manual_seed(0))
    return torch.cat([half, half.flip(-1)], dim=-1)  # equal to its own horizontal flip


@pytest.mark.parametrize("codec", [SimCCCodec((64, 64), k=1.0), HeatmapCodec((64, 64), stride=4)],
                         ids=["simcc", "heatmap"])
def test_flip_predict_on_a_mirror_symmetric_image_is_mirror_symmetric(codec):
    # With flip test the averaged output is invariant under "flip + swap left/right", so on an image equal
    # to its own mirror the prediction of keypoint j is the mirror of the prediction of its partner.
    torch.manual_seed(0)
    model = build_model("compact", codec, 17).train()
    image = _mirror_image()
    assert torch.equal(image, image.flip(-1))
    kpts, scores = predict_images(model, image, codec, flip_index=COCO17, flip_shift=False)
    assert model.training  # the mode is restored
    assert kpts.shape == (1, 17, 2) and scores.shape == (1, 17)
    assert torch.isfinite(kpts).all() and torch.isfinite(scores).all()
    idx = list(COCO17.flip_index)
    # the mirror of x: W - 1 - x in input pixels; for heatmaps flipped without shift, (w - 1) s - x
    w_last = codec.input_size[0] - 1 if codec.kind == "simcc" else (codec.heatmap_size[0] - 1) * codec.stride
    paired = [j for j in range(17) if idx[j] != j]
    torch.testing.assert_close(kpts[0, paired, 0], w_last - kpts[0, [idx[j] for j in paired], 0])
    # a self-paired keypoint (the nose) has a mirror-symmetric distribution: argmax takes the first of
    # the tied maxima, on the left half
    assert bool((kpts[0, [j for j in range(17) if idx[j] == j], 0] <= w_last / 2).all())
    torch.testing.assert_close(kpts[0, :, 1], kpts[0, idx, 1])
    torch.testing.assert_close(scores[0], scores[0, idx])
    # without flip the model alone need not be symmetric: a random one is not
    plain, _ = predict_images(model, image, codec)
    assert not torch.equal(plain[0, :, 0], w_last - plain[0, idx, 0])


def test_predict_without_flip_decodes_the_forward_pass_and_probs_averaging():
    torch.manual_seed(0)
    codec = SimCCCodec((64, 64), k=2)
    model = build_model("compact", codec, 17).eval()
    images = torch.randn(3, 3, 64, 64)
    kpts, scores = predict_images(model, images, codec)
    with torch.no_grad():
        x, y = model(images)
    ref_kpts, ref_scores = codec.decode(x, y)
    torch.testing.assert_close(kpts, torch.as_tensor(ref_kpts))
    torch.testing.assert_close(scores, torch.as_tensor(ref_scores))
    kp, sc = predict_images(model, images, codec, flip_index=COCO17.flip_index, average="probs")
    assert kp.shape == (3, 17, 2) and bool(((sc > 0) & (sc <= 1)).all())
    with pytest.raises(ValueError, match="average"):
        predict_images(model, images, codec, flip_index=COCO17.flip_index, average="median")


def test_pose_model_kind_comes_from_the_head():
    m = build_model("compact", HeatmapCodec((64, 64)), 17)
    assert m.kind == "heatmap" and PoseModel(m.backbone, m.head).kind == "heatmap"


def test_compute_split_adds_up_and_matches_hand_counts():
    codec = SimCCCodec((64, 64), k=2)
    c = count_params_flops(build_model("compact", codec, 17), (64, 64))
    for table in ("params", "flops", "gflops"):
        parts = sum(c[table][p] for p in ("backbone", "upsampling", "head"))
        assert parts == pytest.approx(c[table]["total"])
    assert c["gflops"]["total"] == pytest.approx(c["flops"]["total"] / 2e9)
    # head: 1x1 conv 128 -> 17 on 8x8, then Linear(64 -> 128) twice per keypoint, in multiply-adds
    assert c["flops"]["head"] / 2 == 17 * 128 * 64 + 17 * 64 * (128 + 128)
    assert c["params"]["head"] == (128 * 17 + 17) + 2 * (64 * 128 + 128)
    assert c["flops"]["upsampling"] == 0 == c["params"]["upsampling"]
    hm = count_params_flops(build_model("compact", HeatmapCodec((64, 64), stride=4), 17), (64, 64))
    # one deconv 128 -> 256, kernel 4, counted per input pixel (8x8): 64 * 128 * 256 * 16 multiply-adds
    assert hm["flops"]["upsampling"] / 2 == 64 * 128 * 256 * 16
    assert hm["gflops"]["total"] > c["gflops"]["total"]


def test_compute_counts_the_transformer_attention():
    # stem conv (3 -> 64, stride 2, 32x32 out), patch conv (64 -> 128, 4x4, 8x8 out), then per layer on
    # N = 64 + 17 tokens: qkv + out + MLP = 8 N D^2 and attention 2 N^2 D multiply-adds
    codec = SimCCCodec((64, 64), k=2)
    c = count_params_flops(build_model("transformer", codec, 17), (64, 64))
    n, d = 64 + 17, 128
    expected = 32 * 32 * 3 * 64 * 9 + 64 * 64 * 128 * 16 + 4 * (8 * n * d * d + 2 * n * n * d)
    assert c["flops"]["backbone"] / 2 == expected
    assert c["flops"]["head"] / 2 == 17 * d * (128 + 128)


@pytest.mark.slow
def test_resnet50_params_and_flops_match_the_paper():
    # PAPER.md: SimBa-Res50 heatmap 34.0M; SimCC keeps the deconvs and adds Linear heads: 36.8M at
    # 256x192 (k=2), 34.1M at 64x64 (k=3).
    hm = count_params_flops(build_model("resnet50", HeatmapCodec((192, 256), stride=4), 17), (192, 256))
    sc = count_params_flops(build_model("resnet50", SimCCCodec((192, 256), k=2), 17, deconvs=3), (192, 256))
    sc64 = build_model("resnet50", SimCCCodec((64, 64), k=3), 17, deconvs=3)
    assert hm["params"]["total"] / 1e6 == pytest.approx(34.0, rel=0.02)
    assert sc["params"]["total"] / 1e6 == pytest.approx(36.8, rel=0.02)
    assert sum(p.numel() for p in sc64.parameters()) / 1e6 == pytest.approx(34.1, rel=0.02)
    # the Linear heads add ~0.05 GMACs, as the paper's 8.9 -> 9.0
    assert 0.03 < sc["gflops"]["total"] - hm["gflops"]["total"] < 0.1
    no_up = count_params_flops(build_model("resnet50", SimCCCodec((192, 256), k=2), 17), (192, 256))
    assert no_up["gflops"]["upsampling"] == 0 < hm["gflops"]["upsampling"]
    assert no_up["gflops"]["total"] < hm["gflops"]["total"] - 1.0
