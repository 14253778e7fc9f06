# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Readers of person-box annotations for ``build_hp_crops.py``, one per annotation format.

Each reader yields ``(image path, [(box, occlusion or None, key), ...], dropped-box counts)`` per
image; ``box`` is ``(x1, y1, x2, y2)``, ``key`` names the person within its image (the annotation id
where the format has one) and makes the crop's file name. ``read_source`` checks the annotation's
layout first and turns any mismatch into one ``FormatError`` line naming the file and what was
expected.
"""
import json
import os
import os.path as osp
import re
from collections import defaultdict
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np

Box = Tuple[float, float, float, float]  # x1, y1, x2, y2
# box, occlusion (None = unknown), key within the image[, COCO-17 keypoints (17, 3) in image pixels]
Person = Tuple
Record = Tuple[str, List[Person], Dict[str, int]]

# what each format expects, for the error messages
EXPECTED = dict(
    coco='a COCO json: {"images": [{"id", "file_name"}], "annotations": [{"image_id", "bbox": [x, y, w, '
         'h]}]}',
    aic='AI Challenger\'s raw json: [{"image_id", "human_annotations": {name: [x1, y1, x2, y2]}}]',
    crowdhuman='a CrowdHuman .odgt: one json per line, {"ID", "gtboxes": [{"tag", "fbox"}]}',
    instance_png='a folder of PNGs whose non-zero values are person ids (CIHP Human_ids)',
    mhp='a folder of per-person PNGs named <image>_<N>_<k>.png (MHP v2 parsing_annos)',
    fashionpedia='a COCO json of apparel boxes (Fashionpedia)',
    mpii='mmpose\'s MPII json: [{"image", "center": [x, y], "scale", "joints", "joints_vis"}] (the '
         'official .mat converts with mmpose\'s tools/dataset_converters/mat2json.py)',
)
FOLDER_FORMATS = ('instance_png', 'mhp')


class FormatError(ValueError):
    """An annotation that is not in the layout of its format (the message names file and layout)."""


def _xywh(b) -> Box:
    return (float(b[0]), float(b[1]), float(b[0] + b[2]), float(b[1] + b[3]))


COCO17 = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
          'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
          'right_knee', 'left_ankle', 'right_ankle')
HEAD_TOP, NECK = ('head_top', 'top_head', 'head'), ('neck', )


def to_coco17(kpts, names) -> Optional[np.ndarray]:
    """Keypoints ``(K, 3)`` (x, y, v; v > 0 = labelled) named ``names`` in the COCO-17 layout
    ``(17, 3)`` (x, y, 1 = visible / 0). Layouts with a head top and a neck (AI Challenger, CrowdPose)
    have no face points: the nose slot takes their midpoint when both are labelled (HAP's head part
    needs a point there). None when the names match no COCO point."""
    kpts = np.asarray(kpts, dtype=np.float32).reshape(-1, 3)
    keys = [re.sub(r'[^a-z]+', '_', str(n).lower()).strip('_') for n in names]
    if len(keys) != len(kpts) or not set(keys) & set(COCO17):
        return None
    out = np.zeros((17, 3), dtype=np.float32)
    for key, (x, y, v) in zip(keys, kpts):
        if key in COCO17 and v > 0:
            out[COCO17.index(key)] = (x, y, 1)
    top = next((i for i, k in enumerate(keys) if k in HEAD_TOP), None)
    neck = next((i for i, k in enumerate(keys) if k in NECK), None)
    if top is not None and neck is not None and kpts[top, 2] > 0 and kpts[neck, 2] > 0 and not out[0, 2]:
        out[0] = ((kpts[top, 0] + kpts[neck, 0]) / 2, (kpts[top, 1] + kpts[neck, 1]) / 2, 1)
    return out


def _load_json(ann: str, kind: type):
    try:
        with open(ann) as f:
            data = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f'{ann} is not json ({e})') from None
    if not isinstance(data, kind):
        raise FormatError(f'{ann} holds a json {type(data).__name__}, expected a {kind.__name__}')
    return data


def read_coco(ann: str, img_dir: str, union: bool = False) -> Iterator[Record]:
    data = _load_json(ann, dict)
    for key in ('images', 'annotations'):
        if not isinstance(data.get(key), list):
            raise FormatError(f'{ann} has no "{key}" list (keys: {sorted(data)[:8]})')
    if union:
        keep_cat = None
    else:
        keep_cat = {c['id'] for c in data.get('categories', []) if c.get('name') == 'person'} or {1}
    kpt_names = next((c.get('keypoints') for c in data.get('categories', []) if c.get('keypoints')), None)
    by_image: Dict[int, list] = defaultdict(list)
    for a in data['annotations']:
        by_image[a['image_id']].append(a)
    for img in data['images']:
        boxes, dropped = [], defaultdict(int)
        anns = by_image.get(img['id'], [])
        if union:
            if anns:
                xy = np.array([_xywh(a['bbox']) for a in anns])
                boxes.append(((xy[:, 0].min(), xy[:, 1].min(), xy[:, 2].max(), xy[:, 3].max()), None, 'all'))
        for k, a in enumerate([] if union else anns):
            if a['category_id'] not in keep_cat:
                continue
            if a.get('iscrowd', 0):
                dropped['crowd'] += 1
                continue
            person = (_xywh(a['bbox']), None, str(a.get('id', f'{k:03d}')))
            kpts = to_coco17(a['keypoints'], kpt_names) if kpt_names and a.get('keypoints') else None
            boxes.append(person if kpts is None else person + (kpts, ))
        yield osp.join(img_dir, img['file_name']), boxes, dict(dropped)


AIC_NAMES = ('right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder', 'left_elbow', 'left_wrist',
             'right_hip', 'right_knee', 'right_ankle', 'left_hip', 'left_knee', 'left_ankle', 'head_top',
             'neck')


def read_aic(ann: str, img_dir: str) -> Iterator[Record]:
    for item in _load_json(ann, list):
        boxes = []
        kpts = item.get('keypoint_annotations', {})
        for name, box in item['human_annotations'].items():
            raw = np.asarray(kpts.get(name, []), dtype=np.float32).reshape(-1, 3)
            vis = raw[:, 2]
            occ = float((vis != 1).mean()) if len(vis) else None
            person = (tuple(float(v) for v in box[:4]), occ, name)
            if len(raw) == len(AIC_NAMES):  # visibility 1 visible, 2 occluded, 3 not labelled
                raw[:, 2] = np.isin(vis, (1, 2))
                person += (to_coco17(raw, AIC_NAMES), )
            boxes.append(person)
        yield osp.join(img_dir, item['image_id'] + '.jpg'), boxes, {}


def read_crowdhuman(ann: str, img_dir: str) -> Iterator[Record]:
    with open(ann) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise FormatError(f'{ann}, line {line_no} is not json ({e})') from None
            boxes, dropped = [], defaultdict(int)
            for k, g in enumerate(item['gtboxes']):
                if g.get('tag') != 'person':
                    dropped['not_person'] += 1
                    continue
                if g.get('extra', {}).get('ignore', 0):
                    dropped['ignore'] += 1
                    continue
                occ = None
                if 'vbox' in g:
                    v = g['vbox']
                    occ = max(0.0, 1.0 - (v[2] * v[3]) / max(g['fbox'][2] * g['fbox'][3], 1e-6))
                boxes.append((_xywh(g['fbox']), occ, f'{k:03d}'))
            yield osp.join(img_dir, item['ID'] + '.jpg'), boxes, dict(dropped)


def _mask_box(mask: np.ndarray) -> Optional[Box]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


def _read_png(path: str) -> np.ndarray:
    mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise FormatError(f'{path} is not a readable PNG')
    return mask if mask.ndim == 2 else mask[..., 0]


def read_instance_png(ann_dir: str, img_dir: str) -> Iterator[Record]:
    for name in sorted(os.listdir(ann_dir)):
        if not name.endswith('.png'):
            continue
        ids = _read_png(osp.join(ann_dir, name))
        boxes = [(_mask_box(ids == v), None, f'{int(v):03d}') for v in np.unique(ids) if v != 0]
        yield osp.join(img_dir, name[:-4] + '.jpg'), [b for b in boxes if b[0]], {}


def read_mhp(ann_dir: str, img_dir: str) -> Iterator[Record]:
    groups: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
    for name in sorted(os.listdir(ann_dir)):
        m = re.match(r'(.+)_(\d+)_(\d+)\.png$', name)
        if m:
            groups[m.group(1)].append((name, m.group(3)))
    for stem, files in groups.items():
        boxes = []
        for name, person in files:
            box = _mask_box(_read_png(osp.join(ann_dir, name)))
            if box:
                boxes.append((box, None, person))
        yield osp.join(img_dir, stem + '.jpg'), boxes, {}


def read_mpii(ann: str, img_dir: str) -> Iterator[Record]:
    """mmpose's MPII json: one entry per person, grouped here by image."""
    by_image: Dict[str, List[Person]] = defaultdict(list)
    for k, item in enumerate(_load_json(ann, list)):
        cx, cy = (float(v) for v in item['center'])
        h = 200.0 * float(item['scale'])
        joints = np.asarray(item.get('joints', []), dtype=float).reshape(-1, 2)
        vis = np.asarray(item.get('joints_vis', [1] * len(joints)), dtype=float).reshape(-1) > 0
        xs = joints[vis & (joints[:, 0] > 0), 0] if len(joints) else np.zeros(0)
        half_w = max(0.15 * h, (np.abs(xs - cx).max() + 0.1 * h) if len(xs) else 0.25 * h)
        box = (cx - half_w, cy - h / 2, cx + half_w, cy + h / 2)
        by_image[item['image']].append((box, None, f'{k:06d}'))
    for image, boxes in by_image.items():
        yield osp.join(img_dir, image), boxes, {}


