# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Export a SAIP student or a downstream model to ONNX and check it against PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --task reid --out reid.onnx --verify

``--task backbone`` takes a pretraining config and a SAIP or ``saip2backbone.py`` checkpoint;
``reid``, ``attribute``, ``pose``, ``seg`` take a downstream config and its trained checkpoint. The
checkpoint must match the config (missing keys are listed). ``--verify`` runs onnxruntime and
PyTorch on real person crops (``demo/vtest_reid`` by default) at batch N and 1 and fails when the
largest difference exceeds ``--rtol`` of the output scale. The preprocessing is printed and stored in
the ONNX metadata (``preprocess``).

Other forms, each compared with the fp32 graph on the same crops (and, for backbone / reid, by
Rank-1 / mAP; a drop above ``--max-drop`` is reported as DEGRADED): ``--simplify`` (onnxsim, in
place, before the check), ``--int8`` (onnxruntime static QDQ), ``--fp16`` (onnxruntime float16),
``--openvino`` (OpenVINO IR, optional package; FP16-compressed weights too with ``--fp16``).
``--keypoints`` (pose, heatmap heads) adds decoded keypoints and scores to the outputs.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    from saip_mm.deployment import get_task, task_names
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='the weights to export (omit only with --random-init)')
    p.add_argument('--random-init', action='store_true',
                   help='export the config\'s random initialisation instead of a checkpoint (latency, '
                        'graph checks); without it a checkpoint is required')
    p.add_argument('--task', required=True,
                   help='a registered downstream task (saip_mm/deployment/tasks.py, or one that the config '
                        'registers through custom_imports): '
                        + '; '.join(f'{n}: {get_task(n).description}' for n in task_names()))
    p.add_argument('--out', required=True, help='output .onnx file')
    p.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), help='input size (default: the config)')
    p.add_argument('--opset', type=int, default=17)
    p.add_argument('--verify', action='store_true', help='compare onnxruntime with PyTorch on real crops')
    p.add_argument('--images', default=osp.join(ROOT, 'demo', 'vtest_reid', 'query'),
                   help='folder of images for --verify')
    p.add_argument('--num-images', type=int, default=4)
    p.add_argument('--rtol', type=float, default=1e-4, help='allowed max |diff| / max |output|')
    p.add_argument('--reid-data', default=None,
                   help='Market-1501-layout set: backbone / reid tasks report Rank-1 / mAP per runtime and '
                        'per converted form (default: demo/vtest_reid); a folder without that layout is '
                        'an error')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='override config keys (model and test loop), e.g. to point the test loop of a '
                        'pose / seg / attribute config at the data whose metric --verify prints '
                        'from PyTorch and from onnxruntime: test_dataloader.dataset.data_root=...')
    p.add_argument('--int8', action='store_true',
                   help='also write <out>.int8.onnx (static QDQ, per channel) and report what it costs')
    p.add_argument('--int8-scheme', default='auto', choices=('auto', 'u8s8', 'u8u8'),
                   help='INT8 data types (activations x weights): auto picks u8s8 on CPUs with VNNI and u8u8 '
                        'on x86 without (where u8 x s8 saturates); name one to target another CPU')
    p.add_argument('--calib', default=osp.join(ROOT, 'demo', 'persons'), help='crops for INT8 calibration')
    p.add_argument('--calib-images', type=int, default=64)
    p.add_argument('--max-drop', type=float, default=2.0,
                   help='drop of the task metric (points: mAP, AP x 100, mIoU, mA) of an INT8 / FP16 / '
                        'OpenVINO form above which it is reported as degraded')
    p.add_argument('--simplify', action='store_true', help='simplify the exported graph with onnxsim')
    p.add_argument('--fp16', action='store_true', help='also write <out>.fp16.onnx (onnxruntime float16)')
    p.add_argument('--openvino', action='store_true',
                   help='also write <out>.xml/.bin (OpenVINO IR; needs the optional openvino package)')
    p.add_argument('--keypoints', action='store_true',
                   help='pose: also output keypoints (N, K, 2) in input pixels and scores (N, K)')
    args = p.parse_args(argv)
    import_config_modules(args.config)  # a task the config's custom_imports register
    if args.task not in task_names():
        p.error(f"argument --task: invalid choice: {args.task!r} (choose from {', '.join(task_names())})")
    args.checkpoint = args.checkpoint or None  # "" (an unset shell variable) is no checkpoint
    if args.random_init == (args.checkpoint is not None):
        p.error('give a CHECKPOINT, or --random-init for the random initialisation (not both)'
                if args.random_init else 'no CHECKPOINT given (an empty path is not one); pass '
                '--random-init to export the random initialisation on purpose')
    return args


