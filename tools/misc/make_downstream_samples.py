"""Derive tiny downstream datasets in their official layouts from COCO person annotations.

The samples exist so that every downstream config can train and evaluate a few iterations on CPU (README
commands, tests) without the real datasets. Everything is computed from real COCO images, person boxes,
segmentation polygons and keypoints:

* ``LIP/`` — one crop per person; the label PNG is the person polygon, each pixel labelled with the LIP
  part of the nearest visible skeleton segment (face, upper clothes, left/right arm, left/right leg).
* ``CIHP/instance-level_human_parsing/`` — whole images; the label PNG has the LIP parts (as above) of
  every person with a polygon and keypoints in the image (later people drawn over earlier ones).
  Alternate images go to Training and Validation.
* ``CrowdHuman/`` — ``.odgt`` lines with ``fbox = vbox =`` the COCO box and ``hbox`` around the face
  keypoints (or the top of the box when they are not labelled); crowd boxes become ``ignore``. Images
  with one person are left out: mmdet's CrowdDet assigner needs at least two boxes per image.
* ``Market1501/`` — each person is an identity; camera 1 is the box crop, camera 2 a shifted and rescaled
  crop, camera 3 a mirrored one. Alternate identities go to train and to test (query = camera 1,
  gallery = cameras 2 and 3).
* ``PA100k/`` — crops with pose attributes derived from keypoints (not PA100K's 26 attributes) in
  PA100K's ``annotation.mat`` layout.
* ``PETA/`` — the same crops and attributes in PETA's ``PETA.mat`` layout (one partition: alternate
  crops for train and for val / test).

Usage:
    python tools/misc/make_downstream_samples.py tests/data/mmpose_samples/coco/test_coco.json \
        tests/data/mmpose_samples/coco data/samples
"""
import argparse
import json
import os
import os.path as osp
import shutil
from typing import Dict, List

import cv2
import numpy as np

# COCO keypoint indices
NOSE, L_EYE, R_EYE, L_EAR, R_EAR = 0, 1, 2, 3, 4
L_SH, R_SH, L_EL, R_EL, L_WR, R_WR = 5, 6, 7, 8, 9, 10
L_HIP, R_HIP, L_KN, R_KN, L_AN, R_AN = 11, 12, 13, 14, 15, 16
# LIP labels of skeleton segments (the person's left, as in COCO and LIP)
LIP_SEGMENTS = [
    (13, [(NOSE, L_EYE), (NOSE, R_EYE), (L_EYE, L_EAR), (R_EYE, R_EAR)]),  # Face
    (5, [(L_SH, R_SH), (L_HIP, R_HIP), (L_SH, L_HIP), (R_SH, R_HIP), (L_SH, R_HIP), (R_SH, L_HIP)]),
    (14, [(L_SH, L_EL), (L_EL, L_WR)]),  # Left-arm
    (15, [(R_SH, R_EL), (R_EL, R_WR)]),  # Right-arm
    (16, [(L_HIP, L_KN), (L_KN, L_AN)]),  # Left-leg
    (17, [(R_HIP, R_KN), (R_KN, R_AN)]),  # Right-leg
]
ATTRIBUTES = ['FacingFront', 'FacingBack', 'HeadVisible', 'LegsVisible', 'ArmRaised']


def load_people(ann_file: str, min_keypoints: int = 8) -> List[dict]:
    """Non-crowd COCO persons with at least ``min_keypoints`` labelled keypoints and a polygon."""
    with open(ann_file) as f:
        coco = json.load(f)
    images = {im['id']: im for im in coco['images']}
    people = []
    for ann in coco['annotations']:
        if ann.get('iscrowd') or ann.get('num_keypoints', 0) < min_keypoints:
            continue
        if not isinstance(ann.get('segmentation'), list):
            continue
        people.append(dict(ann, file_name=images[ann['image_id']]['file_name']))
    return people


