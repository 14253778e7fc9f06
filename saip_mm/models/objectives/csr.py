"""CSR, cross-scale reconstruction (SAIP eq. 2; MAE's loss without an anchor).

One view is masked; an encoder reads its visible patches (the queries) and ``CSRDecoder``
reconstructs the masked ones from them and the anchor's tokens (keys/values); ``CSRHead`` owns the
pixel loss. ``kv='none'`` is MAE: the decoder sees the view's own tokens only.
"""
from typing import Dict, List, Optional

import torch
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.masking import draw_patch_mask, exact_mask_count
from ..utils.randomness import host_randint
from .base import BaseObjective, Step
from .options import validate_options
from .reconstruction import RECONSTRUCTION_OPTIONS, reconstruct


@MODELS.register_module()
class CSR(BaseObjective):
    """Cross-scale reconstruction.

    Args:
        neck (dict): ``CSRDecoder`` (``memory=False`` for ``kv='none'``).
        head (dict): ``CSRHead`` (patch size, normalised pixels).
        name (str): The objective's key. Defaults to ``'csr'``.
        **options: ``level='mid'``; ``view_index=None``: the masked view is ``views[view_index]``
            (counted among the views from 0, negative from the end; None = a random view each step; a
            list = a random one of those); ``kv``: what the decoder attends to (``'patches'``: the
            anchor's patch tokens, ``'cls'``: its global token, the code; ``'none'``: nothing, MAE);
            ``mask_ratio=0.75`` and ``mask_type='random'`` (or ``'block'``, HAP's human prior): the one
            setting of the masks (the data preprocessor draws the views' masks with them); and the
            reconstruction options (``reconstruction.py``): ``query_encoder``, ``encode_masked``,
            ``query_global``.
    """
    OPTIONS = dict(level='mid', kv='patches', view_index=None, mask_ratio=0.75, mask_type='random',
                   **RECONSTRUCTION_OPTIONS)
    LEGACY_NAMES = {'csr_neck': 'neck', 'csr_head': 'head'}

    def __init__(self, neck: dict, head: dict, name: str = 'csr', **options) -> None:
        super().__init__(name, options, neck=neck, head=head)
        if (self.cfg['kv'] == 'none') == self.neck.memory:  # every CSR neck states whether it reads keys
            raise ValueError(f"model.{name}.kv={self.cfg['kv']!r} needs model.{name}.neck.memory="
                             f"{not self.neck.memory} (a decoder {'without' if self.neck.memory else 'with'} "
                             'key/value inputs)')

    @classmethod
    def preprocessor_options(cls, name: str, cfg: dict) -> Dict[str, object]:
        """``mask_ratio`` and ``mask_type``: the data preprocessor draws the views' masks with them."""
        options = validate_options(name, {k: v for k, v in cfg.items() if k not in ('type', *cls.UNITS)},
                                   cls.OPTIONS, extra=cls.UNITS)
        return {k: options[k] for k in ('mask_ratio', 'mask_type')}

    def student_views(self, num_images: int) -> List[int]:
        return [] if self.cfg['kv'] == 'none' else [0]  # keys/values: the anchor

    def expert_readers(self) -> List[str]:
        return [f"model.{self.name}.query_encoder='expert'"] if self.cfg['query_encoder'] == 'expert' else []

    def loss(self, step: Step) -> Dict[str, Tensor]:
        """``loss_<name>``: the masked patches of one view reconstructed."""
        return {f'loss_{self.name}': self.head.loss(*self.forward(step))}

    def forward(self, step: Step) -> tuple:
        """The decoder pass: ``(pred (B, L_masked, p*p*3), target view (B, 3, H, W), mask (B, L))``;
        the view's mask comes from the batch (``view_masks``, with their counts in ``mask_counts``)
        or is drawn here."""
        cfg, views = self.cfg, step.images[1:]
        gen = step.generator()
        t = cfg['view_index']
        if t is None:
            t = host_randint(len(views), gen) if views else 0
        elif isinstance(t, (list, tuple)):  # a random one of these views each step
            t = int(t[host_randint(len(t), gen)]) % len(views)
        elif views:
            t = t % len(views)
        target = views[t] if views else step.images[0]
        grid = (target.shape[-2] // self.head.patch_size, target.shape[-1] // self.head.patch_size)
        masks = step.inputs.get('view_masks')
        if masks:
            mask = masks[t].to(target.device)
            counts = step.inputs.get('mask_counts', {}).get('view_masks')
            num_masked: Optional[int] = counts[t] if counts else None
            if num_masked == 0:  # a host count from the workers: no device read
                raise ValueError(f'model.{self.name} reconstructs view {t}, but its view_masks entry masks '
                                 'nothing: the pipeline\'s RandomPatchMask(views=...) must include it')
        else:
            mask = draw_patch_mask(cfg['mask_type'], target.shape[0], grid, cfg['mask_ratio'], gen,
                                   target.device)
            num_masked = exact_mask_count(grid[0] * grid[1], cfg['mask_ratio'])
        kv = None  # kv='none' (MAE): the decoder attends to the view's own tokens only
        if cfg['kv'] != 'none':
            anchor = step.student[0][cfg['level']]
            kv = anchor[1] if cfg['kv'] == 'patches' else anchor[0][:, None]
        pred, _ = reconstruct(self.neck, self.head.patch_size, cfg, step, target, mask, kv, num_masked)
        return pred, target, mask

    @torch.no_grad()
    def outputs(self, step: Step) -> tuple:
        """What it predicts, for the visualisation: ``forward``'s ``(pred, target view, mask)``."""
        return self.forward(step)


__all__ = ['CSR']
