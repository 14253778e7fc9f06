# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Top-down pose on an image with an exported pose model, using onnxruntime, numpy and OpenCV only.

    python tools/deployment/onnx_pose_demo.py IMAGE --model pose.onnx (--det boxes.json | --full-image) \
        [--out pose.png] [--out-json keypoints.json] [--kpt-thr 0.3]

Without ``--out`` the drawing goes next to the input image (``<image>_pose.png``), never into the
current folder.
No OpenMMLab import: the preprocessing (input size, mean, std, channel order) is read from the ONNX
metadata that ``tools/deployment/pytorch2onnx.py --task pose`` wrote. Each person box is enlarged by
``--padding`` (1.25), widened or heightened to the input's aspect ratio, and warped to the input size
with the unbiased (UDP) transform; the heatmaps are decoded with UDP coordinates and the DARK Taylor
refinement (what the ViTPose configs' ``UDPHeatmap`` codec does; no flip test). ``boxes.json`` is a list
of ``[x1, y1, x2, y2]`` or ``[x1, y1, x2, y2, score]`` boxes in pixels (or ``{"boxes": [...]}``); ``[]``
(no detections) gives the image with nothing drawn. A box that is not finite, has ``x2 <= x1`` or
``y2 <= y1``, lies entirely outside the image or is more than ``MAX_BOX_SCALE`` times the image's size is
refused, naming the file and the box.
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional, Tuple

import cv2
import numpy as np

MAX_BOX_SCALE = 2.0  # a box more than this many times the image's width or height is not a detection in it
COCO_SKELETON = [(15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
                 (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('image')
    p.add_argument('--model', required=True, help='pose .onnx written by pytorch2onnx.py --task pose')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--det', help='JSON list of person boxes [x1, y1, x2, y2(, score)]')
    src.add_argument('--full-image', action='store_true', help='one box: the whole image')
    p.add_argument('--out', default=None,
                   help='the image with keypoints drawn (PNG; default: <image>_pose.png beside the image)')
    p.add_argument('--out-json', help='also write the keypoints and scores here')
    p.add_argument('--kpt-thr', type=float, default=0.3, help='draw keypoints scoring at least this')
    p.add_argument('--padding', type=float, default=1.25, help='box enlargement before cropping')
    p.add_argument('--threads', type=int, default=0, help='onnxruntime intra-op threads (0: its default)')
    return p.parse_args(argv)


def read_boxes(path: str, image_size: Tuple[int, int]) -> np.ndarray:
    """``(N, 4)`` float boxes ``x1, y1, x2, y2`` from a JSON file (see the module docstring).

    Args:
        path (str): The JSON file.
        image_size (tuple): ``(H, W)`` of the image the boxes are in.

    Raises:
        ValueError: Naming the file (and the box): not JSON, not a list of boxes, or a box that is
            not usable (module docstring).
    """
    try:
        with open(path) as f:
            text = f.read()
        data = json.loads(text)
    except json.JSONDecodeError as err:
        what = 'is empty' if not text.strip() else f'is not JSON ({err.msg}, line {err.lineno})'
        raise ValueError(f'{path} {what}; expected a list of [x1, y1, x2, y2(, score)] boxes') from None
    boxes = data.get('boxes') if isinstance(data, dict) else data
    if not isinstance(boxes, list):
        raise ValueError(f'{path}: expected a list of [x1, y1, x2, y2(, score)] boxes (or '
                         f'{{"boxes": [...]}}), got a {type(boxes).__name__}')
    h, w = image_size
    out = np.zeros((len(boxes), 4), np.float32)
    for i, box in enumerate(boxes):
        numbers = isinstance(box, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                for v in box)
        if not numbers or len(box) not in (4, 5):
            given = f'{len(box)} numbers' if numbers else 'not a list of numbers'
            raise ValueError(f'{path}: box {i} is {json.dumps(box)[:60]} ({given}); expected '
                             '[x1, y1, x2, y2] or [x1, y1, x2, y2, score]')
        x1, y1, x2, y2 = box[:4]
        if not np.isfinite(box[:4]).all():
            raise ValueError(f'{path}: box {i} {box[:4]} has a value that is not a finite number')
        if x2 <= x1 or y2 <= y1:
            raise ValueError(f'{path}: box {i} {box[:4]} needs x2 > x1 and y2 > y1 (corners, not x, y, w, '
                             'h?)')
        if x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
            raise ValueError(f'{path}: box {i} {box[:4]} lies entirely outside the {w}x{h} image')
        if x2 - x1 > MAX_BOX_SCALE * w or y2 - y1 > MAX_BOX_SCALE * h:
            raise ValueError(f'{path}: box {i} {box[:4]} is more than {MAX_BOX_SCALE:g} times the size of '
                             f'the {w}x{h} image')
        out[i] = box[:4]
    return out


def box_to_center_scale(box: np.ndarray, aspect: float, padding: float) -> Tuple[np.ndarray, np.ndarray]:
    """Box → centre and ``(w, h)`` scale, enlarged by ``padding`` and fitted to ``aspect`` = w / h."""
    x1, y1, x2, y2 = box
    center = np.array([(x1 + x2) / 2, (y1 + y2) / 2], np.float32)
    w, h = (x2 - x1) * padding, (y2 - y1) * padding
    w, h = (h * aspect, h) if w < h * aspect else (w, w / aspect)
    return center, np.array([w, h], np.float32)


def udp_warp(center: np.ndarray, scale: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """The unbiased 2×3 affine that maps the box ``center ± scale / 2`` onto an ``(H, W)`` input:
    pixel ``0`` and ``W - 1`` of the input sit on the box edges (UDP, Huang et al. 2020)."""
    h, w = size
    sx, sy = (w - 1) / scale[0], (h - 1) / scale[1]
    return np.array([[sx, 0, -sx * (center[0] - scale[0] / 2)],
                     [0, sy, -sy * (center[1] - scale[1] / 2)]], np.float32)


def modulate(heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK's distribution modulation: each map blurred with a ``kernel``-sized Gaussian (zero
    outside the map), rescaled to its original maximum, clipped to [1e-3, 50] and log-transformed."""
    out = []
    border = kernel // 2
    for m in heatmaps.astype(np.float32):
        padded = cv2.GaussianBlur(np.pad(m, border), (kernel, kernel), 0)[border:-border, border:-border]
        out.append(padded * (m.max() / padded.max()))
    return np.log(np.clip(np.stack(out), 1e-3, 50.0))


def decode_udp_dark(heatmaps: np.ndarray, kernel: int = 11) -> Tuple[np.ndarray, np.ndarray]:
    """``(K, h, w)`` heatmaps → ``(K, 2)`` sub-pixel maxima in heatmap pixels and ``(K,)`` scores.

    The score is the heatmap maximum; the location is the argmax moved by one Newton step
    ``-H⁻¹ ∇`` on the modulated map (DARK, Zhang et al. 2020), with the finite differences that
    mmpose's ``UDPHeatmap`` codec uses, so that both decoders agree.
    """
    k, h, w = heatmaps.shape
    flat = heatmaps.reshape(k, -1)
    idx = flat.argmax(1)
    scores = flat.max(1)
    xy = np.stack([idx % w, idx // w], 1).astype(np.float32)
    logm = np.pad(modulate(heatmaps, kernel), ((0, 0), (1, 1), (1, 1)), mode='edge')
    for i in range(k):
        x, y = int(xy[i, 0]) + 1, int(xy[i, 1]) + 1  # in the padded map
        m = logm[i]
        c, r, left, up = m[y, x], m[y, x + 1], m[y, x - 1], m[y + 1, x]
        down = m[y - 1, x]
        grad = np.array([r - left, up - down]) / 2
        dxx, dyy = r - 2 * c + left, up - 2 * c + down
        dxy = (m[y + 1, x + 1] - r - up + 2 * c - left - down + m[y - 1, x - 1]) / 2
        hessian = np.array([[dxx, dxy], [dxy, dyy]]) + np.finfo(np.float32).eps * np.eye(2)
        xy[i] -= np.linalg.inv(hessian) @ grad
    return xy, scores


def estimate(session, image: np.ndarray, boxes: np.ndarray, spec: dict,
             padding: float = 1.25) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints ``(N, K, 2)`` in image pixels and scores ``(N, K)`` for ``boxes`` ``(N, 4)``
    (``(0, 0, 2)`` and ``(0, 0)`` for no box)."""
    h, w = spec['size']
    if not len(boxes):
        return np.zeros((0, 0, 2), np.float32), np.zeros((0, 0), np.float32)
    mean, std = np.asarray(spec['mean'], np.float32), np.asarray(spec['std'], np.float32)
    crops, frames = [], []
    for box in boxes:
        center, scale = box_to_center_scale(box, w / h, padding)
        crop = cv2.warpAffine(image, udp_warp(center, scale, (h, w)), (w, h), flags=cv2.INTER_LINEAR)
        if spec['channel_order'] == 'RGB':
            crop = crop[..., ::-1]
        crops.append(((crop.astype(np.float32) - mean) / std).transpose(2, 0, 1))
        frames.append((center, scale))
    heatmaps = session.run(None, {session.get_inputs()[0].name: np.stack(crops).astype(np.float32)})[0]
    if heatmaps.ndim != 4:
        raise ValueError(f'expected heatmaps (N, K, h, w) from the model, got shape {heatmaps.shape}')
    hh, hw = heatmaps.shape[-2:]
    keypoints, scores = [], []
    for maps, (center, scale) in zip(heatmaps, frames):
        xy, score = decode_udp_dark(maps)
        xy = xy * [(w - 1) / (hw - 1), (h - 1) / (hh - 1)]  # heatmap → input pixels (UDP)
        keypoints.append(xy / [w - 1, h - 1] * scale + center - scale / 2)  # input → image pixels
        scores.append(score)
    return np.asarray(keypoints, np.float32), np.asarray(scores, np.float32)


def draw(image: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, thr: float,
         color=(0, 255, 0), radius: int = 3) -> np.ndarray:
    """A copy of ``image`` with keypoints scoring ``>= thr`` (and the COCO skeleton between them)."""
    out = image.copy()
    h, w = image.shape[:2]
    ok = (scores >= thr) & (np.abs(keypoints - [w / 2, h / 2]) < 4 * max(h, w)).all(-1)  # drawable
    for kpts, sc in zip(keypoints, ok):  # limbs first, so that no limb hides a keypoint
        if len(kpts) == 17:
            for a, b in COCO_SKELETON:
                if sc[a] and sc[b]:
                    pa, pb = (tuple(int(round(v)) for v in kpts[i]) for i in (a, b))
                    cv2.line(out, pa, pb, (255, 128, 0), 1)
    for kpts, sc in zip(keypoints, ok):
        for (x, y), s in zip(kpts, sc):
            if s:
                cv2.circle(out, (int(round(x)), int(round(y))), radius, color, -1)
    return out


def open_session(path: str, threads: int):
    """An onnxruntime CPU session of a pose model written by ``pytorch2onnx.py --task pose``, and its
    preprocessing spec.

    Raises:
        FileNotFoundError / ValueError: Naming the file: missing, not an ONNX model, or without the
            ``preprocess`` metadata.
    """
    import onnxruntime as ort
    if not osp.isfile(path):
        raise FileNotFoundError(f'model not found: {path}')
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f'{path} is not an ONNX model onnxruntime can load ({first[:160]})') from None
    meta = session.get_modelmeta().custom_metadata_map
    if 'preprocess' not in meta:
        raise ValueError(f'{path} has no "preprocess" metadata: export it with pytorch2onnx.py --task pose')
    return session, json.loads(meta['preprocess'])


def finite_or_none(values: np.ndarray) -> list:
    """Nested lists with NaN / inf as None, so that the JSON written is standard JSON."""
    return np.where(np.isfinite(values), values, None).tolist() if values.size else values.tolist()


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    image = cv2.imread(args.image)
    if image is None:
        raise FileNotFoundError(f'cannot read image {args.image}')
    out = args.out or osp.splitext(args.image)[0] + '_pose.png'
    session, spec = open_session(args.model, args.threads)
    boxes = np.array([[0, 0, image.shape[1], image.shape[0]]], np.float32) if args.full_image \
        else read_boxes(args.det, image.shape[:2])
    keypoints, scores = estimate(session, image, boxes, spec, args.padding)
    if not cv2.imwrite(out, draw(image, keypoints, scores, args.kpt_thr)):
        raise ValueError(f'cannot write {out} (folder missing or not an image extension)')
    result = dict(boxes=boxes.tolist(), keypoints=finite_or_none(keypoints), scores=finite_or_none(scores),
                  image=out)
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(result, f, allow_nan=False)
    shown = int((scores >= args.kpt_thr).sum())
    print(f'{len(boxes)} person(s), {shown} keypoint(s) >= {args.kpt_thr} drawn -> {out}')
    return result


if __name__ == '__main__':
    try:  # no OpenMMLab import here: the one-line error is this file's own
        main()
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'onnx_pose_demo: {err}')
