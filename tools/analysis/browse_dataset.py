# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Write a PNG grid of what the model is fed: per sample, the anchor, the scaled views, the canvas
with every pasted box (the sample's own person in green, others in red), the CSS target on the canvas
grid, and the masked CSR view.

    python tools/analysis/browse_dataset.py \
        configs/pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py --out grid.png

Views that the data preprocessor scales per batch (``view_scale_range``) go through the same
preprocessor here.
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
        if target.ndim == 3:  # one target per CSS query: show them together
            target = target.max(0)
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
    """Bring the views of one sample to their per-batch scales with the real ``SAIPDataPreprocessor``
    (its settings from the config, without normalisation, so that the pixels stay displayable)."""
    import torch
    from mmengine.dataset import pseudo_collate

    from saip_mm.registry import MODELS
    cfg = dict(preprocessor_cfg, mean=(0., 0., 0.), std=(1., 1., 1.), bgr_to_rgb=False)
    pre = MODELS.build(cfg)
    out = pre(pseudo_collate([sample]), training=True)['inputs']
    sample['inputs']['views'] = [v[0].clamp(0, 255).to(torch.uint8) for v in out['views']]
    sample['inputs']['view_masks'] = [m[0] for m in out['view_masks']]


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
            with DefaultScope.overwrite_default_scope('saip_mm'):
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
