"""Log how many unreadable images the datasets skipped (per epoch and in total)."""
from typing import Optional, Set

from mmengine.dist import all_gather_object
from mmengine.hooks import Hook

from saip_mm.registry import HOOKS


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """Collect ``skipped_files`` from the data samples of every batch (works across dataloader
    workers and ranks) and log the count per epoch (or every ``interval`` iterations for iteration-
    based loops) and in total.

    Args:
        interval (int): Iterations between logs in iteration-based runs. Defaults to 1000.
    """
    priority = 'LOW'

    def __init__(self, interval: int = 1000) -> None:
        self.interval = interval
        self.epoch_files: Set[str] = set()
        self.total_files: Set[str] = set()

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs=None) -> None:
        for sample in (data_batch or {}).get('data_samples', []) or []:
            for path in sample.metainfo.get('skipped_files', ()):
                self.epoch_files.add(path)
        if not runner.train_loop.__class__.__name__.startswith('Epoch') and \
                self.every_n_train_iters(runner, self.interval):
            self._report(runner, 'last {} iterations'.format(self.interval))

    def after_train_epoch(self, runner) -> None:
        self._report(runner, f'epoch {runner.epoch + 1}')

    def _report(self, runner, span: str) -> None:
        gathered = set().union(*all_gather_object(self.epoch_files))
        self.total_files |= gathered
        runner.message_hub.update_scalar('train/skipped_images', len(gathered))
        if gathered:
            shown = ', '.join(sorted(gathered)[:3])
            runner.logger.warning(f'{len(gathered)} unreadable image(s) skipped in {span} '
                                  f'({len(self.total_files)} in total), e.g. {shown}')
        self.epoch_files = set()
