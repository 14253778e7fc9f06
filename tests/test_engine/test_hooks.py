"""Hooks under a real mmengine Runner: τt warm-up, and a non-finite loss that stops a run while the
last good checkpoint stays loadable."""
import os.path as osp

import pytest
import torch
from cfg_paths import DEMO_CFG, SMALL_VIT
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from saip_mm.registry import HOOKS


@HOOKS.register_module(force=True)
class _PoisonCSRAt(Hook):
    """Fault injection for the test: make the CSR prediction NaN from iteration ``at`` on."""

    def __init__(self, at: int) -> None:
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                runner.model.objectives['csr'].neck.pred.bias.fill_(float('nan'))


def _cfg(root, work_dir, iters, hooks):
    cfg = Config.fromfile(osp.join(root, DEMO_CFG))
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.update(SMALL_VIT)  # the hooks, not the student's depth
    cfg.train_dataloader.dataset.data_root = osp.join(root, 'demo/persons')
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = iters
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.custom_hooks = [dict(type='ExpertEMAHook')] + hooks
    # no retrieval evaluation here (tests/test_evaluation/test_retrieval.py covers it)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.pop('save_best', None)
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize('length', [dict(warmup_epochs=1), None])
def test_teacher_temperature_has_one_owner(root, tmp_path, length):
    """τt is the CSM head's: a warm-up schedule (its epoch length from SchedulesHook) is read at the
    algorithm's step, and a number stays that number (no hook writes it); the old hook is refused. (A
    warm-up in iterations needs no hook: test_a_schedule_without_its_run_length_is_refused.)"""
    cfg = _cfg(root, tmp_path, 3, [])
    cfg.model.csm.head.teacher_temp = 0.05 if length is None else dict(
        type='LinearWarmup', start=0.04, end=0.07, **length)
    runner = Runner.from_cfg(cfg)
    runner.train()
    logged = list(runner.message_hub.get_scalar('train/csm_teacher_temp').data[0])
    if length is None:
        assert logged == pytest.approx([0.05] * 3)
        return
    # iteration i ran with 0.04 + 0.03 * i / warm-up iterations (an epoch: the loader's length, 216
    # batches of 2 of the 431 demo crops)
    iters = len(runner.train_dataloader)
    assert iters == 216
    assert logged == pytest.approx([0.04 + 0.03 * i / iters for i in range(3)])
    old = _cfg(root, tmp_path / 'old', 3, [dict(type='TeacherTempWarmupHook', start=0.04, end=0.07)])
    with pytest.raises(ValueError, match=r"TeacherTempWarmupHook was removed.*dict\(type='LinearWarmup'"):
        Runner.from_cfg(old).train()


def test_a_schedule_without_its_run_length_is_refused():
    from saip_mm.models.utils.expert_ema import CosineEMAExpert
    from saip_mm.models.utils.schedules import LinearWarmup, build_schedule
    warm = LinearWarmup(0.04, 0.07, warmup_epochs=2)
    with pytest.raises(ValueError, match='SchedulesHook'):
        warm.value_at(0)
    warm.resolve(iters_per_epoch=5, run_length=100)
    assert warm.value_at(5) == pytest.approx(0.055) and warm.value_at(50) == pytest.approx(0.07)
    expert = CosineEMAExpert(torch.nn.Linear(2, 2))  # over the run: needs the run's length
    with pytest.raises(ValueError, match='SchedulesHook'):
        expert.momentum_at(0)
    expert.momentum.resolve(1, 10)
    assert expert.momentum_at(0) == pytest.approx(0.996) and expert.momentum_at(10) == 1.0
    assert build_schedule(0.1).value_at(7) == 0.1
    in_iters = build_schedule(dict(type='LinearWarmup', start=0.04, end=0.07, warmup_iters=4))
    assert [in_iters.value_at(i) for i in (0, 2, 4, 9)] == pytest.approx([0.04, 0.055, 0.07, 0.07])
    freeze = build_schedule(dict(type='FirstSteps', epochs=2))  # DINO's prototype freeze
    with pytest.raises(ValueError, match='SchedulesHook'):
        freeze.value_at(0)
    freeze.resolve(iters_per_epoch=3, run_length=100)
    assert [freeze.value_at(i) for i in (0, 5, 6, 50)] == [1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match='exactly one of iters, epochs'):
        build_schedule(dict(type='FirstSteps'))
    with pytest.raises(ValueError, match='exactly one of'):
        LinearWarmup(0.04, 0.07)


@pytest.mark.slow
def test_non_finite_loss_keeps_last_good_checkpoint(root, tmp_path):
    runner = Runner.from_cfg(_cfg(root, tmp_path, 6, [dict(type='_PoisonCSRAt', at=3)]))
    with pytest.raises(FloatingPointError, match='loss_csr is not finite'):
        runner.train()
    assert osp.exists(tmp_path / 'iter_2.pth') and not osp.exists(tmp_path / 'iter_4.pth')
    ckpt = torch.load(tmp_path / 'iter_2.pth', map_location='cpu')
    bias = ckpt['state_dict']['objectives.csr.neck.pred.bias']
    assert torch.isfinite(bias).all() and ckpt['meta']['iter'] == 2


@pytest.mark.slow
def test_milestone_checkpoints_survive_the_rolling_ones(root, tmp_path):
    """The pretraining runtime keeps the 3 newest checkpoints and every milestone (paper Fig. 4
    compares epochs 100-300): the milestone CheckpointHook of default_runtime.py, scaled to iterations."""
    base = Config.fromfile(osp.join(root, 'configs/pretrain/_base_/default_runtime.py'))
    milestone = next(dict(h) for h in base.custom_hooks if h['type'] == 'CheckpointHook')
    assert milestone['max_keep_ckpts'] == -1 and base.default_hooks.checkpoint.max_keep_ckpts == 3
    milestone.update(interval=2, by_epoch=False, filename_tmpl='milestone_iter_{}.pth')
    cfg = _cfg(root, tmp_path, 5, [milestone])
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=2)
    cfg.model.csm.neck.out_channels = cfg.model.csm.head.out_channels = 256  # smaller files to write
    Runner.from_cfg(cfg).train()
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_4.pth', 'iter_5.pth']
    assert sorted(p.name for p in tmp_path.glob('milestone_*.pth')) == [
        'milestone_iter_2.pth', 'milestone_iter_4.pth']


@pytest.mark.slow
def test_last_layer_frozen_for_the_first_iterations(root, tmp_path):
    """The projector's ``FirstSteps(epochs=1)``, its epoch length from SchedulesHook (an epoch of 4
    crops at batch 2: 2 iterations), read at the algorithm's step."""
    cfg = _cfg(root, tmp_path, 4, [])
    cfg.train_dataloader.dataset.num_samples = 4
    cfg.model.csm.neck.freeze_last_layer = dict(type='FirstSteps', epochs=1)
    runner = Runner.from_cfg(cfg)
    weights = []

    class _Record(Hook):
        def before_train(self, runner):  # after the weights are initialised
            weights.append(runner.model.objectives['csm'].neck.last_layer.weight.detach().clone())

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            weights.append(runner.model.objectives['csm'].neck.last_layer.weight.detach().clone())

    runner.register_hook(_Record(), priority='LOWEST')
    runner.train()
    before = weights[0]
    # iterations 1 and 2 leave the prototypes as initialised; iteration 3 moves them
    assert torch.allclose(weights[1], before, atol=1e-6) and torch.allclose(weights[2], before, atol=1e-6)
    assert not torch.allclose(weights[3], before, atol=1e-6)
