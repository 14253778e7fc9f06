"""CIHP (Crowd Instance-level Human Parsing) for semantic multi-person part parsing in mmseg."""
import os.path as osp

from mmseg.datasets import BaseSegDataset, LIPDataset

from saip_mm.registry import DATASETS


@DATASETS.register_module()
class CIHPDataset(BaseSegDataset):
    """CIHP in its released layout, read as semantic segmentation (the 20 LIP part classes over every
    person of a multi-person image)::

        instance-level_human_parsing/
          Training/{Images/*.jpg, Category_ids/*.png, train_id.txt}
          Validation/{Images/*.jpg, Category_ids/*.png, val_id.txt}

    Args:
        data_root (str): The ``instance-level_human_parsing`` folder.
        split (str): ``'Training'`` or ``'Validation'``; sets the image / label folders and the id list.
        **kwargs: Passed to ``mmseg.datasets.BaseSegDataset`` (``pipeline``, ``test_mode``, ...).
    """
    METAINFO = LIPDataset.METAINFO

    def __init__(self, data_root: str, split: str = 'Training', **kwargs) -> None:
        lists = dict(Training='train_id.txt', Validation='val_id.txt')
        if split not in lists:
            raise ValueError(f"split must be 'Training' or 'Validation', got {split!r}")
        ids = osp.join(data_root, split, lists[split])
        if not osp.isfile(ids):
            raise FileNotFoundError(f'CIHPDataset: missing id list {ids}')
        kwargs.setdefault('data_prefix', dict(img_path=f'{split}/Images',
                                              seg_map_path=f'{split}/Category_ids'))
        super().__init__(data_root=data_root, ann_file=osp.join(split, lists[split]), img_suffix='.jpg',
                         seg_map_suffix='.png', **kwargs)
