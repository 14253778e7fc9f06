# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Predict COCO-17 keypoints for person crops with an mmpose top-down model: the ``keypoint_file`` of
``PersonCropDataset`` that HAP's part masks need (HAP extracts LUPerson's keypoints with ViTPose).

    python tools/dataset_converters/predict_keypoints.py POSE_CONFIG POSE_CHECKPOINT \\
        --data-root data/LUP1M [--ann-file list.txt] --out data/LUP1M/keypoints.json [--score-thr 0.3]

Every crop is one person, so its whole image is the box. The model's keypoints are mapped to the COCO
order by their names (``dataset_meta``), so an AI Challenger or CrowdPose model works too (their nose slot
is the head-top/neck midpoint, as ``build_hp_crops.py --keypoints`` does). A keypoint is visible when its
score reaches ``--score-thr``. Any mmpose top-down config and checkpoint the user has weights for.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

import numpy as np

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config', help='mmpose top-down config')
    p.add_argument('checkpoint', help='its checkpoint')
    p.add_argument('--data-root', required=True, help='folder of the crops')
    p.add_argument('--ann-file', default='', help='list file under --data-root (default: scan the folder)')
    p.add_argument('--out', required=True, help='keypoints.json to write')
    p.add_argument('--score-thr', type=float, default=0.3, help='a keypoint is visible from this score')
    p.add_argument('--device', default='cpu')
    return p.parse_args(argv)


def crop_paths(data_root: str, ann_file: str) -> List[str]:
    """The crops, as the dataset keys them (paths relative to ``data_root``)."""
    from saip_mm.datasets.person_crops import PersonCropDataset
    ds = PersonCropDataset(data_root=data_root, ann_file=ann_file, lazy_init=False)
    return [osp.relpath(ds.get_data_info(i)['img_path'], data_root) for i in range(len(ds))]


def predict(args: argparse.Namespace) -> Dict[str, list]:
    import mmcv
    from hp_formats import to_coco17
    from mmpose.apis import inference_topdown, init_model
    from mmpose.utils import register_all_modules

    from saip_mm import compat  # noqa: F401  (mmengine checkpoints under torch >= 2.6)
    register_all_modules()
    model = init_model(args.config, args.checkpoint, device=args.device)
    names = (model.dataset_meta or {}).get('keypoint_id2name')
    if not names:
        raise ValueError(f'{args.config}: the model has no keypoint names (dataset_meta), so its '
                         'keypoints cannot be put in the COCO order')
    names = [names[i] for i in range(len(names))]
    out = {}
    for path in crop_paths(args.data_root, args.ann_file):
        img = mmcv.imread(osp.join(args.data_root, path))
        h, w = img.shape[:2]
        inst = inference_topdown(model, img, np.array([[0, 0, w, h]], np.float32))[0].pred_instances
        kpts = np.concatenate([inst.keypoints[0], inst.keypoint_scores[0][:, None]], axis=1)
        kpts[:, 2] = kpts[:, 2] >= args.score_thr
        coco = to_coco17(kpts, names)
        if coco is None:
            raise ValueError(f'{args.config}: keypoint names {names[:4]}… match no COCO keypoint')
        out[path] = [[round(float(x), 2), round(float(y), 2), int(v)] for x, y, v in coco]
    return out


def main(argv: Optional[List[str]] = None) -> Dict[str, list]:
    args = parse_args(argv)
    records = predict(args)
    with open(args.out, 'w') as f:
        json.dump(records, f)
    visible = sum(v for r in records.values() for _, _, v in r)
    per_crop = visible / max(len(records), 1)
    print(f'{len(records)} crops, {per_crop:.1f} visible keypoints per crop -> {args.out}')
    return records


if __name__ == '__main__':
    main()
