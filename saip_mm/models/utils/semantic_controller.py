"""SOLIDER's semantic controller (Chen et al., CVPR 2023, §3.3): a scalar λ ∈ [0, 1] that conditions
the backbone, so that one pretrained encoder gives more appearance (λ → 0, e.g. ReID) or more semantic
information (λ → 1, e.g. pose, parsing, detection; SOLIDER supplementary §4).

λ enters as the pair ``(λ, 1 − λ)``; at each controlled point two linear maps of that pair give a
per-channel scale (through softplus) and shift of every token: ``h ← h · softplus(W_s·w + b_s) + (W_b·w
+ b_b)``. SOLIDER places the points after the four Swin stages; a ViT has no stages, so the points are
after the last block of each of four equal groups of blocks (ViT-Tiny: blocks 3, 6, 9, 12).

The maps start near the identity (the scale's bias at softplus⁻¹(1), small weights), unlike SOLIDER's
PyTorch default initialisation, so that a checkpoint loaded into a controlled backbone starts where it
was trained.
"""
import math
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

SOFTPLUS_INV_ONE = math.log(math.e - 1.0)  # softplus(x) = 1


def default_points(num_layers: int, groups: int = 4) -> List[int]:
    """The blocks (counted from 1) after which λ acts: the last of each of ``groups`` equal groups."""
    if num_layers % groups:
        raise ValueError(f'{num_layers} blocks do not split into {groups} equal groups; set the blocks')
    return [num_layers // groups * (g + 1) for g in range(groups)]


def semantic_weights(weight: Union[float, Tensor], batch: int, device=None) -> Tensor:
    """λ per image ``(batch,)`` from a scalar or a ``(batch,)`` tensor, checked to lie in [0, 1]."""
    w = torch.as_tensor(weight, dtype=torch.float32, device=device)
    if w.dim() == 0:
        w = w.expand(batch)
    if tuple(w.shape) != (batch, ):
        raise ValueError(f'semantic_weight must be a scalar or ({batch},), got {tuple(w.shape)}')
    if bool(((w < 0) | (w > 1)).any()):
        raise ValueError(f'semantic_weight must lie in [0, 1], got {w.min().item()}..{w.max().item()}')
    return w


class SemanticController(nn.Module):
    """Per-point scale and shift of the tokens from λ, applied by forward hooks on the blocks.

    ``attach`` hooks it onto a block list, so that every forward path of the backbone (mmpretrain's
    ``forward`` for downstream tasks, ``forward_tokens`` for pretraining) is conditioned while the blocks'
    parameter names stay those of the plain model. The hooks are objects holding this module, so a
    deep copy of the backbone (the EMA teacher) gets hooks onto its own copy.

    Args:
        embed_dims (int): Token width D.
        points (Sequence[int]): Blocks after which the controller acts (counted from 1).
        default (float): λ when the caller sets none (the ``semantic_weight`` of the config).
    """

    def __init__(self, embed_dims: int, points: Sequence[int], default: float) -> None:
        super().__init__()
        self.points = [int(p) for p in points]
        semantic_weights(default, 1)  # checks 0 <= default <= 1
        self.default = float(default)
        self.current: Optional[Tensor] = None  # λ per image of the call in progress, if set
        self.scale = nn.ModuleList(nn.Linear(2, embed_dims) for _ in self.points)
        self.shift = nn.ModuleList(nn.Linear(2, embed_dims) for _ in self.points)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Near-identity start: small weights, scale bias softplus⁻¹(1), shift bias 0."""
        for scale, shift in zip(self.scale, self.shift):
            for layer, bias in ((scale, SOFTPLUS_INV_ONE), (shift, 0.0)):
                nn.init.trunc_normal_(layer.weight, std=0.02)
                nn.init.constant_(layer.bias, bias)

    def attach(self, layers: Sequence[nn.Module]) -> None:
        """Hook onto ``layers[p - 1]`` for every point ``p``."""
        if max(self.points) > len(layers) or min(self.points) < 1:
            raise ValueError(f'semantic controller points {self.points} must count 1..{len(layers)} blocks')
        for point in self.points:
            layers[point - 1].register_forward_hook(_PointHook(self, point))

    def forward(self, tokens: Tensor, point: int, weight: Optional[Tensor] = None) -> Tensor:
        """Condition ``tokens`` ``(B, N, D)`` at controlled block ``point`` on λ ``(B,)`` (default:
        the λ set for the call in progress, else ``default``)."""
        if weight is None:
            weight = self.current if self.current is not None else torch.full(
                (tokens.shape[0], ), self.default)
        weight = weight.to(device=tokens.device, dtype=tokens.dtype)
        pair = torch.stack([weight, 1.0 - weight], dim=-1)  # (B, 2)
        i = self.points.index(point)
        scale = F.softplus(self.scale[i](pair))[:, None]
        return tokens * scale + self.shift[i](pair)[:, None]


class _PointHook:
    """Forward hook of one controlled block: its output, conditioned."""

    def __init__(self, controller: SemanticController, point: int) -> None:
        self.controller = controller
        self.point = point

    def __call__(self, module: nn.Module, args, output: Tensor) -> Tensor:
        return self.controller(output, self.point)


__all__ = ['SemanticController', 'default_points', 'semantic_weights']
