"""CrowdDet on CrowdHuman (mmdet) with an exported SAIP backbone and the simple feature pyramid, on a
CrowdHuman-layout sample derived from real COCO images (tools/misc/make_downstream_samples.py)."""
import os.path as osp

import numpy as np
import pytest
import torch
from downstream_utils import RESIZED, assert_backbone_equals, repeated_batch_losses
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

# every test here trains a downstream model under the real Runner
pytestmark = pytest.mark.slow

CFG = 'configs/downstream/mmdet/crowddet-rcnn_vit-tiny-p16_sfp_8xb2-30e_crowdhuman.py'
SCALE = (384, 256)  # tiny size for CPU


def _cfg(root, ckpt, data_root, work_dir, config=CFG):
    cfg = Config.fromfile(osp.join(root, config))
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.backbone.drop_path_rate = 0.0
    cfg.model.data_preprocessor.batch_augments[0].scale = SCALE
    for step in cfg.test_pipeline:
        if step.type == 'Resize':
            step.scale = SCALE
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[split]
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data_root + '/'
    cfg.val_dataloader.dataset.pipeline = cfg.test_pipeline
    cfg.test_dataloader = cfg.val_dataloader
    for evaluator in ('val_evaluator', 'test_evaluator'):
        cfg[evaluator].ann_file = osp.join(data_root, 'annotation_val.odgt')
        cfg[evaluator].num_ji_process = 1  # the JI's worker count (10 forks per score threshold)
    cfg.train_cfg.update(max_epochs=1, val_interval=1, val_begin=2)  # the tests validate once, after
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.default_hooks.logger.interval = 1
    # tiny sizes for CPU, like SCALE: fewer proposals and sampled RoIs (the RoIAlign backward over the
    # config's 512 RoIs x 256 channels took ~70 % of a training step)
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=600, max_per_img=300)
    cfg.model.train_cfg.rcnn.sampler.num = 128
    cfg.model.test_cfg.rpn.update(nms_pre=600, max_per_img=300)
    return cfg


@pytest.fixture(scope='module')
def crowdhuman_root(downstream_samples):
    return osp.join(downstream_samples, 'CrowdHuman')


def test_simple_feature_pyramid_strides():
    from saip_mm.models.necks import SimpleFeaturePyramid
    neck = SimpleFeaturePyramid(in_channels=192, out_channels=32)
    outs = neck([torch.randn(2, 192, 8, 12)])
    assert [tuple(o.shape[-2:]) for o in outs] == [(32, 48), (16, 24), (8, 12), (4, 6), (2, 3)]
    assert all(o.shape[:2] == (2, 32) for o in outs)
    with pytest.raises(ValueError, match='scale factor 3'):
        SimpleFeaturePyramid(scale_factors=(3.0, ), num_outs=1)


def test_backbone_loads_exported_checkpoint(root, tmp_path, saip_backbone, crowdhuman_root):
    ckpt, source = saip_backbone
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    model = MODELS.build(_cfg(root, ckpt, crowdhuman_root, tmp_path).model)
    model.init_weights()
    assert_backbone_equals(model.backbone, source, skip=RESIZED)
    assert model.backbone.pos_embed.shape[1] == 50 * 88  # resized from the 16x8 pretraining grid


def test_crowddet_trains_and_evaluates(root, tmp_path, saip_backbone, crowdhuman_root):
    torch.manual_seed(0)
    np.random.seed(0)
    cfg = _cfg(root, saip_backbone[0], crowdhuman_root, tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    losses = repeated_batch_losses(runner, 1, 6)  # one image: the loss of a repeated image falls
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    runner.train()
    metrics = runner.val_loop.run()
    assert set(metrics) == {'crowd_human/mAP', 'crowd_human/mMR', 'crowd_human/JI'}
    assert 0.0 <= metrics['crowd_human/mAP'] <= 1.0 and 0.0 <= metrics['crowd_human/mMR'] <= 1.0
