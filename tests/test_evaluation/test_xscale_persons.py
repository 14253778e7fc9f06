"""The cross-scale person set (issue 26, item 6): jittered boxes, the crop, the metric worked out by hand,
and the multi-set validation loop under the real Runner."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT
from mmengine.config import Config
from mmengine.registry import DefaultScope

from saip_mm.datasets.transforms import CropBox
from saip_mm.datasets.xscale_persons import jittered_box
from saip_mm.evaluation import CrossScalePersonMetric
from saip_mm.evaluation.xscale_person_metric import single_match_ranks
from saip_mm.registry import DATASETS

XSCALE = osp.join(ROOT, 'demo', 'xscale_persons')


def test_jittered_boxes_and_the_dataset():
    rng = np.random.default_rng(0)
    box = jittered_box([100, 50, 140, 250], rng, jitter=0.2, scale_range=(0.8, 1.25), aspect=0.5)
    w, h = box[2] - box[0], box[3] - box[1]
    assert w == pytest.approx(0.5 * h) and 0.8 * 200 <= h <= 1.25 * 200
    assert abs((box[0] + box[2]) / 2 - 120) <= 0.2 * 40 and abs((box[1] + box[3]) / 2 - 150) <= 0.2 * 200
    with DefaultScope.overwrite_default_scope('saip_mm'):
        data = DATASETS.build(dict(type='CrossScalePersonDataset', data_root=XSCALE, seeds=(0, 1)))
        again = DATASETS.build(dict(type='CrossScalePersonDataset', data_root=XSCALE, seeds=(0, 1)))
    persons = json.load(open(osp.join(XSCALE, 'persons.json')))
    assert len(data) == 2 * 2 * len(persons) == 2 * 2 * 26
    items = [data.get_data_info(i) for i in range(len(data))]
    assert all(np.array_equal(a['crop_box'], b['crop_box'])  # deterministic
               for a, b in zip(items, [again.get_data_info(i) for i in range(len(again))]))
    q, g = items[0], items[1]  # seed 0, person 0: query and gallery boxes drawn on their own
    assert (q['xs_role'], g['xs_role'], int(q['gt_label']), int(g['gt_label'])) == ('query', 'gallery', 0, 0)
    assert not np.allclose(q['crop_box'], g['crop_box'])
    assert not np.allclose(items[0]['crop_box'], items[2 * len(persons)]['crop_box'])  # another seed
    with pytest.raises(FileNotFoundError, match='build_xscale_persons.py'):
        DATASETS.build(dict(type='saip_mm.CrossScalePersonDataset', data_root='/nonexistent'))


def test_crop_box_warps_and_pads():
    img = np.zeros((100, 60, 3), np.uint8)
    img[20:60, 10:30] = 255  # a white block
    out = CropBox(scale=(20, 40)).transform(dict(img=img, crop_box=np.array([10, 20, 30, 60])))['img']
    assert out.shape == (40, 20, 3) and out[2:-2, 2:-2].min() == 255  # exactly the block
    beyond = CropBox(scale=(20, 40)).transform(dict(img=img, crop_box=np.array([-20, 20, 0, 60])))['img']
    assert beyond.max() == 0  # outside the image: black


def _sample(feats, pid, seed, role):
    return dict(pred_scale_features=torch.tensor(feats, dtype=torch.float32), eval_scales=[0.75, 1.0, 1.5],
                gt_label=torch.tensor([pid]), xs_seed=seed, xs_role=role)


def test_metric_by_hand():
    """Three people, one seed. Query features at 0.75 / gallery at 1.5 and the reverse; person 2's
    small-scale query is nearer person 0's gallery crop (rank 1), all else matches first."""
    e = [[1., 0.], [0., 1.], [0.9, 0.1]]  # person 0, 1, 2 at full scale
    queries = [[e[0], e[0], e[0]], [e[1], e[1], e[1]], [[1., 0.02], e[2], e[2]]]
    gallery = [[e[0], e[0], e[0]], [e[1], e[1], e[1]], [e[2], e[2], e[2]]]
    metric = CrossScalePersonMetric()
    metric.process(None, [_sample(f, i, 0, 'query') for i, f in enumerate(queries)]
                   + [_sample(f, i, 0, 'gallery') for i, f in enumerate(gallery)])
    out = metric.compute_metrics(metric.results)
    # 0.75 -> 1.5: ranks 0, 0, 1 ; 1.5 -> 0.75: ranks 0, 0, 0
    assert out['R1'] == pytest.approx(5 / 6 * 100) and out['mAP'] == pytest.approx((5 + 0.5) / 6 * 100)
    assert out['R1_std'] == 0 and out['persons'] == 3
    assert list(single_match_ranks(torch.eye(3), torch.eye(3))) == [0, 0, 0]
    with pytest.raises(KeyError, match='needs "xs_role"'):
        metric.process(None, [dict(pred_scale_features=torch.zeros(3, 2), eval_scales=[1.0], xs_seed=0)])


def test_preflight_checks_the_extra_sets_data(tmp_path):
    from saip_mm.utils.preflight import PreflightError, check_data, loaders_used
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    assert loaders_used(cfg, 'train') == ['train_dataloader', 'val_dataloader',
                                          'val_cfg.extra_sets.0.dataloader']
    check_data(cfg, DEMO_CFG, loaders_used(cfg, 'train'))
    cfg.val_cfg.extra_sets[0].dataloader.dataset.data_root = str(tmp_path / 'gone')
    key = r'val_cfg\.extra_sets\.0\.dataloader\.dataset\.data_root'
    with pytest.raises(PreflightError, match=rf'--cfg-options {key}'):
        check_data(cfg, DEMO_CFG, loaders_used(cfg, 'train'))
