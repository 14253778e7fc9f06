"""The learning tools of issue 26: the factorial's design and the one-command learning check (run on the
CPU at a tiny budget; on a GPU it picks the largest batch that fits)."""
import json
import os
import os.path as osp
import sys

import pytest
from cfg_paths import ROOT, SMALL_VIT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import gpu_check  # noqa: E402
import learning_check  # noqa: E402
import learning_factorial  # noqa: E402
import run_summary  # noqa: E402


def test_factorial_is_a_resolution_iv_half_fraction():
    cells = learning_factorial.cells()
    assert len(cells) == 8 and len({tuple(c.values()) for c in cells.values()}) == 8
    sign = {'-': -1, '+': 1}
    for levels in cells.values():  # the defining relation: momentum = pairs x tau x lr
        assert sign[levels['momentum']] == sign[levels['pairs']] * sign[levels['tau']] * sign[levels['lr']]
    for factor in learning_factorial.FACTORS:  # each level of each factor in half of the runs
        assert sum(c[factor] == '+' for c in cells.values()) == 4
    opts = learning_factorial.options(cells['c8'])
    assert 'model.csm.head.teacher_temp=0.02' in opts and 'model.expert.momentum=0.9995' in opts
    assert any(o.startswith('optim_wrapper.optimizer.lr=1.5625e-05') for o in opts)
    for path in learning_factorial.CONFIGS.values():
        assert osp.isfile(osp.join(ROOT, path))


def test_recipe_rules_at_another_batch():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, learning_check.RECIPE))
    rates = {rule: learning_check.recipe_lr(cfg, 64, rule) for rule in learning_check.LR_RULES}
    base = 5e-4 * 8 / 256  # the config's: the paper's base by the linear rule at its batch of 8
    assert rates == pytest.approx(dict(config=base, sqrt=base * 8 ** 0.5, linear=base * 8))
    with pytest.raises(ValueError, match="lr rule must be one of .* got 'cubic'"):
        learning_check.recipe_lr(cfg, 64, 'cubic')
    lr = learning_check.set_recipe(cfg, batch=64, iters=200, workers=4, amp=True, lr=rates['config'])
    assert lr == cfg.optim_wrapper.optimizer.lr == pytest.approx(base)
    assert learning_check.parse_args(['--out', 'x']).lr_rule == 'config'
    assert cfg.optim_wrapper.type == 'PerTensorClipAmpOptimWrapper'
    assert cfg.param_scheduler[0].end == 20 and cfg.param_scheduler[1].end == 200  # 10 % warm-up
    assert cfg.train_cfg.max_iters == 200 and cfg.train_cfg.val_interval > 200  # evaluated after the run
    assert not any(h.type in ('ValBeforeTrainHook', 'PretrainVisualizationHook') for h in cfg.custom_hooks)
    assert any(h.type == 'ExpertEMAHook' for h in cfg.custom_hooks)
    spread = [h for h in cfg.custom_hooks if h.type == 'FeatureSpreadHook']  # logged with the losses
    assert len(spread) == 1 and spread[0].interval == cfg.default_hooks.logger.interval
    assert osp.isdir(spread[0].image_dir)
    assert cfg.model.expert.momentum == 0.9995 and cfg.model.csm.head.teacher_temp == 0.04
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler' and cfg.train_dataloader.batch_size == 64
    assert cfg.model.csm.neck.freeze_last_layer == dict(type='FirstSteps', epochs=1)


def test_recipe_at_batch_1024_takes_dinos_default_momentum():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, learning_check.RECIPE))
    learning_check.set_recipe(cfg, batch=1024, iters=50, workers=12, amp=True,
                              lr=learning_check.recipe_lr(cfg, 1024, 'linear'), warmup=8)
    assert cfg.model.expert.momentum == 0.996 and cfg.optim_wrapper.optimizer.lr == pytest.approx(2e-3)
    assert cfg.param_scheduler[0].end == 8  # the warm-up given, not 10 % of the run


def test_augment_on_device_moves_the_photometric_ops_to_the_preprocessor(tmp_path):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, learning_check.RECIPE))
    assert cfg.model.data_preprocessor.photometric is None
    types = str(cfg.train_dataloader.dataset.pipeline)
    assert 'ColorJitter' in types and 'GaussianBlur' in types
    learning_check.augment_on_device(cfg)
    assert cfg.model.data_preprocessor.photometric.anchor.type == 'BatchPhotometricAugment'
    types = str(cfg.train_dataloader.dataset.pipeline)
    assert 'ColorJitter' not in types and 'GaussianBlur' not in types and 'CopyPasteCanvas' in types
    assert cfg.train_dataloader.dataset.background_dir == 'backgrounds'  # the demo's data kept
    (tmp_path / 'plain.py').write_text("model = dict(data_preprocessor=dict(photometric=None))\n")
    with pytest.raises(KeyError, match='plain.py.*device_photometric'):
        learning_check.augment_on_device(Config.fromfile(str(tmp_path / 'plain.py')))


