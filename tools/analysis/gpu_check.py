# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""The GPU benchmark in one call (issue 28, item 5), for a session that is lent a device: the paper and
code-faithful presets at batch 256 with AMP, on a pre-built batch and through the Runner's dataloader
(data and step time apart, TFLOP/s and utilisation); the paper preset without and with ``torch.compile``
of the transformer blocks of the student and the expert (``model.compile_encoders=True``; compiling the
whole encoder stopped at an inductor stride assertion on the 2-core CPU, the blocks alone run there); and
where each preset's step spends its time (``step_profile.py``: the phases, the kernels launched and the
device's busy fraction: host-bound or device-bound). Every table and JSON is written to ``--out``. On one
H200 the loader table (both presets, 3 steps) took 100 s (2026-12-04, docs/benchmarks.md); it now times
2 x workers + 4 steps and the loader alone (32 steps and 28 batches at 14 workers: about 3 minutes at
that day's rates), so run the tables one call each where the device time is short (``--tables``).

    python tools/analysis/gpu_check.py --out work_dirs/gpu_check [--batch 256] [--workers 14]
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
BENCH = osp.join(ROOT, 'tools', 'analysis', 'benchmark_pretrain.py')
PROFILE = osp.join(ROOT, 'tools', 'analysis', 'step_profile.py')
TABLES = ('prebuilt_batch', 'loader', 'compile', 'profile')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', required=True, help='folder for the tables (.md) and rows (.json)')
    p.add_argument('--batch', type=int, default=256)
    p.add_argument('--workers', type=int, default=None, help='loader workers (default: CPUs - 2, at most 14)')
    p.add_argument('--steps', type=int, default=5, help='timed steps per row')
    p.add_argument('--warmup', type=int, default=4,
                   help='untimed steps before them (the paper preset draws 3 view sizes of 4 a step: after '
                        '4 steps a size not yet run is rare; each row counts the timed steps that met one)')
    p.add_argument('--device', default='cuda')
    p.add_argument('--presets', nargs='+', default=['paper', 'official-code'],
                   help='the presets of the pre-built-batch and loader tables (the compile table: paper)')
    p.add_argument('--data-samples', type=int, default=32, help="the benchmark's pipeline timing samples")
    p.add_argument('--shape-batches', type=int, default=100, help="the benchmark's distinct-shape count")
    p.add_argument('--tables', nargs='+', default=list(TABLES), choices=TABLES, help='which tables to make')
    return p.parse_args(argv)


def runs(args: argparse.Namespace) -> dict:
    """name -> the script and its arguments for each table of the check."""
    workers = args.workers if args.workers is not None else max(0, min(14, (os.cpu_count() or 2) - 2))
    common = ['--batch', str(args.batch), '--device', args.device, '--steps', str(args.steps),
              '--warmup', str(args.warmup),
              '--data-samples', str(args.data_samples), '--shape-batches', str(args.shape_batches)]
    amp = ['--amp'] if args.device == 'cuda' else []  # mmengine's AMP wrapper needs an accelerator
    return {
        'prebuilt_batch': [BENCH, '--presets', *args.presets, *common, *amp],
        'loader': [BENCH, '--presets', *args.presets, *common, *amp, '--loader', '--workers', str(workers)],
        'compile': [BENCH, '--presets', 'paper', *common, *amp, '--compile', 'both'],
        'profile': [PROFILE, '--presets', *args.presets, '--batch', str(args.batch), '--device', args.device,
                    '--steps', str(min(args.steps, 3)), '--warmup', str(args.warmup), *amp,
                    '--out', osp.join(args.out, 'profile')],
    }


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    done = {}
    for name, (script, *script_args) in runs(args).items():
        if name not in args.tables:
            continue
        start = time.time()
        cmd = [sys.executable, script, *script_args]
        if script == BENCH:
            cmd += ['--json', osp.join(args.out, f'{name}.json')]
        print(f'## {name}', flush=True)
        # each row written as the benchmark prints it: a call cut short by its time limit keeps its rows
        with open(osp.join(args.out, f'{name}.md'), 'w') as table, tempfile.TemporaryFile('w+') as err:
            table.write(f"python {' '.join([osp.relpath(script, ROOT), *script_args])}\n\n")
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
            for line in proc.stdout:
                if line.startswith('|') or ' vs ' in line or line.endswith(', per step\n'):
                    table.write(line)
                    table.flush()
                    print(line, end='', flush=True)
            returncode = proc.wait()
            err.seek(0)
            if returncode:
                print(err.read()[-3000:], flush=True)
        done[name] = dict(returncode=returncode, seconds=time.time() - start)
        print(f'({name}: {time.time() - start:.0f} s, exit {returncode})', flush=True)
    return done


if __name__ == '__main__':
    main()
