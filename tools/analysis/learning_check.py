# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""The learning recipe for a wall-clock budget at the largest batch that fits, then the retrieval table
of the pretrained student beside its initialisation: one command for a machine with a GPU (issue 26).

    python tools/analysis/learning_check.py --out work_dirs/learning_check [--minutes 8] [--config CFG] \
        [--batch N] [--device cuda] [--seed N]

1. The batch: ``--batch``, or on a GPU the largest of 1024, 512, ..., 8 whose training step fits in its
   memory (one AMP step on the demo crops tiled to that size); on a CPU the config's.
2. The slower of the step at that batch and the loader (one worker's seconds per sample, times the
   batch, over the workers) sets how many iterations fit the budget, after the two evaluations. The
   workers and the main process's threads: ``--workers``, else the launcher's plan for the cores.
3. The config's rules, at that batch: the config's lr (``--lr-rule config``; ``sqrt`` and ``linear``
   scale it by the batch ratio's square root or the ratio: on 2026-12-04 the linear rule's 2e-3 at batch
   1024 merged every image's features within 4 steps, and on the CPU it does so at batch 8 and 32 too,
   for SAIP, each of its objectives alone and DINO, MAE's later: docs/results.md), a linear warm-up over
   the first 10 % then cosine to the end, the prototypes frozen for one epoch of the
   data (``CSMProjector(freeze_last_layer=dict(type='FirstSteps', epochs=1))`` counts it at any batch),
   the teacher momentum of DINO's help text (0.996 from batch 1024, DINO's default batch; below it the
   config's, 0.9995 for the recipe, DINO's advice at 256). On a GPU the photometric augmentation runs
   on the device (``--augment device``, the paper preset's path: the same distributions, tested in
   tests/test_models/test_batch_augment.py), so that the loader keeps up; ``--augment config`` keeps
   the config's pipeline.
4. mmengine's Runner trains in ``<out>/work`` (no validation during the run), stopped early if it runs
   past the budget less the evaluation's reserve (``TrainDeadline``; ``iterations_run`` in
   ``check.json``, its checkpoint evaluated); then ``eval_backbone.py`` compares the run's own
   initialisation (``work/iter_0.pth``, saved before its first iteration: on a GPU the Runner draws it
   on the device, ``SaveStart``) with the last checkpoint on the video set and the cross-scale persons,
   with CSM's collapse diagnostics: ``<out>/table.md`` and ``<out>/retrieval.json``, with
   ``<out>/check.json`` (batch, iterations, lr, step time, device).
"""
import argparse
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import List, Optional

from mmengine.config import ConfigDict
from mmengine.hooks import Hook

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)
RECIPE = 'configs/pretrain/saip-recipe-sk-koleo_vit-tiny-p16_1xb8-100it_demo-persons.py'  # `make demo`'s
CANDIDATES = (1024, 512, 256, 128, 64, 32, 16, 8)
LR_RULES = ('config', 'sqrt', 'linear')  # recipe_lr
SPREAD_CROPS = osp.join(ROOT, 'demo', 'xscale_persons', 'crops')  # FeatureSpreadHook's


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', required=True, help='folder for the run, the table and the figures')
    p.add_argument('--config', default=RECIPE, help='the recipe (a pretraining config with validation)')
    p.add_argument('--minutes', type=float, default=8.0, help='wall-clock budget, evaluations included')
    p.add_argument('--batch', type=int, default=None,
                   help='default: the largest that fits (GPU) / the config\'s (CPU)')
    p.add_argument('--device', default=None, help='cuda or cpu (default: cuda when there is one)')
    p.add_argument('--max-iters', type=int, default=None, help='cap on the iterations (a quick check)')
    p.add_argument('--train-seconds', type=float, default=None,
                   help='stop training after the iteration that ends past this many seconds from the start '
                        '(default: the budget less the evaluation reserve)')
    p.add_argument('--augment', choices=['device', 'config'], default=None,
                   help="photometric augmentation on the model's device or as the config has it "
                        '(default: device on a GPU, config on a CPU)')
    p.add_argument('--lr-rule', choices=LR_RULES, default='config',
                   help="the lr at the batch from the config's at its batch: kept, x sqrt(ratio) or x ratio "
                        '(recipe_lr; docs/results.md: the linear rule merges the features in 4 steps)')
    p.add_argument('--workers', type=int, default=None,
                   help="dataloader workers (default: the launcher's plan: with a GPU the cores less the "
                        "main process's threads, none on a CPU)")
    p.add_argument('--seed', type=int, default=None,
                   help="another start: the model's initialisation seed and the run's (data order, "
                        "augmentation) both set to it (default: the config's; docs/results.md: the CPU "
                        'gain differs by start, so a claim needs several)')
    return p.parse_args(argv)


def build_step(cfg, batch: int, device: str, amp: bool):
    """A model, optimizer wrapper and one training batch of ``batch`` demo crops (tiled) for ``cfg``."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from saip_mm.registry import DATASETS, MODELS
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    samples = [dataset[i] for i in range(min(16, len(dataset)))]
    data = pseudo_collate([samples[i % len(samples)] for i in range(batch)])
    wrapper = dict(optimizer=dict(type='AdamW', lr=1e-5))
    if amp:
        wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic')
    return model, build_optim_wrapper(model, wrapper), data, torch


