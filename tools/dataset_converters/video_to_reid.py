# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Build a person re-identification set (Market-1501 layout) from one video, with no appearance model.

    python tools/dataset_converters/video_to_reid.py VIDEO --out-dir DIR [--frames START END]

People are detected on every ``--every``-th frame (OpenCV HOG by default, the same detectors as
``video_to_person_crops.py``) and linked into tracklets by box overlap with a constant-velocity
prediction. Matching is conservative: a detection joins a track only when each is the other's best
match and no second candidate comes close, so that crossing people end their tracklets instead of
swapping identities. Short tracklets and static ones (false detections on the scenery) are dropped.

A tracklet is an identity; the frame range is cut into ``--cameras`` equal time segments and each
segment is a "camera", so the query and gallery images of an identity come from different times.
Only identities seen in at least two segments are kept. Identities alternate between the train split
and the test split (query = the first sampled image of each identity in each segment; gallery = the
rest). Files: ``bounding_box_train/``, ``query/``, ``bounding_box_test/`` named
``PPPP_cCs1_FFFFFF_00.jpg`` (identity, camera, frame), plus ``tracklets.json`` (every kept box, for
checks) and ``stats.json``.

The output folder must be empty or new; ``--overwrite`` first clears what an earlier run wrote there
(the three folders and the two JSON files; a folder holding anything else is refused). A run that
keeps no identity writes nothing and fails with the reason (frames read, detections, and why each
tracklet was dropped).
"""
import argparse
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional

import cv2
import numpy as np

from saip_mm.utils.people_detection import (
    add_detection_args,
    build_detector,
    crop,
    frame_count,
    iou,
    iter_frames,
    resolve_min_score,
)

FOLDERS = dict(train='bounding_box_train', query='query', gallery='bounding_box_test')
FILES = ('tracklets.json', 'stats.json')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('video', help='video file')
    p.add_argument('--out-dir', required=True, help='output folder (Market-1501 layout), empty or new')
    p.add_argument('--overwrite', action='store_true',
                   help='clear what an earlier run wrote into --out-dir first (refused if it holds other '
                        'files)')
    p.add_argument('--every', type=int, default=2, help='detect on every N-th frame')
    p.add_argument('--cameras', type=int, default=6, help='time segments (= cameras)')
    add_detection_args(p, min_score=0.5)
    p.add_argument('--match-iou', type=float, default=0.4,
                   help='minimum IoU of a detection with a track\'s predicted box')
    p.add_argument('--ambiguity', type=float, default=0.7,
                   help='a match whose runner-up IoU exceeds this fraction of the best is ambiguous: '
                        'the track ends')
    p.add_argument('--max-gap', type=int, default=8, help='frames a track may go undetected')
    p.add_argument('--stitch-gap', type=int, default=30,
                   help='join fragments of one track across gaps of up to N frames (0: off)')
    p.add_argument('--max-crowd', type=float, default=0.5,
                   help='drop tracklets whose boxes overlap another person (IoU > 0.1) in more than this '
                        'fraction of frames: their crops hold two people')
    p.add_argument('--min-length', type=int, default=6, help='minimum detections per tracklet')
    p.add_argument('--min-motion', type=float, default=0.5,
                   help='minimum centre travel of a tracklet, in mean box heights')
    p.add_argument('--sample-every', type=int, default=4,
                   help='save a crop of a tracklet at most every N frames')
    p.add_argument('--merge', type=int, nargs=2, action='append', default=[], metavar=('A', 'B'),
                   help='identity B (numbered as in a run without --merge) is the same person as A, '
                        'e.g. after looking at the crops: B joins A (repeatable)')
    return resolve_min_score(p.parse_args(argv))


class IoUTracker:
    """Greedy, conservative IoU tracker with a constant-velocity box prediction.

    Args:
        match_iou (float): Minimum IoU between a detection and a track's predicted box.
        ambiguity (float): A match is refused (and the track closed) when the runner-up IoU, on either
            side, is above ``ambiguity × best``.
        max_gap (int): Frames a track survives without a detection.
    """

    def __init__(self, match_iou: float = 0.4, ambiguity: float = 0.7, max_gap: int = 6) -> None:
        self.match_iou, self.ambiguity, self.max_gap = match_iou, ambiguity, max_gap
        self.active: List[dict] = []
        self.finished: List[dict] = []

    @staticmethod
    def predict(track: dict, frame: int) -> np.ndarray:
        last_frame, last_box = track['frames'][-1], track['boxes'][-1]
        shift = track['velocity'] * (frame - last_frame)
        return last_box + np.concatenate([shift, shift])

    def update(self, frame: int, boxes: np.ndarray) -> None:
        """Link the detections ``(N, 4)`` x1y1x2y2 of ``frame``."""
        for t in [t for t in self.active if frame - t['frames'][-1] > self.max_gap]:
            self._close(t)
        self.active = list(self.active)
        pred = np.stack([self.predict(t, frame) for t in self.active]) if self.active else np.zeros((0, 4))
        ious = np.stack([iou(b, pred) for b in boxes]) if len(boxes) else np.zeros((0, len(pred)))
        # overlap of each detection with the others of its frame (a crop holding two people)
        crowd = [float(np.max(iou(b, np.delete(boxes, i, 0)), initial=0.0)) for i, b in enumerate(boxes)]
        matched_dets = set()
        closing = []
        for ti, track in enumerate(list(self.active)):
            if not len(boxes):
                break
            col = ious[:, ti]
            di = int(np.argmax(col))
            best = col[di]
            if best < self.match_iou or int(np.argmax(ious[di])) != ti:
                continue
            runner_det = np.partition(col, -2)[-2] if len(col) > 1 else 0.0
            row = ious[di]
            runner_trk = np.partition(row, -2)[-2] if len(row) > 1 else 0.0
            if max(runner_det, runner_trk) > self.ambiguity * best:
                closing.append(track)  # two people close together: stop rather than risk a swap
                continue
            prev_c = (track['boxes'][-1][:2] + track['boxes'][-1][2:]) / 2
            cur_c = (boxes[di][:2] + boxes[di][2:]) / 2
            step = (cur_c - prev_c) / max(1, frame - track['frames'][-1])
            track['velocity'] = 0.5 * track['velocity'] + 0.5 * step
            track['frames'].append(frame)
            track['boxes'].append(boxes[di].astype(np.float64))
            track['crowd'].append(crowd[di])
            matched_dets.add(di)
        for track in closing:
            self._close(track)
        for di, box in enumerate(boxes):
            if di not in matched_dets:
                self.active.append(dict(frames=[frame], boxes=[box.astype(np.float64)],
                                        velocity=np.zeros(2), crowd=[crowd[di]]))

    def _close(self, track: dict) -> None:
        if any(t is track for t in self.active):
            self.active = [t for t in self.active if t is not track]
            self.finished.append(track)

    def tracklets(self) -> List[dict]:
        """All tracklets (closing the active ones), ordered by first frame."""
        for t in list(self.active):
            self._close(t)
        return sorted(self.finished, key=lambda t: (t['frames'][0], t['boxes'][0][0]))


def stitch(tracks: List[dict], max_gap: int, min_iou: float = 0.3) -> List[dict]:
    """Join tracklet fragments of one person: a tracklet that starts within ``max_gap`` frames after
    another ends, where the ended one's constant-velocity prediction overlaps its first box by
    ``min_iou``, continues it (each must be the other's only candidate, so that no two people are
    joined when the motion cannot tell them apart)."""
    tracks = sorted(tracks, key=lambda t: t['frames'][0])
    while True:
        pairs = []
        for a, ta in enumerate(tracks):
            for b, tb in enumerate(tracks):
                gap = tb['frames'][0] - ta['frames'][-1]
                if a != b and 0 < gap <= max_gap:
                    overlap = float(iou(IoUTracker.predict(ta, tb['frames'][0]), tb['boxes'][0][None])[0])
                    if overlap >= min_iou:
                        pairs.append((a, b))
        unique = [(a, b) for a, b in pairs
                  if sum(p[0] == a for p in pairs) == 1 and sum(p[1] == b for p in pairs) == 1]
        if not unique:
            return tracks
        a, b = unique[0]
        ta, tb = tracks[a], tracks[b]
        for key in ('frames', 'boxes', 'crowd'):
            ta[key] = ta[key] + tb[key]
        ta['velocity'] = tb['velocity']
        tracks = [t for i, t in enumerate(tracks) if i != b]


def travel(track: dict) -> float:
    """Centre travel of a tracklet (first to farthest box) in mean box heights."""
    boxes = np.stack(track['boxes'])
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    height = float(np.mean(boxes[:, 3] - boxes[:, 1]))
    return float(np.max(np.linalg.norm(centres - centres[0], axis=1)) / max(height, 1e-6))


def merge_identities(identities: List[dict], merges: List[List[int]]) -> List[dict]:
    """Join identities named the same person (1-based numbers in ``identities``' order): the second
    of each pair joins the first; the rest keep their order."""
    gone = set()
    for a, b in merges:
        if not (1 <= a <= len(identities) and 1 <= b <= len(identities)) or a == b:
            raise ValueError(f'--merge {a} {b}: identities are numbered 1..{len(identities)}')
        keep, drop = identities[a - 1], identities[b - 1]
        keep['tracks'] += drop['tracks']
        keep['samples'] = sorted(keep['samples'] + drop['samples'], key=lambda x: x[0])
        gone.add(b - 1)
    return [ident for i, ident in enumerate(identities) if i not in gone]


def camera_of(frame: int, start: int, end: int, cameras: int) -> int:
    """1-based time segment of a frame."""
    return 1 + min(cameras - 1, (frame - start) * cameras // max(1, end - start))


def prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    """Refuse a non-empty ``out_dir`` unless ``overwrite``; then remove what this tool writes there.

    Raises:
        FileExistsError: Naming the folder (and, with ``overwrite``, the entries it did not write).
    """
    if not osp.isdir(out_dir) or not os.listdir(out_dir):
        return
    entries = sorted(os.listdir(out_dir))
    if not overwrite:
        raise FileExistsError(f'--out-dir {out_dir} is not empty ({len(entries)} entries: '
                              f'{", ".join(entries[:5])}); choose a new folder or pass --overwrite')
    foreign = [e for e in entries if e not in FILES and e not in FOLDERS.values()]
    if foreign:
        raise FileExistsError(f'--out-dir {out_dir} holds files this tool did not write '
                              f'({", ".join(foreign[:5])}); --overwrite clears only an earlier run\'s '
                              'output: choose another folder')
    for entry in entries:
        path = osp.join(out_dir, entry)
        shutil.rmtree(path) if osp.isdir(path) else os.remove(path)


def no_identity_reason(stats: dict, args: argparse.Namespace) -> str:
    """Why a run kept no identity, from its counts."""
    first, last = stats['frames']
    read = f"{stats['frames_read']} frame(s) read ({args.video}, frames {first}-{last}, every {args.every})"
    if stats['frames_read'] < 2:
        return f'{read}: too few frames to track anyone'
    if not stats['detections']:
        return f'{read}, no person detected (--min-score {args.min_score}, --min-height {args.min_height})'
    reasons = (('short', f'too short (< --min-length {args.min_length})'),
               ('static', f'static (< --min-motion {args.min_motion})'),
               ('crowded', f'crowded (> --max-crowd {args.max_crowd})'),
               ('one_camera', 'seen in one time segment only'))
    dropped = ', '.join(f'{stats[k]} {words}' for k, words in reasons if stats[k])
    return (f"{read}, {stats['detections']} detection(s) in {stats['tracklets']} tracklet(s), all dropped: "
            f"{dropped}")


def build(args: argparse.Namespace) -> dict:
    prepare_out_dir(args.out_dir, args.overwrite)
    total = frame_count(args.video)
    start, end = args.frames or (0, total)
    end = min(end, total)
    if not 0 <= start < end:
        raise ValueError(f'--frames {start} {end}: empty range for {args.video} ({total} frames)')
    detector = build_detector(args.det_config, args.det_checkpoint, args.upscale)
    tracker = IoUTracker(args.match_iou, args.ambiguity, args.max_gap)
    frames_read = detections = 0
    for idx, frame in iter_frames(args.video, args.every, start, end):
        boxes, scores = detector(frame)
        keep = (scores >= args.min_score) & ((boxes[:, 3] - boxes[:, 1]) >= args.min_height) \
            if len(boxes) else np.zeros((0,), bool)
        tracker.update(idx, boxes[keep])
        frames_read += 1
        detections += int(keep.sum())
    all_tracks = tracker.tracklets()
    if args.stitch_gap:
        all_tracks = stitch(all_tracks, args.stitch_gap)
    stats = dict(video=osp.basename(args.video), frames=[start, end], every=args.every,
                 cameras=args.cameras, frames_read=frames_read, detections=detections,
                 tracklets=len(all_tracks), short=0, static=0, crowded=0, one_camera=0)
    identities = []
    for track in all_tracks:
        if len(track['frames']) < args.min_length:
            stats['short'] += 1
            continue
        if travel(track) < args.min_motion:
            stats['static'] += 1
            continue
        if np.mean(np.array(track['crowd']) > 0.1) > args.max_crowd:
            stats['crowded'] += 1
            continue
        samples, last = [], -10 ** 9
        for f, box in zip(track['frames'], track['boxes']):
            if f - last >= args.sample_every:
                samples.append((f, box, camera_of(f, start, end, args.cameras)))
                last = f
        if len({cam for _, _, cam in samples}) < 2:
            stats['one_camera'] += 1
            continue
        identities.append(dict(tracks=[track], samples=samples))
    if not identities:
        raise ValueError(f'no identity kept, nothing written: {no_identity_reason(stats, args)}')
    identities = merge_identities(identities, args.merge)
    for folder in FOLDERS.values():
        os.makedirs(osp.join(args.out_dir, folder), exist_ok=True)
    counts = dict(train_ids=0, test_ids=0, train=0, query=0, gallery=0)
    records = []
    to_crop: Dict[int, List[tuple]] = {}  # frame -> (path, box): crops are cut in a second pass
    for pid, ident in enumerate(identities, 1):
        split = 'train' if pid % 2 else 'test'
        counts[f'{split}_ids'] += 1
        seen_cams = set()
        for f, box, cam in ident['samples']:
            part = split
            if split == 'test':
                part = 'gallery' if cam in seen_cams else 'query'
                seen_cams.add(cam)
            name = f'{pid:04d}_c{cam}s1_{f:06d}_00.jpg'
            to_crop.setdefault(f, []).append((osp.join(args.out_dir, FOLDERS[part], name), box))
            counts[part] += 1
        records.append(dict(pid=pid, split=split, tracklets=[
            dict(frames=[int(f) for f in t['frames']],
                 boxes=[[round(float(v), 1) for v in b] for b in t['boxes']]) for t in ident['tracks']]))
    for idx, frame in iter_frames(args.video, args.every, start, end):
        for path, box in to_crop.get(idx, []):
            cv2.imwrite(path, crop(frame, box, args.pad, tuple(args.crop_size)),
                        [cv2.IMWRITE_JPEG_QUALITY, args.quality])
    stats.update(counts, identities=len(identities), merged=[list(m) for m in args.merge])
    with open(osp.join(args.out_dir, 'tracklets.json'), 'w') as f:
        json.dump(records, f)
    with open(osp.join(args.out_dir, 'stats.json'), 'w') as f:
        json.dump(stats, f, indent=2)
    return stats


def main(argv: Optional[List[str]] = None) -> dict:
    stats = build(parse_args(argv))
    print(json.dumps(stats))
    return stats


if __name__ == '__main__':
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'video_to_reid')