READERS: Dict[str, Callable[[str, str], Iterator[Record]]] = dict(
    coco=read_coco, aic=read_aic, crowdhuman=read_crowdhuman, instance_png=read_instance_png,
    mhp=read_mhp, fashionpedia=lambda a, d: read_coco(a, d, union=True), mpii=read_mpii)


def read_source(name: str, fmt: str, ann: str, img_dir: str) -> List[Record]:
    """All records of one source, after checking that its paths and layout fit ``fmt``.

    Raises:
        FormatError: An unknown format, a file where a folder is expected (or the reverse), an
            annotation not in the format's layout, or one that lists no image; the message names the
            source, the file and what was expected.
        FileNotFoundError: A missing annotation or image folder.
    """
    if fmt not in READERS:
        raise FormatError(f'unknown format {fmt!r} for source {name}; one of {sorted(READERS)}')
    if not osp.exists(ann):
        raise FileNotFoundError(f'annotation of source {name} not found: {ann}')
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image folder of source {name} is not a folder: {img_dir}')
    want_dir = fmt in FOLDER_FORMATS
    if osp.isdir(ann) != want_dir:
        raise FormatError(f'source {name}: {ann} is a {"folder" if osp.isdir(ann) else "file"}; '
                          f'format {fmt} expects {EXPECTED[fmt]}')
    if fmt == 'mpii' and ann.endswith('.mat'):
        raise FormatError(f'source {name}: {ann} is MPII\'s .mat release; format mpii expects '
                          f'{EXPECTED[fmt]}')
    try:
        records = list(READERS[fmt](ann, img_dir))
    except FormatError as e:
        raise FormatError(f'source {name} ({fmt}): {e}; expected {EXPECTED[fmt]}') from None
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
        raise FormatError(f'source {name}: {ann} does not fit format {fmt} ({type(e).__name__}: '
                          f'{e}); expected {EXPECTED[fmt]}') from None
    if not records:
        raise FormatError(f'source {name}: {ann} lists no images; expected {EXPECTED[fmt]}')
    return records
