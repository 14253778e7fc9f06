"""mmengine's ``RuntimeInfoHook``, reading the step's logged tensors once per logging interval (issue 28).

mmengine's hook puts every value the training step returns into the message hub after every iteration,
and the hub reads each tensor with ``.item()``: on a GPU, ten or more reads that each make the host wait
for the device, every step. This hook keeps the step's values (and the optimizer wrapper's gradient
norm, see ``PerTensorClip.take_grad_norm``) where they are and reads all of them in one transfer when
the ``LoggerHook`` next logs, or before a validation, a checkpoint, the end of an epoch or of the run
(and once more at the first iteration, so that the keys enter the message hub in mmengine's order).
The message hub then holds the same numbers in the same order as with mmengine's hook, so the logged
means, the log lines, ``scalars.json`` and a resumed run's windows are unchanged.

It also owns the run's finiteness check: when the values are read, the first value of the model's
output that is not finite (a loss term or a logged statistic) stops training with
``FloatingPointError`` naming the key and the iteration. The check runs before any checkpoint is
written, so the work dir's last checkpoint precedes that iteration; the run stops at most one logging
interval after it (mmdet's ``CheckInvalidLossHook`` checks at an interval as well).

    default_hooks = dict(runtime_info=dict(type='DeferredRuntimeInfoHook'),
                         logger=dict(type='LoggerHook', interval=50))   # one read per 50 iterations
"""
import math
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.hooks import LoggerHook, RuntimeInfoHook
from mmengine.utils import apply_to
from torch import Tensor

from saip_mm.registry import HOOKS


@HOOKS.register_module()
class DeferredRuntimeInfoHook(RuntimeInfoHook):
    """``RuntimeInfoHook`` whose training scalars are read once per logging interval (module docstring).

    The interval is the ``LoggerHook``'s (its ``interval``; every iteration in a run without one).
    ``pending`` holds ``(iteration, {key: value})`` of the iterations not yet read, oldest first.
    """

    def __init__(self) -> None:
        self.interval = 1
        self.pending: List[Tuple[int, Dict[str, object]]] = []

    def before_train(self, runner) -> None:
        super().before_train(runner)
        logger = next((h for h in runner.hooks if isinstance(h, LoggerHook)), None)
        self.interval = logger.interval if logger is not None else 1
        self.pending = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        take = getattr(runner.optim_wrapper, 'take_grad_norm', None)
        grad_norm = take() if take is not None else None
        # the norm first: mmengine's wrapper logs it in the step, before the step's outputs
        values = {} if grad_norm is None else {'grad_norm': grad_norm}
        values.update(outputs or {})
        self.pending.append((runner.iter + 1, values))
        hub = runner.message_hub.log_scalars
        # the LoggerHook's own condition: its window means need every iteration up to this one; and a
        # key the hub has not seen (the first iteration), so that keys enter it in mmengine's order
        if (self.every_n_inner_iters(batch_idx, self.interval)
                or self.end_of_epoch(runner.train_dataloader, batch_idx) or self.is_last_train_iter(runner)
                or any(f'train/{key}' not in hub for key in values)):
            self.flush(runner)

    def after_train_epoch(self, runner) -> None:
        self.flush(runner)

    def before_val(self, runner) -> None:
        self.flush(runner)
        super().before_val(runner)

    def after_train(self, runner) -> None:
        self.flush(runner)
        super().after_train(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Read what is pending (a value that is not finite stops the run before the file is written)
        and store the message hub with it, as ``Runner.save_checkpoint`` stores it."""
        if self.pending:
            self.flush(runner)
            checkpoint['message_hub'] = apply_to(runner.message_hub.state_dict(),
                                                 lambda x: hasattr(x, 'cpu'), lambda x: x.cpu())

    def flush(self, runner) -> None:
        """Read every pending tensor in one transfer and put the values into the message hub in order.

        Raises:
            FloatingPointError: At the first model output that is not finite, naming key and iteration.
        """
        pending, self.pending = self.pending, []
        tensors = [v for _, values in pending for v in values.values() if isinstance(v, Tensor)]
        numbers = iter(read_scalars(tensors))
        for iteration, values in pending:
            read = {k: next(numbers) if isinstance(v, Tensor) else v for k, v in values.items()}
            # an fp16 run's infinite gradient norm is a skipped step, not a failure
            bad = [k for k, v in read.items() if k != 'grad_norm' and not math.isfinite(v)]
            if bad:
                terms = [k for k in bad if k != 'loss'] or bad  # the term, rather than mmengine's sum
                also = f" (also {', '.join(terms[1:])})" if len(terms) > 1 else ''
                raise FloatingPointError(
                    f'{terms[0]} is not finite ({read[terms[0]]}) at iteration {iteration}{also}, read at '
                    f"iteration {runner.iter + 1} (every {self.interval}: the LoggerHook's interval); "
                    'training stopped. The last checkpoint in the work dir was written before that '
                    'iteration.')
            for key, number in read.items():
                runner.message_hub.update_scalar(f'train/{key}', number)


def read_scalars(tensors: List[Tensor]) -> List[float]:
    """The values of one-element tensors as Python numbers, in one device read.

    As ``.item()`` gives them: a floating tensor of 32 bits or fewer is exact in float64, so the numbers
    are those of a read one by one; an integer tensor gives an int.

    Args:
        tensors (list[Tensor]): One element each, on any devices (a host one goes to the first device's).
    """
    if not tensors:
        return []
    device = next((t.device for t in tensors if t.device.type != 'cpu'), torch.device('cpu'))
    stacked = torch.stack([t.detach().reshape(()).to(device, torch.float64) for t in tensors])
    return [v if t.is_floating_point() else int(v) for t, v in zip(tensors, stacked.tolist())]


__all__ = ['DeferredRuntimeInfoHook', 'read_scalars']
