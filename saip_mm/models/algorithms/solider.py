"""SOLIDER (Chen et al., CVPR 2023; SAIP Tables I–IV baseline): DINO with a semantic controller and a
semantic token classification loss.

A composition of SAIP's units plus one head (SOLIDER §3; supplementary, Algorithm 1):

* the backbone takes λ (``SAIPViT(semantic_weight=...)``, or a StarNet / SAIPTinyViT encoder with it
  behind ``TokenAdapter``; ``utils/semantic_controller.py``); each image
  draws a binary λ_i, the same for all its crops, in the student and in the EMA teacher;
* DINO (``configs/baselines/dino``, CSM on multi-crop views) with the teacher at λ_i;
* semantic labels: the teacher's patch tokens of the global crops at λ = 1 are clustered into
  background and N = 3 parts ordered top to bottom (``utils/token_clustering.py``);
* a copy of each labelled global crop with one part (the same part index for the batch) blanked out
  (masked image modelling of the semantic part, Table 1 of the supplementary);
* ``SemanticTokenHead`` classifies the student's patch tokens of the labelled global crops and of their
  masked copies into those labels, each image's term weighted by λ_i:
  ``L = α L_dino + λ_i (1 − α) L_sm`` (the two heads' ``loss_weight``).
"""
from typing import Dict, List

import torch
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.masking import blank_patches
from ..utils.token_clustering import semantic_part_labels
from ..utils.tokens import split_tokens
from .options import LEVELS, validate_options
from .saip import SAIP

# the semantic supervision's options: N, SOLIDER's foreground rule, the token levels read by the head
# (student) and by the clustering (teacher), P(λ_i = 1), and whether the masked copies are used (the
# "+ MIM" of supplementary Tab. 1). SOLIDER clusters the teacher's output feature map; a ViT's final
# LayerNorm gives every token the same norm until its scale has drifted from 1 (from scratch, every image
# ties and none is labelled), so the labels read block 7's residual stream by default (a StarNet /
# TinyViT student: the stride-16 stage's map before any LayerNorm, ``TokenAdapter(mid='pre_norm')``);
# 'final' is SOLIDER's reading, for a teacher started from a trained DINO (``load_from``).
SEMANTIC_OPTIONS = dict(num_parts=3, min_foreground=0.5, level='final', label_level='mid', lambda_prob=0.5,
                        mask_part=True)


