"""Issue 28 §3: a Runner iteration reads the device once per logging interval, not once per logged
scalar; the logs, the checkpoints' message hub and the finiteness check stay what they were."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT, SMALL_VIT
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from saip_mm.engine.hooks.deferred_runtime_info_hook import read_scalars
from saip_mm.utils.host_sync import count_host_syncs
from saip_mm.utils.preflight import ConfigConflictError, check_runtime_info, preflight

TIMED = ('train/time', 'train/data_time')  # wall-clock figures differ between any two runs


class _CountTrainingReads(Hook):
    """Counts host reads from saip_mm and mmengine code between ``before_train`` and ``after_train``
    (the iterations; not the weights' initialisation)."""

    def before_train(self, runner) -> None:
        self.counting = count_host_syncs('mmengine')
        self.syncs = self.counting.__enter__()

    def after_train(self, runner) -> None:
        self.counting.__exit__(None, None, None)


def _run(tmp_path, name, deferred, epochs=None):
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    cfg.work_dir = str(tmp_path / name)
    cfg.model.backbone.update(SMALL_VIT)
    cfg.train_dataloader.update(batch_size=2, num_workers=1)  # the pipeline's host tensors: in a worker
    cfg.train_cfg.max_iters = 6
    cfg.default_hooks.logger.interval = 5
    if epochs:  # 4 iterations an epoch: the logger logs after the 3rd of each
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs)
        cfg.train_dataloader.dataset.num_samples = 8
        cfg.default_hooks.logger.interval = 3
    cfg.default_hooks.checkpoint.update(interval=4, save_last=False, max_keep_ckpts=5)
    cfg.default_hooks.checkpoint.pop('save_best', None)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.custom_hooks = [dict(type='ExpertEMAHook')]
    if not deferred:  # mmengine's hook and wrapper: every scalar read after every step
        cfg.default_hooks.runtime_info.type = 'RuntimeInfoHook'
        cfg.optim_wrapper.type = 'OptimWrapper'
    runner = Runner.from_cfg(cfg)
    counter = _CountTrainingReads()
    runner.register_hook(counter, priority='LOWEST')
    runner.train()
    # checkpoint writing moves the weights to the host (once per checkpoint); mmengine's sampler draws
    # its permutation on the host (once per epoch): not reads of the step
    sites = {k: v for k, v in counter.syncs.sites.items()
             if not k.startswith(('mmengine/runner/', 'mmengine/dataset/sampler.py'))}
    logged = [json.loads(line) for line in open(osp.join(runner.log_dir, 'vis_data', 'scalars.json'))]
    return runner, sites, logged


@pytest.mark.slow
def test_the_logs_are_mmengines_with_one_read_per_interval(tmp_path):
    runner, sites, logged = _run(tmp_path, 'deferred', True)
    ref_runner, ref_sites, ref_logged = _run(tmp_path, 'mmengine', False)
    outputs = len([k for k in ref_runner.message_hub.log_scalars
                   if k.startswith('train/loss') or k.startswith('train/csm_')])
    # mmengine: each output scalar and the gradient norm, every one of the 6 steps
    assert ref_sites['mmengine/logging/message_hub.py:_get_valid_value item'] == 6 * outputs
    assert ref_sites['mmengine/optim/optimizer/optimizer_wrapper.py:_clip_grad __float__'] == 6
    # here: one read at the first iteration (new keys enter the hub in mmengine's order), the checkpoint
    # of iteration 4, the log of 5 and the last iteration, 6
    assert sites == {'saip_mm/engine/hooks/deferred_runtime_info_hook.py:read_scalars tolist': 4}, sites
    hub, ref_hub = runner.message_hub.log_scalars, ref_runner.message_hub.log_scalars
    assert set(hub) == set(ref_hub) and 'train/grad_norm' in hub and 'train/loss_csr' in hub
    for key in set(hub) - set(TIMED):
        assert np.array_equal(hub[key].data[0], ref_hub[key].data[0]), key
    assert len(hub['train/loss'].data[0]) == 6

    def untimed(rows):
        return [{k: v for k, v in r.items() if k not in ('time', 'data_time', 'memory')} for r in rows]
    assert untimed(logged) == untimed(ref_logged) and [r['step'] for r in logged] == [5]
    assert [list(r) for r in logged] == [list(r) for r in ref_logged]  # the keys in the same order
    # the checkpoint of iteration 4 holds its 4 values, as mmengine's hub held them when it was written
    saved = [torch.load(osp.join(r.work_dir, 'iter_4.pth'), map_location='cpu')['message_hub']
             ['log_scalars'] for r in (runner, ref_runner)]
    for key in ('train/loss', 'train/grad_norm', 'train/loss_csm'):
        mine, theirs = saved[0][key].data[0], saved[1][key].data[0]
        assert len(mine) == 4 and np.array_equal(mine, theirs), key


