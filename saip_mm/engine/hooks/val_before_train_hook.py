"""Evaluate once before the first training iteration: the figures of the initialisation a run starts
from (random init, or ``load_from``), logged at iteration 0 next to the later ones."""
from mmengine.hooks import Hook

from saip_mm.registry import HOOKS


@HOOKS.register_module()
class ValBeforeTrainHook(Hook):
    """Run the validation loop in ``before_train`` of a fresh run (not when resuming: the start was
    measured by the run that is resumed). Its priority is the lowest, so that the model is fully
    initialised (expert copied, weights loaded) by the other hooks first.

    Args:
        enabled (bool): Defaults to True (a switch for ``--cfg-options``).
    """
    priority = 'LOWEST'

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def before_train(self, runner) -> None:
        if self.enabled and runner.iter == 0 and runner.val_loop is not None:
            runner.val_loop.run()
