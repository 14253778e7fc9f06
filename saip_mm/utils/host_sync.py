# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Counting the host synchronisations of a piece of code on any device (issue 28).

On a GPU, reading a tensor's value on the host (``.item()``, ``.cpu()``, ``.tolist()``, ``bool(t)``),
``nonzero`` and indexing with a boolean mask (its output size depends on the data) make the host wait
for the device: the step stalls and the device idles. ``torch.cuda.set_sync_debug_mode`` reports them on
CUDA only; :func:`count_host_syncs` counts the same calls on the CPU, so that a test can pin them:

    with count_host_syncs() as syncs:
        model.train_step(data, optim_wrapper)
    syncs.total, syncs.sites  # int, {'saip_mm/models/utils/masking.py:keep_indices __int__': 2, ...}

Only calls made from ``saip_mm`` code are counted (the frame that called the tensor method), or from
the packages named (``count_host_syncs('mmengine')``: a Runner iteration's logging and optimizer wrapper
too); not ``saip_mm/models/utils/randomness.py``, whose host draws read tensors they made on the CPU
themselves and whose ``host_groups`` refuses a tensor that is not on the CPU.
"""
import contextlib
import importlib
import os.path as osp
import sys
from collections import Counter
from typing import Iterator

import torch

_PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))
_HOST_DRAWS = osp.join(_PACKAGE, 'models', 'utils', 'randomness.py')
_READS = ('item', 'cpu', 'tolist', 'nonzero', '__bool__', '__int__', '__float__', 'numpy')


class HostSyncs:
    """What :func:`count_host_syncs` saw: ``sites`` maps ``path:function read`` to a count."""

    def __init__(self, roots=(_PACKAGE, )):
        self.sites = Counter()
        self.roots = tuple(roots)

    @property
    def total(self) -> int:
        return sum(self.sites.values())

    def record(self, name: str) -> None:
        frame = sys._getframe(2)
        path = osp.abspath(frame.f_code.co_filename)
        root = next((r for r in self.roots if path.startswith(r + osp.sep)), None)
        if root is not None and path != _HOST_DRAWS:
            self.sites[f'{osp.relpath(path, osp.dirname(root))}:{frame.f_code.co_name} {name}'] += 1


def _wrap(original, name: str, syncs: HostSyncs):
    def wrapper(self, *args, **kwargs):
        syncs.record(name)
        return original(self, *args, **kwargs)
    return wrapper


def _wrap_getitem(original, syncs: HostSyncs):
    def wrapper(self, index):
        items = index if isinstance(index, tuple) else (index, )
        if any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items):
            syncs.record('boolean-mask index')
        return original(self, index)
    return wrapper


@contextlib.contextmanager
def count_host_syncs(*packages: str) -> Iterator[HostSyncs]:
    """Count the host synchronisations made from saip_mm code, and from ``packages`` (names of imported
    packages), inside the block (module docstring)."""
    roots = [_PACKAGE] + [osp.dirname(osp.abspath(importlib.import_module(p).__file__)) for p in packages]
    syncs = HostSyncs(roots)
    saved = {name: getattr(torch.Tensor, name) for name in _READS + ('__getitem__', )}
    saved_nonzero = torch.nonzero
    try:
        for name in _READS:
            setattr(torch.Tensor, name, _wrap(saved[name], name, syncs))
        torch.Tensor.__getitem__ = _wrap_getitem(saved['__getitem__'], syncs)

        def nonzero(*args, **kwargs):
            syncs.record('nonzero')
            return saved_nonzero(*args, **kwargs)
        torch.nonzero = nonzero
        yield syncs
    finally:
        for name, value in saved.items():
            setattr(torch.Tensor, name, value)
        torch.nonzero = saved_nonzero