@MODELS.register_module()
class SOLIDER(SAIP):
    """DINO conditioned on a per-image λ, plus semantic token classification.

    Args:
        semantic (dict): ``dict(head=..., num_parts=3, min_foreground=0.5, level='final',
            label_level='mid', lambda_prob=0.5, mask_part=True)``: the ``SemanticTokenHead`` (its
            ``num_parts`` must match), the token level it classifies, and the options of the labels
            (``semantic_part_labels`` on the teacher's ``label_level`` tokens).
        **kwargs: As ``SAIP``; ``csm`` (the DINO loss) is required, with the global crops as
            ``teacher_views``; the backbone must have a semantic controller (``SAIPViT`` with
            ``semantic_weight``, or ``TokenAdapter`` around an encoder with it and ``mid='pre_norm'``
            for the labels).
    """

    def __init__(self, semantic: dict, expert: dict = dict(type='CosineEMAExpert'), **kwargs) -> None:
        if 'head' not in semantic:
            raise ValueError('model.semantic needs a head (SemanticTokenHead)')
        super().__init__(expert=expert, **kwargs)
        self.sem_cfg = validate_options('semantic', {k: v for k, v in semantic.items() if k != 'head'},
                                        SEMANTIC_OPTIONS, extra=('head', ))
        for key in ('level', 'label_level'):
            if self.sem_cfg[key] not in LEVELS:
                raise ValueError(f'model.semantic.{key} must be one of {LEVELS}, got {self.sem_cfg[key]!r}')
        if self.csm_cfg is None or self.expert is None:
            raise ValueError('SOLIDER needs model.csm (the DINO loss) and an EMA expert')
        if self.backbone.semantic_controller is None:  # SAIPViT and TokenAdapter both state it
            raise ValueError(f'SOLIDER conditions the backbone on lambda; {type(self.backbone).__name__} '
                             'has no semantic controller (use SAIPViT with semantic_weight=<default lambda>, '
                             'or a TokenAdapter whose StarNet / SAIPTinyViT encoder has one)')
        self.sem_head = MODELS.build(semantic['head'])
        if self.sem_head.num_parts != self.sem_cfg['num_parts']:
            raise ValueError(f"model.semantic.head has {self.sem_head.num_parts} parts, "
                             f"model.semantic.num_parts is {self.sem_cfg['num_parts']}")

    def draw_lambdas(self, batch: int, generator: torch.Generator) -> Tensor:
        """Binary λ ``(batch,)``: 1 with probability ``lambda_prob`` (Algorithm 1, line 3)."""
        return (torch.rand(batch, generator=generator) < self.sem_cfg['lambda_prob']).float()

    @torch.no_grad()
    def teacher_pass(self, globals_: List[Tensor], lam: Tensor) -> tuple:
        """The teacher's tokens of the global crops at λ_i (DINO targets) and their semantic labels
        from its ``label_level`` patch tokens at λ = 1 (re-encoded only for the λ_i = 0 images).

        Returns:
            tuple: ``teacher`` (list of token dicts per global crop), ``labels`` (list of
            ``(B, rows, cols)``), ``valid`` (list of ``(B,)`` bool).
        """
        encoder = self.expert.module.backbone
        teacher = self.encode_views(encoder, globals_, [lam] * len(globals_))
        level, zero = self.sem_cfg['label_level'], lam == 0
        at_one = [t[level][1].clone() for t in teacher]
        if zero.any():
            again = encoder.forward_tokens(torch.cat([g[zero] for g in globals_]), semantic_weight=1.0)
            for tokens, part in zip(at_one, again[level][1].split(int(zero.sum()))):
                tokens[zero] = part
        labels, valid = zip(*(semantic_part_labels(tokens, t['grid'], self.sem_cfg['num_parts'],
                                                   self.sem_cfg['min_foreground'])
                              for tokens, t in zip(at_one, teacher)))
        return teacher, list(labels), list(valid)

    def step_losses(self, inputs: Dict[str, object]) -> Dict[str, Tensor]:
        """``loss_csm`` (DINO at λ_i) and ``loss_sem`` (λ-weighted token classification), plus
        monitors (logged only): ``sem_acc``, ``sem_labelled`` (fraction of global crops with labels)
        and the CSM head's.

        Args:
            inputs (dict): The DINO baseline's multi-crop batch (``PersonViT.loss``).
        """
        images = [inputs['anchor']] + list(inputs.get('views', []))
        t_ids, gen = self.teacher_ids(len(images)), self._generator()
        lam = self.draw_lambdas(images[0].shape[0], gen).to(images[0].device)
        teacher, labels, valid = self.teacher_pass([images[i] for i in t_ids], lam)
        ids = self.student_views(len(images))
        student = dict(zip(ids, self.encode_views(self.backbone, [images[i] for i in ids], [lam] * len(ids))))
        losses = {'loss_csm': self.loss_csm(images, student, teacher)}
        losses.update(self.csm_monitors())
        part = int(torch.randint(1, self.sem_cfg['num_parts'] + 1, (1, ), generator=gen))
        losses['loss_sem'] = self.loss_sem([images[i] for i in t_ids], [student[i] for i in t_ids],
                                           labels, valid, lam, part)
        losses['sem_acc'] = self.sem_head.monitor['acc']
        losses['sem_labelled'] = torch.cat(valid).float().mean()
        return losses

    def loss_sem(self, globals_: List[Tensor], student: List[dict], labels: List[Tensor],
                 valid: List[Tensor], lam: Tensor, part: int) -> Tensor:
        """The semantic classification loss over the labelled global crops and their copies with part
        ``part`` blanked (Algorithm 1, lines 12–16).

        Args:
            globals_ (list[Tensor]): The global crops ``(B, 3, H, W)``.
            student (list[dict]): The student's tokens of each (at λ_i).
            labels (list[Tensor]): ``(B, rows, cols)`` labels of each.
            valid (list[Tensor]): ``(B,)`` the labelled images of each.
            lam (Tensor): λ_i ``(B,)``.
            part (int): The part (1..N) blanked in the copies.

        Returns:
            Tensor: The head's loss; with no labelled image, a zero that still reaches the head's
            parameters (every parameter gets a gradient, as distributed training needs).
        """
        level = self.sem_cfg['level']
        if not torch.cat(valid).any():
            tokens = student[0][level][1][0]
            none = torch.zeros(len(tokens), dtype=torch.long, device=tokens.device)
            return self.sem_head.loss(tokens, none, none.float())
        tokens, targets, weights = [], [], []
        for out, label, ok in zip(student, labels, valid):
            label = label[ok].flatten(1)
            tokens.append(out[level][1][ok])
            targets.append(label)
            weights.append(lam[ok, None].expand_as(label))
        if self.sem_cfg['mask_part']:
            blanked = [blank_patches(image[ok], label[ok].flatten(1) == part, label.shape[-2:])
                       for image, label, ok in zip(globals_, labels, valid)]
            sizes = [len(b) for b in blanked]
            masked = split_tokens(self.backbone.forward_tokens(
                torch.cat(blanked), semantic_weight=torch.cat([lam[ok] for ok in valid])), sizes)
            tokens += [m[level][1] for m in masked]
            targets, weights = targets * 2, weights * 2
        return self.sem_head.loss(torch.cat(tokens).flatten(0, 1), torch.cat(targets).flatten(),
                                  torch.cat(weights).flatten())


__all__: List[str] = ['SOLIDER']
