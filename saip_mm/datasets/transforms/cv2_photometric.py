"""DINO's per-crop colour jitter and blur through OpenCV (issue 28 §2: the code-faithful preset's CPU path).

``mmpretrain.ColorJitter`` and ``mmpretrain.GaussianBlur`` run through Pillow: each of the four jitter
operations converts the crop to a PIL image and back (the hue through PIL's HSV, ~4 ms for a 256x128
crop), and the blur does the same. These subclasses keep their parameters and their random draws (the same
``np.random`` calls in the same order, so a seeded pipeline draws the same factors, order and coins) and
compute the operations with OpenCV on the BGR array: brightness and contrast as 256-entry tables and the
saturation as a blend with the luma, each truncated to uint8 as PIL does; the hue in OpenCV's HSV (as
mmcv's ``cv2`` backend); the blur with ``cv2.GaussianBlur`` (σ = the drawn radius, reflected borders).
Each result is within a grey level of Pillow's on average (tests/test_datasets/test_cv2_photometric.py);
the Pillow classes stay selectable in any pipeline.
"""
from typing import Dict

import cv2
import numpy as np
from mmpretrain.datasets.transforms import ColorJitter, GaussianBlur

from saip_mm.registry import TRANSFORMS


def _affine_lut(img: np.ndarray, factor: float, offset: float) -> np.ndarray:
    """``img * factor + offset`` truncated to uint8, per grey level (a 256-entry table)."""
    levels = np.arange(256, dtype=np.float32) * np.float32(factor) + np.float32(offset)
    return cv2.LUT(img, np.clip(levels, 0, 255).astype(np.uint8))


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Scale an H×W×3 uint8 image (PIL's ``ImageEnhance.Brightness``): ``img * factor`` truncated."""
    return _affine_lut(img, factor, 0.0)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend an H×W×3 BGR uint8 image with its mean grey level (PIL's ``ImageEnhance.Contrast``): the
    mean of the luma rounded to an integer, ``img * factor + mean * (1 - factor)`` truncated to uint8."""
    mean = int(cv2.mean(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))[0] + 0.5)
    return _affine_lut(img, factor, mean * (1.0 - factor))


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blend an H×W×3 BGR uint8 image with its luma (PIL's ``ImageEnhance.Color``):
    ``img * factor + grey * (1 - factor)`` truncated to uint8."""
    grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    out = cv2.addWeighted(img, factor, grey, 1.0 - factor, 0.0, dtype=cv2.CV_32F)
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def adjust_hue(img: np.ndarray, factor: float) -> np.ndarray:
    """Rotate the hue of an H×W×3 BGR uint8 image by ``factor`` of a turn in OpenCV's 0–255 HSV
    (mmcv's ``cv2`` backend, without its channel split and merge): the shift truncated to an integer
    level, the channel wrapping around."""
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV_FULL)
    hue = hsv[..., 0]
    np.add(hue, int(factor * 255) % 256, out=hue, casting='unsafe')
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


# ColorJitter's operation indices: 0 brightness, 1 contrast, 2 saturation, 3 hue
_JITTER_OPS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)


@TRANSFORMS.register_module()
class CV2ColorJitter(ColorJitter):
    """``mmpretrain.ColorJitter`` (same arguments, ranges and draws: a random order of the four
    operations, one factor each) computed with OpenCV.

    Modified key: ``img`` (H×W×3 BGR uint8).
    """

    def __init__(self, brightness=0., contrast=0., saturation=0., hue=0.) -> None:
        super().__init__(brightness=brightness, contrast=contrast, saturation=saturation, hue=hue,
                         backend='cv2')

    def transform(self, results: Dict) -> Dict:
        img = results['img']
        order, *factors = self._rand_params()
        for index in order:
            if factors[index] is not None:
                img = _JITTER_OPS[index](img, factors[index])
        results['img'] = img
        return results


@TRANSFORMS.register_module()
class CV2GaussianBlur(GaussianBlur):
    """``mmpretrain.GaussianBlur`` (same arguments and draws: the coin, then the radius) computed with
    ``cv2.GaussianBlur``, σ = the radius, borders reflected.

    Modified key: ``img`` (H×W×C uint8).
    """

    def transform(self, results: Dict) -> Dict:
        if self.random_disable():
            return results
        radius = self.radius if self.radius is not None else self.random_magnitude()
        results['img'] = cv2.GaussianBlur(results['img'], (0, 0), radius, borderType=cv2.BORDER_REFLECT)
        return results