def import_config_modules(config: str) -> None:
    """Import the ``custom_imports`` of a config file (what registers a project's own task); nothing for
    an upstream ``package::path`` config or a missing file (the export names that one)."""
    from mmengine.config import Config
    from mmengine.utils import import_modules_from_strings
    if '::' in config or not osp.isfile(config):
        return
    imports = Config.fromfile(config).get('custom_imports')
    if imports:
        import_modules_from_strings(**imports)


def check_inputs(args: argparse.Namespace) -> None:
    """Fail before any export on a data folder that the requested report needs and that is not there:
    the retrieval set for backbone / reid (--verify, --int8, --fp16, --openvino), --images for
    --verify, --calib for --int8."""
    import warnings

    from saip_mm.deployment import get_task
    from saip_mm.deployment.quantize import check_market_layout, image_paths
    forms = args.int8 or args.fp16 or args.openvino
    if get_task(args.task).metric == 'retrieval':
        explicit = args.reid_data is not None
        args.reid_data = args.reid_data or osp.join(ROOT, 'demo', 'vtest_reid')
        if args.verify or forms or explicit:
            check_market_layout(args.reid_data)
    elif args.reid_data is not None:
        warnings.warn(f'--reid-data is read for the retrieval tasks (backbone, reid) only; ignored for '
                      f'{args.task}')
    if args.verify or forms:
        image_paths(args.images)  # raises naming the folder when it holds no image
    if args.int8:
        image_paths(args.calib)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    from saip_mm.deployment import build_for_export, export_onnx, get_task, input_spec, preprocess, verify
    from saip_mm.deployment.convert import openvino_available, simplify
    if args.openvino and not openvino_available():
        raise SystemExit('--openvino needs the optional package openvino (pip install openvino)')
    check_inputs(args)
    wrapper, cfg = build_for_export(args.config, None if args.random_init else args.checkpoint, args.task,
                                    args.cfg_options,
                                    keypoints=args.keypoints)
    spec = input_spec(cfg, args.task, args.shape)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    export_onnx(wrapper, spec, args.out, args.task, args.opset)
    report = dict(onnx=args.out, task=args.task, preprocess=spec, outputs=wrapper.output_names)
    if args.simplify:
        report['simplify'] = simplify(args.out)
        print(f"onnxsim: {report['simplify']['nodes_before']} -> {report['simplify']['nodes_after']} nodes")
    report['size_mb'] = round(osp.getsize(args.out) / 2**20, 2)
    print(f'exported {args.task} to {args.out} ({report["size_mb"]} MB); input: '
          f'{spec["channel_order"]} {spec["size"][0]}x{spec["size"][1]}, '
          f'(pixel - {spec["mean"]}) / {spec["std"]}; outputs: {", ".join(wrapper.output_names)}')
    if args.verify:
        from saip_mm.deployment.quantize import image_paths, read_images
        _, images = read_images(image_paths(args.images)[:args.num_images], '--images')
        result = verify(wrapper, args.out, preprocess(images, spec))
        report['verify'] = result
        ok = result['rel_diff'] <= args.rtol
        print(f"verify on {len(images)} images (batch {result['batch_sizes']}): max |diff| "
              f"{result['max_abs_diff']:.3g} = {result['rel_diff']:.3g} of the output scale "
              f"{result['scale']:.3g} -> {'ok' if ok else 'FAILED'} (rtol {args.rtol})"
              + (f"; keypoints within 1 px: {result['keypoints_agree']:.1%}" if 'keypoints_agree' in result
                 else ''))
        if not ok:  # an unverified graph is not left where a user would take it for a good one
            os.remove(args.out)
            raise SystemExit(f'{args.out}: onnxruntime differs from PyTorch by {result["rel_diff"]:.3g} '
                             f'of the output scale (> {args.rtol}); the file was removed')
    entry = get_task(args.task)
    metric = entry.metric == 'retrieval'
    if args.verify and metric:  # the same task metric from both runtimes
        import torch

        from saip_mm.deployment.quantize import onnx_runner, retrieval
        with torch.no_grad():
            report['metric'] = dict(pytorch=retrieval(lambda x: wrapper(torch.from_numpy(x)).numpy(),
                                                      args.reid_data, spec),
                                    onnx_fp32=retrieval(onnx_runner(args.out), args.reid_data, spec))
        for name, figures in report['metric'].items():
            print(f"{name:>9}: Rank-1 {figures['R1']:.1f}  mAP {figures['mAP']:.2f}  ({args.reid_data})")
    if args.verify and entry.metric == 'loop':
        report['metric'] = task_metric(args, cfg, wrapper)
    measure = None
    if metric:
        from saip_mm.deployment.quantize import retrieval
        measure = entry.main_metric + (lambda run: retrieval(run, args.reid_data, spec), )
    elif report.get('metric'):
        measure = loop_measure(args, cfg)
    int8_scheme = None
    if args.int8:
        from saip_mm.deployment.int8_scheme import scheme
        int8_scheme = scheme(args.int8_scheme)
        print(f"int8 scheme {int8_scheme['name']} (activations {int8_scheme['activation']}, weights "
              f"{int8_scheme['weight']}) for {int8_scheme['cpu']}: {int8_scheme['reason']}")
    forms = other_forms(args, spec, int8_scheme)
    if measure and forms:  # the fp32 graph's metric, measured once (by --verify when it ran)
        from saip_mm.deployment.quantize import onnx_runner
        ref = (report.get('metric') or {}).get('onnx_fp32') or measure[2](onnx_runner(args.out))
        measure = measure + (ref, )
    for name, (path, run) in forms.items():
        report[name] = form_report(name, path, run, args, spec, measure)
    if int8_scheme:
        report['int8']['scheme'] = int8_scheme
    print(json.dumps(report, indent=1))
    return report


