# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""The loader mode of ``benchmark_pretrain.py`` (``--loader``): the config's dataloader timed alone and
feeding training steps, in the Runner's environment."""
import argparse
import time
from typing import Dict, List


def arrivals(loader_cfg: dict, batches: int) -> List[float]:
    """Seconds from a fresh iterator's creation to each of its first ``batches`` batches, with nothing
    else running: the workers' own rate, all of them busy at once, before any step competes with them."""
    from mmengine.runner import Runner
    it = iter(Runner.build_dataloader(dict(loader_cfg, persistent_workers=False), seed=0))
    t0, out = time.perf_counter(), []
    for _ in range(batches):
        next(it)
        out.append(time.perf_counter() - t0)
    del it  # its workers end here
    return out


def loader_steps(cfg, batch: int, model, optim, args: argparse.Namespace, device: str, torch) -> Dict:
    """The config's dataloader in the Runner's environment (``env_cfg.mp_cfg``: start method, OpenCV
    threads), timed twice: alone (``alone_img_s``: each worker's second batch after its first, so the
    rate the workers keep up together) and feeding ``2 x workers + 4`` training steps (at least
    ``args.steps``), so that the batches the workers prefetched at the start (2 each) are used up and the
    mean data wait (``data_s``) is the steady one, not the start's."""
    from mmengine.runner import Runner
    from mmengine.utils.dl_utils import set_multi_processing
    set_multi_processing(**cfg.get('env_cfg', {}).get('mp_cfg', {}))  # what Runner.setup_env does
    loader_cfg = dict(cfg.train_dataloader, batch_size=batch,
                      sampler=dict(type='InfiniteSampler', shuffle=True))
    workers = loader_cfg['num_workers'] if args.workers is None else args.workers
    if workers == 'auto':  # the paper presets: the cores the main process leaves (plan_cpu)
        from saip_mm.utils.launcher import plan_cpu
        workers = plan_cpu(type(cfg)(dict(train_dataloader=dict(num_workers='auto'))))['workers']
    loader_cfg.update(num_workers=workers, persistent_workers=workers > 0, pin_memory=device == 'cuda')
    if args.collate:
        loader_cfg['collate_fn'] = dict(type=args.collate)
    rounds = max(1, workers)
    times = arrivals(loader_cfg, 2 * rounds)
    alone = rounds * batch / max(1e-9, times[-1] - times[rounds - 1])
    steps = max(args.steps, 2 * workers + 4)
    it = iter(Runner.build_dataloader(loader_cfg, seed=0))
    from saip_mm.engine.hooks import resolve_schedules
    warmup = max(1, args.warmup)  # the workers' start, and the view sizes run before the timing
    resolve_schedules(model, steps + warmup, steps + warmup)  # what SchedulesHook gives a run this long
    for _ in range(warmup):
        model.train_step(next(it), optim)
        model.update_expert()
    data_t = step_t = 0.
    for _ in range(steps):
        t0 = time.perf_counter()
        data = next(it)
        t1 = time.perf_counter()
        model.train_step(data, optim)
        model.update_expert()
        if device == 'cuda':
            torch.cuda.synchronize()
        data_t, step_t = data_t + t1 - t0, step_t + time.perf_counter() - t1
    from saip_mm.utils.dataloader import stop_workers
    stop_workers(it)
    import cv2
    return dict(data_s=data_t / steps, step_s=step_t / steps, workers=workers, steps=steps,
                alone_img_s=alone, first_batch_s=times[0], opencv_threads=cv2.getNumThreads(),
                collate=loader_cfg.get('collate_fn', {}).get('type', 'pseudo_collate'))
