# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""The learning recipe for a wall-clock budget at the largest batch that fits, then the retrieval table
of the pretrained student beside its initialisation: one command for a machine with a GPU (issue 26).

    python tools/analysis/learning_check.py --out work_dirs/learning_check [--minutes 8] [--config CFG] \
        [--batch N] [--device cuda]

1. The batch: ``--batch``, or on a GPU the largest of 1024, 512, ..., 8 whose training step fits in its
   memory (one AMP step on the demo crops tiled to that size); on a CPU the config's.
2. The step time at that batch sets how many iterations fit the budget, after the two evaluations.
3. The config's rules, at that batch: lr by the linear rule (the config's lr x batch / its batch), a
   linear warm-up over the first 10 % then cosine to the end, the prototypes frozen for one epoch of the
   data (``CSMProjector(freeze_last_layer=dict(type='FirstSteps', epochs=1))`` counts it at any batch).
4. mmengine's Runner trains in ``<out>/work`` (no validation during the run); then ``eval_backbone.py``
   compares the initialisation with the last checkpoint on the video set and the cross-scale persons,
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

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)
RECIPE = 'configs/pretrain/learning_signal/saip-recipe_vit-tiny-p16_1xb8-300it_demo-persons.py'
CANDIDATES = (1024, 512, 256, 128, 64, 32, 16, 8)


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
    p.add_argument('--workers', type=int, default=None,
                   help='dataloader workers (default: CPUs - 2, at most 14)')
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
    import torch
    for batch in CANDIDATES:
        try:
            return batch, step_seconds(cfg, batch, device, amp=True)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            print(f'batch {batch}: out of memory', flush=True)
    raise RuntimeError(f'not even batch {CANDIDATES[-1]} fits on the GPU')


def set_recipe(cfg, batch: int, iters: int, workers: int, amp: bool) -> float:
    """The config at ``batch`` for ``iters`` iterations (module docstring, step 3). Returns the lr."""
    base_batch = cfg.train_dataloader.batch_size
    lr = cfg.optim_wrapper.optimizer.lr * batch / base_batch
    cfg.optim_wrapper.optimizer.lr = lr
    if amp and cfg.optim_wrapper.type in ('OptimWrapper', 'PerTensorClipOptimWrapper'):
        cfg.optim_wrapper.type = cfg.optim_wrapper.type.replace('OptimWrapper', 'AmpOptimWrapper')
        cfg.optim_wrapper.loss_scale = 'dynamic'
    warmup = max(1, iters // 10)
    schedule = [dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup)]
    if iters > warmup:  # a run of one iteration (the test) is all warm-up
        schedule.append(dict(type='CosineAnnealingLR', T_max=iters - warmup, eta_min=lr * 0.02,
                             by_epoch=False, begin=warmup, end=iters))
    cfg.param_scheduler = schedule
    cfg.train_cfg.update(max_iters=iters, val_interval=iters + 1)  # evaluated after, by eval_backbone.py
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if h.get('type') != 'ValBeforeTrainHook']
    cfg.default_hooks.checkpoint.pop('save_best', None)
    cfg.default_hooks.checkpoint.update(interval=iters, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = max(1, min(10, iters // 20))
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
    register_all_modules()
    start = time.time()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    amp = device == 'cuda'
    cfg = Config.fromfile(osp.join(ROOT, args.config) if not osp.isabs(args.config) else args.config)
    if args.batch:
        batch, step = args.batch, step_seconds(cfg, args.batch, device, amp)
    elif device == 'cuda':
        batch, step = largest_batch(cfg, device)
    else:
        batch = cfg.train_dataloader.batch_size
        step = step_seconds(cfg, batch, device, amp)
    # two evaluations (the initialisation and the end) of ~450 crops at 3 scales, seconds on a GPU; on a
    # CPU they are measured in minutes: leave a third of the budget
    left = args.minutes * 60 - (time.time() - start)
    reserve = 60.0 if device == 'cuda' else left / 3
    iters = max(1, int((left - reserve) / step))
    if args.max_iters:
        iters = min(iters, args.max_iters)
    workers = args.workers if args.workers is not None else max(0, min(14, (os.cpu_count() or 2) - 2))
    lr = set_recipe(cfg, batch, iters, workers, amp)
    os.makedirs(args.out, exist_ok=True)
    cfg.work_dir = osp.join(args.out, 'work')
    check = dict(config=args.config, device=device, amp=amp, batch=batch, iterations=iters, lr=lr,
                 s_per_step_measured=step, images_seen=batch * iters)
    print(f'learning check: {device}, batch {batch}, {iters} iterations ({step:.2f} s/step measured), '
          f'lr {lr:.3g}', flush=True)
    if device == 'cpu':
        cfg.optim_wrapper.type = cfg.optim_wrapper.type.replace('AmpOptimWrapper', 'OptimWrapper')
        cfg.optim_wrapper.pop('loss_scale', None)
    run_cfg = copy.deepcopy(cfg)  # the Runner does not validate (mmengine's loop would at the end)
    run_cfg.val_cfg = run_cfg.val_dataloader = run_cfg.val_evaluator = None
    Runner.from_cfg(run_cfg).train()
    check['train_minutes'] = (time.time() - start) / 60
    ckpt = osp.join(cfg.work_dir, f'iter_{iters}.pth')
    dumped = osp.join(args.out, 'config.py')
    cfg.dump(dumped)
    out = subprocess.run([sys.executable, osp.join(ROOT, 'tools/analysis/eval_backbone.py'), 'none', ckpt,
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