def task_metric(args: argparse.Namespace, cfg, wrapper) -> Optional[dict]:
    """The config's test-loop metric from PyTorch and onnxruntime, side by side.

    Runs only on data the user names with ``--cfg-options test_dataloader...`` (a config's default data
    may be absent, or a full benchmark that would take hours on a CPU); None otherwise."""
    from saip_mm.deployment.task_metric import metrics_by_runtime
    if not any(k.startswith('test_dataloader') for k in args.cfg_options):
        print('task metric: name the data to score with --cfg-options test_dataloader.dataset.data_root=... '
              '(and the evaluator\'s files) to print it from PyTorch and onnxruntime')
        return None
    root = cfg.test_dataloader.dataset.get('data_root')
    if root and not osp.isdir(root):
        raise FileNotFoundError(f'--cfg-options: the test data root {root} does not exist')
    result = metrics_by_runtime(cfg, args.task, wrapper, args.out)
    print(f"{'metric':>24} {'pytorch':>10} {'onnx_fp32':>10}")
    for key, value in result['pytorch'].items():
        print(f"{key:>24} {value:>10.4f} {result['onnx_fp32'].get(key, float('nan')):>10.4f}")
    return result


def other_forms(args: argparse.Namespace, spec: dict, int8_scheme: Optional[dict]) -> dict:
    """name -> (file, runner) of each form asked for, written beside ``--out`` (INT8 with
    ``int8_scheme``, ``saip_mm.deployment.int8_scheme``)."""
    from saip_mm.deployment.convert import openvino_default_precision, openvino_runner, to_fp16, to_openvino
    from saip_mm.deployment.quantize import image_paths, onnx_runner, quantize_int8
    base, forms = osp.splitext(args.out)[0], {}
    if int8_scheme:
        path = quantize_int8(args.out, base + '.int8.onnx', image_paths(args.calib, args.calib_images), spec,
                             int8_scheme)
        forms['int8'] = (path, onnx_runner(path))
    if args.fp16:
        path = to_fp16(args.out, base + '.fp16.onnx')
        forms['fp16'] = (path, onnx_runner(path))
    if args.openvino:
        xml = to_openvino(args.out, base + '.xml')
        forms['openvino'] = (xml, openvino_runner(xml, 'f32'))
        default = openvino_default_precision()
        if default != 'f32':  # e.g. bf16 on processors with bf16 units: what an application gets
            forms[f'openvino_{default}'] = (xml, openvino_runner(xml, None))
        if args.fp16:
            xml16 = to_openvino(args.out, base + '.fp16.xml', fp16=True)
            forms['openvino_fp16_weights'] = (xml16, openvino_runner(xml16, 'f32'))
    return forms


