"""An optimizer-wrapper constructor that reports frozen parameters and per-parameter options in one
line each, not one line per parameter."""
import logging

import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from saip_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS

FROZEN_NOTE = 'is skipped since its requires_grad=False'
OPTIONS_NOTE = 'paramwise_options -- '


class _CountParamLines(logging.Filter):
    """Swallow mmengine's per-parameter lines ("... is skipped since its requires_grad=False"
    warnings, "paramwise_options -- name:option=value" infos), keeping what they say."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = []
        self.options = []

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        if FROZEN_NOTE in msg:
            self.frozen.append(msg.split(' ')[0])
            return False
        if msg.startswith(OPTIONS_NOTE):
            self.options.append(msg[len(OPTIONS_NOTE):])
            return False
        return True


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` (same ``paramwise_cfg``), but the frozen parameters (the EMA
    expert's, a frozen external expert's: ~160 in SAIP) are summarised in one INFO line instead of one
    WARNING each, and the per-parameter options (~100 "weight_decay=0.0" lines) in another, so that
    a user sees their training rather than our bookkeeping."""

    def __call__(self, model: nn.Module) -> OptimWrapper:
        logger = MMLogger.get_current_instance()
        counter = _CountParamLines()
        logger.addFilter(counter)
        try:
            wrapper = super().__call__(model)
        finally:
            logger.removeFilter(counter)
        if counter.frozen:
            roots = sorted({n.split('.')[0] for n in counter.frozen})
            print_log(f'{len(counter.frozen)} frozen parameters (requires_grad=False, under {roots}) '
                      f'are not optimised', logger='current', level=logging.INFO)
        if counter.options:
            kinds = sorted({o.split(':', 1)[-1] for o in counter.options})
            print_log(f'paramwise_cfg set options on {len(counter.options)} parameters: {kinds}',
                      logger='current', level=logging.INFO)
        return wrapper
