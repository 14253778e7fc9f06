"""Sampling by the per-image weights of a list file."""
from typing import Iterator, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from saip_mm.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class WeightedPersonSampler(Sampler):
    """Draw ``len(dataset)`` indices per epoch with replacement, with probability proportional to each
    image's ``weight`` (the list file's second column), split evenly across ranks.

    Deterministic for a seed and epoch (``DistSamplerSeedHook`` sets the epoch), so resumed and
    multi-rank runs agree.

    Args:
        dataset (Sized): A dataset whose ``get_data_info(i)['weight']`` gives the weights.
        seed (int, optional): Base seed; synced across ranks when None.
        num_samples (int, optional): Indices per epoch over all ranks. Defaults to ``len(dataset)``.
        shuffle (bool): Accepted so that ``--cfg-options train_dataloader.sampler.type=...`` can
            replace a ``DefaultSampler(shuffle=True)``; draws are always random, so ``False`` raises.
        round_up (bool): Accepted for the same reason; every rank always draws the same count.

    Raises:
        TypeError: If the dataset cannot give per-image information (``get_data_info``).
        ValueError: On ``shuffle=False`` or weights that are negative or sum to zero.
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None,
                 num_samples: Optional[int] = None, shuffle: bool = True,
                 round_up: bool = True) -> None:
        if not shuffle:
            raise ValueError('WeightedPersonSampler draws at random; shuffle=False is not supported '
                             '(use DefaultSampler for a fixed order)')
        if not hasattr(dataset, 'get_data_info'):
            raise TypeError(f'WeightedPersonSampler needs a dataset with get_data_info(i) (the '
                            f'image weights); {type(dataset).__name__} has none')
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        weights = np.array([dataset.get_data_info(i).get('weight', 1.0) for i in range(len(dataset))],
                           dtype=np.float64)
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError('image weights must be non-negative with a positive sum')
        self.probs = weights / weights.sum()
        total = num_samples or len(dataset)
        self.num_samples = int(np.ceil(total / self.world_size))
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng(self.seed + self.epoch)
        picks = rng.choice(len(self.probs), self.num_samples * self.world_size, p=self.probs)
        return iter(picks[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
