# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Pretraining benchmark: per preset, seconds per training step, images/s, peak memory and GFLOP per
step (forward + backward, all enabled objectives), plus data-pipeline images/s per worker.

    python tools/analysis/benchmark_pretrain.py [--presets paper official-code demo] [--batch 8 32]
    python tools/analysis/benchmark_pretrain.py --device cuda --amp --batch 256  # a GPU, as presets train
    python tools/analysis/benchmark_pretrain.py --loader --workers 14 ...  # the Runner's dataloader + step

The step is the preset's: its optimizer wrapper (AdamW, fused in the presets, and its gradient clipping;
since 2026-12-05, a plain AdamW before). By default a pre-built batch is timed (the model alone).
``--loader`` times real iterations instead: the config's dataloader (workers, collation, the demo crops,
the config's ``env_cfg.mp_cfg`` as the Runner sets it) feeding the step, enough of them (2 x workers +
4) that the batches prefetched at the start are used up, with the time spent waiting for data and the
step time printed apart, the loader's rate alone (no step running: set against the workers x the
per-worker rate, it says whether the workers slow each other down or the training step slows them), and
the step's TFLOP/s and model FLOP utilisation against the device's peak (``--peak-tflops``, known for
H100 / H200 / A100). Every row also says how many distinct input shapes 100 batches give (the view-scale
draw: a few with scale buckets, ~100 with a continuous one).

Each (preset, batch) runs in its own process so that its peak memory (max RSS, or max CUDA memory on
a GPU) is its own. The figures line up with the reference measured for the authors' released model on
the 2-core CPU (fp32, batch 8, all three objectives): 6.95 s/step, 1.15 img/s, 4.3 GB, 665 GFLOP.
"""
import argparse
import contextlib
import itertools
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

PRESETS = {
    'paper': 'configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py',
    'official-code': 'configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m-official-code.py',
    'anchor-teacher': 'configs/pretrain/saip-anchor-teacher_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py',
    'demo': 'configs/pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py',
    'starnet-s3': 'configs/pretrain/saip_starnet-s3_8xb256-amp-coslr-300e_lup1m.py',
    'tinyvit-5m': 'configs/pretrain/saip_tinyvit-5m_8xb256-amp-coslr-300e_lup1m.py',
    'dino': 'configs/baselines/dino/dino_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py',
    'mae': 'configs/baselines/mae/mae_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py',
    'mae-dino': 'configs/baselines/mae_dino/mae-dino_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py',
    'personvit': 'configs/baselines/personvit/personvit_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py',
    'hap': 'configs/baselines/hap/hap_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py',
    'solider': 'configs/baselines/solider/solider_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py',
}
# the paper preset with DINO's photometric augmentation in the pipeline's workers (the CPU path, before
# issue 28 moved it into the data preprocessor)
CPU_AUG = {'paper-cpu-aug': 'paper'}
PRESETS.update({name: PRESETS[base] for name, base in CPU_AUG.items()})
# the code-faithful preset with Pillow's colour jitter and blur (mmpretrain's; before issue 28 §2 moved
# it to the OpenCV ones, which make the same draws)
PILLOW = {'CV2ColorJitter': 'mmpretrain.ColorJitter', 'CV2GaussianBlur': 'mmpretrain.GaussianBlur'}
PILLOW_PRESETS = {'official-code-pillow': 'official-code'}
PRESETS.update({name: PRESETS[base] for name, base in PILLOW_PRESETS.items()})
# the baselines on the hierarchical students (through the token adapter): '<method>-<student>'
PRESETS.update({f'{method}-{student}':
                f'configs/baselines/{method}/{method}_{student}_8xb256-amp-coslr-300e_lup1m.py'
                for method in ('dino', 'hap', 'solider') for student in ('starnet-s3', 'tinyvit-5m')})
# the authors' model on this machine, measured once (2026-11-21): its FLOPs and memory compare with any
# run; its step time only with a run of the same hour (this machine's step times vary 2-3x in a day)
REFERENCE = dict(preset='authors (CPU, 2 threads, fp32; stored)', batch=8, s_per_step=6.95, img_per_s=1.15,
                 peak_mem_gb=4.3, gflop_per_step=665.0)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--presets', nargs='+', default=list(PRESETS), choices=list(PRESETS))
    p.add_argument('--batch', nargs='+', type=int, default=[8, 32])
    p.add_argument('--steps', type=int, default=3, help='timed steps (after the warm-up steps)')
    p.add_argument('--warmup', type=int, default=1,
                   help='untimed steps first (a view size not yet run costs its first step more; the row '
                        'counts the timed steps that still met one)')
    p.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    p.add_argument('--data-samples', type=int, default=32, help='samples for the pipeline timing')
    p.add_argument('--shape-batches', type=int, default=100,
                   help='preprocessed batches the distinct-input-shape count draws')
    p.add_argument('--device', default=None, help='cpu or cuda (default: cuda if available)')
    p.add_argument('--amp', action='store_true',
                   help="fp16 autocast, dynamic loss scale (the preset's AMP optimizer wrapper, as the "
                        'presets train on GPUs; without: its fp32 twin)')
    p.add_argument('--json', help='also write the rows to this JSON file')
    p.add_argument('--loader', action='store_true',
                   help="time the Runner's dataloader + step (data and step time apart), not a pre-built "
                        'batch')
    p.add_argument('--workers', type=int, default=None,
                   help='--loader: dataloader workers (default: the config\'s)')
    p.add_argument('--collate', default=None,
                   help="--loader: the dataloader's collate_fn (default: the config's; pseudo_collate sends "
                        'every tensor of every sample from a worker on its own, saip_mm.stack_collate a '
                        'tensor per field)')
    p.add_argument('--compile', nargs='?', const='on', default='off', choices=('off', 'on', 'both'),
                   help='torch.compile the transformer blocks of the student and the expert '
                   '(model.compile_encoders=True); both: a row without and a row with it, per preset')
    p.add_argument('--peak-tflops', type=float, default=None,
                   help='the device\'s peak TFLOP/s for the utilisation (default: known GPUs, dense '
                        'fp16/bf16)')
    p.add_argument('--demo-backgrounds', action='store_true',
                   help="canvas backgrounds from the demo's 768x576 video frames (default: the config's "
                        'background_dir; the LUP1M presets have none and paste onto a random other crop)')
    p.add_argument('--_one', nargs=2, metavar=('PRESET', 'BATCH'), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        p.error(f'--steps must be >= 1 and --warmup >= 0, got {args.steps} and {args.warmup}')
    return args


def with_pillow_transforms(node) -> None:
    """Swap the OpenCV photometric transforms of a pipeline (nested ones included) for Pillow's."""
    if isinstance(node, (list, tuple)):
        for item in node:
            with_pillow_transforms(item)
    elif isinstance(node, dict):
        node['type'] = PILLOW.get(node.get('type'), node.get('type'))
        with_pillow_transforms(node.get('transforms', []))


