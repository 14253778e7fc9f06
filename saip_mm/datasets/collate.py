# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""``stack_collate``: mmengine's ``pseudo_collate``, with every list of same-shape tensors stacked in
the worker.

A tensor that a dataloader worker hands to the main process travels as its own shared-memory segment
and file descriptor, received one at a time by the main process. ``pseudo_collate`` keeps a sample's
tensors apart (``PackSAIPInputs``: anchor, canvas, views, targets; 6 per sample in the paper preset), so
a batch of 256 crosses as ~1,500 tensors. That caps the loader whatever the worker count: on
2026-12-04 the paper preset's loader gave 328 img/s with 14 workers on an H200 machine whose single
process made 261, and on the 2-core CPU a dataset that does no work at all (the same 6 zero tensors a
sample) gives 325-450 img/s through it, against ~4,000 with the batch stacked in the worker
(docs/benchmarks.md). Stacked, a batch crosses as one tensor per field.

Shapes: a field that ``pseudo_collate`` makes a list of B ``(C, H, W)`` tensors of one shape and dtype
becomes one ``(B, C, H, W)`` tensor (``views``: a list over views of such tensors). Lists whose
tensors differ (views rescaled per sample on the CPU path) stay lists; data samples and plain values are left
as ``pseudo_collate`` gives them. ``SAIPDataPreprocessor`` takes either form.
"""
from typing import Any, Sequence

import torch
from mmengine.dataset import pseudo_collate

from saip_mm.registry import FUNCTIONS


def stack_same_shape(data: Any) -> Any:
    """``data`` with every non-empty list or tuple of tensors of one shape and dtype replaced by their
    stack (a new leading dimension: ``pseudo_collate`` transposes every sequence, so such a leaf holds
    one tensor per sample); dicts, lists and tuples are walked, everything else returned as is."""
    if isinstance(data, (list, tuple)) and data and all(isinstance(t, torch.Tensor) for t in data):
        first = data[0]
        if all(t.shape == first.shape and t.dtype == first.dtype for t in data):
            return torch.stack(data)
        return data
    if isinstance(data, dict):
        return {key: stack_same_shape(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(stack_same_shape(value) for value in data)
    return data


@FUNCTIONS.register_module()
def stack_collate(data_batch: Sequence) -> Any:
    """``pseudo_collate(data_batch)`` with its lists of same-shape tensors stacked (module docstring).

    Args:
        data_batch (Sequence): The samples of one batch (e.g. ``PackSAIPInputs`` dicts).

    Returns:
        The batch: ``inputs`` fields as ``(B, ...)`` tensors where the samples agree in shape.
    """
    return stack_same_shape(pseudo_collate(data_batch))
