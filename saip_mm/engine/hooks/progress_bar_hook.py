"""A terminal progress bar over training iterations (the CPU demo shows one)."""
import logging
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from saip_mm.registry import HOOKS


class _NewLineBeforeLog(logging.Filter):
    """Start a log line on a fresh line when the progress bar has drawn since the last newline."""

    def __init__(self, hook: 'ProgressBarHook') -> None:
        super().__init__()
        self.hook = hook

    def filter(self, record: logging.LogRecord) -> bool:
        if self.hook.drawn and self.hook.bar is not None:
            self.hook.bar.file.write('\n')
            self.hook.bar.file.flush()
            self.hook.drawn = False
        return True


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Draw mmengine's ``ProgressBar`` over the run's iterations on the main process; log lines
    start below the bar, never over it."""
    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.bar: Optional[ProgressBar] = None
        self.drawn = False
        self._filter = _NewLineBeforeLog(self)

    def before_train(self, runner) -> None:
        if is_main_process():
            self.bar = ProgressBar(runner.max_iters - runner.iter)
            self.drawn = True  # ProgressBar draws its empty bar at once
            runner.logger.addFilter(self._filter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.bar is not None:
            self.bar.update()
            self.drawn = True

    def after_train(self, runner) -> None:
        if self.bar is not None:
            if self.drawn:
                self.bar.file.write('\n')
                self.bar.file.flush()
            runner.logger.removeFilter(self._filter)
            self.bar = None
