"""``torch.compile`` of an encoder's transformer blocks, in place (``model.compile_encoders``).

A ViT-Tiny block is many small kernels (the paper preset's step: ~8,600 operators that are not views,
docs/benchmarks.md), each launched by the host and each reading and writing its tensors once; compiling
the blocks fuses each block's norms, bias adds, activation and residuals into a few kernels (what it
gains on a GPU is not measured yet: ``gpu_check.py --tables compile``). Only the blocks are compiled,
each with ``nn.Module.compile`` and dynamic shapes:

* the block's input is ``(B, N, D)`` tokens: one graph serves every view size, batch and kept-patch count
  (a masked encoding), so the scale buckets and the masks do not recompile it;
* the patch embedding stays eager: inductor (torch 2.13, CPU) asserts the strides it first saw on the
  convolution's channels-last image input when a later shape comes, which failed the step
  (``torch.compile`` of ``forward_tokens`` as a whole: "expected ... stride 153600==221184");
* ``nn.Module.compile`` keeps the module and its parameter names, so checkpoints, the EMA expert's
  update and resuming see the same state dict as without it.

A deep copy of a compiled block is an eager block (torch leaves the compiled call out of the copy), so
``PretrainAlgorithm`` compiles after the EMA expert has been copied from the student, and compiles the
expert's blocks as well.
"""
from typing import List, Optional

import torch.nn as nn

COMPILE_KEYS = ('dynamic', 'mode', 'backend', 'fullgraph', 'options')


def transformer_blocks(encoder: nn.Module) -> Optional[List[nn.Module]]:
    """The blocks of a ViT encoder (``layers``), looking through wrappers that keep it as ``encoder``
    (``TokenAdapter``, the external expert's ``FrozenEncoder``); None for an encoder without them."""
    while encoder is not None:
        layers = getattr(encoder, 'layers', None)
        if isinstance(layers, nn.ModuleList) and len(layers):
            return list(layers)
        encoder = getattr(encoder, 'encoder', None)
    return None


def compile_blocks(encoder: nn.Module, options: dict, key: str) -> int:
    """Compile each transformer block of ``encoder`` in place; returns how many.

    Args:
        encoder (nn.Module): A ``SAIPViT`` (or a wrapper of one).
        options (dict): ``torch.compile``'s keyword arguments (``dynamic`` defaults to True).
        key (str): The config key, for the error messages.

    Raises:
        ValueError: On an option ``torch.compile`` does not take, or an encoder without transformer
            blocks (StarNet, TinyViT: their stages are not compiled).
    """
    unknown = sorted(set(options) - set(COMPILE_KEYS))
    if unknown:
        raise ValueError(f'{key}: unknown torch.compile option(s) {unknown}; known: {list(COMPILE_KEYS)}')
    blocks = transformer_blocks(encoder)
    if blocks is None:
        raise ValueError(f'{key}: the {type(encoder).__name__} encoder has no transformer blocks '
                         '(`layers`) to compile; compile_encoders is for ViT students')
    for block in blocks:
        block.compile(**dict(dict(dynamic=True), **options))
    return len(blocks)


def is_compiled(module: nn.Module) -> bool:
    """Whether ``nn.Module.compile`` was called on ``module``."""
    return getattr(module, '_compiled_call_impl', None) is not None


__all__ = ['COMPILE_KEYS', 'compile_blocks', 'is_compiled', 'transformer_blocks']
