# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Write a PNG grid of what the model is fed: per sample, the anchor, the scaled views, the canvas
with every pasted box (the sample's own person in green, others in red), the CSS target on the canvas
grid, and the masked CSR view.

    python tools/analysis/browse_dataset.py configs/pretrain/saip_vit-tiny_demo-cpu.py --out grid.png

Views that the data preprocessor draws per batch (``view_scale_range``) are drawn the same way here.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import cv2
import numpy as np

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--out', default='saip_inputs.png')
    p.add_argument('--num', type=int, default=4, help='samples (rows)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--height', type=int, default=192, help='row height in pixels')
    p.add_argument('--cfg-options', nargs='+', default=[], help='key=value overrides')
    return p.parse_args(argv)


def to_bgr(t) -> np.ndarray:
    return np.ascontiguousarray(t.numpy().transpose(1, 2, 0)).astype(np.uint8)


def fit(img: np.ndarray, height: int) -> np.ndarray:
    w = max(1, int(round(img.shape[1] * height / img.shape[0])))
    return cv2.resize(img, (w, height), interpolation=cv2.INTER_NEAREST)


def masked_view(img: np.ndarray, mask: np.ndarray, patch: int = 16) -> np.ndarray:
    cols = img.shape[1] // patch
    out = img.copy()
    for k in np.nonzero(mask.reshape(-1))[0]:
        r, c = divmod(int(k), cols)
        out[r * patch:(r + 1) * patch, c * patch:(c + 1) * patch] = 127
    return out


def render_row(sample: dict, height: int) -> np.ndarray:
    inputs, meta = sample['inputs'], sample['data_samples']
    tiles = [inputs['anchor']] + list(inputs.get('views', []))
    panels = [fit(to_bgr(t), height) for t in tiles]
    if 'canvas' in inputs:
        canvas = to_bgr(inputs['canvas']).copy()
        boxes = getattr(meta, 'instance_boxes', np.zeros((0, 4)))
        for i, b in enumerate(boxes):
            color = (0, 200, 0) if i == 0 else (0, 0, 230)
            cv2.rectangle(canvas, (int(b[0]), int(b[1])), (int(b[2]) - 1, int(b[3]) - 1), color, 2)
        panels.append(fit(canvas, height))
        target = inputs['canvas_target'].numpy()
        heat = cv2.resize((target * 255).astype(np.uint8), canvas.shape[1::-1],
                          interpolation=cv2.INTER_NEAREST)
        panels.append(fit(cv2.applyColorMap(heat, cv2.COLORMAP_VIRIDIS), height))
    masks = inputs.get('view_masks')
    if masks:
        view = inputs['views'][-1]
        panels.append(fit(masked_view(to_bgr(view), masks[-1].numpy()), height))
    sep = np.full((height, 4, 3), 255, np.uint8)
    row = []
    for p in panels:
        row += [p, sep]
    return np.concatenate(row[:-1], axis=1)


def batch_views(sample: dict, preprocessor_cfg: dict) -> None:
    """Draw the per-batch views of ``SAIPDataPreprocessor`` for one sample (for display)."""
    import torch
    import torch.nn.functional as F
    from saip_mm.models.backbones.saip_vit import random_patch_mask
    low, high = preprocessor_cfg['view_scale_range']
    anchor = sample['inputs']['anchor'][None].float()
    views, masks = [], []
    for _ in range(preprocessor_cfg.get('num_views', 2)):
        s = float(np.random.uniform(low, high))
        size = (int(round(anchor.shape[2] * s / 16)) * 16, int(round(anchor.shape[3] * s / 16)) * 16)
        views.append(F.interpolate(anchor, size=size, mode='bilinear', align_corners=False)[0]
                     .clamp(0, 255).to(torch.uint8))
        masks.append(random_patch_mask(1, (size[0] // 16) * (size[1] // 16),
                                       preprocessor_cfg.get('mask_ratio', 0.75))[0])
    sample['inputs']['views'] = views
    sample['inputs']['view_masks'] = masks


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    from mmengine.config import Config, DictAction
    from mmengine.registry import DefaultScope

    from saip_mm.registry import DATASETS
    from saip_mm.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *args.cfg_options]).o)
    np.random.seed(args.seed)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    pre = cfg.model.get('data_preprocessor', {}) or {}
    rows = []
    for i in range(min(args.num, len(dataset))):
        sample = dataset[i * max(1, len(dataset) // args.num)]
        if pre.get('view_scale_range'):
            batch_views(sample, pre)
        rows.append(render_row(sample, args.height))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    grid = np.concatenate(rows, axis=0)
    cv2.imwrite(args.out, grid)
    print(f'wrote {args.out} ({grid.shape[1]}x{grid.shape[0]}): anchor | views | canvas with boxes '
          '(own person green) | CSS target | masked CSR view')
    return args.out


if __name__ == '__main__':
    main()
