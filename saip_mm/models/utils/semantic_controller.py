"""SOLIDER's semantic controller (Chen et al., CVPR 2023, §3.3): a scalar λ ∈ [0, 1] that conditions
the backbone, so that one pretrained encoder gives more appearance (λ → 0, e.g. ReID) or more semantic
information (λ → 1, e.g. pose, parsing, detection; SOLIDER supplementary §4).

λ enters as the pair ``(λ, 1 − λ)``; at each controlled point two linear maps of that pair give a
per-channel scale (through softplus) and shift of every token: ``h ← h · softplus(W_s·w + b_s) + (W_b·w
+ b_b)``. SOLIDER places the points after the four Swin stages. StarNet and TinyViT have four stages too,
so there the points are SOLIDER's (after each stage, at that stage's width); a ViT has no stages, so the
points are after the last block of each of four equal groups of blocks (ViT-Tiny: blocks 3, 6, 9, 12).

``SemanticControlled`` is what a backbone mixes in to take λ: the controller built from
``semantic_weight``, ``condition(h, point, weight)`` that the backbone's own stage loop calls after each
block or stage (λ is an argument of every forward path, never state kept between calls), a reset at
initialisation and the refusal of a controller checkpoint by a backbone built without one.

The maps start near the identity (the scale's bias at softplus⁻¹(1), small weights), unlike SOLIDER's
PyTorch default initialisation, so that a checkpoint loaded into a controlled backbone starts where it
was trained. "Near" is relative to the features: a freshly initialised StarNet's stage outputs are of
the order of the shift (about 0.02 per channel), so there the initial controller changes the network
noticeably (measured: the SOLIDER and DINO StarNet starts differ, docs/results.md).
"""
import math
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .pretrained import is_pretrained

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
    """Per-point scale and shift of the tokens from λ.

    The backbone's forward loops call it after the blocks / stages it controls (``SemanticControlled
    .condition``), so the blocks' parameter names stay those of the plain model.

    Args:
        embed_dims (int | Sequence[int]): Channels at the points: one width for all (a ViT's D) or one
            per point (a hierarchical encoder's stage widths).
        points (Sequence[int]): Blocks / stages after which the controller acts (counted from 1).
        default (float): λ when the caller sets none (the ``semantic_weight`` of the config).
    """

    def __init__(self, embed_dims: Union[int, Sequence[int]], points: Sequence[int], default: float) -> None:
        super().__init__()
        self.points = [int(p) for p in points]
        widths = [int(embed_dims)] * len(self.points) if isinstance(embed_dims, int) else list(embed_dims)
        if len(widths) != len(self.points):
            raise ValueError(f'semantic controller: {len(widths)} widths for {len(self.points)} points')
        semantic_weights(default, 1)  # checks 0 <= default <= 1
        self.default = float(default)
        self.scale = nn.ModuleList(nn.Linear(2, c) for c in widths)
        self.shift = nn.ModuleList(nn.Linear(2, c) for c in widths)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Near-identity start: small weights, scale bias softplus⁻¹(1), shift bias 0."""
        for scale, shift in zip(self.scale, self.shift):
            for layer, bias in ((scale, SOFTPLUS_INV_ONE), (shift, 0.0)):
                nn.init.trunc_normal_(layer.weight, std=0.02)
                nn.init.constant_(layer.bias, bias)

    def forward(self, tokens: Tensor, point: int, weight: Optional[Tensor] = None) -> Tensor:
        """Condition ``tokens`` at controlled point ``point`` on λ ``weight`` ``(B,)`` (None: ``default``).

        Args:
            tokens (Tensor): ``(B, N, C)`` tokens or a ``(B, C, H, W)`` map.

        Raises:
            ValueError: When the channels are not the point's width.
        """
        if weight is None:
            weight = torch.full((tokens.shape[0], ), self.default)
        weight = weight.to(device=tokens.device, dtype=tokens.dtype)
        pair = torch.stack([weight, 1.0 - weight], dim=-1)  # (B, 2)
        i = self.points.index(point)
        channel_dim = 1 if tokens.dim() == 4 else -1
        if tokens.shape[channel_dim] != self.scale[i].out_features:
            raise ValueError(f'semantic controller point {point} has width {self.scale[i].out_features}, '
                             f'its output has {tokens.shape[channel_dim]} channels {tuple(tokens.shape)}')
        view = (-1, tokens.shape[1], 1, 1) if tokens.dim() == 4 else (-1, 1, tokens.shape[-1])
        scale = F.softplus(self.scale[i](pair)).view(view)
        return tokens * scale + self.shift[i](pair).view(view)


class SemanticControlled:
    """Mixin for a backbone that takes SOLIDER's λ (put it first among the bases).

    The backbone calls ``init_semantic_controller`` in its constructor and, in its forward loops,
    ``semantic_weight_batch`` once per call and ``condition`` after every block / stage; then it has
    ``semantic_controller`` (None without ``semantic_weight``), a controller that restarts near the
    identity unless ``init_cfg`` loads a checkpoint, and a load pre-hook that refuses
    ``semantic_controller.*`` tensors into a backbone built without one (the network would silently
    differ from the one pretrained; ``strict=False`` loads would drop them).
    """
    semantic_controller: Optional[SemanticController]

    def init_semantic_controller(self, semantic_weight: Optional[float], widths: Union[int, Sequence[int]],
                                 num_layers: int, points: Optional[Sequence[int]] = None) -> None:
        """Build the controller when ``semantic_weight`` is set.

        Args:
            semantic_weight (float, optional): The default λ; None builds no controller.
            widths (int | Sequence[int]): Channels at the points (one for all, or one per point).
            num_layers (int): The blocks / stages that points count (from 1).
            points (Sequence[int], optional): Default: the last of each of four equal groups.
        """
        self.semantic_controller = None
        if semantic_weight is not None:
            points = [int(p) for p in (points or default_points(num_layers))]
            if max(points) > num_layers or min(points) < 1:
                raise ValueError(f'semantic controller points {points} must count 1..{num_layers} blocks')
            self.semantic_controller = SemanticController(widths, points, semantic_weight)
        elif points is not None:
            raise ValueError('semantic_points needs a semantic_weight (the controller is off without one)')
        self._register_load_state_dict_pre_hook(self._check_controller_keys)

    def init_weights(self) -> None:
        """The base initialisation (or checkpoint load); a new controller starts near the identity."""
        super().init_weights()
        if self.semantic_controller is not None and not is_pretrained(self.init_cfg):
            self.semantic_controller.reset_parameters()

    def semantic_weight_batch(self, weight: Optional[Union[float, Tensor]], batch: int,
                              device=None) -> Optional[Tensor]:
        """λ of one call per image ``(batch,)`` from a scalar or ``(batch,)`` ``weight``; None stays None
        (the controller then uses the config's λ).

        Raises:
            ValueError: A λ for a backbone without a controller, or outside [0, 1].
        """
        if weight is None:
            return None
        if self.semantic_controller is None:
            raise ValueError(f'semantic_weight given, but this {type(self).__name__} has no semantic '
                             'controller (build it with semantic_weight=<default λ>)')
        return semantic_weights(weight, batch, device)

    def controlled_stages(self, x: Tensor, stages: Sequence[nn.Module], weight: Optional[Tensor],
                          after_stage=None) -> Iterator[Tuple[int, nn.Module, Tensor]]:
        """Run ``stages`` on ``x``, yielding ``(index from 0, stage, output)`` where each output is
        conditioned on λ ``weight`` (``condition``) and then passed through ``after_stage(index, stage,
        output)`` when given (``TokenAdapter``'s re-masking); the next stage reads that output."""
        for i, stage in enumerate(stages):
            x = self.condition(stage(x), i + 1, weight)
            if after_stage is not None:
                x = after_stage(i, stage, x)
            yield i, stage, x

    def condition(self, h: Tensor, point: int, weight: Optional[Tensor]) -> Tensor:
        """The output ``h`` of block / stage ``point`` (counted from 1), conditioned on λ ``weight``
        ``(B,)`` (None: the config's λ) when the controller acts there; else ``h`` unchanged."""
        controller = self.semantic_controller
        if controller is None or point not in controller.points:
            return h
        return controller(h, point, weight)

    def _check_controller_keys(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        if self.semantic_controller is None and any(
                k.startswith(prefix + 'semantic_controller.') for k in state_dict):
            raise ValueError(f'the checkpoint has {prefix}semantic_controller.* (SOLIDER\'s lambda); build '
                             f'{type(self).__name__} with semantic_weight=<lambda in [0, 1]> to load it')


__all__ = ['SemanticControlled', 'SemanticController', 'default_points', 'semantic_weights']
