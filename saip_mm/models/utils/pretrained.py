"""Strict loading of an exported SAIP backbone through ``init_cfg=dict(type='Pretrained', ...)``."""
from typing import Callable, Optional

import torch.nn as nn


def load_pretrained_strict(module: nn.Module, init_cfg: dict,
                           prepare: Optional[Callable[[dict], None]] = None) -> None:
    """Load ``init_cfg['checkpoint']`` (tensors under ``init_cfg['prefix']``) into ``module``.

    Every tensor of ``module`` must be in the checkpoint; tensors the module does not have (e.g. a
    class token a headless model does not use) are ignored.

    Args:
        module (nn.Module): The backbone.
        init_cfg (dict): ``dict(type='Pretrained', checkpoint=..., prefix=...)``.
        prepare (callable, optional): Called with the prefix-stripped state dict before loading, to
            adapt it in place (e.g. resize a position embedding).

    Raises:
        KeyError: Listing the missing keys, when the checkpoint lacks any of the module's tensors.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    ckpt = CheckpointLoader.load_checkpoint(init_cfg['checkpoint'], map_location='cpu')
    state = ckpt.get('state_dict', ckpt)
    prefix = init_cfg.get('prefix', '')
    state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if prepare is not None:
        prepare(state)
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise KeyError(f'{init_cfg["checkpoint"]} lacks {len(result.missing_keys)} backbone tensor(s) '
                       f'under prefix {prefix!r}: {", ".join(result.missing_keys[:12])}'
                       + (' ...' if len(result.missing_keys) > 12 else ''))


def is_pretrained(init_cfg) -> bool:
    """Whether ``init_cfg`` asks for a checkpoint (``type='Pretrained'``)."""
    return isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained'


class StrictPretrainedInit:
    """Mixin for backbones (put it first among the bases): ``init_weights`` loads
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)`` with ``load_pretrained_strict``
    (a ``KeyError`` lists missing tensors) and otherwise runs the base class's initialisation."""

    def init_weights(self) -> None:
        if is_pretrained(self.init_cfg):
            load_pretrained_strict(self, self.init_cfg)
            self._is_init = True
        else:
            super().init_weights()
