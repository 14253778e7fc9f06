"""Every pretraining config (SAIP's and the baselines') resolves to a registered algorithm; the runnable
ones (demo, learning signal) find their embedded data, and an iteration-based run over a set smaller
than two batches draws from an infinite sampler."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = sorted(osp.relpath(p, ROOT)
                 for folder in ('pretrain', 'baselines')
                 for p in glob.glob(osp.join(ROOT, 'configs', folder, '**/*.py'), recursive=True)
                 if '_base_' not in p)
RUNNABLE = [c for c in CONFIGS if 'demo-persons' in c]


def _list_len(ds) -> int:
    with open(osp.join(ds.data_root, ds.ann_file)) as f:
        return sum(1 for line in f if line.strip() and not line.startswith('#'))


@pytest.mark.parametrize('config', CONFIGS)
def test_pretrain_config_resolves(config):
    from saip_mm.registry import MODELS
    from saip_mm.utils.preflight import check_augmentation_placement
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.model.type in ('SAIP', 'PersonViT', 'HAP', 'SOLIDER')
    assert MODELS.get(cfg.model.type) is not None
    assert cfg.train_dataloader.batch_size > 0
    check_augmentation_placement(cfg)  # the photometric augmentation in one place (pipeline or device)
    if cfg.model.data_preprocessor.get('photometric'):  # the device path: SAIP's pipeline without it
        assert cfg.model.type == 'SAIP' and cfg.model.csm is not None, config


@pytest.mark.parametrize('config', RUNNABLE)
def test_runnable_config_finds_its_data_and_keeps_workers_busy(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    ds = cfg.train_dataloader.dataset
    assert osp.isfile(osp.join(ds.data_root, ds.ann_file)), (config, ds.data_root)
    if ds.get('background_dir'):
        assert osp.isdir(osp.join(ds.data_root, ds.background_dir)), (config, ds.background_dir)
    if ds.get('keypoint_file'):
        assert osp.isfile(osp.join(ds.data_root, ds.keypoint_file)), (config, ds.keypoint_file)
    assert osp.isdir(cfg.val_dataloader.dataset.data_root), config
    loader = cfg.train_dataloader
    if cfg.train_cfg.type == 'IterBasedTrainLoop' and loader.num_workers > 2:
        # a worker makes a whole batch: with an epoch-bound sampler only len/batch workers have work
        assert _list_len(ds) >= 2 * loader.batch_size or loader.sampler.type == 'InfiniteSampler', config


def test_gpu_learning_signal_config_is_the_paper_preset_at_one_gpu():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/pretrain/learning_signal/'
                                         'saip_vit-tiny-p16_1xb256-amp-600it_demo-persons.py'))
    paper = Config.fromfile(osp.join(ROOT, 'configs/pretrain/'
                                           'saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'))
    # the paper preset's model but for the prototype freeze: 10 iterations of the short run, not one epoch
    assert cfg.model.csm.neck.pop('freeze_last_layer') == dict(type='FirstSteps', iters=10)
    assert paper.model.csm.neck.pop('freeze_last_layer') == dict(type='FirstSteps', epochs=1)
    assert cfg.model.to_dict() == paper.model.to_dict()
    assert cfg.optim_wrapper.type == 'PerTensorClipAmpOptimWrapper'
    # the paper's rule: 2.5e-4 per 256 images
    assert cfg.optim_wrapper.optimizer.lr == pytest.approx(2.5e-4 * cfg.train_dataloader.batch_size / 256)
    assert cfg.param_scheduler[-1].end == cfg.train_cfg.max_iters
