"""Retrieval features of a student encoder at several scales (what the pretraining evaluation ranks).

Any encoder with ``forward_tokens`` (``SAIPViT``, ``TokenAdapter`` around StarNet / TinyViT) works: the
images are brought to each scale (``rescale``: the same resampling as the pretraining views) and the
final-level tokens are read.
"""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .rescale import rescale

FEATURES = ('global', 'patches', 'both')


@torch.no_grad()
def retrieval_features(encoder: nn.Module, images: Tensor, scales: Sequence[float] = (1.0, ),
                       feature: str = 'global', size_divisor: int = 16) -> Tensor:
    """Per-image features at each scale.

    Args:
        encoder (nn.Module): Has ``forward_tokens(x) -> dict(final=(global (B, D), patches (B, L, D)))``.
        images (Tensor): Normalised images ``(B, 3, H, W)``.
        scales (Sequence[float]): Scales of ``(H, W)`` to encode at.
        feature (str): ``'global'`` (the global token), ``'patches'`` (mean of the patch tokens) or
            ``'both'`` (the two, each L2-normalised, concatenated).
        size_divisor (int): Sides are rounded to multiples of this (the patch size).

    Returns:
        Tensor: ``(B, S, C)`` features, ``S = len(scales)``.
    """
    if feature not in FEATURES:
        raise ValueError(f'feature must be one of {FEATURES}, got {feature!r}')
    out = []
    for scale in scales:
        tokens = encoder.forward_tokens(rescale(images, float(scale), size_divisor))['final']
        glob, patches = tokens[0], tokens[1].mean(dim=1)
        if feature == 'global':
            out.append(glob)
        elif feature == 'patches':
            out.append(patches)
        else:
            out.append(torch.cat([F.normalize(glob, dim=-1), F.normalize(patches, dim=-1)], dim=-1))
    return torch.stack(out, dim=1)
