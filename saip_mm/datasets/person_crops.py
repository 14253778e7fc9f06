"""Single-person crop datasets for SAIP pretraining (LUPerson-style folders or list files)."""
import io
import logging
import os
import os.path as osp
import shlex
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import get
from mmengine.logging import print_log
from PIL import Image

from saip_mm.registry import DATASETS

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.ppm', '.pgm', '.tif', '.tiff')


def scan_images(root: str) -> List[str]:
    """Image files under ``root`` (recursive, any depth), as sorted relative paths."""
    found = []
    for dirpath, _, files in os.walk(root, followlinks=True):
        for name in files:
            if name.lower().endswith(IMG_EXTENSIONS):
                found.append(osp.relpath(osp.join(dirpath, name), root))
    return sorted(found)


def _has_end_marker(data: bytes) -> Optional[bool]:
    """Whether JPEG / PNG bytes end with their end marker (None for other formats)."""
    if data[:2] == b'\xff\xd8':
        return data.rstrip(b'\x00\r\n ').endswith(b'\xff\xd9')
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        return b'IEND' in data[-64:]
    return None


def is_truncated(data: bytes) -> bool:
    """Whether JPEG / PNG bytes are cut short (OpenCV decodes such files silently, with the missing
    part filled in).

    Files that end with their end marker are complete. For the others (cut short, or complete with
    bytes after the end marker, as some cameras and editors write them) a strict decode decides:
    Pillow refuses to decode truncated data and ignores bytes after the end marker.
    """
    if _has_end_marker(data) is not False:
        return False
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception:  # noqa: BLE001 - any failure of the strict decoder means "cut short"
        return True
    return False


def read_image(path: str) -> Optional[np.ndarray]:
    """Decode an image (BGR uint8), or None when the file is empty, truncated or not an image."""
    try:
        data = get(path)
        if not data:
            return None
        img = mmcv.imfrombytes(data, flag='color', backend='cv2')
        if img is None or img.size == 0 or is_truncated(data):
            return None
    except Exception:  # noqa: BLE001 - any decoding failure means "skip this file"
        return None
    return img


def _number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:
        return None


def parse_list_line(line: str, where: str, exists: Callable[[str], bool]) -> Optional[Tuple[str, float]]:
    """One line of a list file: ``PATH [WEIGHT]``.

    The path may hold spaces: separate the weight with a tab, quote the path (``"a b.jpg" 2``), or
    leave it unquoted when the last column is a number or there is no weight. Blank lines and lines
    starting with ``#`` are skipped (None).

    Args:
        line (str): The line.
        where (str): ``'<file>, line <n>'`` for the error messages.
        exists (callable): Whether a path exists (tells a bad weight from a path with spaces).

    Returns:
        tuple | None: ``(path, weight)``.

    Raises:
        ValueError: Naming ``where``, on a bad weight, unbalanced quotes or extra columns.
    """
    text = line.strip()
    if not text or text.startswith('#'):
        return None
    if '\t' in text:
        cols = [c.strip() for c in text.split('\t') if c.strip()]
    elif text[0] in '"\'':
        try:
            cols = shlex.split(text)
        except ValueError as e:
            raise ValueError(f'{where}: {e} in {text!r}') from None
    else:
        tokens = text.split()
        head, _, last = text.rpartition(' ')
        if exists(text):
            cols = [text]
        elif len(tokens) > 1 and exists(tokens[0]):
            cols = tokens  # an existing path followed by one or more columns
        elif head.strip() and _number(last) is not None:
            cols = [head.strip(), last]
        else:
            cols = [text]  # a missing path: the caller reports it
    if len(cols) > 2:
        raise ValueError(f'{where}: expected "PATH [WEIGHT]" (quote or tab-separate paths with '
                         f'spaces), got {len(cols)} columns: {text!r}')
    weight = 1.0
    if len(cols) == 2:
        weight = _number(cols[1])
        if weight is None or not np.isfinite(weight) or weight < 0:
            raise ValueError(f'{where}: the weight {cols[1]!r} of {cols[0]!r} is not a non-negative '
                             f'number')
    return cols[0], weight


