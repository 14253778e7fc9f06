"""Image person re-identification datasets in their released layouts (Market-1501, MSMT17).

Both subclass mmdet's ``ReIDDataset``, so its PK ("triplet") sampling and ``PackReIDInputs`` work as
for MOT ReID; what changes is reading the official folders and keeping each image's camera, which the
standard evaluation protocol needs (``ReIDRankMetric``).
"""
import os
import os.path as osp
import re
import warnings
from typing import List

import numpy as np
from mmdet.datasets import ReIDDataset

from saip_mm.registry import DATASETS

_MARKET_NAME = re.compile(r'^(-?\d+)_c(\d+)')


@DATASETS.register_module()
class Market1501Dataset(ReIDDataset):
    """Market-1501 (also DukeMTMC-reID): ``bounding_box_train/``, ``query/``, ``bounding_box_test/``
    with names ``{pid}_c{cam}s{seq}_{frame}_{box}.jpg``.

    Args:
        split (str): ``'train'`` (identities relabelled 0..N-1), ``'query'``, ``'gallery'``,
            ``'test'`` (query then gallery, each sample flagged ``is_query``) or ``'all'`` (train, query
            and gallery with their file identities, each sample naming its ``subset``: the
            pretraining retrieval evaluation uses the train part for k-NN).
        skip_unreadable (bool): Decode every image once when listing and leave out those that cannot
            be read (empty, truncated, not an image), with a warning naming each; ``skipped`` lists
            them. The pretraining datasets skip such files the same way. Defaults to False (a full
            decode of a large set at start-up).
        **kwargs: ``data_root``, ``pipeline``, ``triplet_sampler``, ... of ``mmdet.ReIDDataset``.

    Junk images (identity -1) are dropped; distractors (identity 0) stay in the gallery.
    """
    FOLDERS = dict(train='bounding_box_train', query='query', gallery='bounding_box_test')
    SPLITS = ('train', 'query', 'gallery', 'test', 'all')
    PARTS = dict(test=('query', 'gallery'), all=('train', 'query', 'gallery'))

    def __init__(self, split: str = 'train', ann_file: str = '', skip_unreadable: bool = False,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {self.SPLITS}, got {split!r}')
        self.split = split
        self.skip_unreadable = skip_unreadable
        self.skipped: List[str] = []
        super().__init__(ann_file=ann_file, **kwargs)

    def _readable(self, entries: List[tuple]) -> List[tuple]:
        """``entries`` without the images that cannot be decoded (``skip_unreadable``)."""
        if not self.skip_unreadable:
            return entries
        from .person_crops import read_image
        kept = []
        for entry in entries:
            if read_image(entry[0]) is None:
                self.skipped.append(entry[0])
                warnings.warn(f'{type(self).__name__}: skipped unreadable image {entry[0]} '
                              f'({len(self.skipped)} so far)')
            else:
                kept.append(entry)
        return kept

    def _entries(self, part: str) -> List[tuple]:
        """(relative path, pid, camera) of one part, sorted by name."""
        folder = osp.join(self.data_root, self.FOLDERS[part])
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{type(self).__name__}: missing folder {folder}')
        entries = []
        for name in sorted(os.listdir(folder)):
            match = _MARKET_NAME.match(name)
            if not name.lower().endswith(('.jpg', '.png')) or match is None:
                continue
            pid, cam = int(match.group(1)), int(match.group(2))
            if pid >= 0 and not (pid == 0 and part == 'train'):
                entries.append((osp.join(folder, name), pid, cam))
        return entries

    def load_data_list(self) -> List[dict]:
        parts = self.PARTS.get(self.split, (self.split, ))
        data_list = []
        for part in parts:
            for path, pid, cam in self._readable(self._entries(part)):
                data_list.append(dict(img_path=path, gt_label=pid, camid=cam, is_query=part == 'query',
                                      subset=part))
        if not data_list:
            raise FileNotFoundError(f'{type(self).__name__}: no images for split {self.split!r} '
                                    f'under {self.data_root}')
        if self.split == 'train':
            relabel = {pid: i for i, pid in enumerate(sorted({d['gt_label'] for d in data_list}))}
            for d in data_list:
                d['gt_label'] = relabel[d['gt_label']]
        for d in data_list:
            d['gt_label'] = np.array(d['gt_label'], dtype=np.int64)
        self._parse_ann_info(data_list)
        return data_list


@DATASETS.register_module()
class MSMT17Dataset(Market1501Dataset):
    """MSMT17 (V1/V2): ``train/`` and ``test/`` images listed by ``list_train.txt``, ``list_query.txt``
    and ``list_gallery.txt`` (lines ``{pid}/{pid}_{seq}_{cam}_... pid``); ``list_val.txt`` is added to
    training as in common practice when ``train_with_val``.

    Args:
        train_with_val (bool): Add ``list_val.txt`` to the training split. Defaults to True.
        **kwargs: As ``Market1501Dataset``.
    """
    LISTS = dict(train=('train', 'list_train.txt'), query=('test', 'list_query.txt'),
                 gallery=('test', 'list_gallery.txt'))

    def __init__(self, train_with_val: bool = True, **kwargs) -> None:
        self.train_with_val = train_with_val
        super().__init__(**kwargs)

    def _entries(self, part: str) -> List[tuple]:
        folder, list_name = self.LISTS[part]
        lists = [list_name] + (['list_val.txt'] if part == 'train' and self.train_with_val else [])
        entries = []
        for name in lists:
            list_file = osp.join(self.data_root, name)
            if not osp.isfile(list_file):
                raise FileNotFoundError(f'{type(self).__name__}: missing list file {list_file}')
            with open(list_file) as f:
                for line_no, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        rel, pid = line.split()
                        cam = int(osp.basename(rel).split('_')[2])
                    except (ValueError, IndexError):
                        raise ValueError(f'{list_file}:{line_no}: expected "<path> <pid>" with the camera '
                                         f'as the 3rd "_" field of the name, got {line.strip()!r}')
                    entries.append((osp.join(self.data_root, folder, rel), int(pid), cam))
        return entries
