"""The StarNet-S3 and TinyViT-5M downstream configs: each loads a backbone exported from a SAIP model,
trains a few iterations and reports its real metric (mmpose, mmdet, mmseg, ReID, attributes)."""
import os.path as osp
import sys

import pytest
import torch
from cfg_paths import DEMO_CFG
from cfg_paths import SMALL_PRETRAIN as PRETRAIN
from mmengine.config import Config

# every test here trains a downstream model under the real Runner
pytestmark = pytest.mark.slow


@pytest.fixture(scope='module', params=['starnet', 'tinyvit'])
def small_backbone(request, root, tmp_path_factory):
    """A StarNet-S3 / TinyViT-5M backbone exported by saip2backbone.py from a (randomly initialised)
    SAIP model: (name, checkpoint, encoder state dict)."""
    from mmengine.registry import DefaultScope

    from saip_mm.registry import MODELS
    sys.path.insert(0, osp.join(root, 'tools', 'model_converters'))
    from saip2backbone import main as export
    cfg = Config.fromfile(osp.join(root, DEMO_CFG))
    cfg.model.backbone = Config.fromfile(osp.join(root, PRETRAIN[request.param])).model.backbone
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    out = tmp_path_factory.mktemp(request.param)
    torch.save(dict(state_dict=model.state_dict()), out / 'saip.pth')
    export([str(out / 'saip.pth'), str(out / 'backbone.pth')])
    return request.param, str(out / 'backbone.pth'), model.backbone.encoder.state_dict()


def _check_loaded(backbone, source):
    state = backbone.state_dict()
    assert set(state) <= set(source)  # TinyViT downstream may use fewer output norms
    for key, value in state.items():
        assert torch.equal(value, source[key]), key


DOWNSTREAM = {
    ('starnet', 'pose'): 'configs/downstream/mmpose/td-hm_starnet-s3_8xb64-210e_coco-256x192.py',
    ('tinyvit', 'pose'): 'configs/downstream/mmpose/td-hm_tinyvit-5m_8xb64-210e_coco-256x192.py',
    ('starnet', 'seg'): 'configs/downstream/mmseg/upernet_starnet-s3_8xb4-80k_lip-473x473.py',
    ('tinyvit', 'seg'): 'configs/downstream/mmseg/upernet_tinyvit-5m_sfp_8xb4-80k_lip-473x473.py',
    ('starnet', 'wholebody'):
        'configs/downstream/mmpose/td-hm_starnet-s3_8xb64-210e_coco-wholebody-256x192.py',
    ('tinyvit', 'wholebody'):
        'configs/downstream/mmpose/td-hm_tinyvit-5m_8xb64-210e_coco-wholebody-256x192.py',
    ('starnet', 'det'): 'configs/downstream/mmdet/crowddet-rcnn_starnet-s3_fpn_8xb2-30e_crowdhuman.py',
    ('tinyvit', 'det'): 'configs/downstream/mmdet/crowddet-rcnn_tinyvit-5m_sfp_8xb2-30e_crowdhuman.py',
    ('starnet', 'cihp'): 'configs/downstream/mmseg/upernet_starnet-s3_8xb4-80k_cihp-473x473.py',
    ('tinyvit', 'cihp'): 'configs/downstream/mmseg/upernet_tinyvit-5m_sfp_8xb4-80k_cihp-473x473.py',
    ('starnet', 'peta'): 'configs/downstream/attribute/par_starnet-s3_1xb64-25e_peta-256x128.py',
    ('tinyvit', 'peta'): 'configs/downstream/attribute/par_tinyvit-5m_1xb64-25e_peta-256x128.py',
    ('starnet', 'reid'): 'configs/downstream/reid/reid_starnet-s3_1xb64-24k_market1501-256x128.py',
    ('tinyvit', 'reid'): 'configs/downstream/reid/reid_tinyvit-5m_1xb64-24k_market1501-256x128.py',
    ('starnet', 'attr'): 'configs/downstream/attribute/par_starnet-s3_1xb64-25e_pa100k-256x128.py',
    ('tinyvit', 'attr'): 'configs/downstream/attribute/par_tinyvit-5m_1xb64-25e_pa100k-256x128.py',
}


def test_pose_config_loads_and_trains(root, tmp_path, small_backbone):
    from mmengine.runner import Runner
    from test_mmpose import _cfg
    name, ckpt, source = small_backbone
    cfg = _cfg(root, ckpt, tmp_path, config=DOWNSTREAM[name, 'pose'])
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    _check_loaded(runner.model.backbone, source)
    runner.train()
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['coco/AP'] <= 1.0
    assert torch.isfinite(torch.tensor(runner.message_hub.get_scalar('train/loss').current()))


