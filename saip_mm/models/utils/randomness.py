"""One seeding rule for the model-side randomness (view scales, patch masks, the CSR view), and the host
reads of what is drawn on the CPU."""
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import get_rank
from torch import Tensor


def step_generator(seed: int, step: int, rank: Optional[int] = None) -> torch.Generator:
    """A CPU generator seeded from ``(seed, rank, step)``.

    Every rank draws differently (a data-parallel run must not give all ranks the same scales and
    masks), and a resumed run repeats the draws of the steps it replays, because ``step`` is a counter
    saved with the model.

    Args:
        seed (int): Base seed of the run.
        step (int): Step counter (batches seen by the caller).
        rank (int, optional): Process rank; the current one when ``None``.

    Returns:
        torch.Generator: A freshly seeded generator.
    """
    rank = get_rank() if rank is None else rank
    state = np.random.SeedSequence([int(seed), int(rank), int(step)]).generate_state(1, np.uint64)[0]
    gen = torch.Generator()
    gen.manual_seed(int(state) & ((1 << 63) - 1))
    return gen


def host_randint(high: int, generator: torch.Generator) -> int:
    """An integer in ``[0, high)`` from a CPU ``generator`` (a host draw: the tensor it reads is made here,
    on the CPU, so it never waits for a device)."""
    return int(torch.randint(high, (1, ), generator=generator).item())


def host_uniform(low: float, high: float, generator: torch.Generator) -> float:
    """A float in ``[low, high)`` from a CPU ``generator`` (a host draw, as :func:`host_randint`)."""
    return low + (high - low) * float(torch.rand((), generator=generator).item())


def host_groups(keys: Tensor, num_keys: int) -> Tuple[Tensor, List[List[int]]]:
    """Group the samples of each column of host-drawn integer keys (a per-sample choice per slot).

    Args:
        keys (Tensor): ``(B, S)`` integers in ``[0, num_keys)``, on the CPU (drawn there: reading them
            waits for no device).
        num_keys (int): How many values a key can take.

    Returns:
        tuple: ``order`` ``(B, S)``, each column's sample indices sorted by key (stable), and ``counts``,
        per column the number of samples of each key, so that ``order[:, s].split(counts[s])`` gives the
        samples of key 0, 1, ... of column ``s``.
    """
    if keys.device.type != 'cpu':
        raise ValueError(f'host_groups reads host draws; got keys on {keys.device}')
    order = keys.argsort(dim=0, stable=True)
    counts = [torch.bincount(column, minlength=num_keys).tolist() for column in keys.t()]
    return order, counts


__all__ = ['host_groups', 'host_randint', 'host_uniform', 'step_generator']
