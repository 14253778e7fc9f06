"""SAIP end to end on real person crops: over-fitting, resume after a kill, non-finite losses."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from cfg_paths import DEMO_CFG, NO_VALIDATION, ROOT, SMALL_VIT, small_vit_config
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from saip_mm.engine.hooks import resolve_schedules
from saip_mm.registry import DATASETS, MODELS
from saip_mm.utils.host_sync import count_host_syncs

# the bare-resize ablation (with the anchor-teacher pairs it was measured with)
ANCHOR_VIEWS_CFG = ('configs/pretrain/learning_signal/'
                    'saip-anchor-views_vit-tiny-p16_1xb8-300it_demo-persons.py')


def _demo_cfg(root):
    cfg = Config.fromfile(osp.join(root, DEMO_CFG))
    cfg.train_dataloader.dataset.data_root = osp.join(root, cfg.train_dataloader.dataset.data_root)
    return cfg


@pytest.fixture(scope='module')
def fixed_batch(root):
    # every stream the transforms may draw from, so that the batch does not depend on test order
    from mmengine.runner import set_random_seed
    set_random_seed(0)
    cfg = _demo_cfg(root)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([dataset[i] for i in range(4)])


def cfg_prototypes(root) -> int:
    return _demo_cfg(root).model.csm.head.out_channels


def _overfit(root, batch, steps=40, model_cfg=None, **model_overrides):
    torch.manual_seed(0)
    cfg = _demo_cfg(root)
    if model_cfg is not None:
        cfg.model = Config.fromfile(osp.join(root, model_cfg)).model
    cfg.model.update(model_overrides)
    cfg.model.backbone.update(SMALL_VIT)
    if cfg.model.get('csm'):  # the margins below were measured with the prototypes never frozen
        cfg.model.csm.neck.freeze_last_layer = 0
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    resolve_schedules(model, steps, steps)  # what SchedulesHook gives a run of `steps`
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    history = []
    for _ in range(steps):
        log = model.train_step(batch, optim)
        model.update_expert()
        history.append({k: float(v.detach()) for k, v in log.items()})
    first = {k: sum(h[k] for h in history[:3]) / 3 for k in history[0] if k != 'loss'}
    last = {k: sum(h[k] for h in history[-3:]) / 3 for k in first}
    return first, last


@pytest.mark.slow
def test_overfits_fixed_batch_of_real_crops(root, fixed_batch):
    first, last = _overfit(root, fixed_batch)
    # stated margins within 40 steps on a fixed batch (measured with the 4-block student: -36 %, -89 %;
    # with the demo's 12 blocks -38 %, -88 %)
    for k, margin in dict(loss_csr=0.7, loss_css=0.5).items():
        assert last[k] < margin * first[k], (k, first[k], last[k])
    # CSM between independently augmented views (paper preset) is a harder matching task: on 4 images
    # in 40 steps it stays near level (measured 7.94 -> 8.17 on this batch with 4 blocks, 7.875 -> 7.991
    # with 12, 8.015 -> 7.997 on another; docs/results.md: it drifts to ln K = uniform targets over
    # longer runs). It must stay below ln K here, i.e. its targets are not yet uniform; that CSM
    # learns at all is the next test
    import math
    assert last['loss_csm'] < math.log(cfg_prototypes(root)), (first, last)


@pytest.mark.slow
def test_csm_alone_falls_on_bare_resized_views(root, fixed_batch):
    """CSM learns: with the bare-resize ablation (views = the anchor at other sizes) the student's
    view predictions move towards the expert's anchor targets (measured with the 4-block student:
    7.84 -> 7.27; 7.83 -> 7.37 with 12 blocks and all three objectives)."""
    first, last = _overfit(root, fixed_batch, csr=None, css=None, model_cfg=ANCHOR_VIEWS_CFG)
    assert last['loss_csm'] < 0.97 * first['loss_csm'], (first, last)


def test_objectives_can_be_switched_off(root, fixed_batch):
    cfg = _demo_cfg(root)
    cfg.model.csr = None
    cfg.model.css = None
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    assert list(model.objectives) == ['csm']
    data = model.data_preprocessor(fixed_batch, True)
    assert {k for k in model.loss(**data) if k.startswith('loss')} == {'loss_csm'}


def test_a_non_finite_term_comes_back_unread(root, fixed_batch):
    """The model reads nothing back: a NaN term is returned as it is, for DeferredRuntimeInfoHook to
    name when it reads the logged values (tests/test_engine/test_hooks.py stops a run with it)."""
    cfg = _demo_cfg(root)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        model.objectives['csr'].neck.pred.bias.fill_(float('nan'))
    data = model.data_preprocessor(fixed_batch, True)
    with count_host_syncs() as syncs:
        losses = model.loss(**data)
    assert syncs.total == 0, syncs.sites
    assert torch.isnan(losses['loss_csr']) and torch.isfinite(losses['loss_csm'])


def _train_cmd(config, work_dir, iters, resume=False):
    return [sys.executable, osp.join(ROOT, 'tools/train.py'), config,
            '--work-dir', str(work_dir), *(['--resume'] if resume else []),
            '--cfg-options', f'train_cfg.max_iters={iters}',
            'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.max_keep_ckpts=10',
            *NO_VALIDATION]


def _losses(work_dir):
    runs = sorted(d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d)))
    out = {}
    for run in runs:
        path = osp.join(work_dir, run, 'vis_data', 'scalars.json')
        if not osp.exists(path):
            continue
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec:
                    out[rec['step']] = rec
    return out


@pytest.mark.slow
def test_resume_after_kill_repeats_the_next_losses(root, tmp_path):
    """tools/train.py killed after its checkpoint at iteration 2 and run again with --resume logs the
    losses of iterations 3 and 4 that an uninterrupted run logs (the 4-block student of the demo)."""
    env = dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS='1')
    config = small_vit_config(tmp_path)
    ref_dir, run_dir = tmp_path / 'ref', tmp_path / 'run'
    # the reference run and the run to kill go side by side (one thread each on the two cores)
    ref_log = open(tmp_path / 'ref.log', 'w')
    ref_proc = subprocess.Popen(_train_cmd(config, ref_dir, 4), env=env, cwd=root, stdout=ref_log,
                                stderr=subprocess.STDOUT)
    proc = subprocess.Popen(_train_cmd(config, run_dir, 4), env=env, cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not (run_dir / 'iter_2.pth').exists() and time.time() < deadline:
        assert proc.poll() is None, 'training ended before it could be killed'
        time.sleep(0.05)
    time.sleep(0.5)  # let the checkpoint file be completely written
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / 'iter_4.pth').exists()
    assert ref_proc.wait(timeout=900) == 0, (tmp_path / 'ref.log').read_text()[-3000:]
    ref_log.close()
    ref = _losses(ref_dir)
    assert sorted(ref) == [1, 2, 3, 4]

    out = subprocess.run(_train_cmd(config, run_dir, 4, resume=True), env=env, cwd=root,
                         timeout=900, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'resumed' in out.stdout + out.stderr  # mmengine: "resumed epoch: 0, iter: 2"
    resumed = _losses(run_dir)
    for step in (3, 4):
        for key in ('loss_csm', 'loss_csr', 'loss_css'):
            assert resumed[step][key] == pytest.approx(ref[step][key], rel=1e-4, abs=1e-6), \
                (step, key)
    assert (run_dir / 'iter_4.pth').exists()


@pytest.mark.parametrize('path,value,match', [
    ('csr.mask_ratoi', 0.5, 'unknown option model.csr.mask_ratoi; allowed: neck, head, level'),
    ('css.levle', 'mid', 'unknown option model.css.levle'),
    ('csm.teacher_veiws', [0], 'unknown option model.csm.teacher_veiws'),
    ('csr.kv', 'patch', r"model.csr.kv must be one of \('patches', 'cls', 'none'\)"),
    ('csr.query_encoder', 'teacher', 'model.csr.query_encoder must be one of'),
])
def test_objective_option_typos_raise(root, path, value, match):
    cfg = _demo_cfg(root)
    section, key = path.split('.')
    cfg.model[section][key] = value
    with DefaultScope.overwrite_default_scope('saip_mm'), pytest.raises(ValueError, match=match):
        MODELS.build(cfg.model)


def test_transformer_blocks_are_xavier_uniform(root):
    """Paper appendix A: every Linear of the student's blocks (attention included) is Xavier-uniform."""
    torch.manual_seed(0)
    cfg = _demo_cfg(root)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    for name in ('attn.qkv', 'attn.proj', 'ffn.layers.0.0', 'ffn.layers.1'):
        weight = model.backbone.layers[3].get_submodule(name).weight
        bound = (6 / sum(weight.shape)) ** 0.5
        assert float(weight.abs().max()) <= bound + 1e-7, name
        assert float(weight.abs().max()) > 0.98 * bound, name  # uniform: reaches its bound
        assert abs(float(weight.std()) - bound / 3 ** 0.5) < 0.05 * bound, name


def test_csr_mask_ratio_is_one_setting(root, fixed_batch):
    cfg = _demo_cfg(root)
    cfg.model.csr.mask_ratio = 0.5
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    masks = model.data_preprocessor(fixed_batch, True)['inputs']['view_masks']
    assert all(abs(float(m.float().mean()) - 0.5) < 0.02 for m in masks)
    cfg.model.data_preprocessor.mask_ratio = 0.6
    with DefaultScope.overwrite_default_scope('saip_mm'), \
            pytest.raises(ValueError, match='mask_ratio=0.6 disagrees with model.csr.mask_ratio=0.5'):
        MODELS.build(cfg.model)
