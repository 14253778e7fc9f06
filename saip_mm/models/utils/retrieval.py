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
from .tokens import StudentTokens, student_tokens

FEATURES = ('global', 'patches', 'both')


@torch.no_grad()
def retrieval_features(encoder: nn.Module, images: Tensor, scales: Sequence[float] = (1.0, ),
                       feature: str = 'global', size_divisor: int = 16, level: str = 'final') -> Tensor:
    """Per-image features at each scale.

    Args:
        encoder (nn.Module): Has ``forward_tokens(x) -> dict(final=(global (B, D), patches (B, L, D)))``.
        images (Tensor): Normalised images ``(B, 3, H, W)``.
        scales (Sequence[float]): Scales of ``(H, W)`` to encode at.
        feature (str): ``'global'`` (the global token), ``'patches'`` (mean of the patch tokens) or
            ``'both'`` (the two, each L2-normalised, concatenated).
        size_divisor (int): Sides are rounded to multiples of this (the patch size).
        level (str): ``'final'`` (the encoder's output, what downstream tasks get) or ``'mid'`` (the
            block CSR and CSS read, paper §III-B).

    Returns:
        Tensor: ``(B, S, C)`` features, ``S = len(scales)``.
    """
    if feature not in FEATURES:
        raise ValueError(f'feature must be one of {FEATURES}, got {feature!r}')
    if level not in ('final', 'mid'):
        raise ValueError(f"level must be 'final' or 'mid', got {level!r}")
    out = []
    for scale in scales:
        tokens = encoder.forward_tokens(rescale(images, float(scale), size_divisor))[level]
        glob, patches = tokens[0], tokens[1].mean(dim=1)
        if feature == 'global':
            out.append(glob)
        elif feature == 'patches':
            out.append(patches)
        else:
            out.append(torch.cat([F.normalize(glob, dim=-1), F.normalize(patches, dim=-1)], dim=-1))
    return torch.stack(out, dim=1)


class ColourHistogramEncoder(nn.Module):
    """A hand-made, untrained reference encoder: per horizontal stripe, a joint RGB colour histogram
    (the classic colour feature of person re-identification before learned features).

    It tells how far colour alone goes on an identity set, so that a learned student's figures can be
    read against it (``eval_backbone.py colour-histogram``). Exposes ``forward_tokens`` like the
    students: the global token is the concatenated, L1-normalised stripe histograms; each stripe's
    histogram is a patch token.

    Args:
        stripes (int): Horizontal stripes. Defaults to 6.
        bins (int): Bins per channel (``bins ** 3`` per stripe). Defaults to 4.
        mean, std (Sequence[float]): The normalisation of the inputs, undone before binning.
    """

    def __init__(self, stripes: int = 6, bins: int = 4,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375)) -> None:
        super().__init__()
        self.stripes, self.bins = stripes, bins
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1), False)

    def forward_tokens(self, x: Tensor, mask=None) -> StudentTokens:
        pixels = (x * self.std + self.mean).clamp(0, 255)
        idx = (pixels * self.bins / 256).long().clamp(max=self.bins - 1)
        code = (idx[:, 0] * self.bins + idx[:, 1]) * self.bins + idx[:, 2]  # (B, H, W)
        hists = []
        for stripe in code.chunk(self.stripes, dim=1):
            h = F.one_hot(stripe.flatten(1), self.bins**3).float().mean(1)  # (B, bins^3)
            hists.append(h)
        patches = torch.stack(hists, dim=1)
        glob = patches.flatten(1) / self.stripes
        return student_tokens((glob, patches), (glob, patches), (self.stripes, 1))


def mean_pairwise_cosine(features: Tensor) -> Tensor:
    """Mean cosine similarity over the pairs of different rows of ``features`` ``(N, D)`` (N >= 2)."""
    x = F.normalize(features.float(), dim=-1)
    n = x.shape[0]
    sims = x @ x.t()
    return (sims.sum() - sims.diagonal().sum()) / max(n * (n - 1), 1)
