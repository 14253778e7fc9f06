"""Train and evaluate every downstream config for a few iterations on CPU, from an exported SAIP backbone.

Each config runs through ``tools/train.py`` (the Runner's own loop: a few training iterations, then the
real metric) on small datasets in the official layouts that ``make_downstream_samples.py`` derives from
the COCO sample images in ``tests/data``. Only sizes, paths and iteration counts are overridden.

Usage:
    python tools/misc/downstream_demo.py work_dirs/demo/saip_vit-tiny_backbone.pth [--only mmseg ...]
"""
import argparse
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
COCO = osp.join(ROOT, 'tests', 'data', 'mmpose_samples', 'coco')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _loaders(**options) -> dict:
    """The same options for the three dataloaders (``num_workers=0`` for a quick CPU run)."""
    out = {}
    for loader in LOADERS:
        out[f'{loader}.num_workers'] = 0
        out[f'{loader}.persistent_workers'] = False
        for key, value in options.items():
            out[f'{loader}.{key}'] = value
    return out


def runs(samples: str) -> dict:
    """name -> (config, cfg-options) for every downstream config."""
    pose_data = _loaders(**{'batch_size': 2, 'dataset.data_root': COCO + '/', 'dataset.data_prefix.img': '',
                            'dataset.bbox_file': None})
    lip, ch = osp.join(samples, 'LIP'), osp.join(samples, 'CrowdHuman')
    return {
        'mmpose_coco': ('configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py', {
            **pose_data, **_loaders(**{'dataset.ann_file': 'test_coco.json'}),
            'val_evaluator.ann_file': osp.join(COCO, 'test_coco.json'), 'train_cfg.max_epochs': 1}),
        'mmpose_wholebody': (
            'configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-wholebody-256x192.py', {
            **pose_data, **_loaders(**{'dataset.ann_file': 'test_coco_wholebody.json'}),
            'val_evaluator.ann_file': osp.join(COCO, 'test_coco_wholebody.json'), 'train_cfg.max_epochs': 1}),
        'mmseg_lip': ('configs/downstream/mmseg/upernet_vit-tiny-p16_mln_8xb4-80k_lip-473x473.py', {
            **_loaders(**{'dataset.data_root': lip}), 'train_dataloader.batch_size': 2,
            'model.data_preprocessor.size': (160, 160),
            'train_dataloader.dataset.pipeline.2.scale': (160, 160),
            'train_dataloader.dataset.pipeline.3.crop_size': (160, 160),
            'val_dataloader.dataset.pipeline.1.scale': (160, 160),
            'train_cfg.max_iters': 4, 'train_cfg.val_interval': 4, 'default_hooks.checkpoint.interval': 4}),
        'mmdet_crowdhuman': (
            'configs/downstream/mmdet/crowddet-rcnn_vit-tiny-p16_sfp_8xb2-30e_crowdhuman.py', {
            **_loaders(**{'dataset.data_root': ch + '/'}),
            'val_evaluator.ann_file': osp.join(ch, 'annotation_val.odgt'),
            'model.data_preprocessor.batch_augments.0.scale': (384, 256),
            'val_dataloader.dataset.pipeline.1.scale': (384, 256), 'train_cfg.max_epochs': 1}),
        'reid_market1501': ('configs/downstream/reid/reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py', {
            **_loaders(**{'dataset.data_root': osp.join(samples, 'Market1501')}),
            'model.head.num_classes': 6, 'train_dataloader.dataset.triplet_sampler.num_ids': 3,
            'train_dataloader.dataset.triplet_sampler.ins_per_id': 2,
            'train_cfg.max_iters': 3, 'train_cfg.val_interval': 3, 'default_hooks.checkpoint.interval': 3}),
        'attribute_pa100k': ('configs/downstream/attribute/par_vit-tiny-p16_1xb64-25e_pa100k-256x128.py', {
            **_loaders(**{'dataset.data_root': osp.join(samples, 'PA100k'), 'batch_size': 4}),
            'model.head.num_classes': 5, 'model.data_preprocessor.num_classes': 5,
            'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1}),
    }


def _format(value) -> str:
    if value is None:
        return 'None'
    if isinstance(value, tuple):
        return '(' + ','.join(str(v) for v in value) + ')'
    return str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='backbone exported by tools/model_converters/saip2backbone.py')
    parser.add_argument('--work-dir', default='work_dirs/downstream_demo')
    parser.add_argument('--only', nargs='+', help='run only these (names as printed)')
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'{args.checkpoint} does not exist: run `make demo` (or export a checkpoint with '
                         'tools/model_converters/saip2backbone.py) first')
    samples = osp.join(args.work_dir, 'samples')
    if not osp.isdir(osp.join(samples, 'PA100k')):
        subprocess.run([sys.executable, osp.join(ROOT, 'tools/misc/make_downstream_samples.py'),
                        osp.join(COCO, 'test_coco.json'), COCO, samples], check=True)
    failed = []
    for name, (config, options) in runs(osp.abspath(samples)).items():
        if args.only and name not in args.only:
            continue
        options = {'model.backbone.init_cfg.checkpoint': osp.abspath(args.checkpoint),
                   'default_hooks.logger.interval': 1, **options}
        cmd = [sys.executable, osp.join(ROOT, 'tools/train.py'), osp.join(ROOT, config),
               '--work-dir', osp.join(args.work_dir, name), '--cfg-options'
               ] + [f'{k}={_format(v)}' for k, v in options.items()]
        start = time.time()
        code = subprocess.run(cmd).returncode
        print(f'==> {name}: {"ok" if code == 0 else f"FAILED ({code})"} in {time.time() - start:.0f} s',
              flush=True)
        if code:
            failed.append(name)
    if failed:
        print('failed: ' + ', '.join(failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
