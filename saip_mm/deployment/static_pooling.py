"""Adaptive average pooling at a known input size, as fixed slices, for the TorchScript ONNX exporter.

``nn.AdaptiveAvgPool2d`` (UPerNet's pyramid pooling) exports through the TorchScript exporter only when
the ONNX graph knows its input's spatial size; after the ViT's adaptive padding it does not ("input size
not accessible"), and the slower torch.export-based exporter was the fallback (~27 s for the LIP UPerNet
on 2 cores, against ~3 s). The exported graph has a fixed spatial input size anyway (only the batch axis
is dynamic), so each pooling can be written out at the size it sees: output cell ``i`` of ``k`` over
``n`` input rows averages rows ``floor(i n / k)`` to ``ceil((i + 1) n / k)``, which is PyTorch's
adaptive pooling (equal to float rounding).
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn


class StaticAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d(output_size)`` for inputs of spatial size ``input_size`` only.

    Args:
        output_size (tuple): (rows, cols) of the output.
        input_size (tuple): (H, W) of the input.
    """

    def __init__(self, output_size: Sequence[int], input_size: Sequence[int]) -> None:
        super().__init__()
        self.input_size = tuple(input_size)
        self.bins = [[(i * n // k, -(-(i + 1) * n // k)) for i in range(k)]
                     for k, n in zip(output_size, input_size)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``(N, C, H, W)`` at ``input_size``. Returns: ``(N, C, rows, cols)``."""
        size = tuple(x.shape[-2:])
        if size != self.input_size:
            raise ValueError(f'StaticAdaptiveAvgPool2d was sized for {self.input_size}, got {size}')
        row_bins, col_bins = self.bins
        out_rows = [torch.cat([x[..., r0:r1, c0:c1].mean((-2, -1), keepdim=True) for c0, c1 in col_bins], -1)
                    for r0, r1 in row_bins]
        return torch.cat(out_rows, dim=-2)


def _pair(size) -> Tuple[int, int]:
    return tuple(size) if isinstance(size, (tuple, list)) else (size, size)


def static_adaptive_pools(model: nn.Module, example: torch.Tensor) -> Dict[str, Tuple[int, int]]:
    """Replace, in place, every ``nn.AdaptiveAvgPool2d`` of ``model`` by a ``StaticAdaptiveAvgPool2d``
    sized for the input it gets when ``model`` runs on ``example`` (one forward pass without gradients).

    Returns:
        dict: Module name → the input size it was fixed at (empty: nothing to replace).
    """
    pools = {name: m for name, m in model.named_modules() if isinstance(m, nn.AdaptiveAvgPool2d)
             and None not in _pair(m.output_size)}
    if not pools:
        return {}
    sizes = {}

    def record(name):
        def hook(module, args, out) -> None:  # returns None: the output stays as it is
            sizes.setdefault(name, tuple(args[0].shape[-2:]))
        return hook

    handles = [m.register_forward_hook(record(name)) for name, m in pools.items()]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    for name, size in sizes.items():
        parent, _, attr = name.rpartition('.')
        static = StaticAdaptiveAvgPool2d(_pair(pools[name].output_size), size)
        setattr(model.get_submodule(parent), attr, static)
    return sizes
