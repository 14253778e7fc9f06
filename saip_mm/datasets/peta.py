"""PETA pedestrian attributes in the released ``PETA.mat`` layout."""
import os.path as osp
from typing import List

import numpy as np
from mmpretrain.datasets import MultiLabelDataset

from saip_mm.registry import DATASETS

from .pa100k import _strings


@DATASETS.register_module()
class PETADataset(MultiLabelDataset):
    """PETA (19,000 images, 105 attributes of which the benchmark uses 35) as released:
    ``images/NNNNN.png`` and ``PETA.mat`` with the struct ``peta``: ``data`` (one row per image, 4 id
    columns then the 0/1 attributes), ``attribute`` (names), ``selected_attribute`` (1-based indices
    of the attributes to use) and ``partion_attribute`` (partitions, each with 1-based ``train`` /
    ``val`` / ``test`` image indices). A zero-shot split (PETA-zs) is another partition in the same
    layout.

    Args:
        data_root (str): Folder with ``PETA.mat`` and ``images/``.
        split (str): ``'train'``, ``'val'``, ``'trainval'`` or ``'test'``.
        partition (int): Which partition (0-based). Defaults to 0.
        ann_file (str): Defaults to ``'PETA.mat'``.
        data_prefix (str | dict): Image folder. Defaults to ``'images'``.
        **kwargs: ``pipeline``, ``test_mode``, ... of ``mmpretrain.MultiLabelDataset``.
    """

    def __init__(self, data_root: str, split: str = 'train', partition: int = 0,
                 ann_file: str = 'PETA.mat', data_prefix='images', **kwargs) -> None:
        if split not in ('train', 'val', 'trainval', 'test'):
            raise ValueError(f"split must be 'train', 'val', 'trainval' or 'test', got {split!r}")
        self.split, self.partition = split, partition
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix, **kwargs)

    def _field(self, struct, name: str):
        if name not in struct.dtype.names:
            raise KeyError(f'{self.ann_file}: peta has no field "{name}" (fields: {struct.dtype.names})')
        return struct[name]

    def load_data_list(self) -> List[dict]:
        from scipy.io import loadmat
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'PETADataset: missing annotation file {self.ann_file}')
        mat = loadmat(self.ann_file)
        if 'peta' not in mat:
            raise KeyError(f'{self.ann_file} has no struct "peta"')
        peta = mat['peta'][0, 0]
        data = np.asarray(self._field(peta, 'data'))
        names = _strings(self._field(peta, 'attribute'))
        selected = np.asarray(self._field(peta, 'selected_attribute')).reshape(-1).astype(int) - 1
        partitions = np.asarray(self._field(peta, 'partion_attribute'), dtype=object).reshape(-1)
        if not 0 <= self.partition < len(partitions):
            raise IndexError(f'{self.ann_file} has {len(partitions)} partitions, asked for '
                             f'{self.partition}')
        part = partitions[self.partition].reshape(-1)[0]
        self._metainfo['classes'] = tuple(names[i] for i in selected)
        labels = data[:, 4:][:, selected]
        splits = ('train', 'val') if self.split == 'trainval' else (self.split, )
        data_list = []
        for split in splits:
            for index in np.asarray(self._field(part, split)).reshape(-1).astype(int) - 1:
                data_list.append(dict(img_path=osp.join(self.img_prefix, f'{index + 1:05d}.png'),
                                      gt_label=np.flatnonzero(labels[index]).tolist()))
        return data_list
