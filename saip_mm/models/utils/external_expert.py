"""A frozen, larger pretrained expert encoder (SAIP*, paper §III-A, Table I).

The expert gives targets only. Its encoder is loaded from any checkpoint that an mmpretrain-style
backbone config loads (e.g. a ViT-Base under ``backbone.`` keys), is kept in eval mode and never
receives gradients. The CSM teacher head is still an EMA of the student's CSM projector, as in SAIP.
The expert's tokens are wider than the student's: ``make_projection`` builds the learned map to the
decoders' width, which the algorithm owns (it is trained with the decoders, outside the expert) and
applies where the tokens are consumed. Neither the expert nor the projection is part of the exported
student backbone.
"""
from typing import Optional

import torch
import torch.nn as nn

from saip_mm.registry import MODELS

from .expert_ema import CosineEMAExpert
from .pretrained import load_pretrained_strict
from .tokens import StudentTokens


class FrozenEncoder(nn.Module):
    """Wraps an encoder with ``forward_tokens``: always in eval mode, no gradients."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.encoder.requires_grad_(False)
        self.encoder.eval()

    def train(self, mode: bool = True) -> 'FrozenEncoder':
        """Stay in eval mode (no dropout / drop-path, fixed normalisation statistics)."""
        super().train(False)
        return self

    @torch.no_grad()
    def forward_tokens(self, x, mask=None, num_masked=None) -> StudentTokens:
        return self.encoder.forward_tokens(x, mask=mask, num_masked=num_masked)


@MODELS.register_module()
class ExternalExpert(CosineEMAExpert):
    """Frozen pretrained expert encoder + EMA copy of the student's CSM projector.

    Args:
        model (nn.Module): The student parts the expert mirrors (``backbone``, ``csm_neck``); only
            ``csm_neck`` is averaged.
        encoder (dict): Expert encoder config; it must provide ``forward_tokens`` (e.g.
            ``dict(type='SAIPViT', arch='b', img_size=(256, 128))``).
        checkpoint (str, optional): Checkpoint of the expert encoder; ``None`` keeps its own
            initialisation (tests only: a random expert gives meaningless targets).
        prefix (str): Prefix of the encoder tensors in the checkpoint. Defaults to ``'backbone.'``.
        out_channels (int): Token width of the student's decoders. Defaults to 192.
        **kwargs: EMA settings of ``CosineEMAExpert`` (``momentum``, ``end_momentum``).
    """

    def __init__(self, model: nn.Module, encoder: dict, checkpoint: Optional[str] = None,
                 prefix: str = 'backbone.', out_channels: int = 192, **kwargs) -> None:
        parts = nn.ModuleDict({k: v for k, v in model.items() if k != 'backbone'})
        super().__init__(parts, **kwargs)
        built = MODELS.build(encoder)
        self.width = int(getattr(built, 'embed_dims'))
        self.out_channels = out_channels
        self.checkpoint, self.prefix = checkpoint, prefix
        self.module['backbone'] = FrozenEncoder(built)

    def make_projection(self) -> nn.Module:
        """The learned map from the expert's token width to the decoders' width (owned by SAIP)."""
        if self.width == self.out_channels:
            return nn.Identity()
        return nn.Sequential(
            nn.Linear(self.width, self.out_channels), nn.LayerNorm(self.out_channels, eps=1e-6))

    def init_from(self, model: nn.Module) -> None:
        """Copy the student's averaged parts and load the frozen encoder's checkpoint (strictly)."""
        state = {k: v for k, v in model.state_dict().items() if not k.startswith('backbone.')}
        missing = self.module.load_state_dict(state, strict=False).missing_keys
        missing = [k for k in missing if not k.startswith('backbone.')]
        if missing:
            raise KeyError(f'the student lacks the expert parts {missing[:8]}')
        if self.checkpoint is not None:
            load_pretrained_strict(self.module['backbone'].encoder,
                                   dict(type='Pretrained', checkpoint=self.checkpoint, prefix=self.prefix))

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """EMA of the averaged parts only (the frozen encoder never changes)."""
        parts = nn.ModuleDict({k: v for k, v in model.items() if k != 'backbone'})
        super().update_parameters(parts)
