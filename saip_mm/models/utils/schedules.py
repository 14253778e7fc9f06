"""Value schedules of the model (issue 29 §3: one owner per value).

A schedule belongs to the unit whose value it is: CSM's teacher temperature τt to ``CSMHead(teacher_temp=
...)``, the EMA momentum to ``CosineEMAExpert(momentum=..., end_momentum=...)``, DINO's prototype freeze to
``CSMProjector(freeze_last_layer=...)``. The owner evaluates it at
the step it is given (``value_at(step)``); no hook writes the value. What a config cannot know — the
length of an epoch and of the run — ``SchedulesHook`` gives every schedule once, before training
(``resolve``); a schedule that needs a length it was not given refuses to answer, naming the hook.

Each schedule is an ``nn.Module`` without parameters or state, so that ``print(model)`` shows it where it
acts and the hook finds it among the model's modules.
"""
import math
from abc import ABCMeta, abstractmethod
from typing import List, Optional, Union

import torch.nn as nn

from saip_mm.registry import MODELS


class ValueSchedule(nn.Module, metaclass=ABCMeta):
    """A scalar as a function of the owner's step (subclasses define ``value_at``)."""

    def resolve(self, iters_per_epoch: int, run_length: int) -> None:
        """Take the lengths of an epoch (iterations) and of the run (optimizer steps); nothing here."""

    @abstractmethod
    def value_at(self, step: int) -> float:
        """The value at ``step``."""


@MODELS.register_module()
class ConstantValue(ValueSchedule):
    """The same value at every step."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = float(value)

    def value_at(self, step: int) -> float:
        return self.value

    def extra_repr(self) -> str:
        return f'value={self.value}'


class StepsOrEpochs:
    """A length given in steps or in epochs (then converted with the epoch length ``SchedulesHook`` gives).

    Args:
        owner (str): The schedule, for the messages.
        names (tuple): The two argument names, e.g. ``('warmup_iters', 'warmup_epochs')``.
        iters (int, optional): Steps.
        epochs (float, optional): Epochs instead.
    """

    def __init__(self, owner: str, names: tuple, iters: Optional[int], epochs: Optional[float]) -> None:
        if (iters is None) == (epochs is None):
            raise ValueError(f'{owner} needs exactly one of {names[0]}, {names[1]}; got {names[0]}={iters}, '
                             f'{names[1]}={epochs} (a merged config: replace the whole dict, _delete_=True)')
        self.owner, self.names, self.iters, self.epochs = owner, names, iters, epochs

    def resolve(self, iters_per_epoch: int) -> None:
        if self.epochs is not None:
            self.iters = int(round(self.epochs * iters_per_epoch))

    def steps(self) -> int:
        """The length in steps; refused, naming the hook, for epochs without an epoch length."""
        if self.iters is None:
            raise ValueError(f'{self.owner}({self.names[1]}={self.epochs}) has no epoch length: add '
                             "dict(type='SchedulesHook') to default_hooks (configs/pretrain/_base_/"
                             'default_runtime.py has it)')
        return self.iters

    def __repr__(self) -> str:
        given = f', {self.names[1]}={self.epochs}' if self.epochs is not None else ''
        return f'{self.names[0]}={self.iters}{given}'


@MODELS.register_module()
class LinearWarmup(ValueSchedule):
    """``start`` at step 0, rising linearly to ``end`` at the end of the warm-up, then ``end`` (DINO's τt:
    0.04 → 0.07 over 30 epochs).

    Args:
        start (float): Value at step 0.
        end (float): Value after the warm-up.
        warmup_iters (int, optional): Warm-up length in steps.
        warmup_epochs (float, optional): Warm-up length in epochs instead (converted with the epoch length
            that ``SchedulesHook`` gives).
    """

    def __init__(self, start: float, end: float, warmup_iters: Optional[int] = None,
                 warmup_epochs: Optional[float] = None) -> None:
        super().__init__()
        self.start, self.end = float(start), float(end)
        self.warmup = StepsOrEpochs('LinearWarmup', ('warmup_iters', 'warmup_epochs'), warmup_iters,
                                    warmup_epochs)

    def resolve(self, iters_per_epoch: int, run_length: int) -> None:
        self.warmup.resolve(iters_per_epoch)

    def value_at(self, step: int) -> float:
        progress = min(max(step, 0) / max(self.warmup.steps(), 1), 1.0)
        return self.start + (self.end - self.start) * progress

    def extra_repr(self) -> str:
        return f'start={self.start}, end={self.end}, {self.warmup}'


@MODELS.register_module()
class CosineRamp(ValueSchedule):
    """From ``start`` to ``end`` along a half cosine over ``iters`` steps (BYOL / DINO's EMA momentum,
    0.996 → 1), then ``end``.

    Args:
        start (float): Value at step 0.
        end (float): Value at step ``iters``.
        iters (int, optional): Length; ``None``: the run's length in optimizer steps (``SchedulesHook``).
    """

    def __init__(self, start: float, end: float, iters: Optional[int] = None) -> None:
        super().__init__()
        self.start, self.end = float(start), float(end)
        self.iters, self.run_length = iters, None

    def resolve(self, iters_per_epoch: int, run_length: int) -> None:
        self.run_length = int(run_length)

    def value_at(self, step: int) -> float:
        length = self.iters if self.iters is not None else self.run_length
        if length is None:
            raise ValueError('CosineRamp(iters=None) runs over the whole run, whose length it was not given: '
                             "add dict(type='SchedulesHook') to default_hooks (configs/pretrain/_base_/"
                             'default_runtime.py has it), or set iters')
        progress = min(max(step, 0) / max(length, 1), 1.0)
        return self.end - (self.end - self.start) * (math.cos(math.pi * progress) + 1) / 2

    def extra_repr(self) -> str:
        return f'start={self.start}, end={self.end}, iters={self.iters or self.run_length or "run length"}'


@MODELS.register_module()
class FirstSteps(ValueSchedule):
    """1 during the first ``iters`` steps (or ``epochs`` epochs), then 0: a switch that is on at the start
    of training (DINO's last-layer freeze: the prototypes are fixed for the first epoch).

    Args:
        iters (int, optional): Steps with the value 1.
        epochs (float, optional): Epochs instead (converted with the epoch length that ``SchedulesHook``
            gives).
    """

    def __init__(self, iters: Optional[int] = None, epochs: Optional[float] = None) -> None:
        super().__init__()
        self.length = StepsOrEpochs('FirstSteps', ('iters', 'epochs'), iters, epochs)

    def resolve(self, iters_per_epoch: int, run_length: int) -> None:
        self.length.resolve(iters_per_epoch)

    def value_at(self, step: int) -> float:
        return 1.0 if step < self.length.steps() else 0.0

    def extra_repr(self) -> str:
        return repr(self.length)


def build_schedule(value: Union[float, dict, ValueSchedule]) -> ValueSchedule:
    """A schedule from a number (constant), a config dict (``dict(type='LinearWarmup', ...)``) or a
    schedule (passed through)."""
    if isinstance(value, ValueSchedule):
        return value
    if isinstance(value, dict):
        return MODELS.build(value)
    return ConstantValue(value)


def model_schedules(model: nn.Module) -> List[ValueSchedule]:
    """Every schedule among ``model``'s modules."""
    return [m for m in model.modules() if isinstance(m, ValueSchedule)]


__all__ = ['ConstantValue', 'CosineRamp', 'FirstSteps', 'LinearWarmup', 'StepsOrEpochs', 'ValueSchedule',
           'build_schedule', 'model_schedules']
