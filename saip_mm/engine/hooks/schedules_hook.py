"""Give the model's value schedules the lengths that only the run knows (issue 29 §3)."""
import math

from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from saip_mm.registry import HOOKS

from .expert_ema_hook import unwrap


def resolve_schedules(model, iters_per_epoch: int, run_length: int) -> list:
    """Give every schedule of ``model`` (``models/utils/schedules.py``) the length of an epoch in
    iterations and of the run in optimizer steps; returns the schedules (also for loops without a Runner:
    benchmarks, tests)."""
    from saip_mm.models.utils.schedules import model_schedules
    schedules = model_schedules(model)
    for schedule in schedules:
        schedule.resolve(iters_per_epoch, run_length)
    return schedules


def check_images_per_epoch(model, images_per_epoch: int) -> None:
    """Give every unit of ``model`` whose size the data must fill (``check_images_per_epoch``: CSM's
    Sinkhorn-Knopp queue) the images one epoch gives each rank; a unit that does not fit raises a one-line
    ``ValueError`` naming its config key."""
    for module in model.modules():
        check = getattr(module, 'check_images_per_epoch', None)
        if callable(check):
            check(images_per_epoch)


@HOOKS.register_module()
class SchedulesHook(Hook):
    """Before training, tell every value schedule of the model (CSM's τt warm-up, the EMA expert's
    momentum ramp, ...) how long an epoch and the run are; a ``warmup_epochs`` becomes iterations, a
    ramp over "the run" its number of optimizer steps. Nothing per iteration: each schedule's owner reads
    it at its own step. It also refuses, before the first iteration, a unit the data cannot fill (a
    Sinkhorn-Knopp queue longer than one epoch of the expert's outputs). A default hook of
    ``configs/pretrain/_base_/default_runtime.py``."""
    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        accumulate = getattr(runner.optim_wrapper, '_accumulative_counts', 1)
        loader = runner.train_dataloader
        resolve_schedules(unwrap(runner.model), len(loader), max(1, runner.max_iters // max(1, accumulate)))
        # the distinct images a rank sees in an epoch: its share of the dataset, or fewer when batches are
        # dropped
        share = math.ceil(len(loader.dataset) / get_world_size())
        check_images_per_epoch(unwrap(runner.model), min(share, len(loader) * (loader.batch_size or 1)))


__all__ = ['SchedulesHook', 'check_images_per_epoch', 'resolve_schedules']
