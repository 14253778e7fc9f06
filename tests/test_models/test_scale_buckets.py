"""Scale buckets (issue 28, item 1): the paper preset draws each view's scale from 0.75, 1.0, 1.25, 1.5
(uniformly, per view and batch), so a run sees a handful of input shapes; the continuous draw stays an
option; a set whose sides would not tile into 16-px patches is refused when built."""
import os.path as osp

import pytest
import torch
from cfg_paths import PAPER_CFG, ROOT
from mmengine.config import Config

from saip_mm.models.data_preprocessor import SAIPDataPreprocessor


def _batch(n=2):
    img = lambda: torch.randint(0, 255, (3, 256, 128), dtype=torch.uint8)  # noqa: E731
    views = [[img() for _ in range(n)] for _ in range(2)]
    return dict(inputs=dict(anchor=[img() for _ in range(n)], views=views))


def test_bucket_draws_are_the_set_uniformly():
    pre = SAIPDataPreprocessor(view_scale_set=(0.75, 1.0, 1.25, 1.5))
    batch, shapes, counts = _batch(), set(), {}
    for _ in range(200):
        out = pre(batch, training=True)['inputs']
        for v in out['views']:
            shapes.add(tuple(v.shape[-2:]))
            counts[tuple(v.shape[-2:])] = counts.get(tuple(v.shape[-2:]), 0) + 1
        for v, m in zip(out['views'], out['view_masks']):  # one mask entry per 16x16 patch
            assert m.shape[1] == v.shape[-2] * v.shape[-1] // 256
    assert shapes == {(192, 96), (256, 128), (320, 160), (384, 192)}
    assert all(70 < c < 130 for c in counts.values()), counts  # 400 draws, 100 expected per bucket
    # the continuous draw (an option) makes a new shape almost every time
    cont = SAIPDataPreprocessor(view_scale_range=(0.75, 1.5))
    cont_shapes = {tuple(v.shape[-2:]) for _ in range(50)
                   for v in cont(batch, training=True)['inputs']['views']}
    assert len(cont_shapes) > len(shapes)


def test_paper_preset_uses_buckets_and_bad_sets_are_refused():
    cfg = Config.fromfile(osp.join(ROOT, PAPER_CFG))
    assert cfg.model.data_preprocessor.view_scale_set == (0.75, 1.0, 1.25, 1.5)
    assert cfg.model.data_preprocessor.get('view_scale_range') is None
    with pytest.raises(ValueError, match=r'view_scale_set: scale 0.8 gives 204.8x102.4 for a 256x128 anchor'):
        SAIPDataPreprocessor(view_scale_set=(0.75, 0.8))
    with pytest.raises(ValueError, match='view_scale_range and view_scale_set are two ways'):
        SAIPDataPreprocessor(view_scale_range=(0.75, 1.5), view_scale_set=(1.0, ))
    pre = SAIPDataPreprocessor(view_scale_set=(0.75, ), anchor_size=(256, 128))
    odd = dict(inputs=dict(anchor=[torch.zeros(3, 240, 120, dtype=torch.uint8)],
                           views=[[torch.zeros(3, 240, 120, dtype=torch.uint8)]]))
    with pytest.raises(ValueError, match='gives 180x90 for a 240x120 anchor'):
        pre(odd, training=True)  # the actual anchor is checked at the first batch
