# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Build HP1M-style person crops (paper Table IX) from annotated datasets.

    python tools/dataset_converters/build_hp_crops.py --out-dir data/HP1M \
        --source coco coco data/coco/annotations/person_keypoints_train2017.json data/coco/train2017 \
        --source aic aic data/aic/keypoint_train_annotations.json data/aic/images \
        --source crowdhuman crowdhuman data/crowdhuman/annotation_train.odgt data/crowdhuman/Images \
        --source cihp instance_png data/CIHP/Human_ids data/CIHP/Images \
        --source mhp mhp data/MHPv2/parsing_annos data/MHPv2/images \
        --source fashionpedia fashionpedia data/fashionpedia/instances_train.json data/fashionpedia/train \
        --source humanart coco data/HumanArt/annotations/training_humanart.json data/HumanArt

Each ``--source NAME FORMAT ANNOTATION IMAGE_DIR`` is read with one of the formats:

* ``coco``: COCO json (COCO, CrowdPose, HumanArt, mmpose's AIC json): ``person`` boxes, crowd skipped;
* ``aic``: AI Challenger's raw json (``human_annotations`` x1y1x2y2, keypoint visibility 1/2/3);
* ``crowdhuman``: CrowdHuman ``.odgt``: full-body boxes (``fbox``), ``mask`` tags and ``ignore`` skipped,
  occlusion = 1 − visible box / full box;
* ``instance_png``: one PNG per image whose non-zero values are person ids (CIHP ``Human_ids``);
* ``mhp``: one PNG per person named ``<image>_<N>_<k>.png`` (MHP v2 ``parsing_annos``);
* ``fashionpedia``: COCO json of apparel; one person per image = the union of its boxes.

Crops get ``--pad`` context, must be at least ``--min-size`` pixels high and wide, have a height/width
ratio in ``--aspect``, and be at most ``--max-occlusion`` occluded where the format says. The output is
``crops/<source>/…``, ``list.txt`` and ``stats.json`` (per-source counts and a height histogram).
Parallel (``--workers``) with a progress bar; resumable: crops already on disk are not written again.
"""
import argparse
import json
import os
import os.path as osp
import re
from collections import defaultdict
from multiprocessing import Pool
from typing import Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

Box = Tuple[float, float, float, float]  # x1, y1, x2, y2
# one image: (image path, [(box, occlusion or None), ...], reason counts of dropped boxes)
Record = Tuple[str, List[Tuple[Box, Optional[float]]], Dict[str, int]]
HEIGHT_BINS = [0, 64, 128, 256, 512, 1024, 100000]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--source', nargs=4, action='append', required=True,
                   metavar=('NAME', 'FORMAT', 'ANNOTATION', 'IMAGE_DIR'))
    p.add_argument('--out-dir', required=True)
    p.add_argument('--pad', type=float, default=0.1, help='context padding, fraction of box size')
    p.add_argument('--min-size', type=int, default=32, help='minimum box height and width (px)')
    p.add_argument('--aspect', type=float, nargs=2, default=[1.0, 5.0], metavar=('MIN', 'MAX'),
                   help='allowed box height / width')
    p.add_argument('--max-occlusion', type=float, default=0.7,
                   help='drop boxes more occluded than this (where the format tells)')
    p.add_argument('--ext', default='jpg', choices=['jpg', 'png'])
    p.add_argument('--quality', type=int, default=95, help='JPEG quality')
    p.add_argument('--workers', type=int, default=max(1, (os.cpu_count() or 2) // 2))
    return p.parse_args(argv)


def _xywh(b) -> Box:
    return (float(b[0]), float(b[1]), float(b[0] + b[2]), float(b[1] + b[3]))


def read_coco(ann: str, img_dir: str, union: bool = False) -> Iterator[Record]:
    with open(ann) as f:
        data = json.load(f)
    if union:
        keep_cat = None
    else:
        keep_cat = {c['id'] for c in data.get('categories', []) if c.get('name') == 'person'} or {1}
    by_image: Dict[int, list] = defaultdict(list)
    for a in data['annotations']:
        by_image[a['image_id']].append(a)
    for img in data['images']:
        boxes, dropped = [], defaultdict(int)
        anns = by_image.get(img['id'], [])
        if union:
            if anns:
                xy = np.array([_xywh(a['bbox']) for a in anns])
                boxes.append(((xy[:, 0].min(), xy[:, 1].min(), xy[:, 2].max(), xy[:, 3].max()), None))
        for a in ([] if union else anns):
            if a['category_id'] not in keep_cat:
                continue
            if a.get('iscrowd', 0):
                dropped['crowd'] += 1
                continue
            boxes.append((_xywh(a['bbox']), None))
        yield osp.join(img_dir, img['file_name']), boxes, dict(dropped)


def read_aic(ann: str, img_dir: str) -> Iterator[Record]:
    with open(ann) as f:
        data = json.load(f)
    for item in data:
        boxes = []
        kpts = item.get('keypoint_annotations', {})
        for name, box in item['human_annotations'].items():
            vis = np.asarray(kpts.get(name, []), dtype=float).reshape(-1, 3)[:, 2]
            occ = float((vis != 1).mean()) if len(vis) else None
            boxes.append((tuple(float(v) for v in box), occ))
        yield osp.join(img_dir, item['image_id'] + '.jpg'), boxes, {}


def read_crowdhuman(ann: str, img_dir: str) -> Iterator[Record]:
    with open(ann) as f:
        for line in f:
            if not line.strip():
                continue
            item = json.loads(line)
            boxes, dropped = [], defaultdict(int)
            for g in item.get('gtboxes', []):
                if g.get('tag') != 'person':
                    dropped['not_person'] += 1
                    continue
                if g.get('extra', {}).get('ignore', 0):
                    dropped['ignore'] += 1
                    continue
                full = _xywh(g['fbox'])
                occ = None
                if 'vbox' in g:
                    v = g['vbox']
                    occ = 1.0 - (v[2] * v[3]) / max(g['fbox'][2] * g['fbox'][3], 1e-6)
                boxes.append((full, max(0.0, occ) if occ is not None else None))
            yield osp.join(img_dir, item['ID'] + '.jpg'), boxes, dict(dropped)


def _mask_box(mask: np.ndarray) -> Optional[Box]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def read_instance_png(ann_dir: str, img_dir: str) -> Iterator[Record]:
    for name in sorted(os.listdir(ann_dir)):
        if not name.endswith('.png'):
            continue
        ids = cv2.imread(osp.join(ann_dir, name), cv2.IMREAD_UNCHANGED)
        if ids.ndim == 3:
            ids = ids[..., 0]
        boxes = [(_mask_box(ids == v), None) for v in np.unique(ids) if v != 0]
        yield osp.join(img_dir, name[:-4] + '.jpg'), [b for b in boxes if b[0]], {}


def read_mhp(ann_dir: str, img_dir: str) -> Iterator[Record]:
    groups: Dict[str, List[str]] = defaultdict(list)
    for name in sorted(os.listdir(ann_dir)):
        m = re.match(r'(.+)_(\d+)_(\d+)\.png$', name)
        if m:
            groups[m.group(1)].append(name)
    for stem, files in groups.items():
        boxes = []
        for name in files:
            mask = cv2.imread(osp.join(ann_dir, name), cv2.IMREAD_UNCHANGED)
            box = _mask_box(mask if mask.ndim == 2 else mask.max(-1))
            if box:
                boxes.append((box, None))
        yield osp.join(img_dir, stem + '.jpg'), boxes, {}


READERS = dict(
    coco=read_coco, aic=read_aic, crowdhuman=read_crowdhuman, instance_png=read_instance_png,
    mhp=read_mhp, fashionpedia=lambda a, d: read_coco(a, d, union=True))


def filter_box(box: Box, occ: Optional[float], w: int, h: int,
               args: argparse.Namespace) -> Tuple[Optional[Tuple[int, int, int, int]], str]:
    """Padded integer crop window of a box, or None with the reason it is dropped."""
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    if bw < args.min_size or bh < args.min_size:
        return None, 'too_small'
    if not args.aspect[0] <= bh / bw <= args.aspect[1]:
        return None, 'aspect'
    if occ is not None and occ > args.max_occlusion:
        return None, 'occluded'
    px, py = args.pad * bw, args.pad * bh
    win = (max(0, int(np.floor(x1 - px))), max(0, int(np.floor(y1 - py))),
           min(w, int(np.ceil(x2 + px))), min(h, int(np.ceil(y2 + py))))
    if win[2] - win[0] < 1 or win[3] - win[1] < 1:
        return None, 'outside'
    return win, ''


def process(job) -> Dict:
    """Crop one image; returns the written list lines and counts."""
    source, (path, boxes, dropped), args = job
    out = dict(lines=[], dropped=defaultdict(int, dropped), heights=[], existing=0, missing=0)
    img = cv2.imread(path)
    if img is None:
        out['missing'] = 1
        return out
    h, w = img.shape[:2]
    stem = osp.splitext(osp.basename(path))[0]
    for k, (box, occ) in enumerate(boxes):
        win, reason = filter_box(box, occ, w, h, args)
        if win is None:
            out['dropped'][reason] += 1
            continue
        rel = f'crops/{source}/{stem}_{k:03d}.{args.ext}'
        dst = osp.join(args.out_dir, rel)
        if osp.exists(dst):
            out['existing'] += 1
        else:
            params = [cv2.IMWRITE_JPEG_QUALITY, args.quality] if args.ext == 'jpg' else []
            cv2.imwrite(dst, img[win[1]:win[3], win[0]:win[2]], params)
        out['lines'].append(rel)
        out['heights'].append(win[3] - win[1])
    return out


def build(args: argparse.Namespace) -> Dict:
    stats: Dict[str, Dict] = {}
    lines: List[str] = []
    for name, fmt, ann, img_dir in args.source:
        if fmt not in READERS:
            raise ValueError(f'unknown format {fmt!r} for source {name}; one of {sorted(READERS)}')
        if not osp.exists(ann):
            raise FileNotFoundError(f'annotation of source {name} not found: {ann}')
        os.makedirs(osp.join(args.out_dir, 'crops', name), exist_ok=True)
        records = list(READERS[fmt](ann, img_dir))
        jobs = [(name, r, args) for r in records]
        s = dict(images=len(records), boxes=sum(len(r[1]) for r in records), crops=0, existing=0,
                 missing_images=0, dropped=defaultdict(int), height_hist=[0] * (len(HEIGHT_BINS) - 1))
        print(f'{name}: {len(records)} images, {s["boxes"]} person boxes')
        bar = ProgressBar(len(jobs))
        with Pool(args.workers) as pool:
            for out in pool.imap(process, jobs, chunksize=16):
                lines += out['lines']
                s['crops'] += len(out['lines'])
                s['existing'] += out['existing']
                s['missing_images'] += out['missing']
                for k, v in out['dropped'].items():
                    s['dropped'][k] += v
                for hgt in out['heights']:
                    s['height_hist'][int(np.searchsorted(HEIGHT_BINS, hgt, side='right')) - 1] += 1
                bar.update()
        print()
        s['dropped'] = dict(s['dropped'])
        stats[name] = s
    with open(osp.join(args.out_dir, 'list.txt'), 'w') as f:
        f.write('\n'.join(lines) + ('\n' if lines else ''))
    result = dict(sources=stats, total=len(lines), height_bins=HEIGHT_BINS)
    with open(osp.join(args.out_dir, 'stats.json'), 'w') as f:
        json.dump(result, f, indent=2)
    return result


def main(argv: Optional[List[str]] = None) -> Dict:
    result = build(parse_args(argv))
    print(json.dumps({k: v['crops'] for k, v in result['sources'].items()}), 'total', result['total'])
    return result


if __name__ == '__main__':
    main()
