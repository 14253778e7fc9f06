# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Diagnostic PNGs of a pretraining checkpoint (or of the random initialisation, ``none``).

    python tools/analysis/visualize_pretrain.py work_dirs/demo/iter_100.pth --out work_dirs/demo/vis \
        [--config CFG] [--images a.jpg b.jpg ...] [--reid-data demo/vtest_reid]

Writes, for real crops:

* ``attention_<name>.png``: the global token's attention over the token grid (16×8 at 256×128) in the
  last block, per head and averaged, on the crop (StarNet / TinyViT: the feature-norm map);
* ``pca_<name>.png``: a PCA of the patch tokens (first component = foreground, next three = RGB) for the
  crop at scales 0.75 / 1.0 / 1.5 side by side (paper Fig. 5 style);
* ``csr.png`` and ``css.png``: CSR (masked view | prediction | target) and CSS (canvas with boxes |
  predicted map per query | target map) on a batch of the config's training data;
* ``tsne.png``: t-SNE of the global features of the identity set, coloured by identity.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import eval_backbone  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Diagnostic PNGs of a pretraining checkpoint')
    p.add_argument('checkpoint', help="runner checkpoint, exported backbone, or 'none' (random init)")
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--config', help='pretraining config (default: the checkpoint\'s own)')
    p.add_argument('--images', nargs='*', help='crops (default: 3 query images of --reid-data)')
    p.add_argument('--reid-data', default=None, help='Market-layout set for t-SNE (default: the config\'s)')
    p.add_argument('--scales', type=float, nargs=3, default=(0.75, 1.0, 1.5))
    p.add_argument('--no-train-batch', action='store_true', help='skip the CSR / CSS panels')
    return p.parse_args(argv)


def load_crop(path: str, size=(256, 128)) -> torch.Tensor:
    """A crop resized to ``size`` (H, W), normalised RGB ``(1, 3, H, W)``."""
    from saip_mm.visualization.panels import IMAGENET_MEAN, IMAGENET_STD
    img = cv2.imread(path)
    if img is None:
        raise FileNotFoundError(f'cannot read image {path}')
    img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)[..., ::-1].astype(np.float32)
    t = (torch.from_numpy(img.copy()).permute(2, 0, 1) - torch.tensor(IMAGENET_MEAN).view(3, 1, 1)) \
        / torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return t[None]


def crop_figures(model, paths: List[str], scales, out_dir: str) -> Dict[str, float]:
    """Attention / feature-norm and PCA panels; returns each map set's sum (1 per map)."""
    from saip_mm.models.utils.rescale import rescale
    from saip_mm.visualization import attention_panel, pca_rgb, token_maps
    from saip_mm.visualization.panels import cells, hstack, to_bgr
    sums = {}
    for path in paths:
        name = osp.splitext(osp.basename(path))[0]
        x = load_crop(path)
        maps, kind = token_maps(model.backbone, x)
        sums[name] = float(maps[0].mean(0).sum())
        cv2.imwrite(osp.join(out_dir, f'attention_{name}.png'),
                    attention_panel(to_bgr(x[0]), maps[0].numpy(), kind))
        grids, crops = [], []
        for s in scales:
            xs = rescale(x, float(s))
            out = model.backbone.forward_tokens(xs)
            rows, cols = out['grid']
            grids.append(out['final'][1][0].reshape(rows, cols, -1).numpy())
            crops.append(to_bgr(xs[0]))
        colours = pca_rgb(grids)
        tiles, labels = [], []
        for s, crop, col in zip(scales, crops, colours):
            tiles += [crop, cells(col, crop.shape[:2])]
            labels += [f'x{s:g}', f'PCA x{s:g}']
        cv2.imwrite(osp.join(out_dir, f'pca_{name}.png'), hstack(tiles, labels=labels))
    return sums


def objective_figures(model, cfg, out_dir: str) -> List[str]:
    """CSR and CSS panels on the first batch of the config's training data."""
    from mmengine.runner import Runner

    from saip_mm.visualization import objective_panels
    loader_cfg = dict(cfg.train_dataloader, batch_size=2, num_workers=0, persistent_workers=False)
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    written = []
    for name, img in objective_panels(model, model.data_preprocessor(batch, False)['inputs']).items():
        cv2.imwrite(osp.join(out_dir, f'{name}.png'), img)
        written.append(f'{name}.png')
    return written


def tsne_figure(model, cfg, out_dir: str) -> None:
    from mmengine.runner import Runner

    from saip_mm.visualization import scatter, tsne
    feats, pids = [], []
    with torch.no_grad():
        for batch in Runner.build_dataloader(cfg.val_dataloader):
            for s in model.val_step(batch):
                feats.append(s.pred_feature.numpy())
                pids.append(int(s.gt_label.reshape(-1)[0]))
    cv2.imwrite(osp.join(out_dir, 'tsne.png'), scatter(tsne(np.stack(feats)), np.array(pids)))


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    args = parse_args(argv)
    from mmengine.logging import MMLogger

    from saip_mm.utils import register_all_modules
    register_all_modules()
    MMLogger.get_instance('visualize_pretrain', log_level='WARNING')
    cfg = eval_backbone.load_config(argparse.Namespace(
        config=args.config, checkpoints=[args.checkpoint], data=args.reid_data, scales=None, feature=None,
        level=None, batch_size=32))
    model = eval_backbone.build_model(cfg, args.checkpoint)
    os.makedirs(args.out, exist_ok=True)
    images = args.images or sorted(glob.glob(osp.join(cfg.val_dataloader.dataset.data_root, 'query',
                                                      '*.jpg')))[::5][:3]
    with torch.no_grad():
        result = dict(attention_sums=crop_figures(model, images, args.scales, args.out))
        if not args.no_train_batch:
            result['objectives'] = objective_figures(model, cfg, args.out)
        tsne_figure(model, cfg, args.out)
    result['files'] = sorted(os.listdir(args.out))
    print(json.dumps(result, indent=1))
    return result


if __name__ == '__main__':
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'visualize_pretrain')