def _box(ann: dict, pad: float, shape) -> tuple:
    x, y, w, h = ann['bbox']
    x0, y0 = max(0, int(x - pad * w)), max(0, int(y - pad * h))
    x1, y1 = min(shape[1], int(np.ceil(x + w * (1 + pad)))), min(shape[0], int(np.ceil(y + h * (1 + pad))))
    return x0, y0, x1, y1


def _segment_distance(px: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(((px - a) @ ab) / max(float(ab @ ab), 1e-6), 0, 1)
    return np.linalg.norm(px - (a + t[:, None] * ab), axis=1)


def part_labels(ann: dict, shape) -> np.ndarray:
    """LIP label map (uint8, 0 = background) of one person in an image of ``shape``."""
    mask = np.zeros(shape[:2], np.uint8)
    for poly in ann['segmentation']:
        cv2.fillPoly(mask, [np.asarray(poly, np.float32).reshape(-1, 2).round().astype(np.int32)], 1)
    kpt = np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)
    ys, xs = np.nonzero(mask)
    px = np.stack([xs, ys], 1).astype(np.float32)
    best = np.full(len(px), np.inf, np.float32)
    label = np.zeros(len(px), np.uint8)
    for lip, pairs in LIP_SEGMENTS:
        for i, j in pairs:
            if kpt[i, 2] > 0 and kpt[j, 2] > 0:
                d = _segment_distance(px, kpt[i, :2], kpt[j, :2])
                closer = d < best
                best[closer], label[closer] = d[closer], lip
    out = np.zeros(shape[:2], np.uint8)
    out[ys, xs] = np.where(np.isfinite(best), label, 5)  # no visible segment: upper clothes
    return out


def pose_attributes(ann: dict) -> List[int]:
    """Binary attributes (``ATTRIBUTES``) derived from the keypoints."""
    k = np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)
    vis = k[:, 2] > 0
    both_sh = vis[L_SH] and vis[R_SH]
    front = bool(both_sh and k[L_SH, 0] > k[R_SH, 0])
    back = bool(both_sh and k[L_SH, 0] < k[R_SH, 0])
    head = bool(vis[[NOSE, L_EYE, R_EYE]].any())
    legs = bool(vis[[L_KN, R_KN, L_AN, R_AN]].sum() >= 2)
    raised = bool((vis[L_WR] and vis[L_SH] and k[L_WR, 1] < k[L_SH, 1])
                  or (vis[R_WR] and vis[R_SH] and k[R_WR, 1] < k[R_SH, 1]))
    return [int(front), int(back), int(head), int(legs), int(raised)]


def make_lip(people, img_dir: str, out: str) -> Dict[str, int]:
    counts = dict(train=0, val=0)
    for n, ann in enumerate(people):
        split = 'train' if n % 2 == 0 else 'val'
        img = cv2.imread(osp.join(img_dir, ann['file_name']))
        x0, y0, x1, y1 = _box(ann, 0.05, img.shape)
        seg = part_labels(ann, img.shape)
        name = f'{ann["id"]}'
        for sub, arr, ext in ((f'{split}_images', img, '.jpg'), (f'{split}_segmentations', seg, '.png')):
            os.makedirs(osp.join(out, sub), exist_ok=True)
            cv2.imwrite(osp.join(out, sub, name + ext), arr[y0:y1, x0:x1])
        counts[split] += 1
    return counts


