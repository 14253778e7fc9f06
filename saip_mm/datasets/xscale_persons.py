"""The cross-scale person set: each annotated person twice, with independent box jitter, for a
retrieval score that needs no identity labels (``CrossScalePersonMetric``).

The people come from other images than any pretraining set here (the COCO / CrowdPose / AI Challenger
samples, ``tools/dataset_converters/build_xscale_persons.py`` -> ``demo/xscale_persons``). For each seed
and person the dataset lists a *query* and a *gallery* item: the person's box with its centre moved by
up to ``jitter`` of its size and its height scaled in ``scale_range``, each drawn on its own, then
widened or narrowed to the ``aspect`` of a person crop. ``CropBox`` cuts them out at one size; the model
then sees them at its evaluation scales, and the metric matches the query at one scale with the gallery
at another, every other person being a distractor.
"""
import json
import os.path as osp
from typing import List, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from saip_mm.registry import DATASETS

ROLES = ('query', 'gallery')


def jittered_box(box: Sequence[float], rng: np.random.Generator, jitter: float, scale_range: Sequence[float],
                 aspect: float) -> List[float]:
    """``[x1, y1, x2, y2]``: ``box`` moved, rescaled and fitted to ``aspect`` (width / height)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2 + rng.uniform(-jitter, jitter) * w
    cy = (y1 + y2) / 2 + rng.uniform(-jitter, jitter) * h
    height = h * rng.uniform(*scale_range)
    width = height * aspect
    return [cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2]


@DATASETS.register_module()
class CrossScalePersonDataset(BaseDataset):
    """Query and gallery crops of every person, per seed (module docstring).

    Args:
        data_root (str): Folder with ``persons.json`` (``[{"file", "box": [x1, y1, x2, y2]}]``, paths
            relative to it).
        ann_file (str): Defaults to ``'persons.json'``.
        seeds (Sequence[int]): One set of jitter draws each (the metric reports mean and spread over
            them). Defaults to (0, 1, 2).
        jitter (float): Largest centre shift, as a fraction of the box's width / height. Defaults to 0.2.
        scale_range (Sequence[float]): Range of the box height factor. Defaults to (0.8, 1.25).
        aspect (float): Width / height of the crops (a person crop's 1:2). Defaults to 0.5.
        **kwargs: ``pipeline`` and the rest of ``BaseDataset``.

    Each item: ``img_path``, ``crop_box``, ``gt_label`` (the person's index), ``xs_seed``, ``xs_role``.
    """

    def __init__(self, data_root: str, ann_file: str = 'persons.json', seeds: Sequence[int] = (0, 1, 2),
                 jitter: float = 0.2, scale_range: Sequence[float] = (0.8, 1.25), aspect: float = 0.5,
                 **kwargs) -> None:
        if not seeds:
            raise ValueError('CrossScalePersonDataset needs at least one seed')
        self.seeds, self.scale_range = tuple(seeds), tuple(scale_range)
        self.jitter, self.aspect = jitter, aspect
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{type(self).__name__}: no {self.ann_file} (build it with '
                                    'tools/dataset_converters/build_xscale_persons.py)')
        with open(self.ann_file) as f:
            persons = json.load(f)
        if len(persons) < 2:
            raise ValueError(f'{self.ann_file}: {len(persons)} person(s); retrieval needs at least 2')
        items = []
        for seed in self.seeds:
            for pid, person in enumerate(persons):
                path = osp.join(self.data_root, person['file'])
                if not osp.isfile(path):
                    raise FileNotFoundError(f"{self.ann_file}: person {pid}'s crop {path} is missing")
                for r, role in enumerate(ROLES):
                    rng = np.random.default_rng([seed, pid, r])
                    box = jittered_box(person['box'], rng, self.jitter, self.scale_range, self.aspect)
                    items.append(dict(img_path=path, crop_box=np.array(box, np.float32),
                                      gt_label=np.array(pid, np.int64), xs_seed=seed, xs_role=role))
        return items


__all__ = ['CrossScalePersonDataset', 'jittered_box']
