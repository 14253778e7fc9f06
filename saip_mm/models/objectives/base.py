"""What every objective is: a unit that owns its neck, head and loss, and the step it reads from.

An algorithm (``algorithms/base.py``) holds a dict of objectives. Each training step it builds one
:class:`Step` (the images, the batch, the student and expert encoders), lets every objective
``prepare`` it (draw what is shared, e.g. SOLIDER's λ or PersonViT's masked crops), encodes the student
views that the objectives ask for once, and sums what their ``loss`` returns.
"""
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.randomness import step_generator
from ..utils.tokens import StudentTokens, encode_views
from .options import validate_options


@dataclass
class Step:
    """One training step, as the objectives see it.

    Attributes:
        images (list[Tensor]): The anchor ``(B, 3, H, W)``, then the views ``(B, 3, Ht, Wt)``.
        inputs (dict): The preprocessed batch (``view_masks``, ``mask_counts``, ``canvas``, ...).
        backbone (nn.Module): The student encoder (``forward_tokens``).
        expert (nn.Module, optional): The expert's mirror of the student (``backbone``, projectors), or
            None (MAE).
        expert_proj (nn.ModuleDict): Per token level, the map from expert tokens to decoder width.
        index (int): The optimizer step (schedules and the model-side draws read it).
        seed (int): The run's model-side seed.
        student (dict): Per image index, the student's tokens (filled by the algorithm, or by an
            objective's ``prepare`` for a special encoding, e.g. masked crops).
        teacher (dict): Per image index, the expert's tokens (filled on first use, then shared).
        masks (dict): Per image index, the mask ``(B, L)`` under which the student encoded it (PersonViT's
            masked crops; empty otherwise).
        semantic_weight (Tensor, optional): SOLIDER's λ per image ``(B,)``, passed to every encoding of
            this step (set by the objective that draws it).
        shared (dict): What an objective's ``prepare`` drew for its ``loss``, by objective name.
    """
    images: List[Tensor]
    inputs: Dict[str, object]
    backbone: nn.Module
    expert: Optional[nn.Module]
    expert_proj: nn.ModuleDict
    index: int
    seed: int
    student: Dict[int, StudentTokens] = field(default_factory=dict)
    teacher: Dict[int, StudentTokens] = field(default_factory=dict)
    masks: Dict[int, Tensor] = field(default_factory=dict)
    semantic_weight: Optional[Tensor] = None
    shared: Dict[str, dict] = field(default_factory=dict)

    def generator(self) -> torch.Generator:
        """A fresh generator of this step's model-side draws (the same sequence for every caller)."""
        return step_generator(self.seed, self.index)

    def _encode(self, encoder: nn.Module, ids: Sequence[int]) -> List[StudentTokens]:
        lam = None if self.semantic_weight is None else [self.semantic_weight] * len(ids)
        return encode_views(encoder, [self.images[i] for i in ids], lam)

    def encode_student(self, ids: Sequence[int]) -> None:
        """Encode the images ``ids`` not yet in ``student`` (one encoder call per image size)."""
        todo = [i for i in ids if i not in self.student]
        self.student.update(zip(todo, self._encode(self.backbone, todo)))

    @torch.no_grad()
    def expert_tokens(self, ids: Sequence[int]) -> List[StudentTokens]:
        """The expert's tokens of the images ``ids`` (encoded once per step, then shared)."""
        todo = [i for i in ids if i not in self.teacher]
        if todo:
            self.teacher.update(zip(todo, self._encode(self.expert.backbone, todo)))
        return [self.teacher[i] for i in ids]


class BaseObjective(BaseModule):
    """One pretraining objective: its neck, head and loss.

    Subclasses set ``OPTIONS`` (every option besides the units, with its default: validated at build,
    so a typo raises) and ``UNITS`` (the config keys that are modules), and implement ``loss``.

    Args:
        name (str): The objective's key in the algorithm (``model.<name>``: messages, log names).
        options (dict): The options given (``cfg``: ``OPTIONS`` updated by them).
        **units (dict): The unit configs, built in order as attributes of the same name
            (``neck=..., head=...``).
    """
    OPTIONS: Dict[str, object] = {}
    # the config keys that are units (built, not options)
    UNITS = ('neck', 'head')
    # checkpoints written before objectives were units: ``{old attribute of the algorithm: unit here}``
    LEGACY_NAMES: Dict[str, str] = {}

    def __init__(self, name: str, options: Dict[str, object], **units: dict) -> None:
        super().__init__()
        self.name = name
        self.cfg = validate_options(name, options, self.OPTIONS, extra=self.UNITS)
        for key, cfg in units.items():
            setattr(self, key, MODELS.build(cfg))

    def student_views(self, num_images: int) -> List[int]:
        """The images whose student tokens ``loss`` reads from ``step.student`` (none by default)."""
        return []

    def expert_readers(self) -> List[str]:
        """The settings of this objective that read the expert (an algorithm without one must have
        none), e.g. ``['model.csm (its teacher)']``."""
        return []

    @classmethod
    def preprocessor_options(cls, name: str, cfg: dict) -> Dict[str, object]:
        """Arguments of the data preprocessor that this objective's config ``cfg`` sets (none by
        default; CSR: the masks' ratio and type)."""
        return {}

    def mirrored(self) -> Dict[str, nn.Module]:
        """The units of this objective that the EMA expert mirrors, by their name in the mirror."""
        return {}

    def prepare(self, step: Step) -> None:
        """Draw or encode what the objective shares with the others before the student pass (nothing
        by default)."""

    def outputs(self, step: Step) -> Optional[tuple]:
        """What the objective predicts for the visualisation (no loss), or None (the default)."""
        return None

    @abstractmethod
    def loss(self, step: Step) -> Dict[str, Tensor]:
        """The objective's ``loss_*`` terms (summed by mmengine) and logged-only scalars."""


__all__ = ['BaseObjective', 'Step']
