"""PA100K pedestrian attributes in the released layout: ``data/*.jpg`` and ``annotation.mat``."""
import os.path as osp
from typing import List

import numpy as np
from mmpretrain.datasets import MultiLabelDataset

from saip_mm.registry import DATASETS


def _strings(cell) -> List[str]:
    """A MATLAB cell array of strings (as loaded by ``scipy.io.loadmat``) as a Python list."""
    return [str(np.asarray(v).reshape(-1)[0]) for v in np.asarray(cell, dtype=object).reshape(-1)]


@DATASETS.register_module()
class PA100KDataset(MultiLabelDataset):
    """PA100K (or any dataset in its ``annotation.mat`` layout: ``attributes``, ``{split}_images_name``
    and ``{split}_label`` with one 0/1 row per image).

    Args:
        data_root (str): Folder with ``annotation.mat`` and the image folder.
        split (str): ``'train'``, ``'val'``, ``'trainval'`` or ``'test'``.
        ann_file (str): Annotation file under ``data_root``. Defaults to ``'annotation.mat'``.
        data_prefix (str | dict): Image folder under ``data_root``. Defaults to ``'data'``.
        **kwargs: ``pipeline``, ``test_mode``, ... of ``mmpretrain.MultiLabelDataset``.

    The attribute names in the file become the dataset's ``classes``; each sample's ``gt_label`` is
    the list of its positive attribute indices.
    """

    def __init__(self, data_root: str, split: str = 'train', ann_file: str = 'annotation.mat',
                 data_prefix='data', **kwargs) -> None:
        if split not in ('train', 'val', 'trainval', 'test'):
            raise ValueError(f"split must be 'train', 'val', 'trainval' or 'test', got {split!r}")
        self.split = split
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix, **kwargs)

    def _read(self) -> dict:
        from scipy.io import loadmat
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'PA100KDataset: missing annotation file {self.ann_file}')
        return loadmat(self.ann_file)

    def load_data_list(self) -> List[dict]:
        ann = self._read()
        for key in ('attributes', 'train_images_name', 'train_label'):
            if key not in ann:
                raise KeyError(f'{self.ann_file} has no "{key}"')
        self._metainfo['classes'] = tuple(_strings(ann['attributes']))
        splits = ('train', 'val') if self.split == 'trainval' else (self.split, )
        data_list = []
        for split in splits:
            names = _strings(ann[f'{split}_images_name'])
            labels = np.asarray(ann[f'{split}_label'])
            if len(names) != len(labels) or labels.shape[1] != len(self._metainfo['classes']):
                raise ValueError(f'{self.ann_file}: {split} has {len(names)} names and labels of shape '
                                 f'{labels.shape} for {len(self._metainfo["classes"])} attributes')
            for name, row in zip(names, labels):
                data_list.append(dict(img_path=osp.join(self.img_prefix, name),
                                      gt_label=np.flatnonzero(row).tolist()))
        return data_list
