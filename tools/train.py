# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Train a saip_mm model (pretraining or downstream) with mmengine's Runner.

Flags follow the OpenMMLab 2.x tools: ``--work-dir``, ``--resume [path]``, ``--amp``,
``--auto-scale-lr``, ``--no-validate``, ``--cfg-options``, ``--launcher``.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

from mmengine.config import Config  # noqa: E402

from saip_mm.utils import cli, prepare_runtime, register_all_modules  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, resume from the latest checkpoint '
        'in the work dir')
    parser.add_argument('--amp', action='store_true', help='enable automatic-mixed-precision training')
    parser.add_argument('--no-validate', action='store_true', help='do not evaluate during training')
    parser.add_argument(
        '--auto-scale-lr', action='store_true', help='scale the lr by the actual batch size')
    parser.add_argument(
        '--no-pin-memory', action='store_true', help='do not pin memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers', action='store_true', help='no persistent dataloader workers')
    cli.add_common_args(parser)
    return cli.parse(parser)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge the command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    cfg.launcher = args.launcher

    cli.default_work_dir(cfg, args.config, args.work_dir)

    if args.amp:
        from saip_mm.utils.launcher import with_amp
        try:
            cfg.optim_wrapper = with_amp(cfg.optim_wrapper, amp=True)
        except ValueError as e:
            raise SystemExit(f'train: --amp: {e}')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', {})
        cfg.auto_scale_lr.enable = True

    def set_default_dataloader_cfg(cfg: Config, field: str) -> None:
        if cfg.get(field, None) is None:
            return
        dataloader_cfg = cfg[field]
        if args.no_pin_memory:
            dataloader_cfg['pin_memory'] = False
        if args.no_persistent_workers:
            dataloader_cfg['persistent_workers'] = False

    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        set_default_dataloader_cfg(cfg, field)

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = cli.load_config_or_exit(args.config, 'train')
    cfg = merge_args(cfg, args)
    cli.preflight_or_exit(cfg, args.config, 'train', 'train', args.preflight)
    prepare_runtime(cfg)
    runner = cli.build_runner(cfg)
    runner.train()
    cli.end_distributed()


if __name__ == '__main__':
    main()
