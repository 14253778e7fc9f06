"""SAIP: Scale-Aware Image Pretraining (paper §III, spec §1–§7).

The algorithm orchestrates: it runs the student (image encoder) and the expert once per input, and
hands tokens to the three objectives, each a decoder (neck) plus a head that owns its loss:

* CSM (eq. 1): global tokens → ``CSMProjector`` → ``CSMHead`` (DINO cross-entropy across scales);
* CSR (eq. 2): masked view (queries) + anchor tokens (keys/values) → ``CSRDecoder`` → ``CSRHead``;
* CSS (eq. 3): view tokens (queries) + expert canvas tokens → ``CSSDecoder`` → ``CSSHead``.

Any objective whose config is ``None`` is not built (Table IV ablations are configs).
"""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmpretrain.models import BaseSelfSupervisor
from torch import Tensor

from saip_mm.registry import MODELS
from ..backbones.saip_vit import random_patch_mask
from ..heads.csr_head import masked_indices

LEVELS = ('final', 'mid')


@MODELS.register_module()
class SAIP(BaseSelfSupervisor):
    """SAIP pretraining algorithm.

    Args:
        backbone (dict): The student image encoder (``SAIPViT`` or a token adapter).
        csm (dict, optional): ``dict(neck=..., head=..., level='final')``; ``None`` disables CSM.
        csr (dict, optional): ``dict(neck=..., head=..., level='mid', query_encoder='expert',
            kv='patches', view_index=None, mask_ratio=0.75)``; ``view_index=None`` masks a random
            view each step, an int always that view; ``None`` disables CSR.
        css (dict, optional): ``dict(neck=..., head=..., level='mid')``; ``None`` disables CSS.
        expert (dict): ``dict(type='CosineEMAExpert', momentum=0.996, end_momentum=1.0)``, or
            ``dict(type='ExternalExpert', encoder=..., checkpoint=...)`` for a frozen pretrained expert
            (SAIP*), whose tokens pass through the learned ``expert_proj`` where they are consumed.
        seed (int): Base seed of the model-side randomness (the CSR view and online masks), which is
            drawn from ``(seed, step)`` so that a resumed run repeats it exactly.
        data_preprocessor (dict, optional): Defaults to ``SAIPDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 csm: Optional[dict] = None,
                 csr: Optional[dict] = None,
                 css: Optional[dict] = None,
                 expert: dict = dict(type='CosineEMAExpert'),
                 seed: int = 0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = data_preprocessor or dict(type='SAIPDataPreprocessor')
        super().__init__(backbone=backbone, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if csm is None and csr is None and css is None:
            raise ValueError('SAIP needs at least one of csm, csr, css')
        self.csm_cfg, self.csr_cfg, self.css_cfg = (self._objective(c) for c in (csm, csr, css))
        self.csm_neck = MODELS.build(csm['neck']) if csm else None
        self.csm_head = MODELS.build(csm['head']) if csm else None
        self.csr_neck = MODELS.build(csr['neck']) if csr else None
        self.csr_head = MODELS.build(csr['head']) if csr else None
        self.css_neck = MODELS.build(css['neck']) if css else None
        self.css_head = MODELS.build(css['head']) if css else None
        self.expert = MODELS.build(dict(expert, model=self.student_for_expert()))
        # expert tokens -> decoder width (identity for the EMA expert; learned for an external one)
        self.expert_proj = self.expert.make_projection()
        self.seed = seed
        self.register_buffer('step', torch.zeros((), dtype=torch.long))

    @staticmethod
    def _objective(cfg: Optional[dict]) -> Optional[dict]:
        if cfg is None:
            return None
        out = {k: v for k, v in cfg.items() if k not in ('neck', 'head')}
        level = out.get('level', 'mid')
        if level not in LEVELS:
            raise ValueError(f'token level must be one of {LEVELS}, got {level!r}')
        return out

    # ---------------------------------------------------------------- expert
    def student_for_expert(self) -> nn.ModuleDict:
        """The student modules that the EMA expert mirrors (encoder, and the CSM projector)."""
        parts = dict(backbone=self.backbone)
        if self.csm_neck is not None:
            parts['csm_neck'] = self.csm_neck
        return nn.ModuleDict(parts)

    def init_weights(self) -> None:
        """Initialise the student, then start the expert as an exact copy of it."""
        super().init_weights()
        self.expert.init_from(self.student_for_expert())

    @torch.no_grad()
    def update_expert(self) -> None:
        """One EMA update of the expert from the student (call once per optimizer step)."""
        self.expert.update_parameters(self.student_for_expert())

    # ---------------------------------------------------------------- helpers
    def extract_feat(self, inputs: Tensor, **kwargs) -> tuple:
        """Backbone features of an image batch (mmpretrain's ``tensor`` mode)."""
        return self.backbone(inputs)

    def _generator(self) -> torch.Generator:
        gen = torch.Generator()
        gen.manual_seed(self.seed * 1000003 + int(self.step))
        return gen

    @staticmethod
    def encode_views(encoder: nn.Module, images: Sequence[Tensor]) -> List[dict]:
        """Encode several views, one encoder call per distinct image size.

        Views of one size are concatenated along the batch, so that e.g. 8 local crops cost one
        forward of 8·B images instead of 8 forwards of B (token-wise identical: ViT has no batch
        statistics).

        Returns:
            list[dict]: Per view, ``forward_tokens``' output for that view.
        """
        groups: Dict[tuple, List[int]] = defaultdict(list)
        for i, img in enumerate(images):
            groups[tuple(img.shape[-2:])].append(i)
        outs: List[Optional[dict]] = [None] * len(images)
        for idx in groups.values():
            batch = torch.cat([images[i] for i in idx]) if len(idx) > 1 else images[idx[0]]
            out = encoder.forward_tokens(batch)
            sizes = [images[i].shape[0] for i in idx]
            split = {lvl: [t.split(sizes) for t in out[lvl]] for lvl in LEVELS}
            for j, i in enumerate(idx):
                outs[i] = dict(grid=out['grid'], keep=None,
                               **{lvl: (split[lvl][0][j], split[lvl][1][j]) for lvl in LEVELS})
        return outs

    @staticmethod
    def project(projector: nn.Module, tokens: Sequence[Tensor]) -> List[Tensor]:
        """Apply the CSM projector once to the global tokens of all views (its weight-normalised
        65536-wide layer is then normalised once per step, not once per view)."""
        return list(projector(torch.cat(list(tokens))).split([t.shape[0] for t in tokens]))

    @staticmethod
    def _with_global(pair) -> Tensor:
        glob, patches = pair
        return torch.cat([glob[:, None], patches], dim=1)

    # ---------------------------------------------------------------- loss
    def loss(self, inputs: Dict[str, object], data_samples: Optional[list] = None,
             **kwargs) -> Dict[str, Tensor]:
        """Compute the enabled SAIP losses.

        Args:
            inputs (dict): From ``SAIPDataPreprocessor``: ``anchor (B,3,H,W)``, ``views`` (list of
                ``(B,3,Ht,Wt)``), optional ``view_masks`` (list of bool ``(B, Lt)``), ``canvas``
                ``(B,3,Hc,Wc)`` and ``canvas_target`` ``(B, rows, cols)``.
            data_samples (list, optional): Unused.

        Returns:
            dict: ``loss_csm``, ``loss_csr``, ``loss_css`` for the enabled objectives.
        """
        gen = self._generator()
        anchor, views = inputs['anchor'], list(inputs['views'])
        images = [anchor] + views
        student = self.encode_views(self.backbone, images)
        expert = self.expert.module
        losses: Dict[str, Tensor] = {}

        if self.csm_cfg is not None:
            level = self.csm_cfg.get('level', 'final')
            teacher_views = list(self.csm_cfg.get('teacher_views', [0]))
            s_logits = self.project(self.csm_neck, [out[level][0] for out in student])
            with torch.no_grad():
                t_out = self.encode_views(expert.backbone, [images[v] for v in teacher_views])
                t_logits = self.project(expert.csm_neck, [self.expert_proj(out[level][0]) for out in t_out])
            losses['loss_csm'] = self.csm_head.loss(s_logits, t_logits, teacher_views)

        if self.csr_cfg is not None:
            level = self.csr_cfg.get('level', 'mid')
            t = self.csr_cfg.get('view_index')
            if t is None:
                t = int(torch.randint(len(views), (1,), generator=gen)) if views else 0
            elif views:
                t = t % len(views)
            target = views[t] if views else anchor
            grid = student[t + 1]['grid'] if views else student[0]['grid']
            masks = inputs.get('view_masks')
            if masks:
                mask = masks[t].to(target.device)
            else:
                mask = random_patch_mask(target.shape[0], grid[0] * grid[1],
                                         self.csr_cfg.get('mask_ratio', 0.75), gen, target.device)
            if self.csr_cfg.get('query_encoder', 'expert') == 'expert':
                with torch.no_grad():
                    q = expert.backbone.forward_tokens(target, mask=mask)
                queries = self.expert_proj(q[level][1])
            else:
                q = self.backbone.forward_tokens(target, mask=mask)
                queries = q[level][1]
            kv_source = self.csr_cfg.get('kv', 'patches')
            kv = student[0][level][1] if kv_source == 'patches' else student[0][level][0][:, None]
            pred = self.csr_neck(queries, q['keep'], grid, kv, predict=masked_indices(mask))
            losses['loss_csr'] = self.csr_head.loss(pred, target, mask)

        if self.css_cfg is not None:
            level = self.css_cfg.get('level', 'mid')
            with torch.no_grad():
                canvas = expert.backbone.forward_tokens(inputs['canvas'])
            queries = [self._with_global(out[level]) for out in student[1:]] or \
                [self._with_global(student[0][level])]
            logits = self.css_neck(queries, self.expert_proj(canvas[level][1]), canvas['grid'])
            losses['loss_css'] = self.css_head.loss(logits, inputs['canvas_target'])

        self._check_finite(losses)
        self.step += 1
        return losses

    def _check_finite(self, losses: Dict[str, Tensor]) -> None:
        for name, value in losses.items():
            if not torch.isfinite(value).all():
                raise FloatingPointError(
                    f'{name} is not finite ({float(value)}) at model step {int(self.step)}; training '
                    'stopped. The last checkpoint in the work dir was written before this step.')


__all__: List[str] = ['SAIP']
