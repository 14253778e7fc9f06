"""DINO's last-layer freeze: the CSM prototypes stay fixed at the start of training."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from saip_mm.registry import HOOKS

from .expert_ema_hook import unwrap


@HOOKS.register_module()
class FreezeLastLayerHook(Hook):
    """Keep the weight-normalised prototype layers of the CSM projector (and of any other prototype
    projector of the algorithm, e.g. PersonViT's patch projector) fixed for the first
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
        frozen = self.frozen_at(runner)
        for neck in prototype_layers(unwrap(runner.model)):
            neck.freeze_last_layer = frozen


def prototype_layers(model) -> list:
    """The student's projectors with a prototype layer (CSM's, and a patch-level one such as
    PersonViT's), not the expert's copies (they get no gradient)."""
    from saip_mm.models.necks.csm_projector import CSMProjector
    return [m for name, m in model.named_modules()
            if isinstance(m, CSMProjector) and not name.startswith('expert.')]
