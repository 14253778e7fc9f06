"""DINO's last-layer freeze: the CSM prototypes stay fixed at the start of training."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from saip_mm.registry import HOOKS

from .expert_ema_hook import unwrap


@HOOKS.register_module()
class FreezeLastLayerHook(Hook):
    """Keep the weight-normalised prototype layer of the CSM projector fixed for the first
    ``epochs`` epochs (epoch-based loops) or ``iters`` iterations (DINO freezes it for 1 epoch, which
    stabilises the start of training).

    Args:
        epochs (int): Epochs with a frozen last layer. Defaults to 1.
        iters (int, optional): Iterations instead of epochs (for iteration-based runs).
    """

    def __init__(self, epochs: int = 1, iters: Optional[int] = None) -> None:
        self.epochs, self.iters = epochs, iters

    def before_train(self, runner) -> None:
        # an iteration-based loop never leaves epoch 0: count its epochs in iterations
        if self.iters is None and not isinstance(runner.train_loop, EpochBasedTrainLoop):
            self.iters = self.epochs * len(runner.train_dataloader)

    def frozen_at(self, runner) -> bool:
        """Whether the prototypes are frozen at the runner's current iteration."""
        if self.iters is not None:
            return runner.iter < self.iters
        return runner.epoch < self.epochs

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        neck = unwrap(runner.model).csm_neck
        if neck is not None:
            neck.freeze_last_layer = self.frozen_at(runner)
