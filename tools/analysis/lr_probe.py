# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""How fast each learning rate merges the student's features: a few iterations of a recipe per lr, from
the same initialisation, with the mean pairwise cosine of the student's features of 26 people training
never reads (``FeatureSpreadHook`` on ``demo/xscale_persons/crops``) after every iteration.

    python tools/analysis/lr_probe.py --out work_dirs/lr_probe --lr 2e-3 5e-4 1.25e-4 3.125e-5 \
        [--config RECIPE] [--iters 20] [--warmup 8] [--batch N] [--device cuda]

Each lr runs in its own process: the recipe of ``learning_check.py`` (``set_recipe``) at the batch (the
config's by default) with that lr, a linear warm-up from 1e-3 x lr over ``--warmup`` iterations, then
cosine to 2 % of it at ``--iters``; seed 0, no validation, no checkpoint. ``<out>/lr_probe.md`` has the
cosine at iterations 0 (the initialisation: the same in every row), 1, 2, 3, 4, 6, 8, 12, 16, 20, ...
and the last iteration's losses; ``<out>/lr_probe.json`` has every iteration. Towards 1: every person
maps to one point. docs/results.md (2026-12-04) has what it found: at 2e-3 SAIP, each of its objectives
alone and DINO merge them within 3-6 steps (MAE later), at batch 8 and 32 alike.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(__file__))
from learning_check import RECIPE, SPREAD_CROPS, augment_on_device, set_recipe  # noqa: E402

SHOWN = (0, 1, 2, 3, 4, 6, 8, 12, 16, 20, 30, 40, 60, 80, 100)
LAST = ('loss', 'csm_bottleneck_cos', 'csm_teacher_entropy_rel')  # read at the last iteration, if logged


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', required=True, help='folder for the runs, the table and the JSON')
    p.add_argument('--lr', nargs='+', type=float, required=True, help='the learning rates, one run each')
    p.add_argument('--config', default=RECIPE, help='a pretraining recipe')
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=8, help='iterations of the linear warm-up')
    p.add_argument('--batch', type=int, default=None, help="default: the config's")
    p.add_argument('--device', default=None, help='cuda or cpu (default: cuda when there is one)')
    p.add_argument('--workers', type=int, default=None,
                   help="dataloader workers (default: the launcher's plan: with a GPU the cores less the "
                        "main process's threads, none on a CPU)")
    p.add_argument('--_one', type=float, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def run_one(args: argparse.Namespace, lr: float) -> Dict:
    """One lr: the per-iteration series of the feature cosine, the lr and the logged losses."""
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner

    from saip_mm.utils import register_all_modules
    from saip_mm.utils.launcher import plan_cpu
    register_all_modules()
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    amp = device == 'cuda'
    cfg = Config.fromfile(args.config if osp.isabs(args.config) else osp.join(ROOT, args.config))
    if device == 'cuda':  # learning_check's GPU path: the photometric augmentation on the device
        augment_on_device(cfg)
    batch = args.batch or cfg.train_dataloader.batch_size
    plan = plan_cpu(Config(dict(train_dataloader=dict(
        num_workers='auto' if args.workers is None else args.workers))), cuda=device == 'cuda')
    torch.set_num_threads(plan['main_threads'])
    set_recipe(cfg, batch, args.iters, plan['workers'], amp, lr, warmup=args.warmup)
    cfg.work_dir = osp.join(args.out, f'lr_{lr:g}')
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.update(interval=args.iters + 1, save_last=False)
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h.get('type') != 'ProgressBarHook']
    next(h for h in cfg.custom_hooks if h.type == 'FeatureSpreadHook').interval = 1  # set_recipe's
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    series = {key[len('train/'):]: [float(v) for v in hub.get_scalar(key).data[0]]
              for key in hub.log_scalars if key.startswith('train/')}
    return dict(lr=lr, batch=batch, iters=args.iters, warmup=args.warmup, device=device, series=series)


def table(rows: List[Dict]) -> str:
    iters = rows[0]['iters']
    shown = [i for i in SHOWN if i <= iters] + ([iters] if iters not in SHOWN else [])
    last = [k for k in LAST if any(k in r['series'] for r in rows)]
    head = (f"| lr | {' | '.join(str(i) for i in shown)} | "
            + ' | '.join(f'{k} (it {iters})' for k in last) + ' |')
    lines = [f"feature_pair_cos (student, {len(os.listdir(SPREAD_CROPS))} people training never reads) by "
             f"iteration; batch {rows[0]['batch']}, warm-up {rows[0]['warmup']}, {rows[0]['device']}", '',
             head, '|---' * (1 + len(shown) + len(last)) + '|']
    for r in rows:
        cos = r['series']['feature_pair_cos']  # [before training, after iteration 1, 2, ...]
        lines.append(f"| {r['lr']:g} | " + ' | '.join(f'{cos[i]:.2f}' for i in shown) + ' | '
                     + ' | '.join(f"{r['series'][k][-1]:.3f}" if k in r['series'] else '-' for k in last)
                     + ' |')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    if args._one is not None:
        print('ROW ' + json.dumps(run_one(args, args._one)))
        return []
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for lr in args.lr:
        cmd = [sys.executable, __file__, '--out', args.out, '--lr', str(lr), '--_one', str(lr),
               '--config', args.config, '--iters', str(args.iters), '--warmup', str(args.warmup)]
        cmd += ['--workers', str(args.workers)] if args.workers is not None else []
        cmd += ['--batch', str(args.batch)] if args.batch else []
        cmd += ['--device', args.device] if args.device else []
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        line = [x for x in out.stdout.splitlines() if x.startswith('ROW ')]
        if out.returncode or not line:
            raise RuntimeError(f'lr_probe: the run at lr {lr:g} failed: {out.stderr[-2000:]}')
        rows.append(json.loads(line[0][4:]))
        print(f'lr {lr:g}: feature_pair_cos ' + ' '.join(
            f'{v:.2f}' for v in rows[-1]['series']['feature_pair_cos']), flush=True)
    text = table(rows)
    with open(osp.join(args.out, 'lr_probe.md'), 'w') as f:
        f.write(text + '\n')
    with open(osp.join(args.out, 'lr_probe.json'), 'w') as f:
        json.dump(rows, f)
    print(text)
    return rows


if __name__ == '__main__':
    main()
