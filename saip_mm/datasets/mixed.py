"""Several person-crop sources mixed with ratios (paper Table V: LUP1M + HP1M + IN1K)."""
from typing import List, Optional, Sequence

import numpy as np
from torch.utils.data import Dataset

from saip_mm.registry import DATASETS


@DATASETS.register_module()
class MixedPersonDataset(Dataset):
    """Mix datasets so that source ``i`` makes up ``ratios[i] / sum(ratios)`` of every epoch.

    Each source contributes ``round(share * length)`` indices: a seeded permutation of its samples,
    repeated when it is smaller than its share (up-sampling) and cut when larger (sub-sampling).
    The table is fixed by ``seed``, so runs and resumes see the same mixture.

    Args:
        datasets (list[dict]): Dataset configs (or built datasets).
        ratios (list[float]): Relative shares, one per dataset.
        length (int, optional): Samples per epoch. Defaults to the sum of the source lengths.
        seed (int): Seed of the index table. Defaults to 0.
    """

    def __init__(self, datasets: Sequence, ratios: Sequence[float], length: Optional[int] = None,
                 seed: int = 0) -> None:
        if len(datasets) != len(ratios) or not datasets:
            raise ValueError(f'need one ratio per dataset, got {len(datasets)} datasets and '
                             f'{len(ratios)} ratios')
        if any(r < 0 for r in ratios) or sum(ratios) <= 0:
            raise ValueError(f'ratios must be non-negative with a positive sum, got {ratios}')
        self.datasets = [DATASETS.build(d) if isinstance(d, dict) else d for d in datasets]
        sizes = [len(d) for d in self.datasets]
        total = length if length is not None else sum(sizes)
        shares = np.asarray(ratios, dtype=np.float64) / float(sum(ratios))
        counts = np.floor(shares * total).astype(int)
        counts[np.argmax(shares)] += total - counts.sum()
        rng = np.random.default_rng(seed)
        table: List[np.ndarray] = []
        for i, (n, size) in enumerate(zip(counts, sizes)):
            if n == 0:
                continue
            reps = int(np.ceil(n / size))
            local = np.concatenate([rng.permutation(size) for _ in range(reps)])[:n]
            table.append(np.stack([np.full(n, i), local], axis=1))
        self.table = np.concatenate(table)
        self.counts = counts.tolist()
        self.metainfo = dict(sources=len(self.datasets), counts=self.counts)

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, idx: int):
        source, local = self.table[idx]
        return self.datasets[int(source)][int(local)]

    def get_data_info(self, idx: int) -> dict:
        """The information of sample ``idx`` from its source (``weight`` included, so that
        ``WeightedPersonSampler`` works on a mixture), plus ``source``: the index of that source."""
        source, local = self.table[idx]
        dataset = self.datasets[int(source)]
        info = dataset.get_data_info(int(local)) if hasattr(dataset, 'get_data_info') else {}
        return dict(info, source=int(source))

    def full_init(self) -> None:
        for d in self.datasets:
            if hasattr(d, 'full_init'):
                d.full_init()
