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


def test_half_resolution_recipe_is_the_demo_recipe_at_the_same_tokens_per_step():
    """Issue 26 §2's reduced-input factor: make demo's recipe at the demo crops' own 128x64 with 4x the
    batch, its rules restated at that batch, nothing else changed."""
    from saip_mm.registry import MODELS
    from saip_mm.utils import register_all_modules
    register_all_modules()
    half = Config.fromfile(osp.join(ROOT, 'configs/pretrain/learning_signal/'
                                          'saip-recipe-half-res_vit-tiny-p16_1xb32-100it_demo-persons.py'))
    recipe = Config.fromfile(osp.join(ROOT, 'configs/pretrain/'
                                            'saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'))
    size = tuple(half.model.data_preprocessor.pop('anchor_size'))
    assert half.model.to_dict() == recipe.model.to_dict()
    batch, full_batch = half.train_dataloader.batch_size, recipe.train_dataloader.batch_size
    crops = [t[0] for t in half.train_dataloader.dataset.pipeline[0].transforms]
    assert all(tuple(c.scale) == size for c in crops)
    assert batch * size[0] * size[1] == full_batch * 256 * 128  # the same tokens a step
    lr = half.optim_wrapper.optimizer.lr
    assert lr == pytest.approx(5e-4 * batch / 256)
    assert half.param_scheduler[-1].eta_min == pytest.approx(0.02 * lr)
    assert [s.end for s in half.param_scheduler] == [s.end for s in recipe.param_scheduler]
    canvas = half.train_dataloader.dataset.pipeline[2].canvas_size
    assert all(side % 16 == 0 for side in canvas) and canvas[0] < 224
    # the view scales at this anchor size give sides the patch size divides (checked at build time)
    MODELS.build(dict(half.model.data_preprocessor, anchor_size=size))
