# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Where one pretraining step's time goes (issue 28): is the GPU step host-bound or device-bound?

    python tools/analysis/step_profile.py --presets paper official-code --batch 256 --amp --device cuda
    python tools/analysis/step_profile.py --presets demo --batch 2 --steps 1   # the same on the CPU

Per preset, on a pre-built batch (``benchmark_pretrain.build``: the demo crops through the preset's
pipeline), after ``--warmup`` untimed steps (one by default):

* the step's phases, each timed to the device's completion (``torch.cuda.synchronize`` after each on a
  GPU): the data preprocessor (the device-side augmentation, the view rescaling), the forward pass with
  every objective's loss, the backward pass, the optimizer step and the expert's EMA update;
* the operators one step dispatches (``TorchDispatchMode``: what reaches the kernels, views counted
  apart: they launch nothing), and on a GPU the kernels it launches (``cudaLaunchKernel`` calls) and
  the device's busy time (the kernels' and copies' own time, ``torch.profiler``). Busy time against the
  step's wall time says which side waits: near 1, the device works all step (faster kernels, fewer
  FLOPs or fusion help); well below 1, the host cannot launch work fast enough (fewer, larger
  operators, CUDA graphs or ``torch.compile`` help);
* the bytes the step's operators read and write (their tensor inputs and outputs, each operator on its
  own as eager kernels move them), and on a GPU that over the busy time: the bandwidth drawn, against
  the device's (about 4.3 TB/s measured on an H200 here) it says whether the busy time is the kernels
  moving data or something else (small launches, waits);
* the operators that take the most time (the device's own time on a GPU, the host's on a CPU).

Every table and the rows as JSON are printed and written to ``--out`` when given.
"""
import argparse
import collections
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from benchmark_pretrain import PRESETS, _cuda, build, training_optim_wrapper  # noqa: E402  (beside this script)
from step_timing import warm_up  # noqa: E402

PHASES = ('preprocess', 'forward', 'backward', 'optimizer', 'expert')
LAUNCH_CALLS = ('cudaLaunchKernel', 'cudaLaunchKernelExC', 'cuLaunchKernel', 'cuLaunchKernelEx')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--presets', nargs='+', default=['paper', 'official-code'], choices=sorted(PRESETS))
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--steps', type=int, default=3, help='steps timed by phase, and steps profiled')
    p.add_argument('--warmup', type=int, default=1, help='untimed steps first')
    p.add_argument('--device', default=None, help='cpu or cuda (default: cuda when there is one)')
    p.add_argument('--amp', action='store_true', help="mmengine's AmpOptimWrapper, as the presets train")
    p.add_argument('--threads', type=int, default=2, help='torch threads on the CPU')
    p.add_argument('--top', type=int, default=12, help='operators listed by time')
    p.add_argument('--out', default=None, help='folder for profile.md and profile.json')
    args = p.parse_args(argv)
    if args.steps < 1 or args.batch < 1 or args.warmup < 1:
        p.error(f'--steps, --batch and --warmup must be >= 1, got {args.steps}, {args.batch} and '
                f'{args.warmup}')
    return args


def phase_times(model, data, optim, steps: int, sync) -> Dict[str, float]:
    """Seconds per step of each phase of ``BaseModel.train_step`` and the expert update, each timed to
    the device's completion (``sync``); ``step`` is their sum."""
    totals = collections.Counter()

    def lap(name: str, since: float) -> float:
        sync()
        now = time.perf_counter()
        totals[name] += now - since
        return now

    for _ in range(steps):
        t = time.perf_counter()
        with optim.optim_context(model):
            batch = model.data_preprocessor(data, True)
            t = lap('preprocess', t)
            losses = model._run_forward(batch, mode='loss')
            t = lap('forward', t)
        loss, _ = model.parse_losses(losses)
        optim.backward(loss)
        t = lap('backward', t)
        optim.step()
        optim.zero_grad()
        t = lap('optimizer', t)
        model.update_expert()
        lap('expert', t)
    row = {name: totals[name] / steps for name in PHASES}
    row['step'] = sum(row.values())
    return row


def tensor_bytes(tree) -> int:
    """Bytes the tensors in ``tree`` (nested lists, tuples, dicts) span: each tensor's elements, or its
    storage where that is smaller (an expanded tensor reads one copy of its values)."""
    import torch
    from torch.utils._pytree import tree_leaves
    return sum(min(t.numel() * t.element_size(), t.untyped_storage().nbytes())
               for t in tree_leaves(tree) if isinstance(t, torch.Tensor))


