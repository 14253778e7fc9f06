"""People detection on video frames, shared by the video harvesters (``video_to_person_crops.py``,
``video_to_reid.py``): OpenCV's HOG people detector (no weights) or any mmdet detector, box IoU / NMS,
padded crops, and frame iteration over a frame range."""
import argparse
import os.path as osp
from typing import Iterator, List, Optional, Tuple

import cv2
import numpy as np


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


def build_detector(det_config: Optional[str] = None, det_checkpoint: Optional[str] = None,
                   upscale: float = 2.0):
    """HOG by default; an mmdet detector when a config is given."""
    return MMDetPeopleDetector(det_config, det_checkpoint) if det_config else HOGPeopleDetector(upscale)


def iter_frames(video: str, every: int = 1, start: int = 0,
                end: Optional[int] = None) -> Iterator[Tuple[int, np.ndarray]]:
    """``(frame index, BGR frame)`` for every ``every``-th frame of ``[start, end)`` (read in order,
    which is exact where seeking in compressed video is not).

    Raises:
        FileNotFoundError: If the video cannot be opened.
    """
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise FileNotFoundError(f'cannot open video {video}')
    idx = 0
    try:
        while end is None or idx < end:
            ok, frame = cap.read()
            if not ok:
                break
            if idx >= start and (idx - start) % every == 0:
                yield idx, frame
            idx += 1
    finally:
        cap.release()


def frame_count(video: str) -> int:
    """Number of frames the container reports.

    Raises:
        FileNotFoundError: If there is no such file or OpenCV cannot open it.
        ValueError: If it is a still image (OpenCV opens one as a one-frame "video"), not a video.
    """
    if not osp.isfile(video):
        raise FileNotFoundError(f'{video}: no such video file')
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise FileNotFoundError(f'cannot open video {video} (not a video OpenCV can read)')
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    backend = cap.getBackendName()
    cap.release()
    if backend == 'CV_IMAGES' or total == 1:
        raise ValueError(f'{video} is a still image ({total} frame, read by OpenCV\'s {backend} backend), '
                         'not a video')
    return total


def add_detection_args(parser: argparse.ArgumentParser, min_score: float) -> None:
    """The options both video tools share: frame range, detector, crop size and JPEG quality.

    ``min_score`` is the default threshold for HOG scores (SVM margins, unbounded); an mmdet
    detector's scores are probabilities and default to 0.5. Call ``resolve_min_score`` after parsing.
    """
    p = parser
    p.set_defaults(hog_min_score=min_score)
    p.add_argument('--frames', type=int, nargs=2, default=None, metavar=('START', 'END'),
                   help='only frames START <= index < END (e.g. to keep a part of a video for evaluation)')
    p.add_argument('--upscale', type=float, default=2.0, help='frame upscale before HOG detection')
    p.add_argument('--min-score', type=float, default=None,
                   help=f'minimum detection score (default: {min_score:g} for HOG, 0.5 for mmdet)')
    p.add_argument('--min-height', type=int, default=64, help='minimum person height (pixels)')
    p.add_argument('--pad', type=float, default=0.1, help='context padding, fraction of box size')
    p.add_argument('--crop-size', type=int, nargs=2, default=[128, 64], metavar=('H', 'W'),
                   help='saved crop size')
    p.add_argument('--quality', type=int, default=90, help='JPEG quality')
    p.add_argument('--det-config', help='mmdet config (instead of HOG)')
    p.add_argument('--det-checkpoint', help='mmdet checkpoint')


def resolve_min_score(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in ``--min-score`` when not given: the tool's HOG default, or 0.5 for an mmdet detector."""
    if args.min_score is None:
        args.min_score = 0.5 if args.det_config else args.hog_min_score
    return args
