"""Single-person crop datasets for SAIP pretraining (LUPerson-style folders or list files)."""
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import get

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


def is_truncated(data: bytes) -> bool:
    """Whether JPEG / PNG bytes lack their end marker (OpenCV decodes such files silently, with the
    missing part filled in)."""
    if data[:2] == b'\xff\xd8':
        return not data.rstrip(b'\x00\r\n ').endswith(b'\xff\xd9')
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        return b'IEND' not in data[-64:]
    return False


def read_image(path: str) -> Optional[np.ndarray]:
    """Decode an image (BGR uint8), or None when the file is empty, truncated or not an image."""
    try:
        data = get(path)
        if not data or is_truncated(data):
            return None
        img = mmcv.imfrombytes(data, flag='color', backend='cv2')
    except Exception:  # noqa: BLE001 - any decoding failure means "skip this file"
        return None
    if img is None or img.size == 0:
        return None
    return img


@DATASETS.register_module()
class PersonCropDataset(BaseDataset):
    """Person crops read from a folder tree or a list file.

    Args:
        data_root (str): Root folder of the crops.
        ann_file (str): Optional list file of paths relative to ``data_root`` (one per line, optional
            second column = sampling weight, kept in ``weight``). Empty = scan ``data_root``.
        num_samples (int, optional): Sub-sample this many images with ``subsample_seed``.
        subsample_seed (int): Seed of the sub-sampling. Defaults to 0.
        num_mix (int): Other crops loaded with every sample for copy-paste. Defaults to 2.
        background_dir (str, optional): Folder of background images for the canvas; without it, a
            random other crop is the background.
        pipeline (list): Transforms.
        max_refetch (int): Tries to replace an unreadable image. Defaults to 100.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 num_samples: Optional[int] = None,
                 subsample_seed: int = 0,
                 num_mix: int = 2,
                 background_dir: Optional[str] = None,
                 pipeline: Sequence = (),
                 max_refetch: int = 100,
                 **kwargs) -> None:
        self.num_samples = num_samples
        self.subsample_seed = subsample_seed
        self.num_mix = num_mix
        self.background_dir = background_dir
        self.skipped: List[str] = []
        self._pending: List[str] = []
        self.backgrounds: List[str] = []
        super().__init__(
            ann_file=ann_file, data_root=data_root, pipeline=list(pipeline),
            max_refetch=max_refetch, **kwargs)
        if background_dir:
            bg_root = background_dir if osp.isabs(background_dir) else osp.join(
                self.data_root or '', background_dir)
            self.backgrounds = [osp.join(bg_root, p) for p in scan_images(bg_root)]
            if not self.backgrounds:
                raise FileNotFoundError(f'no background images found in {bg_root}')

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
        return [dict(img_path=osp.join(self.data_root, p), weight=w) for p, w in entries]

    def _read_list(self, ann_file: str) -> List[tuple]:
        entries, missing = [], []
        with open(ann_file, encoding='utf-8') as f:
            for line_no, line in enumerate(f, 1):
                parts = line.strip().split()
                if not parts:
                    continue
                weight = float(parts[1]) if len(parts) > 1 else 1.0
                entries.append((parts[0], weight))
                if not osp.isfile(osp.join(self.data_root, parts[0])):
                    missing.append(f'{parts[0]} (line {line_no})')
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
        """Load the crop (None when unreadable, so that mmengine fetches another one), the crops to
        mix and a background, then run the pipeline."""
        info = self.get_data_info(idx)
        img = self._load(info['img_path'])
        if img is None:
            return None
        results = dict(info, img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        results['mix_results'] = [dict(img=m) for m in
                                  (self._random_readable() for _ in range(self.num_mix))
                                  if m is not None]
        if self.backgrounds:
            bg = self._load(self.backgrounds[np.random.randint(len(self.backgrounds))])
        else:
            bg = self._random_readable()
        results['background'] = bg
        return self.pipeline(results)
