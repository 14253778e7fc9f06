"""Bring an image batch to a scale of its size (paper §III-B: views at 0.75–1.5 × the anchor size)."""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor


def scaled_size(height: int, width: int, scale: float, size_divisor: int = 16) -> Tuple[int, int]:
    """``scale ×`` a size, each side rounded to a multiple of ``size_divisor`` (at least one)."""
    d = size_divisor
    return max(d, int(round(height * scale / d)) * d), max(d, int(round(width * scale / d)) * d)


def rescale(images: Tensor, scale: float, size_divisor: int = 16) -> Tensor:
    """Resize ``(B, C, H, W)`` images by ``scale`` (sides rounded to ``size_divisor``): bilinear,
    antialiased when shrinking; the same tensor when the size does not change."""
    h, w = images.shape[-2:]
    size = scaled_size(h, w, scale, size_divisor)
    if size == (h, w):
        return images
    return F.interpolate(images, size=size, mode='bilinear', align_corners=False, antialias=size[0] < h)