@pytest.mark.slow
def test_learning_check_writes_its_table(tmp_path):
    from mmengine.config import Config
    from val_sets import small_val_sets
    cfg = Config.fromfile(osp.join(ROOT, learning_check.RECIPE))
    small_val_sets(cfg, tmp_path)  # the table's form does not depend on the sets' size
    cfg.model.backbone.update(SMALL_VIT)  # nor on the student's depth
    cfg.dump(str(tmp_path / 'recipe.py'))
    check = learning_check.main(['--out', str(tmp_path / 'out'), '--config', str(tmp_path / 'recipe.py'),
                                 '--device', 'cpu', '--batch', '2', '--max-iters', '3', '--workers', '1',
                                 '--minutes', '30', '--augment', 'device',  # the GPU's path, on the CPU
                                 '--train-seconds', '0',  # the deadline stops it after one iteration
                                 '--seed', '3'])  # another start than the config's
    assert check['iterations'] == 3 and check['iterations_run'] == 1
    assert check['workers_stopped'] == 1  # the loader's worker ended with training, before the evaluation
    assert check['batch'] == 2 and check['augment'] == 'device'
    assert check['s_per_sample_one_worker'] > 0 and check['s_per_iter_trained'] > 0
    table = (tmp_path / 'out' / 'table.md').read_text()
    # the run's own start (saved before its first iteration; on a GPU a CUDA draw) beside its end
    assert 'iter_0.pth |' in table and 'iter_1.pth |' in table and 'xscale_persons/R1' in table
    stored = json.loads((tmp_path / 'out' / 'retrieval.json').read_text())
    assert len(stored['encoders']) == 2 and stored['set']['queries'] == 15
    start, end = stored['encoders']
    assert start.endswith('work/iter_0.pth') and end.endswith('work/iter_1.pth')
    assert json.loads((tmp_path / 'out' / 'check.json').read_text())['images_seen'] == 2
    # --seed reaches the initialisation: the run's start is the seed-3 draw, not the config's seed 0
    from saip_mm.registry import MODELS
    from saip_mm.utils.checkpoint import load_checkpoint
    dumped = Config.fromfile(str(tmp_path / 'out' / 'config.py'))
    assert check['seed'] == dumped.model.seed == dumped.randomness.seed == 3
    saved = load_checkpoint(str(tmp_path / 'out' / 'work' / 'iter_0.pth'))['state']
    key = 'backbone.patch_embed.projection.weight'
    for seed, same in ((3, True), (0, False)):
        model = MODELS.build(dict(dumped.model, seed=seed))
        model.init_weights()
        assert model.state_dict()[key].equal(saved[key]) is same, seed


def test_run_summary_reads_the_validation_and_training_logs(tmp_path):
    first = {'retrieval/mAP': 38.5, 'retrieval/all_mAP': 41.2, 'retrieval/xs_mAP': 38.7,
             'retrieval/knn': 48.1, 'retrieval/pair_cos': 0.464, 'xscale_persons/R1': 51.3,
             'xscale_persons/R1_std': 2.4, 'xscale_persons/mAP': 64.7, 'xscale_persons/mAP_std': 1.7}
    rows = [dict(step=0, **first),
            dict(step=10, loss=9.1, loss_csm=8.07, csm_teacher_entropy_rel=1.01),
            dict(step=20, loss=9.0, loss_csm=8.2),
            dict(step=300, **{'retrieval/mAP': 32.2, 'retrieval/xs_mAP': 33.6, 'retrieval/knn': 47.4,
                              'retrieval/pair_cos': 0.763})]
    log = tmp_path / 'run' / '20261203_000000' / 'vis_data'
    log.mkdir(parents=True)
    (log / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in rows) + '\n')
    out = run_summary.main([str(tmp_path / 'run'), '--iters', '10', '--json', str(tmp_path / 's.json')])
    summary = out[str(tmp_path / 'run')]
    assert sorted(summary['val']) == [0, 300] and summary['val'][0]['xsp_R1_std'] == 2.4
    assert summary['val'][0]['all_mAP'] == 41.2 and 'all_mAP' not in summary['val'][300]
    assert summary['train'] == {10: {'loss_csm': 8.07, 'csm_teacher_entropy_rel': 1.01}}
    with pytest.raises(FileNotFoundError, match='no <timestamp>/vis_data/scalars.json'):
        run_summary.main([str(tmp_path)])


