"""UPerNet body-part segmentation on LIP (mmseg) with an exported SAIP backbone, on LIP-layout samples
derived from real COCO images (tools/misc/make_downstream_samples.py)."""
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

CFG = 'configs/downstream/mmseg/upernet_vit-tiny-p16_mln_8xb4-80k_lip-473x473.py'
CROP = (160, 160)  # tiny size for CPU


@pytest.fixture(scope='module')
def lip_root(downstream_samples):
    return osp.join(downstream_samples, 'LIP')


def _cfg(root, ckpt, data_root, work_dir, config=CFG):
    cfg = Config.fromfile(osp.join(root, config))
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.backbone.drop_path_rate = 0.0
    cfg.model.data_preprocessor.size = CROP
    for step in cfg.train_pipeline + cfg.test_pipeline:
        if step.type in ('RandomResize', 'Resize'):
            step.scale = CROP
        if step.type == 'RandomCrop':
            step.crop_size = CROP
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[split]
        loader.update(num_workers=0, persistent_workers=False)
        loader.dataset.data_root = data_root
    cfg.train_dataloader.dataset.pipeline = cfg.train_pipeline
    cfg.val_dataloader.dataset.pipeline = cfg.test_pipeline
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.update(max_iters=4, val_interval=4, val_begin=5)  # the tests validate once, after
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 4
    return cfg


def test_lip_flip_swaps_left_and_right_parts(root, lip_root):
    from mmseg.registry import TRANSFORMS
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(root, CFG))
    flip = next(dict(t, prob=1.0) for t in cfg.train_pipeline if t.type == 'RandomFlip')
    seg = np.zeros((4, 6), np.uint8)
    seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 5] = 14, 16, 18, 5  # left arm, leg, shoe at the left edge
    out = TRANSFORMS.build(flip)(dict(img=np.zeros((4, 6, 3), np.uint8), gt_seg_map=seg.copy(),
                                     seg_fields=['gt_seg_map']))
    assert (out['gt_seg_map'][:, 5] == 15).all() and (out['gt_seg_map'][:, 4] == 17).all()
    assert (out['gt_seg_map'][:, 3] == 19).all() and (out['gt_seg_map'][:, 0] == 5).all()


def test_backbone_loads_exported_checkpoint(root, tmp_path, saip_backbone, lip_root):
    ckpt, source = saip_backbone
    cfg = _cfg(root, ckpt, lip_root, tmp_path)
    init_default_scope('mmseg')
    from mmseg.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert_backbone_equals(model.backbone, source, skip=RESIZED)
    assert model.backbone.pos_embed.shape[1] == (473 // 16 + 1) ** 2  # resized from 16x8 (adaptive pad)


def test_lip_trains_and_evaluates(root, tmp_path, saip_backbone, lip_root):
    torch.manual_seed(0)
    np.random.seed(0)
    cfg = _cfg(root, saip_backbone[0], lip_root, tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    losses = repeated_batch_losses(runner, 2, 6, lr=1e-3, loss=lambda log: log['decode.loss_ce'])
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    runner.train()
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['mIoU'] <= 100.0 and 'aAcc' in metrics
    assert len(runner.val_dataloader.dataset) == 6


def test_sync_bn_becomes_bn_for_cpu_multi_process_runs(root):
    from saip_mm.utils.launcher import replace_sync_bn
    cfg = Config.fromfile(osp.join(root, CFG))
    assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    assert replace_sync_bn(cfg.model) == 2  # UPerNet head and the FCN auxiliary head
    assert 'SyncBN' not in str(cfg.model.to_dict())
    assert cfg.model.auxiliary_head.norm_cfg == dict(type='BN', requires_grad=True)


CIHP = 'configs/downstream/mmseg/upernet_vit-tiny-p16_mln_8xb4-80k_cihp-473x473.py'


def test_cihp_layout_trains_and_evaluates(root, tmp_path, saip_backbone, downstream_samples):
    """CIHP: whole multi-person images whose label maps hold the parts of every person."""
    from saip_mm.datasets import CIHPDataset
    cihp_root = osp.join(downstream_samples, 'CIHP', 'instance-level_human_parsing')
    val = CIHPDataset(data_root=cihp_root, split='Validation', pipeline=[])
    info = val.get_data_info(0)
    assert info['seg_map_path'].endswith(osp.join('Validation', 'Category_ids',
                                                  osp.basename(info['img_path'])[:-4] + '.png'))
    assert len(val.METAINFO['classes']) == 20
    with pytest.raises(FileNotFoundError, match='train_id.txt'):
        CIHPDataset(data_root=str(tmp_path), split='Training', pipeline=[])
    torch.manual_seed(0)
    np.random.seed(0)
    cfg = _cfg(root, saip_backbone[0], cihp_root, tmp_path, config=CIHP)
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    assert_backbone_equals(runner.model.backbone, saip_backbone[1], skip=RESIZED)
    runner.train()
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['mIoU'] <= 100.0
    assert len(runner.val_dataloader.dataset) == len(val)
