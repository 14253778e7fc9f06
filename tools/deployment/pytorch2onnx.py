# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Export a SAIP student or a downstream model to ONNX and check it against PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --task reid --out reid.onnx --verify

``--task backbone`` takes a pretraining config and a SAIP or ``saip2backbone.py`` checkpoint;
``reid``, ``attribute``, ``pose``, ``seg`` take a downstream config and its trained checkpoint. The
checkpoint must match the config (missing keys are listed). ``--verify`` runs onnxruntime and
PyTorch on real person crops (``demo/vtest_reid`` by default) at batch N and 1 and fails when the
largest difference exceeds ``--rtol`` of the output scale. The preprocessing is printed and stored in
the ONNX metadata (``preprocess``).
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from saip_mm.deployment import TASKS
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--task', required=True, choices=TASKS)
    p.add_argument('--out', required=True, help='output .onnx file')
    p.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: the config)')
    p.add_argument('--opset', type=int, default=17)
    p.add_argument('--verify', action='store_true', help='compare onnxruntime with PyTorch on real crops')
    p.add_argument('--images', default=osp.join(ROOT, 'demo', 'vtest_reid', 'query'),
                   help='folder of images for --verify')
    p.add_argument('--num-images', type=int, default=4)
    p.add_argument('--rtol', type=float, default=1e-4, help='allowed max |diff| / max |output|')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    import cv2

    from saip_mm.deployment import build_for_export, export_onnx, input_spec, preprocess, verify
    wrapper, cfg = build_for_export(args.config, args.checkpoint, args.task)
    spec = input_spec(cfg, args.task, args.shape)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    export_onnx(wrapper, spec, args.out, args.task, args.opset)
    report = dict(onnx=args.out, task=args.task, preprocess=spec,
                  size_mb=round(osp.getsize(args.out) / 2**20, 2))
    print(f'exported {args.task} to {args.out} ({report["size_mb"]} MB); input: '
          f'{spec["channel_order"]} {spec["size"][0]}x{spec["size"][1]}, '
          f'(pixel - {spec["mean"]}) / {spec["std"]}')
    if args.verify:
        paths = sorted(glob.glob(osp.join(args.images, '*.jpg')) + glob.glob(osp.join(args.images, '*.png')))
        if not paths:
            raise FileNotFoundError(f'--verify: no .jpg/.png images in {args.images}')
        images = [cv2.imread(p) for p in paths[:args.num_images]]
        result = verify(wrapper, args.out, preprocess(images, spec))
        report['verify'] = result
        ok = result['rel_diff'] <= args.rtol
        print(f"verify on {len(images)} images (batch {result['batch_sizes']}): max |diff| "
              f"{result['max_abs_diff']:.3g} = {result['rel_diff']:.3g} of the output scale "
              f"{result['scale']:.3g} -> {'ok' if ok else 'FAILED'} (rtol {args.rtol})")
        if not ok:
            raise SystemExit(f'{args.out}: onnxruntime differs from PyTorch by {result["rel_diff"]:.3g} '
                             f'of the output scale (> {args.rtol})')
    print(json.dumps(report, indent=1))
    return report


if __name__ == '__main__':
    main()