def build(preset: str, batch: int, device: str, with_cfg: bool = False, demo_backgrounds: bool = False,
          compiled: bool = False):
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from saip_mm.registry import DATASETS, MODELS
    from saip_mm.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, PRESETS[preset]))
    if preset in CPU_AUG:
        cfg.model.data_preprocessor.photometric = None
        cfg.train_dataloader.dataset.pipeline = cfg.train_pipeline
    if preset in PILLOW_PRESETS:
        with_pillow_transforms(cfg.train_dataloader.dataset.pipeline)
    if compiled:  # the student's and the expert's transformer blocks, as a training config would ask
        cfg.model.compile_encoders = True
    ds_cfg = cfg.train_dataloader.dataset
    # every preset reads the embedded demo crops here, so only the model and pipeline differ (the
    # crops with keypoints for a preset that needs them: HAP). The canvas background is what the config
    # says (the LUP1M presets: a random other crop); --demo-backgrounds uses the demo's 768x576 video
    # frames (the rows of docs/benchmarks.md before 2026-12-03 did)
    if ds_cfg.get('keypoint_file'):
        ds_cfg.update(data_root=osp.join(ROOT, 'demo/hp_persons'), ann_file='list.txt',
                      keypoint_file='keypoints.json', background_dir=None)
    else:
        ds_cfg.update(data_root=osp.join(ROOT, 'demo/persons'), ann_file='list.txt',
                      background_dir='backgrounds' if demo_backgrounds else ds_cfg.get('background_dir'))
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(ds_cfg)
        model = MODELS.build(cfg.model).to(device)
    model.init_weights()
    batch_data = pseudo_collate([dataset[i % len(dataset)] for i in range(batch)])
    if with_cfg:
        return cfg, dataset, model, batch_data, torch
    return dataset, model, batch_data, torch


# dense fp16 / bf16 tensor-core peaks (TFLOP/s) of the GPUs the project has run on
PEAK_TFLOPS = {'H200': 989.0, 'H100': 989.0, 'A100': 312.0}


def peak_tflops(args: argparse.Namespace, device: str) -> Optional[float]:
    if args.peak_tflops or device != 'cuda':
        return args.peak_tflops
    import torch
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def count_gflop(model, batch_data, optim) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with torch.compiler.set_stance('force_eager'), counter:  # compiled kernels would not be counted
        model.train_step(batch_data, optim)
    return counter.get_total_flops() / 1e9


