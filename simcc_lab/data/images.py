"""Reading image files, checked: the file must decode and have the size its record gives.

A record's ``width``/``height`` place its keypoints; an image of another size (a thumbnail, a wrong file)
would train on the wrong pixels without a word, and a huge one behind a small record would take seconds and
gigabytes per item. So the header is read first and its size compared before anything is decoded. Any
problem is an :class:`~simcc_lab.files.ImageError` (one line: the file, its image id, the cause).

Bit depths: 8-bit modes (L, P, RGB, RGBA, CMYK, ...) go through PIL's ``convert("RGB")``; 16-bit grayscale
(modes ``I;16*`` and ``I``) is scaled to 8 bits (``v / 257``) instead of being clipped at 255, as
``convert`` would do; 32-bit float images (``F``) are clipped to 0..255.
"""
from __future__ import annotations

import warnings

import numpy as np
from PIL import Image

from ..files import ImageError

__all__ = ["open_image", "read_rgb", "to_rgb"]

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _cannot(path, image_id, err) -> ImageError:
    reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return ImageError(f"cannot read image {path} (image id {image_id}): {reason}; replace the file or drop its "
                      "records")


def open_image(path, image_id, size=None) -> Image.Image:
    """The opened (not yet decoded) image; an ImageError when it cannot be opened or is not ``size`` (W, H)."""
    try:
        with warnings.catch_warnings():  # the size check below decides; PIL's warning would only add noise
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise _cannot(path, image_id, err) from None
    if size is not None and tuple(im.size) != tuple(int(v) for v in size):
        im.close()
        raise ImageError(f"image {path} (image id {image_id}) is {im.size[0]}x{im.size[1]} px but its record says "
                         f"{int(size[0])}x{int(size[1])}: its keypoints would not fit; fix the record's 'width' / "
                         "'height' or the file")
    return im


def to_rgb(im: Image.Image) -> np.ndarray:
    """(H, W, 3) uint8 RGB of any mode, 16-bit grayscale scaled rather than clipped."""
    if im.mode in _SIXTEEN_BIT:
        v = np.asarray(im).astype(np.float32) / 257.0  # 65535 -> 255
        return np.repeat(np.clip(np.rint(v), 0, 255).astype(np.uint8)[..., None], 3, axis=-1)
    if im.mode == "F":
        v = np.clip(np.rint(np.asarray(im, dtype=np.float32)), 0, 255).astype(np.uint8)
        return np.repeat(v[..., None], 3, axis=-1)
    return np.asarray(im.convert("RGB"))


def read_rgb(path, image_id, size=None) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB, checked against ``size`` (W, H) when given; an ImageError naming
    the file and its image id when it is corrupt, empty, truncated, oversized or of another size."""
    im = open_image(path, image_id, size)
    try:
        with im:
            im.load()
            return to_rgb(im)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise _cannot(path, image_id, err) from None
