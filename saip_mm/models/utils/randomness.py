"""One seeding rule for the model-side randomness (view scales, patch masks, the CSR view)."""
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_rank


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


__all__ = ['host_randint', 'host_uniform', 'step_generator']
