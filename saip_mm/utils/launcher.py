"""Runtime adaptation shared by ``tools/train.py`` and ``tools/test.py``."""
import copy
import os
import warnings
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def prepare_runtime(cfg: Config) -> None:
    """Adapt a config to the machine: CPU multi-process launches, AMP without CUDA, and the main
    process's threads and the dataloader workers from the cores (``plan_cpu``).

    Args:
        cfg (Config): The full config; ``cfg.launcher`` must already be set.
    """
    fall_back_from_amp(cfg)
    prepare_launcher(cfg)
    plan = plan_cpu(cfg)
    torch.set_num_threads(plan['main_threads'])
    if not torch.cuda.is_available() and cfg.get('launcher', 'none') != 'none':
        if replace_sync_bn(cfg.get('model', {})):
            warnings.warn('no CUDA device: SyncBN -> BN (per-process statistics) for this run')


def plan_cpu(cfg: Config, cores: Optional[int] = None, local_procs: Optional[int] = None,
             cuda: Optional[bool] = None) -> dict:
    """Share a node's cores between each training process's main thread pool and its dataloader
    workers (issue 28: 14 busy workers on 16 cores starved the main process, which then fed the GPU at a
    third of the benchmark's speed).

    Each of the node's ``local_procs`` processes (torchrun's ``LOCAL_WORLD_SIZE``) gets ``cores /
    local_procs`` cores. With a GPU the main process needs few threads (it launches kernels and runs
    the data preprocessor): ``min(4, max(1, share // 4))``; on a CPU-only machine it computes the model,
    so it gets the whole share. ``SAIP_MAIN_THREADS`` overrides that. A dataloader whose ``num_workers``
    is ``'auto'`` (the paper presets) gets the rest of the share with a GPU, none without; a number
    stays as set (``--cfg-options train_dataloader.num_workers=N``).

    Returns:
        dict: ``cores``, ``share``, ``main_threads``, ``workers`` (of the train dataloader, or None).
    """
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
    local = local_procs or int(os.environ.get('LOCAL_WORLD_SIZE', 1))
    cuda = torch.cuda.is_available() if cuda is None else cuda
    share = max(1, cores // max(1, local))
    threads = int(os.environ.get('SAIP_MAIN_THREADS', 0)) or (min(4, max(1, share // 4)) if cuda else share)
    workers = None
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if isinstance(loader, dict) and loader.get('num_workers') == 'auto':
            loader['num_workers'] = max(0, share - threads) if cuda else 0
            loader['persistent_workers'] = loader['num_workers'] > 0
        if key == 'train_dataloader' and isinstance(loader, dict):
            workers = loader.get('num_workers')
    return dict(cores=cores, share=share, main_threads=threads, workers=workers)


# the fp32 optimizer wrapper of each AMP one (saip_mm/engine/optimizers/per_tensor_clip.py); tools/train.py
# --amp maps the other way
AMP_FALLBACK = {'AmpOptimWrapper': 'OptimWrapper',
                'PerTensorClipAmpOptimWrapper': 'PerTensorClipOptimWrapper'}


def with_amp(wrapper: dict, amp: bool) -> dict:
    """A copy of an ``optim_wrapper`` config with AMP (the AMP wrapper, ``loss_scale`` 'dynamic' unless
    set) or without it (the fp32 twin; ``loss_scale``, ``dtype``, ``use_fsdp`` dropped), the optimizer
    and clipping as they are.

    Raises:
        ValueError: For a wrapper type with no AMP / fp32 twin here, naming it and those there are.
    """
    wrapper = dict(copy.deepcopy(wrapper))
    kind = wrapper.get('type', 'OptimWrapper')
    to_amp = {fp32: amp_type for amp_type, fp32 in AMP_FALLBACK.items()}
    if kind not in to_amp and kind not in AMP_FALLBACK:
        raise ValueError(f'optim_wrapper.type {kind} has no AMP / fp32 twin (one of {sorted(to_amp)})')
    if amp:
        wrapper['type'] = to_amp.get(kind, kind)
        wrapper.setdefault('loss_scale', 'dynamic')
    else:
        wrapper['type'] = AMP_FALLBACK.get(kind, kind)
        for key in ('loss_scale', 'dtype', 'use_fsdp'):
            wrapper.pop(key, None)
    return wrapper


def fall_back_from_amp(cfg: Config) -> None:
    """mmengine's ``AmpOptimWrapper`` refuses to run without an accelerator; on such a machine use
    fp32 ``OptimWrapper`` (with a warning) so that the paper configs still start, e.g. for testing."""
    wrapper = cfg.get('optim_wrapper', None)
    if torch.cuda.is_available() or not wrapper or wrapper.get('type') not in AMP_FALLBACK:
        return
    fp32 = with_amp(wrapper, amp=False)
    warnings.warn(f"no CUDA device: {wrapper['type']} -> {fp32['type']} (fp32) for this run")
    cfg.optim_wrapper = fp32


def replace_sync_bn(node) -> int:
    """Turn every ``SyncBN`` norm config under ``node`` into ``BN`` in place (torch's SyncBatchNorm
    runs on accelerators only; a CPU multi-process run then normalises per process).

    Returns:
        int: How many configs were changed.
    """
    changed = 0
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'] = 'BN'
            changed += 1
        for value in node.values():
            changed += replace_sync_bn(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            changed += replace_sync_bn(value)
    return changed


def prepare_launcher(cfg: Config) -> None:
    """Make a distributed launch work on machines without CUDA GPUs.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its default DDP wrapper passes
    ``device_ids=[LOCAL_RANK]``; both fail for CPU processes. Without CUDA we therefore initialise the
    process group ourselves with the gloo backend (mmengine skips ``init_dist`` when a group exists)
    and wrap the model in DDP with ``device_ids=None``. With CUDA nothing is changed.

    Args:
        cfg (Config): The full config; ``cfg.launcher`` must already be set.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg', None) or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'pytorch' and not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
