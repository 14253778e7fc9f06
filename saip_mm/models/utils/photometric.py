# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""DINO's photometric augmentation on a batch, on the model's device (issue 28: workers only decode, crop
and paste).

The same operations as the per-sample pipeline transforms the configs used (``mmpretrain.ColorJitter``,
``mmpretrain.RandomGrayscale``, ``mmpretrain.GaussianBlur``, ``mmpretrain.Solarize``, all through PIL or
numpy on one uint8 image), written for a ``(B, 3, H, W)`` float batch in 0–255, BGR (mmcv's loading
order), with one parameter per sample. Each function takes its per-sample parameter as a ``(B, )``
tensor; a sample whose parameter is the identity (factor 1, hue 0, mask False) is left unchanged.

Differences from the PIL path, none of which changes a parameter range or a probability: values stay
float between operations (PIL rounds to uint8 after each), hue is shifted in float HSV (PIL in 8-bit
HSV), and the blur is an exact separable Gaussian of standard deviation ``sigma`` with replicated edges
(PIL approximates it with box filters).
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

# PIL's RGB -> L weights (ImageEnhance.Contrast and .Color blend towards this grey), in BGR order
PIL_GREY_BGR = (0.114, 0.587, 0.299)


def _per_sample(value: Tensor) -> Tensor:
    """``(B, )`` -> ``(B, 1, 1, 1)``, to broadcast over a ``(B, C, H, W)`` batch."""
    return value.view(-1, 1, 1, 1)


def grey(images: Tensor, weights: Sequence[float] = PIL_GREY_BGR) -> Tensor:
    """Weighted channel sum ``(B, 1, H, W)`` of BGR ``images`` (weights in BGR order, normalised)."""
    w = images.new_tensor(weights)
    return (images * (w / w.sum()).view(1, 3, 1, 1)).sum(1, keepdim=True)


def blend(images: Tensor, degenerate: Tensor, factor: Tensor) -> Tensor:
    """PIL's ``Image.blend(degenerate, images, factor)`` per sample, clipped to 0–255."""
    f = _per_sample(factor)
    return (degenerate + f * (images - degenerate)).clamp(0, 255)


def adjust_brightness(images: Tensor, factor: Tensor) -> Tensor:
    """Blend towards black (``ImageEnhance.Brightness``)."""
    return blend(images, torch.zeros_like(images), factor)


def adjust_contrast(images: Tensor, factor: Tensor) -> Tensor:
    """Blend towards the image's mean grey level, rounded (``ImageEnhance.Contrast``)."""
    mean = grey(images).mean((1, 2, 3), keepdim=True).add(0.5).floor()
    return blend(images, mean.expand_as(images), factor)


def adjust_saturation(images: Tensor, factor: Tensor) -> Tensor:
    """Blend towards the per-pixel grey image (``ImageEnhance.Color``)."""
    return blend(images, grey(images).expand_as(images), factor)


def _bgr_to_hsv(images: Tensor):
    b, g, r = images.unbind(1)
    maxc, _ = images.max(1)
    minc, _ = images.min(1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    hue = torch.where(maxc == r, ((g - b) / safe) % 6,
                      torch.where(maxc == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    hue = torch.where(delta > 0, hue, torch.zeros_like(hue))
    safe_max = torch.where(maxc > 0, maxc, torch.ones_like(maxc))
    sat = torch.where(maxc > 0, delta / safe_max, torch.zeros_like(maxc))
    return hue, sat, maxc


def _hsv_to_bgr(hue: Tensor, sat: Tensor, val: Tensor) -> Tensor:
    # f(n) = V - V S max(0, min(k, 4 - k, 1)), k = (n + 6 H) mod 6; R, G, B from n = 5, 3, 1
    def channel(n: int) -> Tensor:
        k = (n + hue * 6) % 6
        return val - val * sat * torch.clamp(torch.minimum(k, 4 - k), 0, 1)

    return torch.stack([channel(1), channel(3), channel(5)], 1)


def adjust_hue(images: Tensor, shift: Tensor) -> Tensor:
    """Rotate the hue by ``shift`` turns (in [-0.5, 0.5]; ``mmcv.adjust_hue``)."""
    hue, sat, val = _bgr_to_hsv(images)
    hue = (hue + shift.view(-1, 1, 1)) % 1.0
    return _hsv_to_bgr(hue, sat, val).clamp(0, 255)


def to_grey(images: Tensor, apply: Tensor, weights: Sequence[float]) -> Tensor:
    """Replace the samples where ``apply`` is True by their grey image, truncated to an integer level and
    kept on 3 channels (``mmcv.RandomGrayscale(keep_channels=True)``; ``weights`` in BGR order)."""
    return torch.where(_per_sample(apply), grey(images, weights).floor().expand_as(images), images)


def gaussian_blur(images: Tensor, sigma: Tensor, apply: Optional[Tensor], max_sigma: float) -> Tensor:
    """Separable Gaussian blur of standard deviation ``sigma`` (per sample) where ``apply`` is True (every
    sample when it is None).

    One kernel of ``2 ceil(3 max_sigma) + 1`` taps per sample (a grouped convolution over the batch), edges
    replicated.
    """
    b, c, h, w = images.shape
    radius = math.ceil(3.0 * max_sigma)
    taps = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    kernel = torch.exp(-0.5 * (taps.view(1, -1) / sigma.view(-1, 1).clamp_min(1e-3)) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B * C, K)
    x = images.reshape(1, b * c, h, w)
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode='replicate'), kernel.view(b * c, 1, -1, 1),
                 groups=b * c)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode='replicate'), kernel.view(b * c, 1, 1, -1),
                 groups=b * c)
    x = x.view(b, c, h, w)
    return x if apply is None else torch.where(_per_sample(apply), x, images)


def solarize(images: Tensor, apply: Tensor, threshold: float) -> Tensor:
    """Invert the levels at or above ``threshold`` where ``apply`` is True (``mmcv.solarize``)."""
    inverted = torch.where(images < threshold, images, 255 - images)
    return torch.where(_per_sample(apply), inverted, images)


__all__ = ['adjust_brightness', 'adjust_contrast', 'adjust_saturation', 'adjust_hue', 'to_grey',
           'gaussian_blur', 'solarize', 'grey', 'blend']