def pipeline_rate(dataset, samples: int, torch) -> float:
    """Samples per second of one data worker: this process with a worker's threads (PyTorch's DataLoader
    gives a worker one torch thread; the configs' ``env_cfg.mp_cfg.opencv_num_threads=0`` runs OpenCV
    on the calling thread), restored afterwards."""
    import cv2
    threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    try:
        t0 = time.perf_counter()
        for i in range(samples):
            dataset[i % len(dataset)]
        return samples / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv2_threads)


def training_optim_wrapper(cfg, model, amp: bool):
    """The preset's optimizer wrapper, as its training builds it (its AdamW, fused in the presets, and
    its gradient clipping), with AMP or in fp32 as the row asks."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from saip_mm.utils.launcher import with_amp
    with DefaultScope.overwrite_default_scope('saip_mm'):
        return build_optim_wrapper(model, with_amp(cfg.optim_wrapper, amp))


def run_one(preset: str, batch: int, args: argparse.Namespace) -> Dict:
    import numpy as np
    from step_timing import distinct_shapes, timed_steps, warm_up  # beside this script
    np.random.seed(0)
    device = args.device or ('cuda' if _cuda() else 'cpu')
    cfg, dataset, model, data, torch = build(preset, batch, device, with_cfg=True,
                                             demo_backgrounds=args.demo_backgrounds,
                                             compiled=args.compile == 'on')
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    optim = training_optim_wrapper(cfg, model, args.amp)
    model.train()
    shapes = distinct_shapes(model, data, args.shape_batches)
    from saip_mm.engine.hooks import resolve_schedules
    resolve_schedules(model, args.warmup + args.steps, args.warmup + args.steps)  # as SchedulesHook would
    seen = warm_up(model, data, optim, args.warmup)
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    timing = timed_steps(model, data, optim, args.steps, device == 'cuda', seen)
    step = timing['mean_s']
    if device == 'cuda':
        peak = torch.cuda.max_memory_allocated() / 1e9
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    gflop = count_gflop(model, data, optim)
    data_ips = pipeline_rate(dataset, args.data_samples, torch)
    encoder = getattr(model.backbone, 'encoder', model.backbone)  # without a token adapter's projections
    params = sum(p.numel() for p in encoder.parameters()) / 1e6
    row = dict(preset=preset, batch=batch, device=device, amp=args.amp, s_per_step=step,
               img_per_s=batch / step,
               peak_mem_gb=peak, gflop_per_step=gflop, data_img_per_s_per_worker=data_ips,
               backbone_mparams=params, encoder_gflop_256x128=encoder_gflop(model, device),
               distinct_shapes=shapes, shape_batches=args.shape_batches, compiled=args.compile == 'on',
               warmup=args.warmup, step_median_s=timing['median_s'], step_max_s=timing['max_s'],
               new_shape_steps=timing['new_shape_steps'], step_times_s=timing['times_s'])
    if args.loader:
        from loader_timing import loader_steps  # beside this script
        timing = loader_steps(cfg, batch, model, optim, args, device, torch)
        row.update(loader=timing, prebuilt_s_per_step=step, s_per_step=timing['data_s'] + timing['step_s'],
                   img_per_s=batch / (timing['data_s'] + timing['step_s']))
    row['tflops'] = gflop / 1e3 / (row['loader']['step_s'] if args.loader else step)
    peak_tf = peak_tflops(args, device)
    row['mfu'] = row['tflops'] / peak_tf if peak_tf else None
    return row


def encoder_gflop(model, device: str) -> float:
    """GFLOP of one student encoder forward on one 256×128 image (SAIP token outputs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    model.eval()
    with torch.no_grad(), torch.compiler.set_stance('force_eager'), counter:
        model.backbone.forward_tokens(torch.zeros(1, 3, 256, 128, device=device))
    model.train()
    return counter.get_total_flops() / 1e9


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def fmt(row: Dict) -> str:
    data = row.get('data_img_per_s_per_worker')
    loader = row.get('loader')
    name = row['preset'] + (' (compiled)' if row.get('compiled') else '')
    return (f"| {name:<30} | {row['batch']:>5} | {row['s_per_step']:>7.2f} | "
            f"{row['img_per_s']:>6.2f} | {row['peak_mem_gb']:>6.2f} | {row['gflop_per_step']:>7.0f} | "
            + (f'{data:>9.1f} |' if data is not None else '        - |')
            + (f" {row['backbone_mparams']:>5.2f} | {row['encoder_gflop_256x128']:>5.2f} |"
               if 'backbone_mparams' in row else '     - |     - |')
            + (f" {row['tflops']:.3g} | " + (f"{row['mfu']:.1%}" if row.get('mfu') else '-')
               + f" | {row['distinct_shapes']} |" if 'tflops' in row else ' - | - | - |')
            + (f" {row['step_median_s']:.2f} / {row['step_max_s']:.2f} ({row['new_shape_steps']} of "
               f"{len(row['step_times_s'])}; warm-up {row['warmup']}) |"
               if 'step_median_s' in row else ' - |')
            + (f" {loader['data_s']:.2f} / {loader['step_s']:.2f} ({loader['workers']} workers, "
               f"{loader.get('collate', 'pseudo_collate')}; "
               f"pre-built batch {row['prebuilt_s_per_step']:.2f}; "
               f"loader alone {loader['alone_img_s']:.0f} img/s) |"
               if loader else ' - |'))


def run_row(cmd: List[str], env: Dict[str, str]) -> tuple:
    """(returncode, stdout, stderr) of one row's process, its output through files rather than pipes and
    its process group killed after it: a row killed by the OOM killer leaves its dataloader workers
    orphaned, and they would hold a pipe open, so that waiting for its output never ended. The group is
    also killed when the benchmark itself is stopped (SIGTERM, e.g. from ``timeout``: see ``main``), so
    that a row does not go on using the device after the call that started it."""
    import signal
    import tempfile
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env, cwd=ROOT,
                                start_new_session=True)
        try:
            returncode = proc.wait()
        finally:
            with contextlib.suppress(ProcessLookupError):  # nothing left of its group
                os.killpg(proc.pid, signal.SIGKILL)  # what is left of its group: orphaned workers
        out.seek(0)
        err.seek(0)
        return returncode, out.read(), err.read()