def make_cihp(people, img_dir: str, out: str) -> Dict[str, int]:
    by_image: Dict[str, List[dict]] = {}
    for ann in people:
        by_image.setdefault(ann['file_name'], []).append(ann)
    root = osp.join(out, 'instance-level_human_parsing')
    names: Dict[str, List[str]] = dict(Training=[], Validation=[])
    for n, (file_name, anns) in enumerate(sorted(by_image.items())):
        split = 'Training' if n % 2 == 0 else 'Validation'
        img = cv2.imread(osp.join(img_dir, file_name))
        seg = np.zeros(img.shape[:2], np.uint8)
        for ann in anns:
            parts = part_labels(ann, img.shape)
            seg = np.where(parts > 0, parts, seg)
        name = osp.splitext(osp.basename(file_name))[0]
        for sub, arr, ext in (('Images', img, '.jpg'), ('Category_ids', seg, '.png')):
            os.makedirs(osp.join(root, split, sub), exist_ok=True)
            cv2.imwrite(osp.join(root, split, sub, name + ext), arr)
        names[split].append(name)
    for split, ids in (('Training', 'train_id.txt'), ('Validation', 'val_id.txt')):
        with open(osp.join(root, split, ids), 'w') as f:
            f.write(''.join(n + '\n' for n in names[split]))
    return {split: len(v) for split, v in names.items()}


def _head_box(ann: dict) -> list:
    """Square around the visible face keypoints, else the top-centre sixth of the box."""
    k = np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)[:5]
    k = k[k[:, 2] > 0]
    if len(k) < 2:
        x, y, w, h = ann['bbox']
        side = h / 6
        return [float(x + w / 2 - side / 2), float(y), float(side), float(side)]
    x0, y0 = k[:, :2].min(0)
    x1, y1 = k[:, :2].max(0)
    side = max(x1 - x0, y1 - y0, 4.0) * 1.5
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return [float(cx - side / 2), float(cy - side / 2), float(side), float(side)]


