# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Export the image encoder of a SAIP runner checkpoint as a backbone-only checkpoint.

    python tools/model_converters/saip2backbone.py work_dirs/x/iter_100.pth out/backbone.pth \
        [--source student|expert] [--target-size H W]

The output holds only tensors (``torch.load(..., weights_only=True)`` works) under ``backbone.`` keys,
ready for ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` in mmpose / mmdet /
mmseg / mmpretrain configs. A JSON key map to ``mmpretrain.VisionTransformer`` is written beside it
(``<out>.keymap.json``). ``--target-size`` pre-resizes the (non-square, 16×8) position embedding in 2-D
to another input size, so that a plain ``mmpretrain.VisionTransformer`` loads it without resizing.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

SOURCES = {'student': 'backbone.', 'expert': 'expert.module.backbone.'}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Export the SAIP image encoder as a backbone checkpoint')
    p.add_argument('src', help='SAIP checkpoint written by the Runner')
    p.add_argument('dst', help='output backbone checkpoint (.pth)')
    p.add_argument('--source', choices=sorted(SOURCES), default='student',
                   help='export the student (default) or the EMA expert encoder')
    p.add_argument('--target-size', type=int, nargs=2, metavar=('H', 'W'),
                   help='resize the position embedding to this input size (patch 16)')
    p.add_argument('--patch-size', type=int, default=16)
    p.add_argument('--grid', type=int, nargs=2, metavar=('ROWS', 'COLS'),
                   help='token grid of the checkpoint (default: inferred, 2:1 person aspect first)')
    return p.parse_args(argv)


def mmpretrain_key(key: str) -> str:
    """Name of a SAIPViT parameter in ``mmpretrain.VisionTransformer`` (SAIPViT subclasses it, so the
    names agree; the map is written out so that other encoders can plug in their own)."""
    return key


def extract_backbone(state_dict: Dict[str, torch.Tensor], source: str) -> Dict[str, torch.Tensor]:
    """The ``backbone.`` tensors of ``source`` ('student' or 'expert') from a SAIP state dict.

    Raises:
        KeyError: If the checkpoint holds no such tensors (names the prefix and what it found).
    """
    prefix = SOURCES[source]
    if any(k.startswith(prefix + 'encoder.') for k in state_dict):
        prefix += 'encoder.'  # a TokenAdapter: export the wrapped encoder, not the token projections
    out = {'backbone.' + k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not out:
        roots = sorted({k.split('.')[0] for k in state_dict})
        raise KeyError(f'no tensors with prefix "{prefix}" in the checkpoint (top-level names: '
                       f'{roots}); is it a SAIP checkpoint?')
    return out


def describe(state: Dict[str, torch.Tensor]) -> str:
    """What a state dict is, in words: its top-level modules and, for a ViT, its width and depth."""
    roots = sorted({k.split('.')[0] for k in state})
    words = f'top-level modules {roots}'
    pos = next((v for k, v in state.items() if k.endswith('pos_embed')), None)
    if pos is not None:
        depth = len({k.split('.')[2] for k in state if k.startswith('backbone.layers.')})
        words += f'; a ViT of width {pos.shape[-1]} and depth {depth}'
    if roots == ['backbone']:
        words = 'a backbone-only checkpoint (already exported?), ' + words
    elif 'head' in roots and 'expert' not in roots:
        words = 'a supervised model (backbone + head, e.g. an mmpretrain classifier), ' + words
    return words


def is_saip(state: Dict[str, torch.Tensor]) -> bool:
    """Whether a state dict is a SAIP algorithm's (or a baseline composed of its units): a student and
    at least one objective; an expert too, except for a run without one (MAE)."""
    roots = {k.split('.')[0] for k in state}
    # 'objectives': the objectives' units; '*_neck' / '*_head': a checkpoint from before they were units
    return 'backbone' in roots and bool(
        roots & {'objectives', 'csm_neck', 'csm_head', 'csr_neck', 'csr_head', 'css_neck', 'css_head'})


def main(argv: Optional[List[str]] = None) -> Dict[str, torch.Tensor]:
    args = parse_args(argv)
    from saip_mm.utils.checkpoint import load_checkpoint  # the safe loader every tool shares
    state = load_checkpoint(args.src)['state']
    if not is_saip(state):
        raise ValueError(f'{args.src} is not a SAIP checkpoint: {describe(state)}. Export from a '
                         f'checkpoint of a SAIP pretraining run')
    backbone = {k: v.detach().clone().contiguous() for k, v in extract_backbone(state, args.source).items()}
    if 'backbone.pos_embed' not in backbone:  # a convolutional / hybrid encoder: nothing to resize
        if args.target_size is not None:
            raise ValueError('--target-size applies to ViT encoders only (this one has no pos_embed)')
        return _save(backbone, args, target='encoder', grid=None)
    extra = 1 if 'backbone.cls_token' in backbone else 0  # a ViT without a class token has none
    from saip_mm.models.utils.pos_embed import infer_grid  # the backbone's own rule
    try:
        grid = infer_grid(backbone['backbone.pos_embed'].shape[1] - extra, args.grid)
    except ValueError as err:
        raise ValueError(f'{args.src}: {err} (--grid ROWS COLS)') from None
    if args.target_size is not None:
        from mmpretrain.models.utils import resize_pos_embed
        h, w = args.target_size
        if h % args.patch_size or w % args.patch_size:
            raise ValueError(f'--target-size {h} {w} is not a multiple of {args.patch_size}')
        pos = backbone['backbone.pos_embed']
        new_grid = (h // args.patch_size, w // args.patch_size)
        backbone['backbone.pos_embed'] = resize_pos_embed(pos, grid, new_grid, 'bicubic', extra)
        grid = new_grid
    return _save(backbone, args, target='mmpretrain.VisionTransformer', grid=grid)


def _save(backbone: Dict[str, torch.Tensor], args: argparse.Namespace, target: str,
          grid: Optional[tuple]) -> Dict[str, torch.Tensor]:
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(backbone, args.dst)
    keymap = {k: 'backbone.' + mmpretrain_key(k[len('backbone.'):]) for k in backbone}
    with open(args.dst + '.keymap.json', 'w') as f:
        json.dump(dict(target=target, grid=list(grid) if grid else None, source=args.source, keys=keymap),
                  f, indent=1)
    n = sum(v.numel() for v in backbone.values())
    where = f', pos grid {grid[0]}x{grid[1]}' if grid else ''
    width = backbone['backbone.pos_embed'].shape[-1] if 'backbone.pos_embed' in backbone else None
    where += f', width {width}' if width else ''
    print(f'exported {len(backbone)} tensors ({n / 1e6:.2f} M parameters, {args.source}{where}) '
          f'to {args.dst}')
    return backbone


if __name__ == '__main__':
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'saip2backbone')
