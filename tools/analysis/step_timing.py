# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Training steps timed on a pre-built batch, for ``benchmark_pretrain.py`` and ``step_profile.py``.

A step that runs an input size no earlier step ran pays for it once: the device's allocator takes new
blocks, kernels are chosen for the new shapes. With scale buckets the paper preset draws each view's
size per step (4 buckets, 3 views rescaled a step), so a few warm-up steps do not see every size, and a
mean over 3 timed steps can mix first-time steps with steady ones. These helpers time each step apart
(on a GPU with CUDA events, so the steps still run back to back, the host ahead of the device as in
training) and count the timed steps that brought an image shape no earlier step had.
"""
import statistics
import time
from typing import Dict, Set, Tuple


def image_shapes(inputs: Dict[str, object]) -> Set[Tuple[int, int]]:
    """The ``(H, W)`` of every image batch ``(B, C, H, W)`` of a preprocessed batch's ``inputs`` (anchor,
    views, canvas), lists of tensors included."""
    import torch
    shapes = set()
    for value in inputs.values():
        for t in value if isinstance(value, list) else [value]:
            if isinstance(t, torch.Tensor) and t.dim() == 4:
                shapes.add(tuple(t.shape[-2:]))
    return shapes


def distinct_shapes(model, data, batches: int = 100) -> int:
    """How many distinct (H, W) the images of ``batches`` preprocessed batches have (anchor, views,
    canvas)."""
    import torch
    shapes = set()
    with torch.no_grad():
        for _ in range(batches):
            shapes |= image_shapes(model.data_preprocessor(data, True)['inputs'])
    return len(shapes)


def _step_shapes(model, data, optim) -> Set[Tuple[int, int]]:
    """One training step (``train_step`` and the expert's update); the image shapes its batch had."""
    shapes: Set[Tuple[int, int]] = set()
    hook = model.data_preprocessor.register_forward_hook(
        lambda module, args, out: shapes.update(image_shapes(out['inputs'])))
    try:
        model.train_step(data, optim)
        model.update_expert()
    finally:
        hook.remove()
    return shapes


def warm_up(model, data, optim, steps: int) -> Set[Tuple[int, int]]:
    """``steps`` untimed training steps; the image shapes they ran."""
    seen: Set[Tuple[int, int]] = set()
    for _ in range(steps):
        seen |= _step_shapes(model, data, optim)
    return seen


def timed_steps(model, data, optim, steps: int, cuda: bool, seen: Set[Tuple[int, int]]) -> Dict:
    """``steps`` training steps on ``data``, after a warm-up that ran the image shapes ``seen``.

    Returns:
        dict: ``mean_s`` (wall time over the number of steps, the device synchronised at the end only, as
        the benchmarks have always timed), ``times_s`` (each step: CUDA events between step starts on a
        GPU, so the host still runs ahead of the device; the host's clock on a CPU), ``median_s``,
        ``max_s``, and ``new_shape_steps``: the steps whose batch had an image shape that neither the
        warm-up nor an earlier timed step had.
    """
    import torch

    def mark():
        if cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            return event
        return time.perf_counter()

    seen, new = set(seen), 0
    if cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    marks = [mark()]
    for _ in range(steps):
        shapes = _step_shapes(model, data, optim)
        new += bool(shapes - seen)
        seen |= shapes
        marks.append(mark())
    if cuda:
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    times = [a.elapsed_time(b) / 1e3 if cuda else b - a for a, b in zip(marks, marks[1:])]
    return dict(mean_s=wall / steps, times_s=times, median_s=statistics.median(times), max_s=max(times),
                new_shape_steps=new)


__all__ = ['image_shapes', 'distinct_shapes', 'warm_up', 'timed_steps']
