# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Build HP1M-style person crops (paper Table IX) from annotated datasets.

    python tools/dataset_converters/build_hp_crops.py --out-dir data/HP1M \
        --source coco coco data/coco/annotations/person_keypoints_train2017.json data/coco/train2017 \
        --source aic aic data/aic/keypoint_train_annotations.json data/aic/images \
        --source crowdhuman crowdhuman data/crowdhuman/annotation_train.odgt data/crowdhuman/Images \
        --source cihp instance_png data/CIHP/Human_ids data/CIHP/Images \
        --source mhp mhp data/MHPv2/parsing_annos data/MHPv2/images \
        --source fashionpedia fashionpedia data/fashionpedia/instances_train.json data/fashionpedia/train \
        --source mpii mpii data/mpii/annotations/mpii_train.json data/mpii/images \
        --source humanart coco data/HumanArt/annotations/training_humanart_coco.json data

(HumanArt's ``file_name`` entries start with ``HumanArt/images/…``: its IMAGE_DIR is the folder that
holds ``HumanArt/``, as in mmpose's configs.)

Each ``--source NAME FORMAT ANNOTATION IMAGE_DIR`` is read with one of the formats:

* ``coco``: COCO json (COCO, CrowdPose, HumanArt, mmpose's AIC json): ``person`` boxes, crowd skipped;
* ``aic``: AI Challenger's raw json (``human_annotations`` x1y1x2y2, keypoint visibility 1/2/3);
* ``crowdhuman``: CrowdHuman ``.odgt``: full-body boxes (``fbox``), ``mask`` tags and ``ignore`` skipped,
  occlusion = 1 − visible box / full box;
* ``instance_png``: one PNG per image whose non-zero values are person ids (CIHP ``Human_ids``);
* ``mhp``: one PNG per person named ``<image>_<N>_<k>.png`` (MHP v2 ``parsing_annos``);
* ``fashionpedia``: COCO json of apparel; one person per image = the union of its boxes;
* ``mpii``: mmpose's MPII json (``image``, ``center``, ``scale`` = person height / 200 px, ``joints``,
  ``joints_vis``): the box is ``200·scale`` high around ``center``, as wide as the visible joints.

With ``--keypoints``, ``keypoints.json`` (per source and at the top) maps each crop to its 17 COCO-layout
keypoints in the crop's pixels (AI Challenger / CrowdPose: their points renamed, the nose slot at the
head-top/neck midpoint): the person dataset's ``keypoint_file`` for HAP.
Crops get ``--pad`` context, must be at least ``--min-size`` pixels high and wide, have a height/width
ratio in ``--aspect``, and be at most ``--max-occlusion`` occluded where the format says.