def loop_measure(args: argparse.Namespace, cfg) -> tuple:
    """(key, points per unit, run -> the config's test-loop metrics) for a pose / seg / attribute form."""
    import numpy as np
    import torch

    from saip_mm.deployment import get_task
    from saip_mm.deployment.task_metric import loop_metrics, padded_to, static_size
    key, points = get_task(args.task).main_metric
    size = static_size(args.out)

    def measure(run) -> dict:
        tensor_run = padded_to(lambda x: torch.from_numpy(run(np.ascontiguousarray(x.numpy()))), size)
        return loop_metrics(cfg, args.task, tensor_run)
    return key, points, measure


def form_report(name: str, path: str, run, args: argparse.Namespace, spec: dict,
                measure: Optional[tuple]) -> dict:
    """One form against the fp32 graph: size, output difference on the verify crops and, given a
    ``measure`` (key, points per unit, run -> metrics, the fp32 graph's metrics), the metric and its drop
    in points."""
    from saip_mm.deployment import preprocess
    from saip_mm.deployment.convert import compare, file_mb
    from saip_mm.deployment.quantize import image_paths, onnx_runner, read_images
    x = preprocess(read_images(image_paths(args.images)[:args.num_images], '--images')[1], spec)
    fp32 = onnx_runner(args.out)
    rep = dict(onnx=path, size_mb=file_mb(path), rel_diff_vs_fp32=compare(run, fp32, x)['rel_diff'])
    print(f"{name}: {path} ({rep['size_mb']} MB), max |{name} - fp32| = {rep['rel_diff_vs_fp32']:.3g} of the "
          'output scale')
    if measure:
        key, points, score, ref = measure
        rep['metric'] = score(run)
        rep['drop'] = (ref[key] - rep['metric'][key]) * points
        if key == 'mAP':
            rep['map_drop'] = rep['drop']
        rep['degraded'] = rep['drop'] > args.max_drop
        flag = f' -> DEGRADED (drop > {args.max_drop})' if rep['degraded'] else ''
        print(f"{name:>9}: {key} {rep['metric'][key] * points:.2f} (fp32 {ref[key] * points:.2f}: "
              f"{-rep['drop']:+.2f} points){flag}")
    return rep


if __name__ == '__main__':
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'pytorch2onnx')
