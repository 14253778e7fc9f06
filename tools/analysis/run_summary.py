# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""What a pretraining run logged, as two small tables per run: the validation figures at every evaluated
iteration (against iteration 0, the initialisation) and the training losses with CSM's collapse
diagnostics at a few iterations.

    python tools/analysis/run_summary.py work_dirs/run1 [work_dirs/run2 ...] [--iters 10 100 300] \
        [--json out.json]

It reads the newest ``<work_dir>/<timestamp>/vis_data/scalars.json`` of each run (mmengine's
LocalVisBackend). A run without one is named in the error.
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

VAL = (('mAP', 'retrieval/mAP', 1), ('all_mAP', 'retrieval/all_mAP', 1), ('xs_mAP', 'retrieval/xs_mAP', 1),
       ('knn', 'retrieval/knn', 1), ('pair_cos', 'retrieval/pair_cos', 3),
       ('bottleneck_cos', 'retrieval/csm_bottleneck_cos', 3),
       ('teacher_entropy', 'retrieval/csm_teacher_entropy', 3),
       ('xsp_R1', 'xscale_persons/R1', 1), ('xsp_mAP', 'xscale_persons/mAP', 1))
TRAIN = (('loss_csm', 3), ('csm_teacher_entropy', 3), ('csm_teacher_entropy_rel', 3),
         ('csm_batch_entropy', 3), ('csm_bottleneck_cos', 3), ('loss_csr', 3), ('loss_css', 3))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('runs', nargs='+', help='work dirs')
    p.add_argument('--iters', type=int, nargs='+', default=[10, 50, 100, 200, 300],
                   help='training iterations to show')
    p.add_argument('--json', help='also write the figures here')
    return p.parse_args(argv)


def read_scalars(run: str) -> List[dict]:
    """The logged rows of the newest LocalVisBackend log of a work dir."""
    logs = sorted(glob.glob(osp.join(run, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'{run}: no <timestamp>/vis_data/scalars.json (is it a work dir of a run '
                                'with LocalVisBackend?)')
    with open(logs[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarise(rows: List[dict], iters: List[int]) -> Dict[str, dict]:
    """``val``: step -> figures of each evaluation; ``train``: step -> logged values at ``iters``."""
    val, train = {}, {}
    for row in rows:
        if 'retrieval/mAP' in row:
            val[row['step']] = {name: row[key] for name, key, _ in VAL if key in row}
            if 'xscale_persons/R1_std' in row:
                val[row['step']].update(xsp_R1_std=row['xscale_persons/R1_std'],
                                        xsp_mAP_std=row['xscale_persons/mAP_std'])
        elif row.get('step') in iters and 'loss' in row:
            train[row['step']] = {key: row[key] for key, _ in TRAIN if key in row}
    return dict(val=val, train=train)


def format_run(name: str, summary: Dict[str, dict]) -> str:
    lines = [f'## {name}', '', '| iteration | ' + ' | '.join(n for n, _, _ in VAL) + ' |',
             '|---' * (len(VAL) + 1) + '|']
    for step, fig in sorted(summary['val'].items()):
        cells = []
        for name_, _, digits in VAL:
            value = fig.get(name_)
            text = '–' if value is None else f'{value:.{digits}f}'
            if name_.startswith('xsp_') and f'{name_}_std' in fig:
                text += f" ± {fig[name_ + '_std']:.1f}"
            cells.append(text)
        lines.append(f'| {step} | ' + ' | '.join(cells) + ' |')
    keys = [k for k, _ in TRAIN if any(k in v for v in summary['train'].values())]
    if keys:
        lines += ['', '| iteration | ' + ' | '.join(keys) + ' |', '|---' * (len(keys) + 1) + '|']
        for step, values in sorted(summary['train'].items()):
            cells = [f'{values[k]:.3f}' if k in values else '–' for k in keys]
            lines.append(f'| {step} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    out = {run: summarise(read_scalars(run), args.iters) for run in args.runs}
    print('\n\n'.join(format_run(run, s) for run, s in out.items()))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == '__main__':
    import sys
    sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'run_summary')