Output: ``crops/<source>/<image folder>/<image stem>_<annotation id>.<ext>`` (so that same-named images
in different folders, e.g. every PoseTrack video's ``000000.jpg``, never share a crop),
``crops/<source>/list.txt`` and ``options.json`` per source, and at the top ``list.txt`` (every source
built into DIR so far, earlier runs included) and ``stats.json`` (per-source counts and a height
histogram). Parallel (``--workers``) with a progress bar.

Incremental: a re-run keeps the crops of a source whose options and annotation file are unchanged and
re-crops one whose options changed. A source whose images are mostly missing (``--max-missing``)
fails, listing the first missing paths; so does an annotation that is not in its format's layout.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import sys
from collections import defaultdict
from multiprocessing import Pool
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
from mmengine.utils import ProgressBar

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from hp_formats import Box, FormatError, Record, read_source  # noqa: E402

HEIGHT_BINS = [0, 64, 128, 256, 512, 1024, 100000]
# the options that change what a crop holds: a source built with other values is re-cropped
CROP_OPTIONS = ('pad', 'min_size', 'aspect', 'max_occlusion', 'ext', 'quality')


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
    p.add_argument('--max-missing', type=float, default=0.5,
                   help='fail a source when more than this fraction of its images is missing')
    p.add_argument('--ext', default='jpg', choices=['jpg', 'png'])
    p.add_argument('--quality', type=int, default=95, help='JPEG quality')
    p.add_argument('--workers', type=int, default=max(1, (os.cpu_count() or 2) // 2))
    p.add_argument('--keypoints', action='store_true',
                   help='also write keypoints.json (COCO-17 layout, crop pixels) for the crops whose '
                        'annotation has keypoints (coco-format jsons that name their keypoints, aic): '
                        "the dataset's keypoint_file, for HAP's part masks")
    return p.parse_args(argv)


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


def crop_stem(path: str, img_dir: str) -> str:
    """The image's path below ``img_dir`` without extension (folders kept, so that same-named images
    in different folders get different crops); a hash prefix for images outside ``img_dir``."""
    rel = osp.relpath(path, img_dir)
    if rel.startswith('..') or osp.isabs(rel):
        rel = hashlib.sha1(path.encode()).hexdigest()[:10] + '/' + osp.basename(path)
    return osp.splitext(rel)[0].replace(os.sep, '/')


def process(job) -> Dict:
    """Crop one image; returns the written list lines and counts."""
    source, img_dir, (path, boxes, dropped), args, reuse = job
    out = dict(lines=[], dropped=defaultdict(int, dropped), heights=[], existing=0, missing=0, path=path,
               keypoints={})
    img = cv2.imread(path)
    if img is None:
        out['missing'] = 1
        return out
    h, w = img.shape[:2]
    stem = crop_stem(path, img_dir)
    for person in boxes:
        box, occ, key = person[:3]
        win, reason = filter_box(box, occ, w, h, args)
        if win is None:
            out['dropped'][reason] += 1
            continue
        rel = f'crops/{source}/{stem}_{re.sub(r"[^A-Za-z0-9_.-]", "_", key)}.{args.ext}'
        dst = osp.join(args.out_dir, rel)
        if reuse and osp.exists(dst):
            out['existing'] += 1
        else:
            os.makedirs(osp.dirname(dst), exist_ok=True)
            params = [cv2.IMWRITE_JPEG_QUALITY, args.quality] if args.ext == 'jpg' else []
            cv2.imwrite(dst, img[win[1]:win[3], win[0]:win[2]], params)
        out['lines'].append(rel)
        out['heights'].append(win[3] - win[1])
        if len(person) > 3 and person[3] is not None:
            out['keypoints'][rel] = crop_keypoints(person[3], win)
    return out


def crop_keypoints(kpts: np.ndarray, win) -> List[List[float]]:
    """COCO-17 keypoints ``(17, 3)`` of the image in the crop ``win`` (x1, y1, x2, y2)'s pixels; one that
    falls outside the crop is not visible."""
    out = np.asarray(kpts, dtype=np.float64).copy()
    out[:, 0] -= win[0]
    out[:, 1] -= win[1]
    w, h = win[2] - win[0], win[3] - win[1]
    inside = (out[:, 0] >= 0) & (out[:, 0] < w) & (out[:, 1] >= 0) & (out[:, 1] < h)
    out[:, 2] = (out[:, 2] > 0) & inside
    out[out[:, 2] == 0, :2] = 0
    return [[round(float(x), 2), round(float(y), 2), int(v)] for x, y, v in out]


def check_missing(name: str, records: List[Record], max_missing: float) -> int:
    """Count a source's missing images; fail, listing the first ones, when there are too many."""
    missing = [r[0] for r in records if not osp.isfile(r[0])]
    if len(missing) > max_missing * len(records):
        raise FileNotFoundError(
            f'source {name}: {len(missing)} of {len(records)} images are missing (more than '
            f'--max-missing {max_missing:g}), e.g. {", ".join(missing[:3])}; is IMAGE_DIR the folder '
            f'that the annotation\'s image paths are relative to?')
    return len(missing)


def source_options(args: argparse.Namespace, fmt: str, ann: str, img_dir: str) -> Dict:
    """What a source's crops depend on: the crop options and the annotation (path, size, mtime)."""
    st = os.stat(ann)
    return dict({k: getattr(args, k) for k in CROP_OPTIONS}, format=fmt, annotation=osp.abspath(ann),
                annotation_size=st.st_size, annotation_mtime=int(st.st_mtime),
                image_dir=osp.abspath(img_dir))


def build_source(name: str, fmt: str, ann: str, img_dir: str, args: argparse.Namespace) -> Dict:
    """Crop one source into ``crops/<name>/`` (its ``list.txt`` and ``options.json`` included)."""
    records = read_source(name, fmt, ann, img_dir)
    n_missing = check_missing(name, records, args.max_missing)
    src_dir = osp.join(args.out_dir, 'crops', name)
    options = source_options(args, fmt, ann, img_dir)
    opt_file = osp.join(src_dir, 'options.json')
    reuse = False
    if osp.isfile(opt_file):
        with open(opt_file) as f:
            reuse = json.load(f) == options
    if osp.isdir(src_dir) and not reuse:
        print(f'{name}: options or annotation changed since the last build: re-cropping')
        shutil.rmtree(src_dir)
    os.makedirs(src_dir, exist_ok=True)
    s = dict(images=len(records), boxes=sum(len(r[1]) for r in records), crops=0, existing=0,
             missing_images=n_missing, unreadable_images=0, dropped=defaultdict(int),
             height_hist=[0] * (len(HEIGHT_BINS) - 1))
    print(f'{name}: {len(records)} images, {s["boxes"]} person boxes, {n_missing} images missing')
    lines: List[str] = []
    keypoints: Dict[str, list] = {}
    bar = ProgressBar(len(records))
    with Pool(args.workers) as pool:
        jobs = [(name, img_dir, r, args, reuse) for r in records]
        for out in pool.imap(process, jobs, chunksize=16):
            lines += out['lines']
            keypoints.update(out['keypoints'])
            s['crops'] += len(out['lines'])
            s['existing'] += out['existing']
            s['unreadable_images'] += out['missing'] * osp.isfile(out['path'])
            for k, v in out['dropped'].items():
                s['dropped'][k] += v
            for hgt in out['heights']:
                s['height_hist'][int(np.searchsorted(HEIGHT_BINS, hgt, side='right')) - 1] += 1
            bar.update()
    print()
    s['dropped'] = dict(s['dropped'])
    _write_lines(osp.join(src_dir, 'list.txt'), lines)
    if args.keypoints:
        s['keypoints'] = len(keypoints)
        with open(osp.join(src_dir, 'keypoints.json'), 'w') as f:
            json.dump(keypoints, f)
    with open(opt_file, 'w') as f:
        json.dump(options, f, indent=1)
    return s


def _write_lines(path: str, lines: List[str]) -> None:
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + ('\n' if lines else ''))


def build(args: argparse.Namespace) -> Dict:
    names = [s[0] for s in args.source]
    if len(set(names)) != len(names):
        raise ValueError(f'source names must be unique, got {names}')
    stats_file = osp.join(args.out_dir, 'stats.json')
    old = {}
    if osp.isfile(stats_file):
        with open(stats_file) as f:
            old = json.load(f)
    stats: Dict[str, Dict] = dict(old.get('sources', {}))
    for name, fmt, ann, img_dir in args.source:
        stats[name] = build_source(name, fmt, ann, img_dir, args)
    # list.txt: every source built into this folder, in the order they were first built
    lines: List[str] = []
    for name in list(stats):
        src_list = osp.join(args.out_dir, 'crops', name, 'list.txt')
        if not osp.isfile(src_list):
            print(f'{name}: built before, but crops/{name}/list.txt is gone: left out of list.txt')
            del stats[name]
            continue
        with open(src_list) as f:
            lines += [line.strip() for line in f if line.strip()]
    _write_lines(osp.join(args.out_dir, 'list.txt'), lines)
    if args.keypoints:  # every source's keypoint records, keyed as in list.txt
        merged: Dict[str, list] = {}
        for name in stats:
            src_kpts = osp.join(args.out_dir, 'crops', name, 'keypoints.json')
            if osp.isfile(src_kpts):
                with open(src_kpts) as f:
                    merged.update(json.load(f))
        with open(osp.join(args.out_dir, 'keypoints.json'), 'w') as f:
            json.dump(merged, f)
    result = dict(sources=stats, total=len(lines), height_bins=HEIGHT_BINS)
    with open(stats_file, 'w') as f:
        json.dump(result, f, indent=2)
    return result


def main(argv: Optional[List[str]] = None) -> Dict:
    result = build(parse_args(argv))
    print(json.dumps({k: v['crops'] for k, v in result['sources'].items()}), 'total', result['total'])
    return result


if __name__ == '__main__':
    try:
        main()
    except (FormatError, FileNotFoundError, ValueError) as err:
        sys.exit(f'build_hp_crops: {err}')