def make_crowdhuman(ann_file: str, img_dir: str, out: str) -> Dict[str, int]:
    with open(ann_file) as f:
        coco = json.load(f)
    os.makedirs(osp.join(out, 'Images'), exist_ok=True)
    lines = []
    for im in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == im['id']]
        if len(anns) < 2:  # mmdet's MultiInstanceAssigner (CrowdDet) needs two boxes per image
            continue
        gt = []
        for ann in anns:
            box = dict(tag='person', fbox=ann['bbox'], vbox=ann['bbox'],
                       extra=dict(ignore=int(bool(ann.get('iscrowd')))), head_attr=dict(ignore=0))
            box['hbox'] = _head_box(ann)
            gt.append(box)
        stem = osp.splitext(im['file_name'])[0]
        shutil.copy(osp.join(img_dir, im['file_name']), osp.join(out, 'Images', stem + '.jpg'))
        lines.append(json.dumps(dict(ID=stem, gtboxes=gt)))
    for split in ('train', 'val'):
        with open(osp.join(out, f'annotation_{split}.odgt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return dict(images=len(lines), boxes=sum(line.count('"fbox"') for line in lines))


def _view(img: np.ndarray, ann: dict, cam: int) -> np.ndarray:
    x, y, w, h = ann['bbox']
    if cam == 2:  # shifted and rescaled box
        x, y, w, h = x + 0.06 * w, y - 0.04 * h, w * 1.1, h * 1.05
    x0, y0, x1, y1 = _box(dict(bbox=[x, y, w, h]), 0.0, img.shape)
    crop = cv2.resize(img[y0:y1, x0:x1], (64, 128), interpolation=cv2.INTER_AREA)
    return crop[:, ::-1] if cam == 3 else crop


def make_market(people, img_dir: str, out: str) -> Dict[str, int]:
    counts = dict(bounding_box_train=0, query=0, bounding_box_test=0)
    for n, ann in enumerate(people):
        pid = n + 1
        img = cv2.imread(osp.join(img_dir, ann['file_name']))
        for cam in (1, 2, 3):
            if n % 2 == 0:
                sub = 'bounding_box_train'
            else:
                sub = 'query' if cam == 1 else 'bounding_box_test'
            os.makedirs(osp.join(out, sub), exist_ok=True)
            cv2.imwrite(osp.join(out, sub, f'{pid:04d}_c{cam}s1_{ann["id"] % 1000000:06d}_01.jpg'),
                        _view(img, ann, cam))
            counts[sub] += 1
    return counts


def make_pa100k(people, img_dir: str, out: str) -> Dict[str, int]:
    from scipy.io import savemat
    os.makedirs(osp.join(out, 'data'), exist_ok=True)
    names, labels = [], []
    for ann in people:
        img = cv2.imread(osp.join(img_dir, ann['file_name']))
        name = f'{ann["id"]:06d}.jpg'
        cv2.imwrite(osp.join(out, 'data', name), _view(img, ann, 1))
        names.append(name)
        labels.append(pose_attributes(ann))
    names_arr = np.array(names, dtype=object)[:, None]
    labels_arr = np.array(labels, np.uint8)
    split = {}
    for key, idx in (('train', slice(None)), ('val', slice(1, None, 2)), ('test', slice(1, None, 2))):
        split[f'{key}_images_name'] = names_arr[idx]
        split[f'{key}_label'] = labels_arr[idx]
    savemat(osp.join(out, 'annotation.mat'),
            dict(attributes=np.array(ATTRIBUTES, dtype=object)[:, None], **split))
    return dict(images=len(names), attributes=len(ATTRIBUTES))


def make_peta(people, img_dir: str, out: str) -> Dict[str, int]:
    """PETA's ``PETA.mat`` layout: ``peta.data`` (one row per image: 4 id columns, then the 0/1
    attributes), ``peta.attribute``, ``peta.selected_attribute`` (1-based) and
    ``peta.partion_attribute`` (partitions of 1-based train / val / test indices); images
    ``images/NNNNN.png``."""
    from scipy.io import savemat
    os.makedirs(osp.join(out, 'images'), exist_ok=True)
    rows = []
    for n, ann in enumerate(people, 1):
        img = cv2.imread(osp.join(img_dir, ann['file_name']))
        cv2.imwrite(osp.join(out, 'images', f'{n:05d}.png'), _view(img, ann, 1))
        rows.append([n, 0, 0, 0] + pose_attributes(ann))
    idx = np.arange(1, len(rows) + 1, dtype=np.float64)
    part = dict(train=idx[0::2, None], val=idx[1::2, None], test=idx[1::2, None])
    partitions = np.empty((1, 1), dtype=object)
    partitions[0, 0] = part
    peta = dict(data=np.array(rows, np.float64), attribute=np.array(ATTRIBUTES, dtype=object)[:, None],
                selected_attribute=np.arange(1, len(ATTRIBUTES) + 1, dtype=np.float64)[None],
                partion_attribute=partitions)
    savemat(osp.join(out, 'PETA.mat'), dict(peta=peta))
    return dict(images=len(rows), attributes=len(ATTRIBUTES))


def main(argv=None) -> Dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('ann_file', help='COCO keypoint json (with segmentation polygons)')
    parser.add_argument('img_dir', help='folder of its images')
    parser.add_argument('out_dir',
                        help='writes LIP/, CIHP/, CrowdHuman/, Market1501/, PA100k/ and PETA/ here')
    parser.add_argument('--min-keypoints', type=int, default=8)
    args = parser.parse_args(argv)
    people = load_people(args.ann_file, args.min_keypoints)
    if not people:
        raise SystemExit(f'{args.ann_file}: no person with >= {args.min_keypoints} keypoints and a polygon')
    stats = dict(
        LIP=make_lip(people, args.img_dir, osp.join(args.out_dir, 'LIP')),
        CIHP=make_cihp(people, args.img_dir, osp.join(args.out_dir, 'CIHP')),
        CrowdHuman=make_crowdhuman(args.ann_file, args.img_dir, osp.join(args.out_dir, 'CrowdHuman')),
        Market1501=make_market(people, args.img_dir, osp.join(args.out_dir, 'Market1501')),
        PA100k=make_pa100k(people, args.img_dir, osp.join(args.out_dir, 'PA100k')),
        PETA=make_peta(people, args.img_dir, osp.join(args.out_dir, 'PETA')))
    print(json.dumps(stats))
    return stats


if __name__ == '__main__':
    main()
