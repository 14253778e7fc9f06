"""CSM, cross-scale matching (SAIP eq. 1; DINO's loss when the views are multi-crops).

The expert's prototypes of ``teacher_views`` are the targets of the student's prototypes of
``student_views``: final-norm global tokens → ``CSMProjector`` (bottleneck, weight-normalised
prototypes) → ``CSMHead`` (centred, sharpened cross-entropy over every pair of different images).
"""
import math
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from torch import Tensor

from saip_mm.registry import MODELS

from .base import BaseObjective, Step


@MODELS.register_module()
class CSM(BaseObjective):
    """Cross-scale matching.

    Args:
        neck (dict): The projector (``CSMProjector``); the EMA expert mirrors it (``csm_neck``).
        head (dict): ``CSMHead`` (τs, τt schedule, centring).
        name (str): The objective's key (``model.<name>``). Defaults to ``'csm'``.
        **options: ``level='final'`` (token level), ``teacher_views=(0,)`` (images the expert encodes),
            ``student_views=None`` (images the student encodes; None = all), ``koleo=None``
            (``dict(type='KoLeoLoss', loss_weight=0.1)``: DINOv2's KoLeo on the student's global tokens
            of each student view, added to ``loss_csm``, logged as ``csm_koleo``). The default pairs
            are the authors' code (expert on the anchor); ``teacher_views=[1, 2], student_views=[0]``
            is the paper's text.
    """
    OPTIONS = dict(level='final', teacher_views=(0, ), student_views=None, koleo=None)
    LEGACY_NAMES = {'csm_neck': 'neck', 'csm_head': 'head', 'koleo': 'koleo'}

    def __init__(self, neck: dict, head: dict, name: str = 'csm', **options) -> None:
        super().__init__(name, options, neck=neck, head=head)
        self.koleo = MODELS.build(self.cfg['koleo']) if self.cfg['koleo'] else None

    def student_views(self, num_images: int) -> List[int]:
        views = self.cfg['student_views']
        return list(range(num_images)) if views is None else [v % num_images for v in views]

    def teacher_views(self, num_images: int) -> List[int]:
        """Images the expert encodes."""
        return [v % num_images for v in self.cfg['teacher_views']]

    def check_images_per_epoch(self, images_per_epoch: int) -> None:
        """Refuse a centring unit the data cannot fill (a Sinkhorn-Knopp queue longer than one epoch of
        the expert's outputs, ``images_per_epoch`` per rank times its views); what ``SchedulesHook`` calls
        before the first iteration."""
        check = getattr(self.head.centering, 'check_epoch', None)
        if check is not None:
            check(images_per_epoch * len(self.cfg['teacher_views']),
                  f'model.{self.name}.head.centering.queue_length')

    def expert_readers(self) -> List[str]:
        return [f'model.{self.name} (its teacher)']

    def mirrored(self) -> Dict[str, nn.Module]:
        return {'csm_neck': self.neck}

    def loss(self, step: Step) -> Dict[str, Tensor]:
        """``loss_<name>`` (eq. 1, plus KoLeo when set) and the head's collapse monitor as
        ``<name>_*`` logs (no ``loss`` in their names: logged, not summed)."""
        level, n = self.cfg['level'], len(step.images)
        s_ids, t_ids = self.student_views(n), self.teacher_views(n)
        tokens = [step.student[i][level][0] for i in s_ids]
        bottleneck = self.neck.bottleneck(torch.cat(tokens))
        logits = self.neck.prototypes(bottleneck, step.index)  # the prototype freeze acts at this step
        s_logits = list(logits.split([t.shape[0] for t in tokens]))
        teacher = step.expert_tokens(t_ids)
        with torch.no_grad():
            t_logits = project(step.expert.csm_neck, [step.expert_proj[level](t[level][0]) for t in teacher])
        loss = self.head.loss(s_logits, t_logits, t_ids, s_ids,
                              student_bottleneck=bottleneck[:tokens[0].shape[0]], step=step.index)
        if self.koleo is not None:  # each view's batch holds different images: spread them apart
            koleo = torch.stack([self.koleo(t) for t in tokens]).mean()
            self.head.monitor['koleo'] = koleo.detach() / self.koleo.loss_weight
            loss = loss + koleo
        return {f'loss_{self.name}': loss, **{f'{self.name}_{k}': v for k, v in self.head.monitor.items()}}

    @torch.no_grad()
    def diagnostics(self, backbone: nn.Module, expert: nn.Module, expert_proj: nn.ModuleDict, inputs: Tensor,
                    index: int) -> Dict[str, Tensor]:
        """Collapse diagnostics on evaluation images ``(B, 3, H, W)``: ``csm_bottleneck`` ``(B, D)``, the
        student's L2-normalised bottleneck features (their mean pairwise cosine tends to 1 as every image
        maps to one point), and ``csm_teacher_entropy`` ``(B,)``, the entropy / ln K of the expert's
        targets with the centring caught up on this batch (near its value at initialisation: the teacher
        is still the random one)."""
        level = self.cfg['level']
        student = backbone.forward_tokens(inputs)[level][0]
        teacher = expert_proj[level](expert.backbone.forward_tokens(inputs)[level][0])
        targets = self.head.caught_up_targets(expert.csm_neck(teacher), index)
        entropy = -(targets * torch.log(targets.clamp(min=1e-12))).sum(-1) / math.log(targets.shape[-1])
        return dict(csm_bottleneck=self.neck.bottleneck(student), csm_teacher_entropy=entropy)


def project(projector: nn.Module, tokens: List[Tensor]) -> List[Tensor]:
    """Apply a prototype projector once to the global tokens of several views ``[(B_i, C)]`` (its
    weight-normalised layer is then normalised once per step, not once per view)."""
    return list(projector(torch.cat(list(tokens))).split([t.shape[0] for t in tokens]))


def csm_of(objectives: Dict[str, BaseObjective]) -> Optional[CSM]:
    """The algorithm's CSM objective (DINO's loss), if it has one."""
    return next((o for o in objectives.values() if isinstance(o, CSM)), None)


__all__ = ['CSM', 'csm_of', 'project']
