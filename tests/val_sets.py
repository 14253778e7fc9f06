"""Small copies of the pretraining validation sets, for tests that compare figures rather than read them.

What those tests compare (the validation loop against ``eval_backbone.py``, a tool's table against its
JSON) does not depend on the sets' size, and the demo validates on all of both sets at three scales
(~30 s a validation on 2 cores). :func:`small_reid_set` copies a Market-layout subset of the video
set (every query, every 2nd gallery and 3rd train image); :func:`small_val_sets` points a pretraining
config at it, at one jitter seed of the cross-scale persons and at two retrieval scales.
"""
import os
import os.path as osp
import shutil

from cfg_paths import ROOT

REID = osp.join(ROOT, 'demo', 'vtest_reid')


def small_reid_set(folder) -> str:
    """The video set's Market-layout subset, copied to ``<folder>/reid``; returns that path."""
    reid = osp.join(str(folder), 'reid')
    for part, step in (('query', 1), ('bounding_box_test', 2), ('bounding_box_train', 3)):
        os.makedirs(osp.join(reid, part), exist_ok=True)
        for name in sorted(os.listdir(osp.join(REID, part)))[::step]:
            shutil.copy(osp.join(REID, part, name), osp.join(reid, part, name))
    return reid


def small_val_sets(cfg, folder) -> str:
    """Point ``cfg``'s validation at small sets made in ``folder``; returns the video subset's root."""
    reid = small_reid_set(folder)
    cfg.val_dataloader.dataset.data_root = reid
    cfg.val_cfg.extra_sets[0]['dataloader']['dataset']['seeds'] = (0, )
    cfg.model.eval_cfg = dict(cfg.model.get('eval_cfg') or {}, scales=(0.75, 1.0))
    return reid
