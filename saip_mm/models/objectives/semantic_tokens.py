"""Semantic token classification (SOLIDER §3; supplementary, Algorithm 1), and the λ it conditions on.

Each image draws a binary λ_i, the same for all its crops, in the student and in the EMA teacher
(``prepare``: every encoding of the step takes it, ``Step.semantic_weight``). The teacher's patch
tokens of the global crops at λ = 1 are clustered into background and N parts ordered top to bottom
(``utils/token_clustering.py``); ``SemanticTokenHead`` classifies the student's patch tokens of those
crops, and of copies with one part blanked out (the "+ MIM" of supplementary Tab. 1), into the labels,
each image's term weighted by λ_i: ``L = α L_dino + λ_i (1 − α) L_sm`` (the heads' ``loss_weight``).
"""
from typing import Dict, List

import torch
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.masking import blank_patches
from ..utils.token_clustering import semantic_part_labels
from ..utils.tokens import split_tokens
from .base import BaseObjective, Step
from .options import LEVELS


@MODELS.register_module()
class SemanticTokens(BaseObjective):
    """λ-conditioned semantic token classification.

    Args:
        head (dict): ``SemanticTokenHead`` (its ``num_parts`` must match).
        name (str): The objective's key. Defaults to ``'semantic'``.
        **options: ``views=(0, 1)`` (the labelled global crops: the CSM teacher's views);
            ``num_parts=3``, ``min_foreground=0.5`` (SOLIDER's foreground rule); ``level='final'`` (the
            student tokens the head classifies) and ``label_level='mid'`` (the teacher tokens clustered:
            a ViT's final LayerNorm gives every token the same norm until its scale has drifted from 1,
            so from scratch the labels read block 7's residual stream; 'final' is SOLIDER's reading, for
            a teacher started from a trained DINO); ``lambda_prob=0.5`` (P(λ_i = 1)); ``mask_part=True``.
    """
    OPTIONS = dict(views=(0, 1), num_parts=3, min_foreground=0.5, level='final', label_level='mid',
                   lambda_prob=0.5, mask_part=True)
    UNITS = ('head', )
    LEGACY_NAMES = {'sem_head': 'head'}

    def __init__(self, head: dict, name: str = 'semantic', **options) -> None:
        super().__init__(name, options, head=head)
        for key in ('level', 'label_level'):
            if self.cfg[key] not in LEVELS:
                raise ValueError(f'model.{name}.{key} must be one of {LEVELS}, got {self.cfg[key]!r}')
        if self.head.num_parts != self.cfg['num_parts']:
            raise ValueError(f"model.{name}.head has {self.head.num_parts} parts, model.{name}.num_parts is "
                             f"{self.cfg['num_parts']}")

    def expert_readers(self) -> List[str]:
        return [f'model.{self.name} (its labels)']

    def views(self, num_images: int) -> List[int]:
        """The labelled global crops."""
        return [v % num_images for v in self.cfg['views']]

    def student_views(self, num_images: int) -> List[int]:
        return self.views(num_images)

    def draw_lambdas(self, batch: int, generator: torch.Generator) -> Tensor:
        """Binary λ ``(batch,)``: 1 with probability ``lambda_prob`` (Algorithm 1, line 3)."""
        return (torch.rand(batch, generator=generator) < self.cfg['lambda_prob']).float()

    def prepare(self, step: Step) -> None:
        """Draw λ (then set for every encoding of the step) and the part to blank, and label the global
        crops from the teacher (``teacher_labels``); the part and labels go to ``step.shared[name]``."""
        gen = step.generator()
        step.semantic_weight = self.draw_lambdas(step.images[0].shape[0], gen).to(step.images[0].device)
        part = int(torch.randint(1, self.cfg['num_parts'] + 1, (1, ), generator=gen))
        labels, valid = self.teacher_labels(step, self.views(len(step.images)))
        step.shared[self.name] = dict(part=part, labels=labels, valid=valid)

    @torch.no_grad()
    def teacher_labels(self, step: Step, ids: List[int]) -> tuple:
        """Semantic labels of the images ``ids`` from the teacher's ``label_level`` patch tokens at
        λ = 1 (its tokens at λ_i, the DINO targets, are kept in the step; the λ_i = 0 images are
        re-encoded at 1).

        Returns:
            tuple: ``labels`` (list of ``(B, rows, cols)``), ``valid`` (list of ``(B,)`` bool).
        """
        teacher, lam = step.expert_tokens(ids), step.semantic_weight
        level, zero = self.cfg['label_level'], lam == 0
        at_one = [t[level][1].clone() for t in teacher]
        if zero.any():
            again = step.expert.backbone.forward_tokens(torch.cat([step.images[i][zero] for i in ids]),
                                                        semantic_weight=1.0)
            for tokens, part in zip(at_one, again[level][1].split(int(zero.sum()))):
                tokens[zero] = part
        labels, valid = zip(*(semantic_part_labels(tokens, t['grid'], self.cfg['num_parts'],
                                                   self.cfg['min_foreground'])
                              for tokens, t in zip(at_one, teacher)))
        return list(labels), list(valid)

    def loss(self, step: Step) -> Dict[str, Tensor]:
        """``loss_sem`` and the monitors ``sem_acc`` (token accuracy) and ``sem_labelled`` (the
        fraction of global crops with labels), logged only."""
        ids, drawn = self.views(len(step.images)), step.shared[self.name]
        loss = self.classification_loss(step.backbone, [step.images[i] for i in ids],
                                        [step.student[i] for i in ids], drawn['labels'], drawn['valid'],
                                        step.semantic_weight, drawn['part'])
        return {'loss_sem': loss, 'sem_acc': self.head.monitor['acc'],
                'sem_labelled': torch.cat(drawn['valid']).float().mean()}

    def classification_loss(self, backbone, globals_: List[Tensor], student: List[dict], labels: List[Tensor],
                            valid: List[Tensor], lam: Tensor, part: int) -> Tensor:
        """The classification loss over the labelled global crops and their copies with part ``part``
        blanked (Algorithm 1, lines 12–16).

        Args:
            backbone (nn.Module): The student (it encodes the blanked copies at λ_i).
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
        level = self.cfg['level']
        if not torch.cat(valid).any():
            tokens = student[0][level][1][0]
            none = torch.zeros(len(tokens), dtype=torch.long, device=tokens.device)
            return self.head.loss(tokens, none, none.float())
        tokens, targets, weights = [], [], []
        for out, label, ok in zip(student, labels, valid):
            label = label[ok].flatten(1)
            tokens.append(out[level][1][ok])
            targets.append(label)
            weights.append(lam[ok, None].expand_as(label))
        if self.cfg['mask_part']:
            blanked = [blank_patches(image[ok], label[ok].flatten(1) == part, label.shape[-2:])
                       for image, label, ok in zip(globals_, labels, valid)]
            sizes = [len(b) for b in blanked]
            masked = split_tokens(backbone.forward_tokens(
                torch.cat(blanked), semantic_weight=torch.cat([lam[ok] for ok in valid])), sizes)
            tokens += [m[level][1] for m in masked]
            targets, weights = targets * 2, weights * 2
        return self.head.loss(torch.cat(tokens).flatten(0, 1), torch.cat(targets).flatten(),
                              torch.cat(weights).flatten())


__all__ = ['SemanticTokens']
