# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""The small-batch factorial of docs/results.md (issue 26): SAIP under DINO's rules at a fixed number of
images seen, one run per cell, then one retrieval table over every run and the initialisation.

    python tools/analysis/learning_factorial.py --work-dir work_dirs/factorial [--cells c1 c5 ...]

Four two-level factors on ``saip-recipe_vit-tiny-p16_1xb8-300it_demo-persons.py`` (300 iterations of
batch 8 = 2 400 crops of demo/persons):

* ``pairs``: the paper preset's CSM pairs (expert on g1, g2; ``+``) or the anchor-teacher ablation (``-``);
* ``tau``: τt 0.04 (``-``) or 0.02 (``+``);
* ``lr``: 5e-4 (``-``) or DINO's linear rule 5e-4 x 8 / 256 = 1.5625e-5 (``+``);
* ``momentum``: the teacher's EMA momentum from 0.996 (``-``) or 0.9995 (``+``, DINO's advice for small
  batches), cosine to 1.

The 8 cells are the half fraction ``momentum = pairs x tau x lr`` (resolution IV: main effects are
free of two-factor interactions). A cell whose ``iter_300.pth`` exists is not run again, so the script
resumes after a stop. Every cell is reported, not the best one.
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
LS = 'configs/pretrain/learning_signal'
CONFIGS = {'+': f'{LS}/saip-recipe_vit-tiny-p16_1xb8-300it_demo-persons.py',
           '-': f'{LS}/saip-recipe-anchor-teacher_vit-tiny-p16_1xb8-300it_demo-persons.py'}
LEVELS = dict(tau={'-': 0.04, '+': 0.02}, lr={'-': 5e-4, '+': 5e-4 * 8 / 256},
              momentum={'-': 0.996, '+': 0.9995})
FACTORS = ('pairs', 'tau', 'lr', 'momentum')


def cells() -> Dict[str, Dict[str, str]]:
    """The 2^(4-1) design: name -> level ('-' / '+') per factor, momentum = pairs x tau x lr."""
    out = {}
    for i in range(8):
        signs = ['+' if (i >> b) & 1 else '-' for b in range(3)]  # pairs, tau, lr
        prod = '+' if sum(s == '-' for s in signs) % 2 == 0 else '-'
        out[f'c{i + 1}'] = dict(zip(FACTORS, signs + [prod]))
    return out


def options(levels: Dict[str, str]) -> List[str]:
    return [f"model.csm.head.teacher_temp={LEVELS['tau'][levels['tau']]}",
            f"optim_wrapper.optimizer.lr={LEVELS['lr'][levels['lr']]}",
            f"model.expert.momentum={LEVELS['momentum'][levels['momentum']]}"]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/factorial')
    p.add_argument('--cells', nargs='+', default=None, help='run only these cells (default: all 8)')
    p.add_argument('--no-eval', action='store_true', help='train only, no final table')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    design = cells()
    chosen = args.cells or list(design)
    for name in chosen:
        levels = design[name]
        work = osp.join(args.work_dir, name)
        if osp.isfile(osp.join(work, 'iter_300.pth')):
            continue
        cmd = [sys.executable, osp.join(ROOT, 'tools/train.py'), CONFIGS[levels['pairs']], '--work-dir', work,
               '--cfg-options', *options(levels)]
        print(f'[{name}] ' + ' '.join(f'{k}{v}' for k, v in levels.items()), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True)
    with open(osp.join(args.work_dir, 'design.json'), 'w') as f:
        json.dump({n: dict(levels=design[n], options=options(design[n]), config=CONFIGS[design[n]['pairs']])
                   for n in chosen}, f, indent=1)
    if args.no_eval:
        return design
    ckpts = [osp.join(args.work_dir, n, 'iter_300.pth') for n in chosen]
    cmd = [sys.executable, osp.join(ROOT, 'tools/analysis/eval_backbone.py'), 'none', *ckpts, '--config',
           CONFIGS['+'], '--invariance', '--json', osp.join(args.work_dir, 'retrieval.json')]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return design


if __name__ == '__main__':
    main()
