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
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from saip_mm.registry import DATASETS, MODELS

DEMO_CFG = 'configs/pretrain/saip_vit-tiny_demo-cpu.py'


def _demo_cfg(root):
    cfg = Config.fromfile(osp.join(root, DEMO_CFG))
    cfg.train_dataloader.dataset.data_root = osp.join(root, cfg.train_dataloader.dataset.data_root)
    return cfg


@pytest.fixture(scope='module')
def fixed_batch(root):
    import numpy as np
    np.random.seed(0)
    cfg = _demo_cfg(root)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([dataset[i] for i in range(4)])


def test_overfits_fixed_batch_of_real_crops(root, fixed_batch):
    torch.manual_seed(0)
    cfg = _demo_cfg(root)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    model.expert.max_iters = 40
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    history = []
    for _ in range(40):
        log = model.train_step(fixed_batch, optim)
        model.update_expert()
        history.append({k: float(v.detach()) for k, v in log.items()})
    first = {k: sum(h[k] for h in history[:3]) / 3 for k in ('loss_csm', 'loss_csr', 'loss_css')}
    last = {k: sum(h[k] for h in history[-3:]) / 3 for k in first}
    # stated margins within 40 steps on a fixed batch (measured: -8 %, -49 %, -87 %). CSM, the
    # DINO-style cross-entropy against a moving, centred expert, falls slowest.
    margins = dict(loss_csm=0.95, loss_csr=0.7, loss_css=0.5)
    for k in first:
        assert last[k] < margins[k] * first[k], (k, first[k], last[k])


def test_objectives_can_be_switched_off(root, fixed_batch):
    cfg = _demo_cfg(root)
    cfg.model.csr = None
    cfg.model.css = None
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    assert model.csr_neck is None and model.css_neck is None
    data = model.data_preprocessor(fixed_batch, True)
    assert set(model.loss(**data)) == {'loss_csm'}


def test_non_finite_loss_names_the_term(root, fixed_batch):
    cfg = _demo_cfg(root)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        model.csr_neck.pred.bias.fill_(float('nan'))
    data = model.data_preprocessor(fixed_batch, True)
    with pytest.raises(FloatingPointError, match='loss_csr is not finite'):
        model.loss(**data)


def _train_cmd(root, work_dir, iters, resume=False):
    return [sys.executable, osp.join(root, 'tools/train.py'), osp.join(root, DEMO_CFG),
            '--work-dir', str(work_dir), *(['--resume'] if resume else []),
            '--cfg-options', f'train_cfg.max_iters={iters}',
            'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.interval=2', 'default_hooks.checkpoint.max_keep_ckpts=10',
            ]


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


def test_resume_after_kill_repeats_the_next_losses(root, tmp_path):
    env = dict(os.environ, PYTHONPATH=root, OMP_NUM_THREADS='1')
    ref_dir, run_dir = tmp_path / 'ref', tmp_path / 'run'
    subprocess.run(_train_cmd(root, ref_dir, 6), check=True, env=env, cwd=root, timeout=900,
                   capture_output=True)
    ref = _losses(ref_dir)
    assert sorted(ref) == [1, 2, 3, 4, 5, 6]

    proc = subprocess.Popen(_train_cmd(root, run_dir, 6), env=env, cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not (run_dir / 'iter_4.pth').exists() and time.time() < deadline:
        assert proc.poll() is None, 'training ended before it could be killed'
        time.sleep(0.2)
    time.sleep(0.5)  # let the checkpoint file be completely written
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run_dir / 'iter_6.pth').exists()

    out = subprocess.run(_train_cmd(root, run_dir, 6, resume=True), env=env, cwd=root,
                         timeout=900, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    resumed = _losses(run_dir)
    for step in (5, 6):
        for key in ('loss_csm', 'loss_csr', 'loss_css'):
            assert resumed[step][key] == pytest.approx(ref[step][key], rel=1e-4, abs=1e-6), \
                (step, key)
    assert (run_dir / 'iter_6.pth').exists()