def test_wholebody_config_loads_and_trains(root, tmp_path, small_backbone):
    from test_mmpose import _cfg
    name, ckpt, source = small_backbone
    cfg = _cfg(root, ckpt, tmp_path, config=DOWNSTREAM[name, 'wholebody'],
               ann='test_coco_wholebody.json')
    assert cfg.model.head.out_channels == 133
    assert 0.0 <= _train_and_validate(cfg, source)['coco-wholebody/AP'] <= 1.0


def _train_and_validate(cfg, source, overfit=None) -> dict:
    """Build the Runner of a downstream config, check that the exported backbone loaded, optionally
    check that the loss falls on a repeated batch (``overfit``: kwargs of ``repeated_batch_losses``
    with ``num_samples``), train the config's few iterations and return the validation metrics."""
    import numpy as np
    from downstream_utils import repeated_batch_losses
    from mmengine.runner import Runner
    torch.manual_seed(0)
    np.random.seed(0)
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    _check_loaded(runner.model.backbone, source)
    if overfit is not None:
        losses = repeated_batch_losses(runner, overfit.pop('num_samples'), 6, **overfit)
        assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    runner.train()
    return runner.val_loop.run()


def test_crowdhuman_config_loads_trains_and_evaluates(root, tmp_path, small_backbone,
                                                      downstream_samples):
    from test_mmdet import _cfg
    name, ckpt, source = small_backbone
    cfg = _cfg(root, ckpt, osp.join(downstream_samples, 'CrowdHuman'), tmp_path,
               config=DOWNSTREAM[name, 'det'])
    metrics = _train_and_validate(cfg, source, overfit=dict(num_samples=1))
    assert 0.0 <= metrics['crowd_human/mAP'] <= 1.0


def test_lip_config_loads_and_trains(root, tmp_path, small_backbone, downstream_samples):
    from test_mmseg import _cfg
    name, ckpt, source = small_backbone
    cfg = _cfg(root, ckpt, osp.join(downstream_samples, 'LIP'), tmp_path, config=DOWNSTREAM[name, 'seg'])
    assert 0.0 <= _train_and_validate(cfg, source)['mIoU'] <= 100.0


def test_reid_config_loads_trains_and_evaluates(root, tmp_path, small_backbone, downstream_samples):
    from test_reid_attribute import _reid_cfg
    name, ckpt, source = small_backbone
    cfg = _reid_cfg(root, ckpt, osp.join(downstream_samples, 'Market1501'), tmp_path,
                    config=DOWNSTREAM[name, 'reid'])
    metrics = _train_and_validate(cfg, source, overfit=dict(
        num_samples=1, loss=lambda log: log['ce_loss'] + log['triplet_loss']))
    assert metrics['reid/num_queries'] == 6 and 0 <= metrics['reid/mAP'] <= 100


def test_attribute_config_loads_trains_and_evaluates(root, tmp_path, small_backbone,
                                                     downstream_samples):
    from test_reid_attribute import _par_cfg
    name, ckpt, source = small_backbone
    cfg = _par_cfg(root, ckpt, osp.join(downstream_samples, 'PA100k'), tmp_path,
                   config=DOWNSTREAM[name, 'attr'])
    metrics = _train_and_validate(cfg, source, overfit=dict(num_samples=4, lr=1e-3))
    assert 0 <= metrics['attribute/mA'] <= 100


def test_cihp_and_peta_configs_load_and_train(root, tmp_path, small_backbone, downstream_samples):
    """The student's CIHP and PETA configs build, load the exported backbone and take training steps on
    real batches (their datasets and metrics: the ViT tests of test_mmseg / test_reid_attribute; the
    student's decoder and head wiring trains and evaluates in its LIP / PA100K test above)."""
    import numpy as np
    from downstream_utils import repeated_batch_losses
    from mmengine.runner import Runner
    from test_mmseg import _cfg
    from test_reid_attribute import _par_cfg
    name, ckpt, source = small_backbone
    cihp = osp.join(downstream_samples, 'CIHP', 'instance-level_human_parsing')
    configs = (_cfg(root, ckpt, cihp, tmp_path / 'cihp', config=DOWNSTREAM[name, 'cihp']),
               _par_cfg(root, ckpt, osp.join(downstream_samples, 'PETA'), tmp_path / 'peta',
                        config=DOWNSTREAM[name, 'peta']))
    for cfg in configs:
        torch.manual_seed(0)
        runner = Runner.from_cfg(cfg)
        runner.model.init_weights()
        _check_loaded(runner.model.backbone, source)
        losses = repeated_batch_losses(runner, 2, 2)
        assert all(np.isfinite(losses)), (cfg.filename, losses)
