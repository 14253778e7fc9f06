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


@pytest.mark.slow
def test_a_sinkhorn_queue_longer_than_the_data_is_refused_before_the_first_iteration(root, tmp_path):
    """Issue 26's bad input: the queue of Sinkhorn-Knopp centring may hold at most one epoch of the
    expert's outputs (here the 431 demo crops, 2 expert views each: 862 rows); one more is refused
    before any iteration, naming the key; the longest that fits trains."""
    def run(queue, name):
        cfg = _cfg(root, tmp_path / name, 1, [])
        cfg.model.csm.head.centering = dict(type='SinkhornKnoppCentering', queue_length=queue)
        return Runner.from_cfg(cfg)

    assert len(Config.fromfile(osp.join(root, DEMO_CFG)).model.csm.teacher_views) == 2
    runner = run(863, 'long')
    with pytest.raises(ValueError, match=r'^model\.csm\.head\.centering\.queue_length=863 is longer than '
                                         r'the data: one epoch gives 862 teacher outputs per rank'):
        runner.train()
    assert runner.iter == 0
    runner = run(862, 'fits')
    runner.train()
    assert runner.iter == 1 and int(runner.model.objectives['csm'].head.centering.queued) == 2 * 2


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
@pytest.mark.parametrize('interval', [1, 5])
def test_non_finite_loss_keeps_last_good_checkpoint(root, tmp_path, interval):
    """DeferredRuntimeInfoHook reads the losses at the logging interval (1: after the NaN step) or
    before the next checkpoint (5: before iteration 4's, which is then not written)."""
    cfg = _cfg(root, tmp_path, 6, [dict(type='_PoisonCSRAt', at=3)])
    cfg.default_hooks.logger.interval = interval
    runner = Runner.from_cfg(cfg)
    read_at = 3 if interval == 1 else 4
    message = rf'^loss_csr is not finite \(nan\) at iteration 3, read at iteration {read_at} '
    with pytest.raises(FloatingPointError, match=message):
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


def test_feature_spread_reads_the_students_features(root, tmp_path, person_images):
    """FeatureSpreadHook: the mean pairwise cosine of the student's retrieval features of its crops
    (checked against the features computed here), 1 for copies of one crop, the model's mode kept; a
    folder with fewer than two crops is refused, naming it."""
    import mmcv
    from mmengine.registry import DefaultScope

    from saip_mm.engine.hooks import FeatureSpreadHook
    from saip_mm.models.utils import retrieval_features
    from saip_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(root, DEMO_CFG))
    cfg.model.backbone.update(SMALL_VIT)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    people = tmp_path / 'people'
    people.mkdir()
    for i, img in enumerate(person_images[:4]):
        mmcv.imwrite(img, str(people / f'{i}.png'))
    hook = FeatureSpreadHook(str(people), size=(128, 64))
    assert hook.images.shape == (4, 3, 128, 64) and hook.images.dtype == torch.uint8
    value = hook.value(model)
    assert model.training  # back in train mode
    model.eval()
    feats = retrieval_features(model.backbone, model.data_preprocessor.normalize(hook.images),
                               level=model.eval_cfg['level'])[:, 0]
    unit = torch.nn.functional.normalize(feats, dim=-1)
    pairs = [float(unit[i] @ unit[j]) for i in range(4) for j in range(4) if i != j]
    assert value == pytest.approx(sum(pairs) / len(pairs), abs=1e-5) and value < 0.999
    same = tmp_path / 'same'
    same.mkdir()
    for i in range(3):
        mmcv.imwrite(person_images[0], str(same / f'{i}.png'))
    assert FeatureSpreadHook(str(same), size=(128, 64)).value(model) == pytest.approx(1.0, abs=1e-5)
    assert not model.training  # an eval-mode model stays in eval mode
    with pytest.raises(FileNotFoundError, match=r"image_dir '.*one' has 1 crop\(s\)"):
        (tmp_path / 'one').mkdir()
        mmcv.imwrite(person_images[0], str(tmp_path / 'one' / 'a.jpg'))
        FeatureSpreadHook(str(tmp_path / 'one'))
    (tmp_path / 'one' / 'b.png').write_bytes(b'not an image')
    with pytest.raises(ValueError, match=r'FeatureSpreadHook: .*b\.png is not a readable image'):
        FeatureSpreadHook(str(tmp_path / 'one'))


@pytest.mark.slow
def test_lr_probe_runs_each_rate_from_one_initialisation(tmp_path):
    """tools/analysis/lr_probe.py: one run per lr from the same initialisation (the same cosine before
    training), the cosine after every iteration and the lr schedule it was given; the large lr merges
    the features faster than the small one (docs/results.md, 2026-12-04)."""
    import sys
    sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                                'tools', 'analysis'))
    import lr_probe
    rows = lr_probe.main(['--out', str(tmp_path), '--lr', '2e-3', '1.5625e-5', '--iters', '3',
                          '--warmup', '2', '--batch', '4'])
    big, small = (r['series'] for r in rows)
    assert len(big['feature_pair_cos']) == 4 and big['feature_pair_cos'][0] == small['feature_pair_cos'][0]
    assert big['lr'][0] == pytest.approx(2e-6) and max(big['lr']) == pytest.approx(2e-3)  # warmed up
    assert big['feature_pair_cos'][2] > small['feature_pair_cos'][2] + 0.2
    text = (tmp_path / 'lr_probe.md').read_text()
    assert '| 0.002 |' in text and '| 1.5625e-05 |' in text and 'feature_pair_cos' in text
