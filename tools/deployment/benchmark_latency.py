# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Edge latency benchmark: our students' pose / ReID models against the architectures edge users pick.

    python tools/deployment/benchmark_latency.py [--models saip-vit-tiny-pose rtmpose-t ...] \
        [--threads 2] [--runs 100] [--warmup 10] [--json latency.json]

Protocol (``saip_mm/deployment/latency.py``): random weights (latency needs none), batch 1, the task's
fixed input size (pose 256×192, ReID 256×128), ``--threads`` for PyTorch and onnxruntime alike,
``--warmup`` untimed calls, then p50 / p95 over ``--runs`` calls, for PyTorch eager, onnxruntime fp32
and onnxruntime INT8 (static QDQ calibrated on ``demo/persons`` crops). Parameters, GMAC (what
OpenMMLab model zoos print as FLOPs) and ONNX file sizes come with each row; ratios are onnxruntime
fp32 p50 over the reference model's (``--reference``, our ViT-Tiny pose model). All rows come from one
run of this script; compare ratios, not absolute times, across machines.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)

MMPOSE_COCO = 'mmpose::body_2d_keypoint/{}/coco/{}.py'
EMBEDDER = {'model.head': None}  # an mmpretrain classifier without its ImageNet head: GAP feature
MODELS = {  # name: (config, task, what it is[, config options])
    'saip-vit-tiny-pose': ('configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py', 'pose',
                           'ours: ViT-Tiny + deconv heatmap head'),
    'saip-starnet-s3-pose': ('configs/downstream/mmpose/td-hm_starnet-s3_8xb64-210e_coco-256x192.py', 'pose',
                             'ours: StarNet-S3 + heatmap head'),
    'saip-tinyvit-5m-pose': ('configs/downstream/mmpose/td-hm_tinyvit-5m_8xb64-210e_coco-256x192.py', 'pose',
                             'ours: TinyViT-5M + heatmap head'),
    'saip-vit-tiny-reid': ('configs/downstream/reid/reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py',
                           'reid', 'ours: ViT-Tiny ReID embedder'),
    'rtmpose-t': (MMPOSE_COCO.format('rtmpose', 'rtmpose-t_8xb256-420e_aic-coco-256x192'), 'pose',
                  'mmpose RTMPose-t (CSPNeXt + SimCC)'),
    'rtmpose-s': (MMPOSE_COCO.format('rtmpose', 'rtmpose-s_8xb256-420e_coco-256x192'), 'pose',
                  'mmpose RTMPose-s (CSPNeXt + SimCC)'),
    'vitpose-s': (MMPOSE_COCO.format('topdown_heatmap', 'td-hm_ViTPose-small_8xb64-210e_coco-256x192'),
                  'pose', 'mmpose ViTPose-S (ViT-S + classic decoder)'),
    'mobilenetv2-reid': ('mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py', 'reid',
                         'mmpretrain MobileNetV2 + GAP embedder', EMBEDDER),
    'resnet50-reid': ('mmpretrain::resnet/resnet50_8xb32_in1k.py', 'reid',
                      'mmpretrain ResNet-50 + GAP embedder', EMBEDDER),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS), help='models to time')
    p.add_argument('--reference', default='saip-vit-tiny-pose', choices=list(MODELS),
                   help='the model ratios are taken against (benchmarked even when not in --models)')
    p.add_argument('--threads', type=int, default=2, help='threads for PyTorch and onnxruntime')
    p.add_argument('--runs', type=int, default=100, help='timed calls per runtime')
    p.add_argument('--warmup', type=int, default=10, help='untimed calls before timing')
    p.add_argument('--no-int8', action='store_true', help='skip the INT8 rows')
    p.add_argument('--calib', default=osp.join(ROOT, 'demo', 'persons'), help='crops for INT8 calibration')
    p.add_argument('--calib-images', type=int, default=32)
    p.add_argument('--image', default=None, help='the input image (default: the first demo/persons crop)')
    p.add_argument('--work-dir', default=None, help='keep the exported models here (default: a temp dir)')
    p.add_argument('--json', help='also write the rows to this JSON file')
    return p.parse_args(argv)


def check_inputs(args: argparse.Namespace) -> str:
    """The input image, checked before any model is built (missing or unreadable: one line naming it),
    and the calibration folder when INT8 rows are asked for."""
    from saip_mm.deployment.quantize import image_paths, read_images
    if not args.no_int8:
        image_paths(args.calib)  # raises naming the folder when it holds no image
    image = args.image or image_paths(args.calib)[0]
    if not osp.isfile(image):
        raise FileNotFoundError(f'--image {image}: no such file')
    read_images([image], '--image')  # raises naming it when it cannot be decoded
    return image


def ms(row: Dict, key: str) -> str:
    return f"{row[key]['p50_ms']:.1f} / {row[key]['p95_ms']:.1f}" if key in row else '–'


def table(rows: Dict[str, Dict], reference: str, threads: int, runs: int) -> str:
    """The markdown table: one row per model, ratios of onnxruntime fp32 p50 to the reference's."""
    ref = rows[reference]['ort_fp32']['p50_ms']
    lines = [f'batch 1, {threads} thread(s), p50 / p95 ms over {runs} runs; ratio = ORT fp32 p50 / '
             f'{reference}\'s',
             '',
             '| model | task | input | params (M) | GMAC | ONNX MB fp32 / int8 | PyTorch eager | ORT fp32 | '
             'ORT INT8 | ratio |',
             '|---|---|---|---:|---:|---|---|---|---|---:|']
    for name, r in rows.items():
        int8_mb = f"{r['int8_mb']:.1f}" if 'int8_mb' in r else '–'
        lines.append(f"| {name} | {r['task']} | {r['input'][0]}×{r['input'][1]} | {r['params_m']:.2f} | "
                     f"{r['gmac']:.2f} | {r['onnx_mb']:.1f} / {int8_mb} | {ms(r, 'eager')} | "
                     f"{ms(r, 'ort_fp32')} | {ms(r, 'ort_int8')} | {r['ort_fp32']['p50_ms'] / ref:.2f} |")
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> Dict[str, Dict]:
    args = parse_args(argv)
    image = check_inputs(args)
    from saip_mm.deployment.latency import measure
    names = args.models + ([args.reference] if args.reference not in args.models else [])
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        work_dir = args.work_dir or tmp
        os.makedirs(work_dir, exist_ok=True)
        for name in names:
            config, task, what, *options = MODELS[name]
            if '::' not in config:
                config = osp.join(ROOT, config)
            print(f'[{name}] {what}: {config}', flush=True)
            rows[name] = dict(task=task, config=MODELS[name][0], what=what,
                              **measure(config, task, work_dir, name, args.threads, args.warmup, args.runs,
                                        image, None if args.no_int8 else args.calib, args.calib_images,
                                        cfg_options=options[0] if options else None))
            print(f"[{name}] eager {ms(rows[name], 'eager')}, ort fp32 {ms(rows[name], 'ort_fp32')}, "
                  f"ort int8 {ms(rows[name], 'ort_int8')} ms (p50 / p95)", flush=True)
    print(table(rows, args.reference, args.threads, args.runs))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(threads=args.threads, runs=args.runs, warmup=args.warmup, image=image, rows=rows),
                      f, indent=1)
    return rows


if __name__ == '__main__':
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'benchmark_latency')