@pytest.mark.slow
def test_an_epoch_based_run_logs_what_mmengine_logs(tmp_path):
    runner, sites, logged = _run(tmp_path, 'deferred', True, epochs=2)
    ref_runner, _, ref_logged = _run(tmp_path, 'mmengine', False, epochs=2)
    hub, ref_hub = runner.message_hub.log_scalars, ref_runner.message_hub.log_scalars
    assert set(hub) == set(ref_hub) and len(hub['train/loss'].data[0]) == 8
    for key in set(hub) - set(TIMED):
        assert np.array_equal(hub[key].data[0], ref_hub[key].data[0]), key
    # (not at the ends of the epochs: the logger's ignore_last)
    assert [r['step'] for r in logged] == [r['step'] for r in ref_logged] == [3, 7]
    assert [list(r) for r in logged] == [list(r) for r in ref_logged]
    # the first iteration, then every 3rd of an epoch and each epoch's end (the checkpoint at 4 finds
    # nothing left to read)
    assert sites == {'saip_mm/engine/hooks/deferred_runtime_info_hook.py:read_scalars tolist': 5}, sites


def test_read_scalars_gives_what_item_gives():
    values = [torch.tensor(0.1), torch.tensor([[2.5e-7]]), torch.tensor(3),
              torch.tensor(1.7, dtype=torch.bfloat16), torch.tensor(float('nan'))]
    got = read_scalars(values)
    assert got[:4] == [v.item() for v in values[:4]] and isinstance(got[2], int) and np.isnan(got[4])
    assert read_scalars([]) == []


def test_a_pretraining_config_needs_the_deferred_hook():
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    preflight(cfg, DEMO_CFG)
    cfg.default_hooks.runtime_info = dict(type='RuntimeInfoHook')
    with pytest.raises(ConfigConflictError, match=r"^default_hooks.runtime_info is RuntimeInfoHook; .*"
                                                  r"type='DeferredRuntimeInfoHook'"):
        preflight(cfg, DEMO_CFG)
    pose = Config.fromfile(osp.join(
        ROOT, 'configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py'))
    check_runtime_info(pose)  # a downstream model keeps mmengine's hook


@pytest.mark.parametrize('fused', [True, False])
def test_the_presets_adamw_takes_the_loss_scalers_flag_on_the_device(fused):
    """The presets' AdamW is fused: under AMP, GradScaler hands it the inf flag instead of reading it
    on the host every step (checked with torch's CPU scaler; a non-fused AdamW makes the read)."""
    from mmengine.optim import build_optim_wrapper

    from saip_mm.utils.launcher import fall_back_from_amp
    cfg = Config.fromfile(osp.join(ROOT, 'configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'))
    assert cfg.optim_wrapper.optimizer.fused is True
    cfg.optim_wrapper.optimizer.fused = fused or None
    if not torch.cuda.is_available():
        with pytest.warns(UserWarning, match='PerTensorClipAmpOptimWrapper'):
            fall_back_from_amp(cfg)  # mmengine's AMP wrapper needs a GPU; the optimizer is the same
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LayerNorm(8))
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    scaler = torch.amp.GradScaler('cpu')
    for _ in range(2):
        scaler.scale(model(torch.randn(4, 8)).pow(2).mean()).backward()
        scaler.unscale_(wrapper.optimizer)
        wrapper._clip_grad()
        with count_host_syncs('torch') as syncs:
            scaler.step(wrapper.optimizer)
            scaler.update()
        wrapper.optimizer.zero_grad()
    scaler_reads = {k: v for k, v in syncs.sites.items() if k.startswith('torch/amp/')}
    assert scaler_reads == ({} if fused else {'torch/amp/grad_scaler.py:<genexpr> item': 1})
