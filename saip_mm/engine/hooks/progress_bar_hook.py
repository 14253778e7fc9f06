"""A terminal progress bar over training iterations (the CPU demo shows one)."""
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from saip_mm.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Draw mmengine's ``ProgressBar`` over the run's iterations on the main process."""
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.bar: Optional[ProgressBar] = None

    def before_train(self, runner) -> None:
        if is_main_process():
            self.bar = ProgressBar(runner.max_iters - runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.bar is not None:
            self.bar.update()

    def after_train(self, runner) -> None:
        if self.bar is not None:
            self.bar.file.write('\n')
            self.bar.file.flush()
            self.bar = None