def stop_rows_on_sigterm() -> None:
    """Stopped from outside (``timeout``'s SIGTERM), exit through Python, so that ``run_row`` kills the
    row it is waiting for (Python's default for SIGTERM ends the process without unwinding)."""
    import signal
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args._one:
        print('ROW ' + json.dumps(run_one(args._one[0], int(args._one[1]), args)))
        return
    stop_rows_on_sigterm()
    rows = [dict(REFERENCE)]
    print('| preset | batch | s/step | img/s | peak GB | GFLOP/step | data img/s/worker | encoder M params '
          f'| encoder GFLOP (1 img 256x128) | TFLOP/s | MFU | shapes / {args.shape_batches} batches '
          '| pre-built batch: median / max step s (steps with a new shape; warm-up steps) '
          '| loader: data s / step s (workers, collate; pre-built batch step s; loader alone img/s) |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|')
    print(fmt(rows[0]), flush=True)
    compile_modes = ['off', 'on'] if args.compile == 'both' else [args.compile]
    for preset, batch, compiled in itertools.product(args.presets, args.batch, compile_modes):
        cmd = [sys.executable, __file__, '--_one', preset, str(batch), '--steps', str(args.steps),
               '--warmup', str(args.warmup),
               '--threads', str(args.threads), '--data-samples', str(args.data_samples),
               '--shape-batches', str(args.shape_batches)]
        if args.device:
            cmd += ['--device', args.device]
        if args.amp:
            cmd.append('--amp')
        if args.loader:
            cmd.append('--loader')
        if args.workers is not None:
            cmd += ['--workers', str(args.workers)]
        if args.collate:
            cmd += ['--collate', args.collate]
        cmd += ['--compile', compiled]
        if args.demo_backgrounds:
            cmd.append('--demo-backgrounds')
        if args.peak_tflops:
            cmd += ['--peak-tflops', str(args.peak_tflops)]
        returncode, stdout, stderr = run_row(cmd, dict(os.environ, OMP_NUM_THREADS=str(args.threads)))
        line = [x for x in stdout.splitlines() if x.startswith('ROW ')]
        if returncode or not line:
            why = stderr.strip().splitlines()[-1:] or [f'exit status {returncode}' + (
                ' (SIGKILL: out of memory?)' if returncode == -9 else '')]
            print(f"| {preset}{' (compiled)' if compiled == 'on' else ''} | {batch} | failed: {why[0]} |")
            continue
        row = json.loads(line[0][4:])
        rows.append(row)
        print(fmt(row), flush=True)
    ours = [r for r in rows[1:] if r['batch'] == REFERENCE['batch']]
    for r in ours:
        print(f"{r['preset']} vs the authors' stored row at batch {r['batch']}: "
              f"{r['gflop_per_step'] / REFERENCE['gflop_per_step']:.2f}x the FLOPs, "
              f"{r['peak_mem_gb'] / REFERENCE['peak_mem_gb']:.2f}x the memory "
              f"(step {r['s_per_step']:.2f} s against their {REFERENCE['s_per_step']:.2f} s of another run: "
              'compare times within one run)')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