def dispatched_ops(model, data, optim) -> Dict[str, float]:
    """Operators one training step and expert update dispatch to the kernels (views apart), and the bytes
    the other operators read and write (``gbytes_per_step``: their tensor inputs and outputs, each op on
    its own, as eager kernels move them through device memory; caches can spare some of it). On a GPU,
    over the device's busy time, that is the bandwidth the step's kernels drew."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        ops = views = moved = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            Count.ops += 1
            if getattr(func, 'is_view', False):
                Count.views += 1
            else:
                Count.moved += tensor_bytes((args, kwargs)) + tensor_bytes(out)
            return out

    with Count():
        model.train_step(data, optim)
        model.update_expert()
    return dict(ops=Count.ops, view_ops=Count.views, compute_ops=Count.ops - Count.views,
                gbytes_per_step=Count.moved / 1e9)


def profiled(model, data, optim, steps: int, cuda: bool, top: int, sync) -> Dict:
    """Kernel launches and device busy time per step (a GPU), and the operators taking most time."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            model.train_step(data, optim)
            model.update_expert()
        sync()
    from torch.autograd import DeviceType
    table = prof.key_averages()
    # the operators (host events); on a GPU by the time of the kernels each launched itself
    own = 'self_device_time_total' if cuda else 'self_cpu_time_total'
    ops = [e for e in table if e.device_type == DeviceType.CPU and getattr(e, own) > 0]
    busiest = sorted(ops, key=lambda e: -getattr(e, own))[:top]
    out = dict(time_kind='device' if cuda else 'host',
               top=[dict(name=e.key, calls_per_step=e.count / steps,
                         ms_per_step=getattr(e, own) / 1e3 / steps) for e in busiest])
    if cuda:
        out['kernel_launches_per_step'] = sum(e.count for e in table if e.key in LAUNCH_CALLS) / steps
        # the device's own events (kernels, copies, sets), as torch's profiler table totals them: the
        # host operators carry the same time again through the kernels they launched
        out['device_busy_s_per_step'] = sum(
            e.self_device_time_total for e in table
            if e.device_type != DeviceType.CPU and not getattr(e, 'is_user_annotation', False)) / 1e6 / steps
    return out


def run_one(preset: str, args: argparse.Namespace) -> Dict:
    import numpy as np
    np.random.seed(0)
    device = args.device or ('cuda' if _cuda() else 'cpu')
    cfg, dataset, model, data, torch = build(preset, args.batch, device, with_cfg=True)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    cuda = device == 'cuda'
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    from saip_mm.engine.hooks import resolve_schedules
    optim = training_optim_wrapper(cfg, model, args.amp)
    model.train()
    total = 3 * args.steps + 2 + args.warmup
    resolve_schedules(model, total, total)  # what SchedulesHook gives this run
    warm_up(model, data, optim, args.warmup)  # allocator, kernels' autotuning, the optimizer's state
    row = dict(preset=preset, batch=args.batch, device=device, amp=args.amp,
               phases=phase_times(model, data, optim, args.steps, sync))
    row.update(dispatched_ops(model, data, optim))
    row.update(profiled(model, data, optim, args.steps, cuda, args.top, sync))
    if cuda:
        row['device_busy_fraction'] = row['device_busy_s_per_step'] / row['phases']['step']
        row['busy_gbytes_per_s'] = row['gbytes_per_step'] / row['device_busy_s_per_step']
    return row


def tables(rows: List[Dict]) -> str:
    """The phase table (one line a preset) and each preset's busiest operators, as markdown."""
    lines = ['| preset | batch | device | ' + ' | '.join(f'{p} s' for p in PHASES) +
             ' | step s | img/s | ops (views) / step | GB moved / step | kernels / step | device busy s '
             '| busy fraction | GB/s while busy |',
             '|---|---:|---|' + '---:|' * (len(PHASES) + 8)]
    for r in rows:
        ph = r['phases']
        busy = r.get('device_busy_s_per_step')
        lines.append(
            f"| {r['preset']} | {r['batch']} | {r['device']}{' AMP' if r['amp'] else ''} | "
            + ' | '.join(f'{ph[p]:.3f}' for p in PHASES)
            + f" | {ph['step']:.3f} | {r['batch'] / ph['step']:.1f} | {r['ops']} ({r['view_ops']}) | "
            + f"{r['gbytes_per_step']:.2f} | "
            + (f"{r['kernel_launches_per_step']:.0f} | {busy:.3f} | {r['device_busy_fraction']:.2f} | "
               f"{r['busy_gbytes_per_s']:.0f} |" if busy is not None else '– | – | – | – |'))
    for r in rows:
        lines += ['', f"{r['preset']}: the operators with the most {r['time_kind']} time, per step",
                  '', '| operator | calls | ms |', '|---|---:|---:|']
        lines += [f"| `{t['name']}` | {t['calls_per_step']:.0f} | {t['ms_per_step']:.2f} |" for t in r['top']]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> List[Dict]:
    args = parse_args(argv)
    rows = []
    for preset in args.presets:
        rows.append(run_one(preset, args))
        if args.out:  # after each preset: a run cut short by a time limit keeps the presets it finished
            os.makedirs(args.out, exist_ok=True)
            with open(osp.join(args.out, 'profile.md'), 'w') as f:
                f.write(f"python tools/analysis/step_profile.py {' '.join(argv or sys.argv[1:])}\n\n"
                        f"{tables(rows)}\n")
            with open(osp.join(args.out, 'profile.json'), 'w') as f:
                json.dump(rows, f, indent=1)
    print(tables(rows), flush=True)
    return rows


if __name__ == '__main__':
    main()
