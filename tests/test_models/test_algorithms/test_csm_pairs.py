"""The paper preset's CSM pairs as the authors' code makes them (issue 26, item 1): the expert on the
two global crops, the student on every image, among them the anchor's own pixels at another scale; the
earlier pairing stays as the anchor-teacher ablation."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from cfg_paths import DEMO_CFG, ROOT
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from saip_mm.models.heads.csm_head import csm_pairs
from saip_mm.registry import DATASETS, MODELS

ABLATION = 'configs/pretrain/saip-anchor-teacher_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'


def _model_and_images(cfg):
    from mmengine.runner import set_random_seed
    set_random_seed(0)
    cfg.train_dataloader.dataset.update(data_root=osp.join(ROOT, 'demo', 'persons'), ann_file='list.txt',
                                        background_dir='backgrounds')
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        model = MODELS.build(cfg.model)
    model.init_weights()
    inputs = model.data_preprocessor(pseudo_collate([dataset[i] for i in range(2)]), True)['inputs']
    return model, inputs, [inputs['anchor']] + list(inputs['views'])


def _same_pixels(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``b`` is ``a`` resized (the preprocessor's bilinear, antialiased when shrinking)."""
    size = b.shape[-2:]
    resized = a if size == a.shape[-2:] else F.interpolate(a, size=size, mode='bilinear', align_corners=False,
                                                           antialias=size[0] < a.shape[-2])
    return torch.equal(resized, b)


def _pair_ids(model, images):
    csm = model.objectives['csm']
    teacher, student = csm.teacher_views(len(images)), csm.student_views(len(images))
    return [(teacher[i], student[j]) for i, j in csm_pairs(teacher, student)]


def test_paper_preset_pairs_as_the_authors_code():
    model, inputs, images = _model_and_images(Config.fromfile(osp.join(ROOT, DEMO_CFG)))
    sizes = [tuple(x.shape[-2:]) for x in images]
    assert sizes[0] == sizes[1] == (256, 128)  # g1 and g2 at the anchor size, for the expert
    for h, w in sizes[2:]:
        assert 192 <= h <= 384 and abs(h - 2 * w) <= 16 and h % 16 == w % 16 == 0  # scale in [0.75, 1.5]
    pairs = _pair_ids(model, images)
    assert pairs == [(0, 1), (0, 2), (0, 3), (0, 4), (1, 0), (1, 2), (1, 3), (1, 4)]
    same = [(t, s) for t, s in pairs if _same_pixels(images[t], images[s])]
    assert same == [(0, 4)]  # g1 -> g1 at another scale; every other pair is independently augmented
    assert not torch.equal(images[0], images[1])
    # CSS queries and the CSR view are the two independent multi-resolution views
    assert model.objectives['css'].student_views(len(images)) == [2, 3]
    assert model.objectives['csr'].cfg['view_index'] == [1, 2]
    losses = model.loss(inputs)
    assert all(torch.isfinite(v) for v in losses.values())


def test_anchor_teacher_ablation_keeps_the_earlier_pairs():
    cfg = Config.fromfile(osp.join(ROOT, ABLATION))
    demo = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    cfg.model.csm.neck, cfg.model.csm.head = demo.model.csm.neck, demo.model.csm.head  # small, for speed
    cfg.model.csr.neck.update(demo.model.csr.neck)
    cfg.model.css.neck.update(demo.model.css.neck)
    model, _, images = _model_and_images(cfg)
    assert [tuple(x.shape[-2:]) for x in images][0] == (256, 128) and len(images) == 3
    pairs = _pair_ids(model, images)
    assert pairs == [(0, 1), (0, 2)]
    assert not any(_same_pixels(images[t], images[s]) for t, s in pairs)


def test_view_options_that_do_not_fit_are_refused():
    from saip_mm.models.data_preprocessor import SAIPDataPreprocessor
    with pytest.raises(ValueError, match="keep_views / anchor_copies need view_source='views'"):
        SAIPDataPreprocessor(view_scale_range=(0.75, 1.5), view_source='anchor', anchor_copies=1)
    pre = SAIPDataPreprocessor(view_scale_range=(0.75, 1.5), keep_views=3)
    batch = dict(inputs=dict(anchor=[torch.zeros(3, 256, 128, dtype=torch.uint8)],
                             views=[[torch.zeros(3, 256, 128, dtype=torch.uint8)]]))
    with pytest.raises(ValueError, match='keep_views=3, but the pipeline gives 1 view'):
        pre(batch, True)
