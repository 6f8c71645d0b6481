"""The fast CPU data path (data/crops.py) and the clean SynthPose variant it trains on in the reproduction."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from simcc_lab.codecs import HeatmapCodec, SimCCCodec
from simcc_lab.data.topdown import TopDownDataset
from simcc_lab.data.crops import CropCache, context_for
from simcc_lab.data.synthetic import ensure_dataset, generate, render_scene
from simcc_lab.data.transforms import AugmentConfig

AUG = AugmentConfig(scale_factor=0.25, rotation_factor=15.0, half_body_prob=0.0)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return ensure_dataset(cache_dir=tmp_path_factory.mktemp("cache"), name="clean", num_train=12, num_val=2,
                          seed=0, clean=True, progress=False)


@pytest.mark.parametrize("codec", [SimCCCodec(input_size=(64, 64), k=2, sigma=3.0),
                                   HeatmapCodec(input_size=(48, 64), stride=4, sigma=1.5)])
def test_cache_gives_the_same_targets_as_the_per_sample_dataset(clean, codec):
    """Same draws, same keypoints and targets; pixels differ only by a second bilinear resampling."""
    size = codec.input_size
    cache = CropCache(*clean["train"], size, codec, AUG, seed=3)
    plain = TopDownDataset(*clean["train"], size, codec, train=True, augment=AUG, seed=3)
    for epoch in (0, 1):
        cache.set_epoch(epoch)
        plain.set_epoch(epoch)
        batch = cache.__getitems__(list(range(len(cache))))
        assert batch["image"].shape == (len(cache), 3, size[1], size[0])
        for i in range(len(cache)):
            one = plain[i]
            np.testing.assert_allclose(batch["meta"]["kpts_input"][i].numpy(), one["meta"]["kpts_input"], atol=1e-9)
            for t, u in zip(batch["targets"], one["targets"]):
                torch.testing.assert_close(t[i], u, atol=1e-6, rtol=0)
            # normalised units (1 grey level ~ 0.017): a mean difference of a few grey levels
            assert (batch["image"][i] - one["image"]).abs().mean() < 0.1


def test_cache_draws_change_with_the_epoch_and_do_not_depend_on_batching(clean):
    codec = SimCCCodec(input_size=(64, 64), k=2)
    cache = CropCache(*clean["train"], (64, 64), codec, AUG, seed=0)
    whole = cache.__getitems__([0, 1, 2, 3])["image"]
    torch.testing.assert_close(torch.cat([cache[i]["image"] for i in range(4)]), whole)
    cache.set_epoch(1)
    assert not torch.equal(cache.__getitems__([0, 1, 2, 3])["image"], whole)


def test_cache_refuses_half_body_and_bad_arguments(clean):
    codec = SimCCCodec(input_size=(64, 64), k=2)
    with pytest.raises(ValueError, match="half-body"):
        CropCache(*clean["train"], (64, 64), codec, AugmentConfig(half_body_prob=0.3))
    with pytest.raises(ValueError, match="density"):
        CropCache(*clean["train"], (64, 64), codec, AUG, density=0)
    with pytest.raises(ValueError, match="input_size"):
        CropCache(*clean["train"], (0, 64), codec, AUG)


def test_context_covers_the_largest_rotated_and_scaled_crop():
    assert context_for(AugmentConfig(scale_factor=0.0, rotation_factor=0.0)) == pytest.approx(1.0)
    assert context_for(AUG) == pytest.approx(1.25 * (np.cos(np.radians(15)) + np.sin(np.radians(15))))


def test_clean_scenes_hold_one_centred_person():
    for i in range(6):
        image, people = render_scene(np.random.default_rng(i), (256, 256), clean=True)
        assert len(people) == 1 and image.shape == (256, 256, 3)
        x, y, w, h = people[0]["bbox"]
        assert 64 < x + w / 2 < 192 and 64 < y + h / 2 < 192
    with pytest.raises(ValueError, match="crowded or clean"):
        render_scene(np.random.default_rng(0), (256, 256), crowded=True, clean=True)


def test_clean_data_is_deterministic_and_distinct_from_the_default(tmp_path):
    a = generate(tmp_path / "a", 3, seed=1, clean=True, progress=False).read_bytes()
    b = generate(tmp_path / "b", 3, seed=1, clean=True, progress=False).read_bytes()
    c = generate(tmp_path / "c", 3, seed=1, progress=False).read_bytes()
    assert a == b and a != c