@DATASETS.register_module()
class PersonCropDataset(BaseDataset):
    """Person crops read from a folder tree or a list file.

    Args:
        data_root (str): Root folder of the crops.
        ann_file (str): Optional list file of paths relative to ``data_root`` (one per line, optional
            second column = sampling weight, kept in ``weight``). Empty = scan ``data_root``.
        num_samples (int, optional): Sub-sample this many images with ``subsample_seed``.
        subsample_seed (int): Seed of the sub-sampling. Defaults to 0.
        num_mix (int, optional): Other crops loaded with every sample into ``mix_results``. None (the
            default) loads what the pipeline asks for, as mmdet's ``MultiImageMixDataset`` does: the
            indexes that each top-level transform with a ``get_indexes(dataset)`` method returns
            (``CopyPasteCanvas``: its other people), and a background only for a transform with
            ``needs_background``. A plain pipeline (DINO's multi-crop, MAE) loads the sample alone.
        background_dir (str, optional): Folder of background images for the canvas, absolute or
            under ``data_root`` (a relative one that is absent falls back, with a warning, to no
            folder); without it, a random other crop is the background.
        keypoint_file (str, optional): A json of per-crop keypoints, absolute or under ``data_root``:
            ``{"<path as in the list>": [[x, y, visible], ...17 in the COCO order]}`` in the crop's
            pixels (``build_hp_crops.py --keypoints`` writes it from COCO / AIC / CrowdPose
            annotations, ``tools/dataset_converters/predict_keypoints.py`` with any mmpose top-down
            model). Each sample then carries ``gt_keypoints`` ``(1, 17, 3)`` (HAP's part masks).
            Every image must have a record.
        pipeline (list): Transforms.
        max_refetch (int): Tries to replace an unreadable image. Defaults to 100.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 num_samples: Optional[int] = None,
                 subsample_seed: int = 0,
                 num_mix: Optional[int] = None,
                 background_dir: Optional[str] = None,
                 keypoint_file: Optional[str] = None,
                 pipeline: Sequence = (),
                 max_refetch: int = 100,
                 **kwargs) -> None:
        self.num_samples = num_samples
        self.subsample_seed = subsample_seed
        self.num_mix = num_mix
        self.background_dir = background_dir
        self.keypoint_file = keypoint_file
        self.skipped: List[str] = []
        self._pending: List[str] = []
        self.backgrounds: List[str] = []
        super().__init__(
            ann_file=ann_file, data_root=data_root, pipeline=list(pipeline),
            max_refetch=max_refetch, **kwargs)
        if background_dir:
            self.backgrounds = self._find_backgrounds(background_dir)

    def _find_backgrounds(self, background_dir: str) -> List[str]:
        """Background images: an absolute ``background_dir`` must exist; a relative one (under
        ``data_root``) may be absent, so that a config written for one crop folder (the demo's
        ``backgrounds/``) runs on any other, with random other crops as backgrounds and a warning."""
        bg_root = background_dir if osp.isabs(background_dir) else osp.join(
            self.data_root or '', background_dir)
        if not osp.isdir(bg_root) and not osp.isabs(background_dir):
            print_log(f'no background folder {bg_root}: the canvas backgrounds are random other '
                      f'crops (set background_dir=None to say so, or point it at a folder)',
                      logger='current', level=logging.WARNING)
            return []
        found = [osp.join(bg_root, p) for p in scan_images(bg_root)] if osp.isdir(bg_root) else []
        if not found:
            raise FileNotFoundError(f'no background images found in {bg_root}')
        return found

    def load_data_list(self) -> List[dict]:
        if self.ann_file:
            entries = self._read_list(self.ann_file)
        else:
            if not osp.isdir(self.data_root):
                raise FileNotFoundError(f'data_root {self.data_root} is not a folder')
            entries = [(p, 1.0) for p in scan_images(self.data_root)]
            if not entries:
                raise FileNotFoundError(f'no images found under {self.data_root}')
        if self.num_samples is not None and self.num_samples < len(entries):
            rng = np.random.default_rng(self.subsample_seed)
            keep = np.sort(rng.choice(len(entries), self.num_samples, replace=False))
            entries = [entries[i] for i in keep]
        data = [dict(img_path=osp.join(self.data_root, p), weight=w) for p, w in entries]
        if self.keypoint_file:
            keypoints = self._read_keypoints([p for p, _ in entries])
            for info, (path, _) in zip(data, entries):
                info['gt_keypoints'] = keypoints[path]
        return data

    def _read_keypoints(self, paths: List[str]) -> Dict[str, np.ndarray]:
        """The ``keypoint_file`` records of ``paths``, as ``(1, 17, 3)`` float32 arrays.

        Raises:
            FileNotFoundError / ValueError: Naming the file, and the record or the images at fault.
        """
        import json
        path = self.keypoint_file if osp.isabs(self.keypoint_file) else osp.join(self.data_root,
                                                                                   self.keypoint_file)
        if not osp.isfile(path):
            raise FileNotFoundError(f'keypoint_file {path} does not exist')
        try:
            with open(path, encoding='utf-8') as f:
                records = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f'keypoint_file {path} is not json ({e})') from None
        if not isinstance(records, dict):
            raise ValueError(f'keypoint_file {path} must map image paths to keypoint lists, got a '
                             f'{type(records).__name__}')
        out = {}
        for p in paths:
            if p not in records:
                continue
            arr = np.asarray(records[p], dtype=np.float32)
            if arr.shape != (17, 3):
                raise ValueError(f'keypoint_file {path}: the record of {p!r} has shape {arr.shape}, '
                                 'expected 17 [x, y, visible] rows in the COCO order')
            out[p] = arr[None]
        missing = [p for p in paths if p not in out]
        if missing:
            raise ValueError(f'keypoint_file {path} has no record for {len(missing)} of {len(paths)} '
                             f"images, e.g. {', '.join(missing[:3])}")
        return out

    def _read_list(self, ann_file: str) -> List[tuple]:
        entries, missing = [], []
        with open(ann_file, encoding='utf-8') as f:
            for line_no, line in enumerate(f, 1):
                entry = parse_list_line(line, f'{ann_file}, line {line_no}',
                                        lambda p: osp.isfile(osp.join(self.data_root, p)))
                if entry is None:
                    continue
                entries.append(entry)
                if not osp.isfile(osp.join(self.data_root, entry[0])):
                    missing.append(f'{entry[0]} (line {line_no})')
        if missing:
            shown = ', '.join(missing[:5])
            raise FileNotFoundError(f'{ann_file}: {len(missing)} listed file(s) do not exist under '
                                    f'{self.data_root}: {shown}')
        if not entries:
            raise ValueError(f'{ann_file} lists no images')
        return entries

    def _load(self, path: str) -> Optional[np.ndarray]:
        img = read_image(path)
        if img is None:
            self._pending.append(path)
            if path not in self.skipped:
                self.skipped.append(path)
                warnings.warn(f'skipped unreadable image {path} ({len(self.skipped)} so far)')
        return img

    def _random_readable(self) -> Optional[np.ndarray]:
        for _ in range(self.max_refetch):
            img = self._load(self.get_data_info(np.random.randint(len(self)))['img_path'])
            if img is not None:
                return img
        return None

    def _load_index(self, idx: int) -> Optional[np.ndarray]:
        """Crop ``idx``, or a random readable one if it cannot be read."""
        img = self._load(self.get_data_info(idx)['img_path'])
        return img if img is not None else self._random_readable()

    def _extra_inputs(self) -> Dict:
        """The other crops and the background that the pipeline's transforms ask for (``num_mix``)."""
        transforms = getattr(self.pipeline, 'transforms', [])
        if self.num_mix is not None:
            indexes = [np.random.randint(len(self)) for _ in range(self.num_mix)]
        else:
            indexes = [i for t in transforms if hasattr(t, 'get_indexes') for i in t.get_indexes(self)]
        extra: Dict = {}
        if indexes or self.num_mix is not None:
            extra['mix_results'] = [dict(img=m) for m in map(self._load_index, indexes) if m is not None]
        if any(getattr(t, 'needs_background', False) for t in transforms):
            if self.backgrounds:
                extra['background'] = self._load(self.backgrounds[np.random.randint(len(self.backgrounds))])
            else:
                extra['background'] = self._random_readable()
        return extra

    def __getitem__(self, idx: int) -> Dict:
        """Like mmengine's, but an unreadable image is replaced by a random readable one and its path
        travels with the sample (``data_samples.skipped_files``), so that the ``SkippedImagesHook``
        counts skips made in dataloader worker processes too."""
        if not self._fully_initialized:
            self.full_init()
        self._pending = []
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is not None:
                if self._pending and 'data_samples' in data:
                    data['data_samples'].set_metainfo(
                        dict(skipped_files=sorted(set(self._pending))))
                return data
            idx = self._rand_another()
        raise RuntimeError(f'{self.max_refetch} images in a row could not be read, the last '
                           f'{self._pending[-1]}; check the dataset at {self.data_root}')

    def prepare_data(self, idx: int) -> Optional[Dict]:
        """Load the crop (None when unreadable, so that mmengine fetches another one) and what the
        pipeline asks for besides (``num_mix``), then run the pipeline."""
        info = self.get_data_info(idx)
        img = self._load(info['img_path'])
        if img is None:
            return None
        results = dict(info, img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        results.update(self._extra_inputs())
        return self.pipeline(results)
