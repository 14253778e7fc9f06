# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Evaluate a checkpoint with mmengine's Runner (``--work-dir``, ``--out``, ``--cfg-options``,
``--launcher``)."""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))


from saip_mm.utils import cli, prepare_runtime, register_all_modules  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='dump the metrics (.json) or predictions (.pkl) to this file')
    cli.add_common_args(parser)
    return cli.parse(parser)


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = cli.load_config_or_exit(args.config, 'test')
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cli.preflight_or_exit(cfg, args.config, 'test', 'test', args.preflight, args.checkpoint)
    cli.default_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    if args.out is not None:
        if args.out.endswith('.pkl'):
            cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
                cfg.test_evaluator, dict) else list(cfg.test_evaluator)
            cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
    prepare_runtime(cfg)
    runner = cli.build_runner(cfg)
    metrics = runner.test()
    if args.out is not None and args.out.endswith('.json'):
        import json
        with open(args.out, 'w') as f:
            json.dump({k: float(v) if hasattr(v, '__float__') else v for k, v in metrics.items()}, f,
                      indent=2)
    cli.end_distributed()


if __name__ == '__main__':
    main()
