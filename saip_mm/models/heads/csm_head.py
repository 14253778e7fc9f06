"""Cross-scale matching loss (paper §III-B, eq. 1).

The expert's softmax over prototypes, centred and sharpened (τt), on the anchor-scale views is the
target of the student's log-softmax (τs) on every *other* view. The centre is an EMA (0.9) of the batch
mean of the expert logits, averaged over all ranks; ``centering=dict(type='SinkhornKnoppCentering')``
replaces it with Sinkhorn-Knopp equipartition (``models/utils/sinkhorn.py``).
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS

from ..utils.retrieval import mean_pairwise_cosine
from ..utils.schedules import ConstantValue, build_schedule


@MODELS.register_module()
class CSMHead(BaseModule):
    """DINO cross-entropy across scales.

    The head owns what DINO adds around the loss (temperatures, the centre and its EMA, the pairing of
    expert and student views); the soft cross-entropy itself is built from ``loss``, as mmpretrain's
    ``MAEHead`` builds its pixel loss.

    Args:
        out_channels (int): Number of prototypes (size of the centre). Defaults to 65536.
        student_temp (float): τs. Defaults to 0.1.
        teacher_temp (float | dict): τt: a number, or a schedule over the algorithm's steps, e.g. DINO's
            warm-up ``dict(type='LinearWarmup', start=0.04, end=0.07, warmup_epochs=30)``
            (``models/utils/schedules.py``). The head is its one owner: ``loss`` evaluates it at the step
            the algorithm passes. Defaults to 0.04.
        center_momentum (float): EMA momentum of the centre. Defaults to 0.9.
        loss (dict): The per-pair loss, called as ``loss(student_logits / τs, target)`` with a soft target
            ``(B, K)`` and expected to return the batch mean. Defaults to
            ``dict(type='mmpretrain.CrossEntropyLoss', use_soft=True)``.
        loss_weight (float): Weight of ``loss_csm``. Defaults to 1.
        centering (dict, optional): A unit that turns the teacher's logits into targets in place of
            the EMA centre, e.g. ``dict(type='SinkhornKnoppCentering', queue_length=4096)``; built with
            ``num_prototypes=out_channels``. ``center_momentum`` then has no use and is refused unless
            left at its default. Defaults to None (DINO's EMA centre).
    """

    def __init__(self,
                 out_channels: int = 65536,
                 student_temp: float = 0.1,
                 teacher_temp: Union[float, dict] = 0.04,
                 center_momentum: float = 0.9,
                 loss: dict = dict(type='mmpretrain.CrossEntropyLoss', use_soft=True),
                 loss_weight: float = 1.0,
                 centering: Optional[dict] = None) -> None:
        super().__init__()
        self.student_temp = student_temp
        self.teacher_temp = build_schedule(teacher_temp)
        self.center_momentum = center_momentum
        self.loss_module = MODELS.build(loss)
        self.loss_weight = loss_weight
        self.register_buffer('center', torch.zeros(1, out_channels))
        self.centering = None
        if centering is not None:
            if center_momentum != 0.9:
                raise ValueError(f'CSMHead: center_momentum={center_momentum} has no use with centering='
                                 f"{centering.get('type')} (it sets the EMA centre that centering replaces)")
            self.centering = MODELS.build(dict(centering, num_prototypes=out_channels))
        # the centred teacher entropy (/ ln K) of the first batch, with the centre caught up on it:
        # what a random teacher gives; csm_teacher_entropy_rel reads the current value against it
        # (-1 until the first batch)
        self.register_buffer('reference_entropy', torch.full((), -1.0))
        self.reference_pending = True  # host-side: whether the buffer still waits for its first batch

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self.reference_pending = bool(self.reference_entropy < 0)  # once per load, not per step

    def loss(self, student_logits: Sequence[Tensor], teacher_logits: Sequence[Tensor],
             teacher_views: Sequence[int], student_views: Optional[Sequence[int]] = None,
             student_bottleneck: Optional[Tensor] = None, step: Optional[int] = None) -> Tensor:
        """Cross-entropy between every (expert view, student view) pair of different images.

        Args:
            student_logits (list[Tensor]): Student logits ``(B, K)``, one per student view.
            teacher_logits (list[Tensor]): Expert logits ``(B, K)`` for the views in ``teacher_views``.
            teacher_views (list[int]): Image ids of the expert's views.
            student_views (list[int], optional): Image ids of the student's views; default
                ``0..len(student_logits)-1``.
            student_bottleneck (Tensor, optional): The student's L2-normalised bottleneck features
                ``(B, D)`` of one view (different images); logged as ``bottleneck_cos``, their mean
                pairwise cosine (towards 1: every image maps to the same point).
            step (int, optional): The algorithm's step, at which τt is read (needed by a τt schedule).

        Returns:
            Tensor: The weighted mean cross-entropy over all pairs with different views.
        """
        if student_views is None:
            student_views = range(len(student_logits))
        tau = self.teacher_temp_at(step)
        if self.reference_pending:
            self.reference_entropy.copy_(self.collapse_monitor(self.caught_up_targets(
                torch.cat(list(teacher_logits)), step))['teacher_entropy'])
            self.reference_pending = False
        targets = self.targets(teacher_logits, tau)
        scaled = [s / self.student_temp for s in student_logits]
        pairs = csm_pairs(teacher_views, student_views)
        if not pairs:
            raise ValueError('CSM needs at least two views')
        total = sum(self.loss_module(scaled[s], targets[t]) for t, s in pairs)
        pairs = len(pairs)
        self.monitor = self.collapse_monitor(torch.cat(targets))
        self.monitor['teacher_entropy_rel'] = self.monitor['teacher_entropy'] / self.reference_entropy
        self.monitor['teacher_temp'] = torch.tensor(tau, device=total.device)  # beside the loss (no read)
        if student_bottleneck is not None:
            self.monitor['bottleneck_cos'] = mean_pairwise_cosine(student_bottleneck.detach())
        if self.centering is None:
            self.update_center(torch.cat(list(teacher_logits)))
        return self.loss_weight * total / pairs

    def teacher_temp_at(self, step: Optional[int]) -> float:
        """τt at the algorithm's ``step`` (a constant τt needs none).

        Raises:
            ValueError: A τt schedule read without a step.
        """
        if step is None and not isinstance(self.teacher_temp, ConstantValue):
            raise ValueError(f'{type(self).__name__}: teacher_temp is a schedule ({self.teacher_temp}); the '
                             'caller must pass the step')
        return self.teacher_temp.value_at(0 if step is None else step)

    def targets(self, teacher_logits: Sequence[Tensor], tau: float) -> List[Tensor]:
        """The soft targets ``(B, K)`` of each teacher view: ``softmax((t - centre) / τt)``, or the
        ``centering`` unit's (which also advances its own state, e.g. a queue)."""
        if self.centering is not None:
            return [t.detach() for t in self.centering.targets(list(teacher_logits), tau)]
        return [F.softmax((t - self.center) / tau, dim=-1).detach() for t in teacher_logits]

    @torch.no_grad()
    def caught_up_targets(self, teacher_logits: Tensor, step: Optional[int] = None) -> Tensor:
        """Targets of ``teacher_logits`` ``(N, K)`` at τt of ``step``, as if the centring had caught up
        on them (the EMA centre = their mean; Sinkhorn-Knopp on them alone), changing no state: the
        reference that the relative teacher entropy and the validation loop read."""
        tau = self.teacher_temp_at(step)
        if self.centering is not None:
            return self.centering.caught_up_targets(teacher_logits, tau)
        return F.softmax((teacher_logits - teacher_logits.mean(0, keepdim=True)) / tau, dim=-1)

    @staticmethod
    @torch.no_grad()
    def collapse_monitor(targets: Tensor) -> dict:
        """DINO's two collapse modes, read off the expert's targets ``(N, K)`` (DINO §5.3):

        * ``teacher_entropy``: mean entropy of one target / ln K. Near 1: uniform collapse (centring
          wins, every target is flat, the loss sits at ln K and teaches nothing);
        * ``batch_entropy``: entropy of the batch-mean target / ln K. Near 0: one prototype wins for
          every image (sharpening wins).
        """
        log_k = math.log(targets.shape[-1])
        ent = lambda p: -(p * torch.log(p.clamp(min=1e-12))).sum(-1)  # noqa: E731
        return dict(teacher_entropy=ent(targets).mean() / log_k, batch_entropy=ent(targets.mean(0)) / log_k)

    @torch.no_grad()
    def update_center(self, teacher_logits: Tensor) -> None:
        """EMA update of the centre with the batch mean of the expert logits, averaged over ranks."""
        batch_sum = teacher_logits.sum(dim=0, keepdim=True)
        count = torch.tensor([float(teacher_logits.shape[0])], device=batch_sum.device)
        if get_world_size() > 1:
            all_reduce(batch_sum, op='sum')
            all_reduce(count, op='sum')
        batch_center = batch_sum / count
        self.center.mul_(self.center_momentum).add_(batch_center, alpha=1 - self.center_momentum)


def csm_pairs(teacher_views: Sequence[int], student_views: Sequence[int]) -> List[Tuple[int, int]]:
    """The terms of eq. 1: ``(i, j)`` positions in ``teacher_views`` / ``student_views`` of every
    (teacher image, student image) pair of different images, teacher-major."""
    return [(i, j) for i, t in enumerate(teacher_views) for j, s in enumerate(student_views) if s != t]


__all__: List[str] = ['CSMHead', 'csm_pairs']
