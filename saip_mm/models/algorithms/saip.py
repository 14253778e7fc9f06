"""SAIP: Scale-Aware Image Pretraining (paper §III, Fig. 3; appendix A).

The algorithm orchestrates: it runs the student (image encoder) and the expert once per input, and
hands tokens to the three objectives, each a decoder (neck) plus a head that owns its loss:

* CSM (eq. 1): global tokens → ``CSMProjector`` → ``CSMHead`` (DINO cross-entropy across scales);
* CSR (eq. 2): masked view (queries) + anchor tokens (keys/values) → ``CSRDecoder`` → ``CSRHead``;
* CSS (eq. 3): view tokens (queries) + expert canvas tokens → ``CSSDecoder`` → ``CSSHead``.

Any objective whose config is ``None`` is not built (Table IV ablations are configs).
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmpretrain.models import BaseSelfSupervisor
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.host_counter import add_host_counter
from ..utils.masking import (
    blank_patches,
    code_encoder_mask,
    draw_patch_mask,
    exact_mask_count,
    masked_indices,
)
from ..utils.randomness import host_randint, step_generator
from ..utils.retrieval import retrieval_features
from ..utils.tokens import encode_views
from .options import (
    EVAL_OPTIONS,
    LEVELS,
    check_csr_memory,
    expert_readers,
    objective_options,
    preprocessor_with_mask_options,
    validate_options,
)


@MODELS.register_module()
class SAIP(BaseSelfSupervisor):
    """SAIP pretraining algorithm.

    Views are numbered as images: ``0`` is the anchor, ``1..N`` the multi-resolution views in the
    order the pipeline / data preprocessor gives them.

    Args:
        backbone (dict): The student image encoder (``SAIPViT`` or a token adapter).
        csm (dict, optional): ``dict(neck=..., head=..., level='final', teacher_views=(0,),
            student_views=None, koleo=None)``: the expert encodes ``teacher_views`` and the student
            ``student_views`` (``None`` = all images); every (teacher, student) pair of different
            images is a term of eq. 1. The default is the authors' code (expert on the anchor,
            student on the views); ``teacher_views=[1, 2], student_views=[0]`` is the paper's text
            (student on the anchor, expert on the views). ``koleo=dict(type='KoLeoLoss',
            loss_weight=0.1)`` adds DINOv2's KoLeo regulariser on the student's global tokens of each
            student view (an anti-collapse option, part of ``loss_csm``; logged as ``csm_koleo``).
            ``None`` disables CSM.
        csr (dict, optional): ``dict(neck=..., head=..., level='mid', query_encoder='expert', kv='patches',
            view_index=None, mask_ratio=0.75)``; the masked view is ``views[view_index]`` (counted among the
            views from 0, negative from the end; ``None`` = a random view each step; a list = a random one of
            those each step); ``query_encoder`` encodes its visible patches (``'expert'``: paper eq. 2,
            ``'student'``: the authors' code); ``kv`` is what the decoder attends to (``'patches'``: the
            anchor's patch tokens, ``'cls'``: its global token, the code; ``'none'``: nothing, the decoder
            sees the masked view's own tokens, as MAE's, and its neck is built with ``memory=False``).
            ``mask_ratio`` and ``mask_type`` (``'random'``, or ``'block'``: block-wise, HAP's human prior) are
            the one setting of the masks: the data preprocessor draws the views' masks with them (masks made
            in the pipeline, as in the code-faithful preset, come from its ``RandomPatchMask``).
            ``encode_masked``: ``'drop'`` encodes the visible patches only (MAE); ``'all'`` encodes the whole
            view with the masked patches blanked (set to 0, the mean colour after normalisation), as needed
            for masks up-sampled from another grid, whose masked count varies; ``'code'`` encodes the
            patches the authors' code gathers for such a mask (``code_encoder_mask``: a fixed count, kept
            ones first, so some visible ones are dropped or some masked ones encoded). ``query_global``:
            the masked view's own global token goes into a ``'self'`` decoder before the anchor's (the
            code). ``None`` disables CSR.
        css (dict, optional): ``dict(neck=..., head=..., level='mid', query_views=None)``; the
            student's tokens of ``query_views`` (default: all views) search the expert's canvas
            tokens; a ``(B, Q, rows, cols)`` target gives each query its own instance. ``None``
            disables CSS.
        expert (dict): ``dict(type='CosineEMAExpert', momentum=0.996, end_momentum=1.0)``, or
            ``dict(type='ExternalExpert', encoder=..., checkpoint=...)`` for a frozen pretrained expert
            (SAIP*), whose tokens pass through a learned projection per token level
            (``expert_proj['final']`` for CSM, ``expert_proj['mid']`` for CSR/CSS).
            ``None``: no expert (MAE), when no option reads one.
        seed (int): Base seed of the model-side randomness (the CSR view and online masks), drawn
            from ``(seed, rank, step)`` so that a resumed run repeats it exactly.
        eval_cfg (dict, optional): What ``predict`` mode (the retrieval evaluation) extracts:
            ``dict(scales=(0.75, 1.0, 1.5), feature='global', encoder='student', level='final')``;
            ``feature`` is ``'global'``, ``'patches'`` (pooled patch tokens) or ``'both'``; ``level``
            is ``'final'`` or ``'mid'`` (the block CSR / CSS read); scale 1.0 must be among the scales
            (it gives ``pred_feature``); ``csm_diagnostics`` (default True) adds CSM's collapse
            diagnostics (``csm_diagnostics``).
        data_preprocessor (dict, optional): Defaults to ``SAIPDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.

    Raises:
        ValueError: On an unknown objective option or option value (a typo must not pass silently).
    """

    def __init__(self,
                 backbone: dict,
                 csm: Optional[dict] = None,
                 csr: Optional[dict] = None,
                 css: Optional[dict] = None,
                 expert: Optional[dict] = dict(type='CosineEMAExpert'),
                 seed: int = 0,
                 eval_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if csm is None and csr is None and css is None:
            raise ValueError('SAIP needs at least one of csm, csr, css')
        csm_cfg, csr_cfg, css_cfg = (
            objective_options(name, c) for name, c in (('csm', csm), ('csr', csr), ('css', css)))
        data_preprocessor = preprocessor_with_mask_options(
            csr_cfg, data_preprocessor or dict(type='SAIPDataPreprocessor'))
        super().__init__(backbone=backbone, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.csm_cfg, self.csr_cfg, self.css_cfg = csm_cfg, csr_cfg, css_cfg
        self.csm_neck = MODELS.build(csm['neck']) if csm else None
        self.csm_head = MODELS.build(csm['head']) if csm else None
        self.koleo = MODELS.build(self.csm_cfg['koleo']) if csm and self.csm_cfg['koleo'] else None
        self.csr_neck = MODELS.build(csr['neck']) if csr else None
        self.csr_head = MODELS.build(csr['head']) if csr else None
        self.css_neck = MODELS.build(css['neck']) if css else None
        self.css_head = MODELS.build(css['head']) if css else None
        self.eval_cfg = validate_options('eval_cfg', eval_cfg or {}, EVAL_OPTIONS)
        if 1.0 not in [float(x) for x in self.eval_cfg['scales']]:
            raise ValueError(f"model.eval_cfg.scales must contain 1.0, got {self.eval_cfg['scales']}")
        self.build_extra_units()
        self.expert = None
        if expert is None:
            readers = expert_readers(self.csm_cfg, self.csr_cfg, self.css_cfg, self.eval_cfg)
            if readers:
                raise ValueError(f"model.expert=None, but {', '.join(readers)} read(s) the expert")
        else:
            self.expert = MODELS.build(dict(expert, model=self.student_for_expert()))
        # expert tokens -> decoder width, one map per token level (identity for the EMA expert;
        # learned for an external one: its final-norm and mid-block tokens differ in statistics)
        self.expert_proj = nn.ModuleDict(
            {lvl: self.expert.make_projection() for lvl in LEVELS} if self.expert is not None else {})
        self.seed = seed
        add_host_counter(self, 'step')  # optimizer steps taken (saved in checkpoints, read on the host)
        if self.csr_cfg is not None:
            check_csr_memory(self.csr_cfg, self.csr_neck)

    def build_extra_units(self) -> None:
        """Build a subclass's own units before the expert is built (so that the expert can mirror
        them through ``student_for_expert``); nothing here."""

    # ---------------------------------------------------------------- expert
    def student_for_expert(self) -> nn.ModuleDict:
        """The student modules that the EMA expert mirrors (encoder, and the CSM projector)."""
        parts = dict(backbone=self.backbone)
        if self.csm_neck is not None:
            parts['csm_neck'] = self.csm_neck
        return nn.ModuleDict(parts)

    def init_weights(self) -> None:
        """Initialise the student, then start the expert as an exact copy of it.

        The random draws come from their own stream seeded with ``seed``, so the initial weights are a
        function of the config alone (``eval_backbone.py none`` rebuilds the exact initialisation a run
        started from, whatever the runner drew before)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            super().init_weights()
        if self.expert is not None:
            self.expert.init_from(self.student_for_expert())

    @torch.no_grad()
    def update_expert(self) -> None:
        """One EMA update of the expert from the student (call once per optimizer step; nothing
        without an expert)."""
        if self.expert is not None:
            self.expert.update_parameters(self.student_for_expert())

    # ---------------------------------------------------------------- helpers
    def extract_feat(self, inputs: Tensor, **kwargs) -> tuple:
        """Backbone features of an image batch (mmpretrain's ``tensor`` mode)."""
        return self.backbone(inputs)

    def forward(self, inputs, data_samples: Optional[list] = None, mode: str = 'tensor'):
        """mmpretrain's ``tensor`` and ``loss`` modes, plus ``predict`` (retrieval features)."""
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: list) -> list:
        """Retrieval features of an evaluation batch (``eval_cfg``).

        Args:
            inputs (Tensor): Normalised images ``(B, 3, H, W)``.
            data_samples (list): One data sample per image.

        Returns:
            list: The data samples with ``pred_feature`` ``(C,)`` (scale 1.0) and
            ``pred_scale_features`` ``(S, C)`` (every scale of ``eval_cfg.scales``, in order), and the
            metainfo ``eval_scales``; with CSM also its collapse diagnostics (``csm_diagnostics``).
        """
        cfg = self.eval_cfg
        encoder = self.backbone if cfg['encoder'] == 'student' else self.expert.module.backbone
        scales = [float(x) for x in cfg['scales']]
        feats = retrieval_features(encoder, inputs, scales, cfg['feature'], level=cfg['level'])
        base = scales.index(1.0)
        diagnostics = {}
        if cfg['csm_diagnostics'] and self.csm_cfg is not None and self.expert is not None:
            diagnostics = self.csm_diagnostics(inputs)
        for i, (sample, feat) in enumerate(zip(data_samples, feats)):
            sample.set_field(feat[base], 'pred_feature')
            sample.set_field(feat, 'pred_scale_features')
            for key, value in diagnostics.items():
                sample.set_field(value[i], f'pred_{key}')
            sample.set_metainfo(dict(eval_scales=scales))
        return data_samples

    @torch.no_grad()
    def csm_diagnostics(self, inputs: Tensor) -> Dict[str, Tensor]:
        """CSM's collapse diagnostics on a batch of (evaluation) images ``(B, 3, H, W)``:
        ``csm_bottleneck`` ``(B, D)``, the student's L2-normalised bottleneck features (their mean
        pairwise cosine tends to 1 as every image maps to one point), and ``csm_teacher_entropy``
        ``(B,)``, the entropy / ln K of the expert's targets with the centring caught up on this batch
        (near its value at initialisation: the teacher is still the random one)."""
        level = self.csm_cfg['level']
        student = self.backbone.forward_tokens(inputs)[level][0]
        expert = self.expert.module
        teacher = self.expert_proj[level](expert.backbone.forward_tokens(inputs)[level][0])
        targets = self.csm_head.caught_up_targets(expert.csm_neck(teacher), self.step.value)
        entropy = -(targets * torch.log(targets.clamp(min=1e-12))).sum(-1) / math.log(targets.shape[-1])
        return dict(csm_bottleneck=self.csm_neck.bottleneck(student), csm_teacher_entropy=entropy)

    def _generator(self) -> torch.Generator:
        return step_generator(self.seed, self.step.value)

    # several views, one encoder call per distinct size (``models/utils/tokens.py``)
    encode_views = staticmethod(encode_views)

    @staticmethod
    def project(projector: nn.Module, tokens: Sequence[Tensor]) -> List[Tensor]:
        """Apply the CSM projector once to the global tokens of all views (its weight-normalised
        65536-wide layer is then normalised once per step, not once per view)."""
        return list(projector(torch.cat(list(tokens))).split([t.shape[0] for t in tokens]))

    @staticmethod
    def _with_global(pair) -> Tensor:
        glob, patches = pair
        return torch.cat([glob[:, None], patches], dim=1)

    # ---------------------------------------------------------------- which views go where
    def csm_views(self, num_images: int) -> List[int]:
        """Images the student encodes for CSM."""
        views = self.csm_cfg['student_views']
        return list(range(num_images)) if views is None else [v % num_images for v in views]

    def css_views(self, num_images: int) -> List[int]:
        """Images whose student tokens search the canvas (CSS queries)."""
        views = self.css_cfg['query_views']
        if views is None:
            return list(range(1, num_images)) or [0]
        return [v % num_images for v in views]

    def student_views(self, num_images: int) -> List[int]:
        """All images the student encodes in its multi-view pass (the CSR view is encoded apart)."""
        needed = set()
        if self.csm_cfg is not None:
            needed.update(self.csm_views(num_images))
        if self.css_cfg is not None:
            needed.update(self.css_views(num_images))
        if self.csr_cfg is not None and self.csr_cfg['kv'] != 'none':
            needed.add(0)  # keys/values of CSR: the anchor
        return sorted(needed)

    # ---------------------------------------------------------------- loss (paper Fig. 3)
    def loss(self, inputs: Dict[str, object], data_samples: Optional[list] = None,
             **kwargs) -> Dict[str, Tensor]:
        """The loss frame, the same for every method: the step's losses (``step_losses``), the
        finiteness check of all terms at once, and the step counter (which the model-side draws and the
        τt schedule read).

        Args:
            inputs (dict): The preprocessed batch (``step_losses``).
            data_samples (list, optional): Unused.

        Returns:
            dict: ``loss_*`` terms (summed by mmengine) and logged-only scalars.
        """
        losses = self.step_losses(inputs)
        self._check_finite(losses)
        self.step.advance()
        return losses

    def step_losses(self, inputs: Dict[str, object]) -> Dict[str, Tensor]:
        """Compute the enabled SAIP losses (a method with its own step overrides this, not ``loss``).

        Args:
            inputs (dict): From ``SAIPDataPreprocessor``: ``anchor (B,3,H,W)``, optional ``views``
                (list of ``(B,3,Ht,Wt)``; none for a one-image pipeline, e.g. MAE's), optional
                ``view_masks`` (list of bool ``(B, Lt)``) with ``mask_counts['view_masks']`` (their
                masked count per row, or None where unknown), ``canvas`` ``(B,3,Hc,Wc)`` and
                ``canvas_target`` ``(B, rows, cols)`` or ``(B, Q, rows, cols)``.

        Returns:
            dict: ``loss_csm``, ``loss_csr``, ``loss_css`` for the enabled objectives.
        """
        images = [inputs['anchor']] + list(inputs.get('views', []))
        ids = self.student_views(len(images))
        student = dict(zip(ids, self.encode_views(self.backbone, [images[i] for i in ids])))
        return self.objective_losses(images, student, inputs)

    def objective_losses(self, images: List[Tensor], student: Dict[int, dict],
                         inputs: Dict[str, object]) -> Dict[str, Tensor]:
        """One term per enabled objective (paper Fig. 3); the extension point for new objectives.

        Args:
            images (list[Tensor]): The anchor ``(B,3,H,W)`` then the views ``(B,3,Ht,Wt)``.
            student (dict): Per image index in ``student_views``, the student's tokens:
                ``{'final': (global (B,C), patches (B,L,C)), 'mid': (...), 'grid': (rows, cols)}``.
            inputs (dict): The preprocessed batch (``view_masks``, ``canvas``, ``canvas_target``).

        Returns:
            dict: ``loss_*`` terms (summed by mmengine) and logged-only scalars.
        """
        losses: Dict[str, Tensor] = {}
        if self.csm_cfg is not None:
            losses['loss_csm'] = self.loss_csm(images, student)
            # logged, not summed (no 'loss' in the name): the collapse monitor of CSMHead
            losses.update(self.csm_monitors())
        if self.csr_cfg is not None:
            losses['loss_csr'] = self.loss_csr(images, student, inputs.get('view_masks'),
                                               inputs.get('mask_counts', {}).get('view_masks'))
        if self.css_cfg is not None:
            losses['loss_css'] = self.loss_css(images, student, inputs['canvas'],
                                               inputs['canvas_target'])
        return losses

    @torch.no_grad()
    def objective_outputs(self, inputs: Dict[str, object]) -> Dict[str, tuple]:
        """What CSR and CSS predict for a preprocessed training batch (diagnostics, no loss):
        ``csr``: ``forward_csr``'s ``(pred, target view, mask)``; ``css``: ``(logits, canvas, target)``."""
        images = [inputs['anchor']] + list(inputs.get('views', []))
        ids = self.student_views(len(images))
        student = dict(zip(ids, self.encode_views(self.backbone, [images[i] for i in ids])))
        out = {}
        if self.csr_cfg is not None:
            out['csr'] = self.forward_csr(images, student, inputs.get('view_masks'),
                                          inputs.get('mask_counts', {}).get('view_masks'))
        if self.css_cfg is not None:
            out['css'] = (self.forward_css(images, student, inputs['canvas']), inputs['canvas'],
                          inputs['canvas_target'])
        return out

    def csm_monitors(self) -> Dict[str, Tensor]:
        """The CSM head's collapse monitor of the last step as ``csm_*`` logs (no ``loss`` in the names:
        logged, not summed)."""
        return {f'csm_{k}': v for k, v in self.csm_head.monitor.items()}

    def teacher_ids(self, num_images: int) -> List[int]:
        """Images the expert encodes for CSM."""
        return [v % num_images for v in self.csm_cfg['teacher_views']]

    def loss_csm(self, images: List[Tensor], student: Dict[int, dict],
                 teacher: Optional[List[dict]] = None) -> Tensor:
        """Eq. 1: the expert's prototypes on ``teacher_views`` are the targets of the student's on
        ``student_views`` (final-norm global tokens through the image-level decoder). ``teacher``:
        the expert's tokens of ``teacher_views`` when already encoded (another objective reads them
        too), else they are encoded here."""
        level = self.csm_cfg['level']
        s_ids = self.csm_views(len(images))
        t_ids = self.teacher_ids(len(images))
        tokens = [student[i][level][0] for i in s_ids]
        bottleneck = self.csm_neck.bottleneck(torch.cat(tokens))
        logits = self.csm_neck.prototypes(bottleneck, self.step.value)  # the freeze acts at this step
        s_logits = list(logits.split([t.shape[0] for t in tokens]))
        expert = self.expert.module
        with torch.no_grad():
            t_out = teacher or self.encode_views(expert.backbone, [images[i] for i in t_ids])
            proj = self.expert_proj[level]
            t_logits = self.project(expert.csm_neck, [proj(out[level][0]) for out in t_out])
        loss = self.csm_head.loss(s_logits, t_logits, t_ids, s_ids,
                                  student_bottleneck=bottleneck[:tokens[0].shape[0]], step=self.step.value)
        if self.koleo is not None:  # each view's batch holds different images: spread them apart
            koleo = torch.stack([self.koleo(t) for t in tokens]).mean()
            self.csm_head.monitor['koleo'] = koleo.detach() / self.koleo.loss_weight
            loss = loss + koleo
        return loss

    def loss_csr(self, images: List[Tensor], student: Dict[int, dict], masks: Optional[List[Tensor]],
                 counts: Optional[List[Optional[int]]] = None) -> Tensor:
        """Eq. 2: reconstruct the masked patches of one view from the anchor's tokens."""
        return self.csr_head.loss(*self.forward_csr(images, student, masks, counts))

    def forward_csr(self, images: List[Tensor], student: Dict[int, dict], masks: Optional[List[Tensor]],
                    counts: Optional[List[Optional[int]]] = None) -> tuple:
        """CSR's decoder pass: ``(pred (B, L_masked, p*p*3), target view (B, 3, H, W), mask (B, L))``.
        ``masks``: the views' masks from the batch (else drawn here); ``counts``: their masked count per
        row where the preprocessor knows it (``mask_counts``; ``None``: read from the mask)."""
        cfg, views = self.csr_cfg, images[1:]
        level, gen = cfg['level'], self._generator()
        t = cfg['view_index']
        if t is None:
            t = host_randint(len(views), gen) if views else 0
        elif isinstance(t, (list, tuple)):  # a random one of these views each step
            t = int(t[host_randint(len(t), gen)]) % len(views)
        elif views:
            t = t % len(views)
        target = views[t] if views else images[0]
        grid = (target.shape[-2] // self.csr_head.patch_size, target.shape[-1] // self.csr_head.patch_size)
        if masks:
            mask = masks[t].to(target.device)
            num_masked = counts[t] if counts else None
        else:
            mask = draw_patch_mask(cfg['mask_type'], target.shape[0], grid, cfg['mask_ratio'], gen,
                                   target.device)
            num_masked = exact_mask_count(grid[0] * grid[1], cfg['mask_ratio'])
        kv = None  # kv='none' (MAE): the decoder attends to the view's own tokens only
        if cfg['kv'] != 'none':
            anchor = student[0][level]
            kv = anchor[1] if cfg['kv'] == 'patches' else anchor[0][:, None]
        return self.reconstruct(target, mask, kv, num_masked)[0], target, mask

    def reconstruct(self, target: Tensor, mask: Tensor, kv: Optional[Tensor] = None,
                    num_masked: Optional[int] = None) -> tuple:
        """Encode the visible patches of ``target`` ``(B, 3, H, W)`` under ``mask`` ``(B, L)`` and decode
        the masked ones (with keys/values ``kv`` ``(B, L0, C)``, or none for MAE). ``num_masked``: the
        mask's count per row when known (the encoder then gathers without a host read of the mask).

        Returns:
            tuple: ``pred`` ``(B, L_masked or L, p*p*3)`` and the query encoder's tokens.
        """
        cfg = self.csr_cfg
        level = cfg['level']
        grid = (target.shape[-2] // self.csr_head.patch_size, target.shape[-1] // self.csr_head.patch_size)
        mode = cfg['encode_masked']
        if mode == 'all':
            image, enc_mask, enc_masked = blank_patches(target, mask, grid), None, None
        elif mode == 'code':  # a fixed kept count: int(L * (1 - mask_ratio))
            image, enc_mask = target, code_encoder_mask(mask, cfg['mask_ratio'])
            enc_masked = mask.shape[1] - int(mask.shape[1] * (1 - cfg['mask_ratio']))
        else:
            image, enc_mask, enc_masked = target, mask, num_masked
        if cfg['query_encoder'] == 'expert':
            with torch.no_grad():
                q = self.expert.module.backbone.forward_tokens(image, mask=enc_mask, num_masked=enc_masked)
            proj = self.expert_proj[level]
            queries, own = proj(q[level][1]), proj(q[level][0])
        else:
            q = self.backbone.forward_tokens(image, mask=enc_mask, num_masked=enc_masked)
            queries, own = q[level][1], q[level][0]
        own = own if cfg['query_global'] else None
        if mode == 'all':  # every patch is a query; all are predicted (the loss weighs the masked ones)
            keep = torch.arange(queries.shape[1], device=queries.device).expand(queries.shape[0], -1)
            pred = self.csr_neck(queries, keep, q['grid'], kv, query_global=own)
        elif mode == 'code':  # all predicted: the loss's mask and the encoder's differ
            pred = self.csr_neck(queries, q['keep'], q['grid'], kv, query_global=own)
        else:
            masked = masked_indices(mask, mask.shape[1] - q['keep'].shape[1])  # the count from the shape
            pred = self.csr_neck(queries, q['keep'], q['grid'], kv, predict=masked, query_global=own)
        return pred, q

    def loss_css(self, images: List[Tensor], student: Dict[int, dict], canvas: Tensor,
                 target: Tensor) -> Tensor:
        """Eq. 3: each query view's tokens segment its instance's box in the expert's canvas tokens."""
        return self.css_head.loss(self.forward_css(images, student, canvas), target)

    def forward_css(self, images: List[Tensor], student: Dict[int, dict], canvas: Tensor) -> Tensor:
        """CSS's decoder pass: mask logits ``(N_query_views, B, rows, cols)`` on the canvas grid."""
        level = self.css_cfg['level']
        with torch.no_grad():
            canvas_out = self.expert.module.backbone.forward_tokens(canvas)
        queries = [self._with_global(student[i][level]) for i in self.css_views(len(images))]
        return self.css_neck(queries, self.expert_proj[level](canvas_out[level][1]), canvas_out['grid'])

    def _check_finite(self, losses: Dict[str, Tensor]) -> None:
        # one host read per step for all terms; the per-term search runs only when one is not finite
        sums = [v.detach().float().sum() for v in losses.values()]
        if not sums or bool(torch.isfinite(torch.stack(sums)).all()):
            return
        for name, value in losses.items():
            if not torch.isfinite(value).all():
                raise FloatingPointError(
                    f'{name} is not finite ({float(value)}) at model step {self.step.value}; training '
                    'stopped. The last checkpoint in the work dir was written before this step.')


__all__: List[str] = ['SAIP']
