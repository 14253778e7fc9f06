"""PersonViT (Hu et al., 2024; SAIP Tables I–IV baseline): DINO + masked patch self-distillation.

Two objectives (PersonViT §3, eqs. 5–8) and one step of its own:

* DINO (eq. 4) is CSM on multi-crop views (``configs/baselines/dino``), except that the student sees its
  two global crops **masked**: block-wise masks whose patches take a learned mask token (eq. 5) — the
  step of this class (``prepare``), which owns the mask token;
* MIM (eq. 7, ``MaskedPatchDistill``): a second projector (MLP2 of eq. 6) maps the student's patch
  tokens at the masked positions, and the EMA teacher's on the intact crop at the same positions are
  their targets (``PatchDistillHead``: centred, sharpened, own centre);
* eq. 8: ``L = λ1 L_dino + λ2 L_mim`` with λ1 = λ2 = 1 (the two heads' ``loss_weight``).
"""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from torch import Tensor

from saip_mm.registry import MODELS

from ..backbones.saip_vit import SAIPViT
from ..objectives.base import Step
from ..objectives.csm import CSM
from ..utils.tokens import split_tokens
from .base import PretrainAlgorithm, check_dino_plus


@MODELS.register_module()
class PersonViT(PretrainAlgorithm):
    """DINO with masked student global crops and a patch-level distillation loss.

    Args:
        backbone (dict): The student; it must take a ``mask_token`` (``SAIPViT``).
        csm (dict): The DINO loss (``CSM``'s config without its type); its ``teacher_views`` are the
            global crops that the student sees masked.
        mim (dict): ``MaskedPatchDistill``'s config without its type (``neck``, ``head``, ``mask_ratio``,
            ``mask_prob``, ``mask_type``); its ``views`` and ``level`` are CSM's ``teacher_views`` and
            ``level``.
        csr, css, expert: As ``check_dino_plus`` asks (no CSR / CSS; an EMA teacher).
        **kwargs: ``PretrainAlgorithm``'s (``seed``, ``eval_cfg``, ...).
    """

    def __init__(self, backbone: dict, csm: dict, mim: dict, csr: Optional[dict] = None,
                 css: Optional[dict] = None, expert: Optional[dict] = dict(type='CosineEMAExpert'),
                 **kwargs) -> None:
        check_dino_plus('PersonViT', 'mim', csm, csr, css, expert)
        # the student sees the CSM teacher's views masked; the patch loss reads CSM's token level
        mim = dict(dict(type='MaskedPatchDistill'), **mim, level=csm.get('level', CSM.OPTIONS['level']),
                   views=csm.get('teacher_views', CSM.OPTIONS['teacher_views']))
        super().__init__(backbone=backbone, objectives=dict(csm=dict(dict(type='CSM'), **csm), mim=mim),
                         expert=expert, **kwargs)
        if not isinstance(self.backbone, SAIPViT):  # the student that takes a mask token
            raise ValueError(f'PersonViT masks patch embeddings with a mask token; '
                             f'{type(self.backbone).__name__}.forward_tokens takes none (use SAIPViT)')
        self.mask_token = nn.Parameter(torch.zeros(1, 1, self.backbone.embed_dims))

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def prepare(self, step: Step) -> None:
        """The student sees the global crops masked: ``mim``'s masks of this step (``encode_masked``)."""
        self.encode_masked(step, self.objectives['mim'].step_masks(step, self.backbone.patch_size))

    def encode_masked(self, step: Step, masks: Dict[int, Tensor]) -> None:
        """Set ``step.masks`` and the student's tokens of those crops (the mask token at the masked
        patches ``(B, L)``, every patch kept), one encoder call for all of them (they share a size)."""
        step.masks, ids = masks, list(masks)
        out = self.backbone.forward_tokens(torch.cat([step.images[i] for i in ids]),
                                           mask=torch.cat([masks[i] for i in ids]),
                                           mask_token=self.mask_token)
        step.student.update(zip(ids, split_tokens(out, [step.images[i].shape[0] for i in ids])))


__all__: List[str] = ['PersonViT']
