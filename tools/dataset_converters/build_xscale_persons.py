# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Build the cross-scale person set: annotated people with context, for a retrieval score that needs
no identity labels (``CrossScalePersonDataset``, ``CrossScalePersonMetric``).

    python tools/dataset_converters/build_xscale_persons.py --out-dir demo/xscale_persons \
        --source coco tests/data/mmpose_samples/coco/test_coco.json tests/data/mmpose_samples/coco \
        --source crowdpose tests/data/mmpose_samples/crowdpose/test_crowdpose.json \
            tests/data/mmpose_samples/crowdpose \
        --source aic tests/data/mmpose_samples/aic/test_aic.json tests/data/mmpose_samples/aic

Each ``--source NAME COCO_JSON IMAGE_DIR`` gives its person boxes (crowd boxes skipped, boxes lower than
``--min-height`` pixels dropped). Every person is cut out with ``--context`` times its box's size around
it (the image's edge padded with black), scaled so that the box is at most ``--max-box-height`` pixels
high, and written as ``crops/<source>_<image stem>_<annotation id>.jpg``; ``persons.json`` lists each crop
with its box in crop pixels. The dataset then cuts jittered boxes out of these, so the context must be
larger than the jitter.
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

import cv2
import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from hp_formats import read_coco  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out-dir', required=True, help='output folder (new or empty)')
    p.add_argument('--source', nargs=3, action='append', required=True,
                   metavar=('NAME', 'COCO_JSON', 'IMAGE_DIR'))
    p.add_argument('--min-height', type=int, default=64, help='drop people whose box is lower (pixels)')
    p.add_argument('--context', type=float, default=1.6, help='crop size / box size')
    p.add_argument('--max-box-height', type=int, default=400, help='downscale crops whose box is higher')
    p.add_argument('--quality', type=int, default=90, help='JPEG quality')
    return p.parse_args(argv)


def context_crop(image: np.ndarray, box, context: float, max_box_height: int):
    """The box's surroundings (``context`` x its size, black beyond the image), scaled so that the box
    is at most ``max_box_height`` high; returns the crop and the box ``[x1, y1, x2, y2]`` in it."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    scale = min(1.0, max_box_height / h)
    cw, ch = int(round(w * context * scale)), int(round(h * context * scale))
    ox, oy = (x1 + x2) / 2 - w * context / 2, (y1 + y2) / 2 - h * context / 2  # crop origin in the image
    warp = np.array([[scale, 0, -ox * scale], [0, scale, -oy * scale]], np.float32)
    crop = cv2.warpAffine(image, warp, (cw, ch), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    inner = [(x1 - ox) * scale, (y1 - oy) * scale, (x2 - ox) * scale, (y2 - oy) * scale]
    return crop, [round(float(v), 2) for v in inner]


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.context <= 1.2:
        raise ValueError(f'--context {args.context}: at least 1.2 is needed for the jittered boxes')
    if osp.isdir(args.out_dir) and os.listdir(args.out_dir):
        raise FileExistsError(f'--out-dir {args.out_dir} is not empty')
    os.makedirs(osp.join(args.out_dir, 'crops'))
    persons, dropped = [], 0
    for name, ann, img_dir in args.source:
        for path, boxes, _ in read_coco(ann, img_dir):
            image = cv2.imread(path)
            if image is None:
                raise FileNotFoundError(f'{ann}: cannot read {path}')
            for box, _, ann_id, *_ in boxes:
                if box[3] - box[1] < args.min_height:
                    dropped += 1
                    continue
                crop, inner = context_crop(image, box, args.context, args.max_box_height)
                rel = f'crops/{name}_{osp.splitext(osp.basename(path))[0]}_{ann_id}.jpg'
                cv2.imwrite(osp.join(args.out_dir, rel), crop, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
                persons.append(dict(file=rel, box=inner, source=name))
    with open(osp.join(args.out_dir, 'persons.json'), 'w') as f:
        json.dump(persons, f, indent=1)
    stats = dict(persons=len(persons), dropped_small=dropped,
                 sources={n: sum(p['source'] == n for p in persons) for n, *_ in args.source})
    print(json.dumps(stats))
    return stats


if __name__ == '__main__':
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'build_xscale_persons')
