# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Harvest single-person crops from videos (how LUPerson was built): sample frames, detect people,
drop near-duplicate crops, write crops + a list file + stats.

    python tools/dataset_converters/video_to_person_crops.py VIDEO [VIDEO ...] --out-dir DIR

Detector: OpenCV's HOG people detector (no weights to download) by default, or any mmdet detector with
``--det-config`` and ``--det-checkpoint``.
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional, Tuple

import cv2
import numpy as np


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('videos', nargs='+', help='video files')
    p.add_argument('--out-dir', required=True, help='output folder (crops/, list.txt, stats.json)')
    p.add_argument('--every', type=int, default=10, help='use every N-th frame')
    p.add_argument('--max-frames', type=int, default=None, help='stop after this many used frames')
    p.add_argument('--upscale', type=float, default=2.0, help='frame upscale before HOG detection')
    p.add_argument('--min-score', type=float, default=0.5, help='minimum detection score')
    p.add_argument('--min-height', type=int, default=64, help='minimum person height (pixels)')
    p.add_argument('--pad', type=float, default=0.1, help='context padding, fraction of box size')
    p.add_argument('--crop-size', type=int, nargs=2, default=[128, 64], metavar=('H', 'W'),
                   help='saved crop size')
    p.add_argument('--dedup-iou', type=float, default=0.5,
                   help='a crop overlapping an earlier kept crop by this IoU ...')
    p.add_argument('--dedup-diff', type=float, default=12.0,
                   help='... and differing by less than this mean abs pixel difference is a duplicate')
    p.add_argument('--memory', type=int, default=500, help='kept crops remembered for de-duplication')
    p.add_argument('--backgrounds', type=int, default=0,
                   help='also save this many evenly spaced full frames as backgrounds')
    p.add_argument('--quality', type=int, default=90, help='JPEG quality')
    p.add_argument('--det-config', help='mmdet config (instead of HOG)')
    p.add_argument('--det-checkpoint', help='mmdet checkpoint')
    return p.parse_args(argv)


class HOGPeopleDetector:
    """OpenCV's default HOG + linear SVM people detector."""

    def __init__(self, upscale: float = 2.0) -> None:
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.upscale = upscale

    def __call__(self, frame: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        img = cv2.resize(frame, None, fx=self.upscale, fy=self.upscale) if self.upscale != 1 else frame
        rects, weights = self.hog.detectMultiScale(img, winStride=(8, 8), padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return np.zeros((0, 4)), np.zeros((0,))
        boxes = np.asarray(rects, dtype=np.float32) / self.upscale
        boxes[:, 2:] += boxes[:, :2]
        scores = np.asarray(weights, dtype=np.float32).reshape(-1)
        keep = nms(boxes, scores, 0.4)
        return boxes[keep], scores[keep]


class MMDetPeopleDetector:
    """Any mmdet detector; keeps the 'person' class (index 0 for COCO-style models)."""

    def __init__(self, config: str, checkpoint: str, device: str = 'cpu') -> None:
        from mmdet.apis import inference_detector, init_detector
        self.model = init_detector(config, checkpoint, device=device)
        self.infer = inference_detector

    def __call__(self, frame: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        pred = self.infer(self.model, frame).pred_instances
        person = pred.labels == 0
        return pred.bboxes[person].cpu().numpy(), pred.scores[person].cpu().numpy()


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one box ``a`` with boxes ``b`` (x1y1x2y2)."""
    if len(b) == 0:
        return np.zeros((0,))
    lt = np.maximum(a[:2], b[:, :2])
    rb = np.minimum(a[2:], b[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter + 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> List[int]:
    order = list(np.argsort(-scores))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        order = [j for j in order if iou(boxes[i], boxes[j:j + 1])[0] < thr]
    return keep


def crop(frame: np.ndarray, box: np.ndarray, pad: float, size: Tuple[int, int]) -> np.ndarray:
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    x1, x2 = max(0, int(x1 - pad * bw)), min(w, int(np.ceil(x2 + pad * bw)))
    y1, y2 = max(0, int(y1 - pad * bh)), min(h, int(np.ceil(y2 + pad * bh)))
    return cv2.resize(frame[y1:y2, x1:x2], (size[1], size[0]), interpolation=cv2.INTER_AREA)


def harvest(args: argparse.Namespace) -> dict:
    out_crops = osp.join(args.out_dir, 'crops')
    os.makedirs(out_crops, exist_ok=True)
    detector = (MMDetPeopleDetector(args.det_config, args.det_checkpoint)
                if args.det_config else HOGPeopleDetector(args.upscale))
    stats = dict(videos={}, crops=0, duplicates=0, detections=0, too_small=0, low_score=0)
    lines = []
    for video in args.videos:
        cap = cv2.VideoCapture(video)
        if not cap.isOpened():
            raise FileNotFoundError(f'cannot open video {video}')
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        stem = osp.splitext(osp.basename(video))[0]
        # kept crops seen so far: a new crop at (almost) the same place that looks (almost) the same
        # is a duplicate, which also drops static false detections after their first appearance
        memory: List[Tuple[np.ndarray, np.ndarray]] = []
        used = frame_idx = kept = 0
        bg_every = max(1, total // args.backgrounds) if args.backgrounds else 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if bg_every and frame_idx % bg_every == 0:
                bg_dir = osp.join(args.out_dir, 'backgrounds')
                os.makedirs(bg_dir, exist_ok=True)
                cv2.imwrite(osp.join(bg_dir, f'{stem}_{frame_idx:06d}.jpg'), frame,
                            [cv2.IMWRITE_JPEG_QUALITY, args.quality])
            if frame_idx % args.every:
                frame_idx += 1
                continue
            boxes, scores = detector(frame)
            for box, score in zip(boxes, scores):
                stats['detections'] += 1
                if score < args.min_score:
                    stats['low_score'] += 1
                    continue
                if box[3] - box[1] < args.min_height:
                    stats['too_small'] += 1
                    continue
                patch = crop(frame, box, args.pad, tuple(args.crop_size))
                dup = any(
                    iou(box, pbox[None])[0] >= args.dedup_iou
                    and np.abs(patch.astype(np.float32) - ppatch.astype(np.float32)).mean()
                    < args.dedup_diff for pbox, ppatch in memory)
                if dup:
                    stats['duplicates'] += 1
                    continue
                name = f'{stem}_{frame_idx:06d}_{kept:03d}.jpg'
                cv2.imwrite(osp.join(out_crops, name), patch, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
                lines.append(f'crops/{name} {score:.3f}')
                memory = (memory + [(box, patch)])[-args.memory:]
                kept += 1
            used += 1
            frame_idx += 1
            if args.max_frames and used >= args.max_frames:
                break
        cap.release()
        stats['videos'][video] = dict(frames=total, used_frames=used, crops=kept)
        stats['crops'] += kept
    with open(osp.join(args.out_dir, 'list.txt'), 'w') as f:
        f.write('\n'.join(lines) + ('\n' if lines else ''))
    with open(osp.join(args.out_dir, 'stats.json'), 'w') as f:
        json.dump(stats, f, indent=2)
    return stats


def main(argv: Optional[List[str]] = None) -> dict:
    stats = harvest(parse_args(argv))
    print(json.dumps({k: v for k, v in stats.items() if k != 'videos'}))
    return stats


if __name__ == '__main__':
    main()
