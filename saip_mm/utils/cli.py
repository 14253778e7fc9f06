"""Command-line pieces shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, List, Optional

from mmengine.config import Config, DictAction


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank``, as in the OpenMMLab tools."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (xxx=yyy format); lists as key="[a,b]"')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--preflight', action='store_true',
        help='only check that the config and the data it names exist, then exit (dist_train.sh and '
        'dist_test.sh do this once before starting the workers)')


def parse(parser: argparse.ArgumentParser, argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse and export ``LOCAL_RANK`` for launchers that pass ``--local-rank``."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config_or_exit(config_path: str, tool: str) -> Config:
    """``Config.fromfile`` of a path resolved and checked first (``preflight.resolve_config``: a name
    without ``.py`` is accepted); a missing config ends the process with one line naming it (and close
    config names), not a traceback."""
    from .preflight import PreflightError, resolve_config
    try:
        path = resolve_config(config_path)
    except PreflightError as err:
        sys.exit(f'{tool}: {err}')
    return Config.fromfile(path)


def preflight_or_exit(cfg: Config, config_path: str, mode: str, tool: str, preflight_only: bool,
                      checkpoint: Optional[str] = None) -> None:
    """Run ``saip_mm.utils.preflight`` on a merged config: a missing data path (or ``checkpoint``) ends
    the process with one line; with ``preflight_only`` an ``ok`` line ends it after the checks."""
    from .preflight import ConfigConflictError, PreflightError, preflight
    try:
        if checkpoint and '://' not in checkpoint and not osp.isfile(checkpoint):
            raise PreflightError(f'checkpoint {checkpoint}: no such file')
        preflight(cfg, config_path, mode)
    except (PreflightError, ConfigConflictError) as err:
        sys.exit(f'{tool}: {err}')
    if preflight_only:
        print(f'{tool}: preflight ok: {config_path} and the data it names exist')
        sys.exit(0)


def default_work_dir(cfg: Config, config_path: str, work_dir: Optional[str]) -> None:
    """CLI ``--work-dir`` > the config's ``work_dir`` > ``./work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def build_runner(cfg: Config):
    """The config's ``runner_type`` if it names one, else mmengine's ``Runner``."""
    from mmengine.runner import Runner

    from saip_mm.registry import RUNNERS
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def end_distributed() -> None:
    """Leave a distributed job cleanly: wait for every rank, then tear the process group down. A rank that
    exits while another still writes its last checkpoint otherwise leaves gloo's threads running at
    interpreter exit, which aborts the process ("terminate called without an active exception") and
    fails the whole job after training finished."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


USER_ERRORS = (FileExistsError, FileNotFoundError, KeyError, ValueError)


def run_tool(main: Callable[[], object], tool: str) -> None:
    """Run a tool's ``main()``; a bad input (a missing or unusable file, a wrong key or value) ends the
    process with one line, ``<tool>: <message>``, and exit status 1 instead of a traceback.

    The tools raise these errors with messages that name the file or key (e.g.
    ``saip_mm.utils.checkpoint.CheckpointError``); anything else is a bug and keeps its traceback.
    """
    try:
        main()
    except USER_ERRORS as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        sys.exit(f'{tool}: {message}')