@pytest.mark.slow
def test_gpu_check_writes_its_tables(tmp_path):
    """On the CPU at batch 2 and one step, the loader table of the GPU check for the paper preset (the
    other tables and presets differ only in the benchmark's flags, checked below): data and step time
    apart, the shapes column, the JSON rows."""
    done = gpu_check.main(['--out', str(tmp_path), '--batch', '2', '--steps', '1', '--device', 'cpu',
                           '--workers', '0', '--tables', 'loader', '--presets', 'paper',
                           '--data-samples', '2', '--shape-batches', '20'])
    assert list(done) == ['loader'] and done['loader']['returncode'] == 0
    loader = (tmp_path / 'loader.md').read_text()
    assert '| paper' in loader and 'shapes / 20 batches' in loader
    # the config's collate (the paper preset's: a tensor per field from a worker)
    assert '(0 workers, saip_mm.stack_collate; pre-built batch ' in loader and '; loader alone ' in loader
    rows = json.loads((tmp_path / 'loader.json').read_text())
    paper = next(r for r in rows if r.get('preset') == 'paper')
    assert paper['prebuilt_s_per_step'] > 0  # the loader table keeps the pre-built batch's step too
    # past the prefetched batches (2 x workers + 4 steps), in the Runner's environment (the config's
    # opencv_num_threads=0: OpenCV runs sequentially and then reports 1 thread, 2 by default here), with
    # the loader's rate alone beside it
    timing = paper['loader']
    assert timing['steps'] == 4 and timing['opencv_threads'] == 1
    assert timing['collate'] == 'saip_mm.stack_collate'
    assert timing['alone_img_s'] > 0 and timing['first_batch_s'] > 0
    # the scale buckets: 4 view sizes, the anchor and the canvas (a continuous draw gives ~1 per batch)
    assert paper['shape_batches'] == 20 and paper['distinct_shapes'] <= 6 and paper['loader']['step_s'] > 0
    runs = gpu_check.runs(gpu_check.parse_args(['--out', 'x']))  # what a device session runs
    assert set(runs) == {'prebuilt_batch', 'loader', 'compile', 'profile'}
    for table in ('prebuilt_batch', 'loader'):
        assert runs[table][:4] == [gpu_check.BENCH, '--presets', 'paper', 'official-code']
        assert '--amp' in runs[table]
    assert runs['loader'][-3:-1] == ['--loader', '--workers']
    assert runs['compile'][-2:] == ['--compile', 'both']  # the paper preset without and with compiled blocks
    assert runs['loader'][runs['loader'].index('--shape-batches') + 1] == '100'


@pytest.mark.slow
def test_gpu_check_compile_table_has_the_step_without_and_with_compiled_blocks(tmp_path):
    """The compile table on the CPU at batch 2: a row of the eager paper preset and one with its
    transformer blocks compiled (model.compile_encoders), their FLOPs counted alike (eagerly: compiled
    kernels escape the counter)."""
    done = gpu_check.main(['--out', str(tmp_path), '--batch', '2', '--steps', '1', '--device', 'cpu',
                           '--tables', 'compile', '--data-samples', '2', '--shape-batches', '2'])
    assert done['compile']['returncode'] == 0
    table = (tmp_path / 'compile.md').read_text()
    assert '| paper (compiled)' in table and 'failed' not in table
    rows = [r for r in json.loads((tmp_path / 'compile.json').read_text()) if r.get('preset') == 'paper']
    assert [r['compiled'] for r in rows] == [False, True]
    assert rows[1]['gflop_per_step'] == pytest.approx(rows[0]['gflop_per_step'], rel=1e-6)
    assert rows[1]['s_per_step'] > 0


def test_make_demo_runs_the_small_batch_recipe():
    """`make demo` trains the recipe config, and that config states DINO's rules at its own batch."""
    import re

    from mmengine.config import Config
    with open(osp.join(ROOT, 'Makefile')) as f:
        makefile = f.read()
    recipe = re.search(r'^DEMO_RECIPE := (\S+)', makefile, re.M).group(1)
    assert '$(PY) tools/train.py $(DEMO_RECIPE)' in makefile
    cfg = Config.fromfile(osp.join(ROOT, recipe))
    batch, iters = cfg.train_dataloader.batch_size, cfg.train_cfg.max_iters
    lr = cfg.optim_wrapper.optimizer.lr
    assert lr == pytest.approx(5e-4 * batch / 256)  # the linear rule from the paper's base
    assert cfg.param_scheduler[0].end == iters // 10 and cfg.param_scheduler[-1].end == iters
    assert cfg.param_scheduler[-1].eta_min == pytest.approx(0.02 * lr)
    assert cfg.optim_wrapper.clip_grad.type == 'per_tensor'
    assert cfg.model.expert.momentum == 0.9995 and cfg.model.csm.head.teacher_temp == 0.04
    hooks = {h.type: h for h in cfg.custom_hooks}
    assert 'TeacherTempWarmupHook' not in hooks
    assert cfg.model.csm.neck.freeze_last_layer == dict(type='FirstSteps', epochs=1)
    assert 'ValBeforeTrainHook' in hooks  # the table compares with the run's own initialisation
    # DINOv2's anti-collapse units (docs/results.md chose them by a rule stated before the runs), the
    # queue within one epoch of the expert's outputs (the run refuses a longer one)
    assert cfg.model.csm.koleo == dict(type='KoLeoLoss', loss_weight=0.1)
    centering = cfg.model.csm.head.centering
    assert centering.type == 'SinkhornKnoppCentering'
    assert centering.queue_length <= len(os.listdir(osp.join(ROOT, 'demo', 'persons', 'crops'))) * 2
    assert learning_check.RECIPE == recipe  # the GPU check runs what the demo runs
