"""Sinkhorn-Knopp centring of the teacher's prototype scores (SwAV, Caron et al. 2020; DINOv2, Oquab
et al. 2023), an option of ``CSMHead`` in place of DINO's EMA centre.

DINO keeps the targets from collapsing onto one prototype by subtracting a running mean of the teacher
logits (the centre). Sinkhorn-Knopp instead makes the targets of a set of samples use every prototype
equally: ``Q = exp(scores / τt)`` is rescaled alternately so that each prototype's column sums to
``1/K`` and each sample's row to ``1/N`` (``iterations`` rounds, DINOv2 uses 3), and each row, times
``N``, is a sample's target. A batch of 8 images cannot spread over 4096 prototypes; SwAV's answer
for small batches is a queue: the scores of the last ``queue_length`` teacher samples join the batch
in the normalisation (only the batch's rows are used as targets). SwAV stores embeddings and scores
them with the current prototypes; here the teacher's scores are stored as computed, one step stale
at most per step of the slowly moving EMA teacher.
"""
from typing import List

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size
from torch import Tensor

from saip_mm.registry import MODELS

from .host_counter import add_host_counter


@torch.no_grad()
def sinkhorn_knopp(scores: Tensor, temp: float, iterations: int = 3) -> Tensor:
    """Equipartitioned targets of ``scores`` ``(N, K)`` at temperature ``temp``.

    Rows are samples, columns prototypes. The returned ``(N, K)`` rows each sum to 1 and, over the
    ``N`` samples (and all ranks), the columns are rescaled towards equal mass ``N / K`` each.

    Args:
        scores (Tensor): Teacher logits ``(N, K)``.
        temp (float): τt.
        iterations (int): Normalisation rounds. Defaults to 3.

    Returns:
        Tensor: Targets ``(N, K)``.
    """
    logits = scores.float() / temp
    # exp of logits shifted by their global maximum (a constant factor, which the first
    # normalisation removes): no overflow at τt 0.04
    peak = logits.max()
    if get_world_size() > 1:
        all_reduce(peak, op='max')
    q = torch.exp(logits - peak).t()  # (K, N)
    k, n = q.shape
    total_n = n * get_world_size()
    total = q.sum()
    if get_world_size() > 1:
        all_reduce(total)
    q /= total
    for _ in range(iterations):
        rows = q.sum(dim=1, keepdim=True)  # each prototype's mass
        if get_world_size() > 1:
            all_reduce(rows)
        q /= rows.clamp(min=1e-30)
        q /= k
        q /= q.sum(dim=0, keepdim=True)  # each sample's mass
        q /= total_n
    return (q * total_n).t()


@MODELS.register_module()
class SinkhornKnoppCentering(nn.Module):
    """Targets by Sinkhorn-Knopp over the batch and a queue of earlier teacher scores (module
    docstring); what ``CSMHead(centering=...)`` builds.

    Args:
        num_prototypes (int): K (``CSMHead`` passes its ``out_channels``).
        iterations (int): Normalisation rounds. Defaults to 3.
        queue_length (int): Earlier teacher samples kept (per rank); 0 = the batch alone (DINOv2).
            Defaults to 0.
    """

    def __init__(self, num_prototypes: int, iterations: int = 3, queue_length: int = 0) -> None:
        super().__init__()
        if iterations < 1 or queue_length < 0:
            raise ValueError(f'SinkhornKnoppCentering needs iterations >= 1 and queue_length >= 0, got '
                             f'{iterations} and {queue_length}')
        self.iterations = iterations
        self.queue_length = queue_length
        self.register_buffer('queue', torch.zeros(queue_length, num_prototypes))
        add_host_counter(self, 'queued')  # filled rows, up to the length (a host int: read every step)

    def targets(self, teacher_logits: List[Tensor], temp: float) -> List[Tensor]:
        """Targets ``(B, K)`` for each view's logits, normalised together with the queue; then the views'
        logits join the queue (first in, first out)."""
        batch = torch.cat([t.detach().float() for t in teacher_logits])
        filled = self.queued.value
        scores = torch.cat([self.queue[:filled], batch]) if filled else batch
        q = sinkhorn_knopp(scores, temp, self.iterations)[filled:]
        self.push(batch)
        return list(q.split([t.shape[0] for t in teacher_logits]))

    def caught_up_targets(self, teacher_logits: Tensor, temp: float) -> Tensor:
        """The targets of ``teacher_logits`` ``(N, K)`` alone, without touching the queue (diagnostics)."""
        return sinkhorn_knopp(teacher_logits, temp, self.iterations)

    def check_epoch(self, rows_per_epoch: int, key: str) -> None:
        """Refuse a queue longer than one epoch of teacher outputs on this rank (``rows_per_epoch``:
        images per epoch and rank times the teacher's views): it would hold an image's scores twice and
        count it twice in the equipartition. ``key`` is the config key that sets the length.

        Raises:
            ValueError: Naming ``key``, the length and the epoch's rows.
        """
        if self.queue_length > rows_per_epoch:
            raise ValueError(f'{key}={self.queue_length} is longer than the data: one epoch gives '
                             f'{rows_per_epoch} teacher outputs per rank, so the queue would hold images '
                             f'twice; set it to at most {rows_per_epoch}')

    @torch.no_grad()
    def push(self, batch: Tensor) -> None:
        if not self.queue_length:
            return
        batch = batch[-self.queue_length:]
        self.queue.copy_(torch.cat([batch.to(self.queue.dtype), self.queue])[:self.queue_length])
        self.queued.value = min(self.queue_length, self.queued.value + batch.shape[0])


__all__ = ['SinkhornKnoppCentering', 'sinkhorn_knopp']
