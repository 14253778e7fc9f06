"""Log the unreadable images the datasets skipped (per epoch or interval, and in total)."""
import os.path as osp
from typing import List, Optional, Set

from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook

from saip_mm.registry import HOOKS


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """Collect ``skipped_files`` from the data samples of every batch (works across dataloader
    workers and ranks) and report them per epoch (or every ``interval`` iterations for iteration-
    based loops) and in total.

    Every skipped path reaches the log (the first ``max_shown`` of a report in the message, all of
    them in ``<work_dir>/skipped_images.txt``), and each message names its iteration, so mmengine's
    filter of repeated warnings never swallows one. The running count ``train/skipped_images`` is
    updated before the ``LoggerHook`` of the same iteration runs, so the logged figure is current.

    Args:
        interval (int): Iterations between reports in iteration-based runs. Defaults to 1000.
        max_shown (int): Paths listed in one log message. Defaults to 20.
    """
    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL): the logged count is this iteration's

    def __init__(self, interval: int = 1000, max_shown: int = 20) -> None:
        self.interval = interval
        self.max_shown = max_shown
        self.span_files: Set[str] = set()
        self.total_files: Set[str] = set()

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs=None) -> None:
        for sample in (data_batch or {}).get('data_samples', []) or []:
            for path in sample.metainfo.get('skipped_files', ()):
                self.span_files.add(path)
        # this rank's running total; the report below gathers all ranks
        runner.message_hub.update_scalar('train/skipped_images',
                                         len(self.total_files | self.span_files))
        if not runner.train_loop.__class__.__name__.startswith('Epoch') and \
                self.every_n_train_iters(runner, self.interval):
            self._report(runner, f'iterations {runner.iter + 2 - self.interval}-{runner.iter + 1}')

    def after_train_epoch(self, runner) -> None:
        self._report(runner, f'epoch {runner.epoch + 1}')

    def _report(self, runner, span: str) -> None:
        gathered = set().union(*all_gather_object(self.span_files))
        new: List[str] = sorted(gathered - self.total_files)
        self.total_files |= gathered
        self.span_files = set()
        runner.message_hub.update_scalar('train/skipped_images', len(self.total_files))
        if not gathered or not is_main_process():
            return
        if new:
            with open(osp.join(runner.work_dir, 'skipped_images.txt'), 'a') as f:
                f.writelines(p + '\n' for p in new)
        shown = ', '.join(sorted(gathered)[:self.max_shown])
        more = len(gathered) - self.max_shown
        more = f' and {more} more' if more > 0 else ''
        runner.logger.warning(
            f'{len(gathered)} unreadable image(s) skipped in {span} ({len(new)} new, '
            f'{len(self.total_files)} in total, all listed in skipped_images.txt): {shown}{more}')