def step_seconds(cfg, batch: int, device: str, amp: bool, steps: int = 2) -> float:
    """Seconds per training step at ``batch`` (after one warm-up step); raises the device's
    out-of-memory error when it does not fit."""
    model, optim, data, torch = build_step(cfg, batch, device, amp)
    from saip_mm.engine.hooks import resolve_schedules
    resolve_schedules(model, steps + 1, steps + 1)  # what SchedulesHook gives a run this long
    model.train()
    model.train_step(data, optim)
    if device == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        model.train_step(data, optim)
        model.update_expert()
    if device == 'cuda':
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps


def largest_batch(cfg, device: str) -> tuple:
    """(batch, seconds per step) of the largest candidate whose AMP step fits on the GPU."""
    import gc

    import torch
    for batch in CANDIDATES:
        try:
            return batch, step_seconds(cfg, batch, device, amp=True)
        except torch.cuda.OutOfMemoryError:
            print(f'batch {batch}: out of memory', flush=True)
        gc.collect()  # the failed attempt's tensors, released with the exception
        torch.cuda.empty_cache()
    raise RuntimeError(f'not even batch {CANDIDATES[-1]} fits on the GPU')


class TrainDeadline(Hook):
    """Stop the training loop after the iteration that ends past ``deadline`` (``time.time()`` seconds):
    the iteration plan rests on estimates (on the lent H200 the loader delivered a fifth of its estimate),
    and the evaluation after the run must still fit the budget."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if time.time() > self.deadline:
            runner.train_loop.stop_training = True


class SaveStart(Hook):
    """Save the run's own initialisation as ``iter_0.pth`` before its first iteration, the start the
    table compares with. mmengine's Runner moves the model to its device before it initialises the
    weights, so on a GPU the start is a draw of the CUDA generator, not the CPU draw that
    ``eval_backbone.py none`` makes (on the H200, 2026-12-04, the spread of the 26 people's features
    read 0.55 at the run's first iteration, against 0.44 from the CPU's initialisation)."""
    priority = 'VERY_HIGH'  # before any other hook of before_train

    def before_train(self, runner) -> None:
        runner.save_checkpoint(runner.work_dir, 'iter_0.pth', save_optimizer=False,
                               save_param_scheduler=False, by_epoch=False)


def sample_seconds(cfg, samples: int = 16) -> float:
    """Seconds one process takes per training sample of ``cfg``'s pipeline (after two warm-up samples),
    at one thread as a dataloader worker runs it."""
    import torch
    from mmengine.registry import DefaultScope

    from saip_mm.registry import DATASETS
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for i in range(2):
            dataset[i % len(dataset)]
        start = time.perf_counter()
        for i in range(samples):
            dataset[(i + 2) % len(dataset)]
        return (time.perf_counter() - start) / samples
    finally:
        torch.set_num_threads(threads)


def augment_on_device(cfg) -> None:
    """The config with its photometric augmentation in the data preprocessor (the paper preset's
    ``device_photometric`` / ``device_aug_pipeline`` of ``_base_/datasets/lup1m_saip.py``)."""
    if 'device_photometric' not in cfg or 'device_aug_pipeline' not in cfg:
        raise KeyError(f'{cfg.filename}: --augment device needs the dataset base\'s device_photometric and '
                       'device_aug_pipeline (configs/pretrain/_base_/datasets/lup1m_saip.py)')
    cfg.model.data_preprocessor.photometric = copy.deepcopy(cfg.device_photometric)
    cfg.train_dataloader.dataset.pipeline = copy.deepcopy(cfg.device_aug_pipeline)


def recipe_lr(cfg, batch: int, rule: str) -> float:
    """The lr at ``batch`` from the config's lr at its own batch: ``'config'`` keeps it (the step size
    the CPU runs chose: the batch buys cleaner gradients, not longer steps), ``'sqrt'`` scales it by
    sqrt(batch ratio) (the square-root rule for Adam, Malladi et al. 2022), ``'linear'`` by the batch ratio
    (DINO's rule, which presumes its 10-epoch warm-up)."""
    ratio = batch / cfg.train_dataloader.batch_size
    lr = cfg.optim_wrapper.optimizer.lr
    if rule not in LR_RULES:
        raise ValueError(f'lr rule must be one of {LR_RULES}, got {rule!r}')
    return lr * {'config': 1.0, 'sqrt': ratio ** 0.5, 'linear': ratio}[rule]


def set_recipe(cfg, batch: int, iters: int, workers: int, amp: bool, lr: float,
               warmup: Optional[int] = None) -> float:
    """The config at ``batch`` for ``iters`` iterations at ``lr`` (module docstring, step 3), warmed up
    over ``warmup`` iterations (default: the first 10 %). Returns the lr."""
    cfg.optim_wrapper.optimizer.lr = lr
    if batch >= 1024:  # DINO's default momentum at its default batch (64 x 16 GPUs)
        cfg.model.expert.momentum = 0.996
    from saip_mm.utils.launcher import with_amp

    # fp32 without amp (a CPU): mmengine's AMP wrapper needs an accelerator
    cfg.optim_wrapper = with_amp(cfg.optim_wrapper, amp)
    warmup = max(1, iters // 10) if warmup is None else warmup
    schedule = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup)]
    if iters > warmup:  # a run of one iteration (the test) is all warm-up
        schedule.append(dict(type='CosineAnnealingLR', T_max=iters - warmup, eta_min=lr * 0.02,
                             by_epoch=False, begin=warmup, end=iters))
    cfg.param_scheduler = schedule
    cfg.train_cfg.update(max_iters=iters, val_interval=iters + 1)  # evaluated after, by eval_backbone.py
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', [])
                        if h.get('type') not in ('ValBeforeTrainHook', 'PretrainVisualizationHook')]
    cfg.default_hooks.checkpoint.pop('save_best', None)
    # a checkpoint every fifth of the run (and the last): a run stopped by its machine's limit still
    # leaves one to evaluate
    cfg.default_hooks.checkpoint.update(interval=max(1, iters // 5), max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = max(1, min(10, iters // 20))
    # the student's features of 26 people training never reads, as alike as? (towards 1: one point)
    cfg.custom_hooks.append(ConfigDict(type='FeatureSpreadHook', image_dir=SPREAD_CROPS,
                                       interval=cfg.default_hooks.logger.interval))
    loader = cfg.train_dataloader
    loader.update(batch_size=batch, num_workers=workers, persistent_workers=workers > 0,
                  pin_memory=workers > 0, sampler=dict(type='InfiniteSampler', shuffle=True))
    return lr


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    from saip_mm.utils import register_all_modules
    from saip_mm.utils.dataloader import stop_workers
    from saip_mm.utils.launcher import plan_cpu
    register_all_modules()
    start = time.time()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    amp = device == 'cuda'
    cfg = Config.fromfile(osp.join(ROOT, args.config) if not osp.isabs(args.config) else args.config)
    if args.seed is not None:  # the start and the run's randomness, as the CPU studies set them
        cfg.model.seed = args.seed
        cfg.randomness.seed = args.seed
    augment = args.augment or ('device' if device == 'cuda' else 'config')
    if augment == 'device':
        augment_on_device(cfg)
    plan = plan_cpu(Config(dict(train_dataloader=dict(
        num_workers='auto' if args.workers is None else args.workers))), cuda=device == 'cuda')
    workers = plan['workers']
    torch.set_num_threads(plan['main_threads'])
    if args.batch:
        batch, step = args.batch, step_seconds(cfg, args.batch, device, amp)
    elif device == 'cuda':
        batch, step = largest_batch(cfg, device)
    else:
        batch = cfg.train_dataloader.batch_size
        step = step_seconds(cfg, batch, device, amp)
    per_sample = sample_seconds(cfg)
    loader = 1.25 * batch * per_sample / max(1, workers)  # the main process shares the cores
    per_iter = max(step, loader)
    # two evaluations (the initialisation and the end) of ~450 crops at 3 scales, run on the CPU: 23 s on
    # the H200 machine's 16 cores; on the 2-core CPU they are measured in minutes: leave a third
    left = args.minutes * 60 - (time.time() - start)
    reserve = 90.0 if device == 'cuda' else left / 3
    iters = max(1, int((left - reserve) / per_iter))
    if args.max_iters:
        iters = min(iters, args.max_iters)
    lr = set_recipe(cfg, batch, iters, workers, amp, recipe_lr(cfg, batch, args.lr_rule))
    os.makedirs(args.out, exist_ok=True)
    cfg.work_dir = osp.join(args.out, 'work')
    check = dict(config=args.config, device=device, amp=amp, batch=batch, iterations=iters, lr=lr,
                 lr_rule=args.lr_rule, seed=cfg.model.get('seed', 0),
                 s_per_step_measured=step, s_per_sample_one_worker=per_sample, workers=workers,
                 main_threads=plan['main_threads'], s_per_iter_loader_estimate=loader, augment=augment,
                 teacher_momentum=cfg.model.expert.momentum,
                 images_planned=batch * iters)
    print(f'learning check: {device}, batch {batch}, {iters} iterations ({step:.2f} s/step measured, '
          f'loader ~{loader:.2f} s/batch from {workers} workers), lr {lr:.3g}', flush=True)
    dumped = osp.join(args.out, 'config.py')  # before the run: what a stopped run is evaluated with
    cfg.dump(dumped)
    run_cfg = copy.deepcopy(cfg)  # the Runner does not validate (mmengine's loop would at the end)
    run_cfg.val_cfg = run_cfg.val_dataloader = run_cfg.val_evaluator = None
    train_start = time.time()
    runner = Runner.from_cfg(run_cfg)
    limit = args.train_seconds if args.train_seconds is not None else args.minutes * 60 - reserve
    runner.register_hook(TrainDeadline(start + limit), priority='LOWEST')
    runner.register_hook(SaveStart())
    runner.train()
    check.update(iterations_run=runner.iter, images_seen=batch * runner.iter,
                 # the loader's workers end here, not at exit (on the H200 the tool printed its table and
                 # had not ended 45 s later): they prefetch through the evaluation otherwise
                 workers_stopped=stop_workers(getattr(runner.train_loop.dataloader_iterator, '_iterator',
                                                      None)))
    if runner.iter < iters:  # stopped by the deadline: the checkpoint of where it stopped
        runner.save_checkpoint(cfg.work_dir, f'iter_{runner.iter}.pth')
    check['s_per_iter_trained'] = (time.time() - train_start) / runner.iter  # the Runner's start included
    check['train_minutes'] = (time.time() - start) / 60
    ckpt = osp.join(cfg.work_dir, f'iter_{runner.iter}.pth')
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/analysis/eval_backbone.py'),
                          osp.join(cfg.work_dir, 'iter_0.pth'), ckpt,
                          '--config', dumped, '--json', osp.join(args.out, 'retrieval.json')],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f'eval_backbone.py failed: {out.stderr[-2000:]}')
    table = out.stdout[out.stdout.index('retrieval on'):]
    with open(osp.join(args.out, 'table.md'), 'w') as f:
        f.write(f"{json.dumps(check)}\n\n{table}")
    check['total_minutes'] = (time.time() - start) / 60
    with open(osp.join(args.out, 'check.json'), 'w') as f:
        json.dump(check, f, indent=1)
    print(table)
    return check


if __name__ == '__main__':
    main()
