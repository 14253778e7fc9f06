"""Person-crop datasets: folder trees, list files, sub-sampling, mixing, unreadable files."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
from cfg_paths import DEMO_CFG, NO_VALIDATION, small_vit_config
from mmengine.registry import DefaultScope

from saip_mm.datasets import MixedPersonDataset, PersonCropDataset
from saip_mm.datasets.person_crops import read_image

PIPELINE = [
    dict(type='Resize', scale=(128, 256), keep_ratio=False),
    dict(type='CopyPasteCanvas'),
    dict(type='BoxMaskTarget'),
    dict(type='PackSAIPInputs'),
]


def _crops(demo_root, n):
    with open(osp.join(demo_root, 'list.txt')) as f:
        return [osp.join(demo_root, line.split()[0]) for line in f][:n]


@pytest.fixture
def tree(tmp_path, demo_root):
    """6 good crops at several depths, plus a non-image .jpg, a zero-byte .jpg and a truncated .jpg."""
    root = tmp_path / 'persons'
    for i, src in enumerate(_crops(demo_root, 6)):
        sub = root / ('a' if i < 3 else 'a/b/c')
        sub.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, sub / f'good{i}.jpg')
    (root / 'a' / 'corrupt.jpg').write_bytes(os.urandom(2048))
    (root / 'a' / 'b' / 'empty.jpg').write_bytes(b'')
    return root


def _build(**kwargs):
    with DefaultScope.overwrite_default_scope('saip_mm'):
        return PersonCropDataset(pipeline=PIPELINE, **kwargs)


def test_folder_tree_recursive_and_skips_unreadable(tree):
    np.random.seed(0)
    ds = _build(data_root=str(tree), num_mix=1)
    assert len(ds) == 8  # listed at start-up, any depth
    reported = set()
    for i in range(len(ds)):
        sample = ds[i]
        assert tuple(sample['inputs']['anchor'].shape) == (3, 256, 128)
        reported |= set(sample['data_samples'].metainfo.get('skipped_files', ()))
    names = sorted(osp.basename(p) for p in ds.skipped)
    assert names == ['corrupt.jpg', 'empty.jpg']
    assert sorted(osp.basename(p) for p in reported) == names


def test_truncated_jpeg_is_unreadable(tmp_path, demo_root):
    data = open(_crops(demo_root, 1)[0], 'rb').read()
    (tmp_path / 'half.jpg').write_bytes(data[:len(data) // 2])
    (tmp_path / 'full.jpg').write_bytes(data)
    assert read_image(str(tmp_path / 'half.jpg')) is None
    assert read_image(str(tmp_path / 'full.jpg')).shape == (128, 64, 3)


def _list_folder(tmp_path, demo_root, listing):
    """3 real crops p0..p2.jpg and a list file with the given text."""
    root = tmp_path / 'persons'
    root.mkdir(exist_ok=True)
    for i, src in enumerate(_crops(demo_root, 3)):
        shutil.copy(src, root / f'p{i}.jpg')
    (root / 'list.txt').write_text(listing)
    return root


def test_list_file_missing_entries_are_named(tmp_path, demo_root):
    root = _list_folder(tmp_path, demo_root, 'p0.jpg 2.0\np1.jpg\nnope/missing.jpg\np2.jpg 0.5\n')
    with pytest.raises(FileNotFoundError, match=r'nope/missing.jpg \(line 3\)'):
        _build(data_root=str(root), ann_file='list.txt')
    (root / 'list.txt').write_text('p0.jpg 2.0\np1.jpg\np2.jpg 0.5\n')
    ds = _build(data_root=str(root), ann_file='list.txt')
    assert [ds.get_data_info(i)['weight'] for i in range(len(ds))] == [2.0, 1.0, 0.5]


def test_subsample_is_seeded(demo_root):
    a = _build(data_root=demo_root, ann_file='list.txt', num_samples=50, subsample_seed=1)
    b = _build(data_root=demo_root, ann_file='list.txt', num_samples=50, subsample_seed=1)
    c = _build(data_root=demo_root, ann_file='list.txt', num_samples=50, subsample_seed=2)
    paths = lambda d: [d.get_data_info(i)['img_path'] for i in range(len(d))]  # noqa: E731
    assert len(a) == 50 and paths(a) == paths(b) and paths(a) != paths(c)


def test_mixed_sources_follow_ratios(tree, demo_root):
    big = dict(type='PersonCropDataset', data_root=demo_root, ann_file='list.txt', pipeline=PIPELINE)
    small = dict(type='PersonCropDataset', data_root=str(tree), pipeline=PIPELINE)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        mixed = MixedPersonDataset([big, small], ratios=[3, 1], length=400, seed=0)
    assert len(mixed) == 400 and mixed.counts == [300, 100]
    sources = mixed.table[:, 0]
    assert (sources == 0).sum() == 300 and (sources == 1).sum() == 100
    # the small source (8 files) is up-sampled: every file appears 12 or 13 times
    counts = np.bincount(mixed.table[sources == 1, 1], minlength=8)
    assert counts.min() >= 12 and counts.max() <= 13
    assert tuple(mixed[0]['inputs']['canvas'].shape) == (3, 224, 224)


@pytest.mark.slow
def test_runner_logs_two_skipped_images(tree, root, tmp_path):
    """A real run over a folder with a corrupt and an empty JPEG reports 2 skipped images."""
    cmd = [sys.executable, 'tools/train.py', small_vit_config(tmp_path),
           '--work-dir', str(tmp_path / 'work'), '--cfg-options',
           f'train_dataloader.dataset.data_root={tree}', 'train_dataloader.dataset.ann_file=',
           'train_dataloader.dataset.background_dir=None', 'train_dataloader.batch_size=4',
           'train_dataloader.sampler.shuffle=False', 'train_dataloader.dataset.num_mix=0',
           'train_cfg.max_iters=2', 'custom_hooks.1.interval=2', 'model.csr=None', 'model.css=None',
           *NO_VALIDATION]
    out = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=root))
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert '2 unreadable image(s) skipped' in log, log[-3000:]


def test_browse_dataset_writes_grid(root, tmp_path):
    sys.path.insert(0, osp.join(root, 'tools', 'analysis'))
    import cv2
    from browse_dataset import main as browse
    out = str(tmp_path / 'grid.png')
    browse([osp.join(root, DEMO_CFG), '--out', out,
            '--num', '2', '--height', '128', '--cfg-options',
            f'train_dataloader.dataset.data_root={osp.join(root, "demo/persons")}'])
    grid = cv2.imread(out)
    # 2 rows of 128 px (+4 px separators); anchor, 2 views, canvas, target, masked view side by side
    assert grid.shape[0] == 2 * (128 + 4)
    assert grid.shape[1] > 6 * 60


def test_weighted_sampler_follows_list_weights(tmp_path, demo_root):
    from saip_mm.datasets import WeightedPersonSampler
    root = _list_folder(tmp_path, demo_root, 'p0.jpg 6\np1.jpg 3\np2.jpg 1\n')
    ds = _build(data_root=str(root), ann_file='list.txt')
    sampler = WeightedPersonSampler(ds, seed=0, num_samples=20000)
    freq = np.bincount(list(sampler), minlength=3) / 20000
    assert np.allclose(freq, [0.6, 0.3, 0.1], atol=0.02)
    again = list(WeightedPersonSampler(ds, seed=0, num_samples=50))
    assert again == list(WeightedPersonSampler(ds, seed=0, num_samples=50))
    sampler.set_epoch(1)
    assert list(sampler)[:50] != list(WeightedPersonSampler(ds, seed=0, num_samples=20000))[:50]


def _loads_per_sample(ds, n=3):
    """How many image files the dataset reads for each of its first ``n`` samples, and the samples."""
    counts, samples, original = [], [], ds._load
    calls = []
    ds._load = lambda path: (calls.append(path), original(path))[1]
    for i in range(n):
        calls.clear()
        samples.append(ds[i])
        counts.append(len(calls))
    return counts, samples


@pytest.mark.parametrize('canvas, expected', [
    (None, 1),  # a plain pipeline: the sample alone
    (dict(type='CopyPasteCanvas', max_instances=3), 1 + 2 + 1),  # 2 other people and a background
    (dict(type='CopyPasteCanvas', instance_views=(0, 1), layout='row'), 1 + 0 + 1),  # own views only
])
def test_extra_images_are_loaded_only_when_a_transform_asks(demo_root, canvas, expected):
    """mmdet's MultiImageMixDataset protocol: other crops come from get_indexes() of a transform that
    declares it, a background only for needs_background; a DINO-style multi-crop pipeline with the
    generic pack transform reads one file per sample and still gets its views."""
    crop = [dict(type='mmpretrain.RandomResizedCrop', scale=(64, 128), crop_ratio_range=(0.3, 1.0)),
            dict(type='Resize', scale=(64, 128), keep_ratio=False)]
    views = dict(type='mmpretrain.MultiView', num_views=[3], transforms=[crop])  # anchor + 2 views
    pipeline = [dict(type='Resize', scale=(64, 128), keep_ratio=False), views, dict(type='AssignViews')]
    pipeline += ([canvas, dict(type='BoxMaskTarget')] if canvas else []) + [dict(type='PackPretrainInputs')]
    with DefaultScope.overwrite_default_scope('saip_mm'):
        ds = PersonCropDataset(data_root=demo_root, ann_file='list.txt', background_dir='backgrounds',
                               pipeline=pipeline)
    np.random.seed(0)
    counts, samples = _loads_per_sample(ds)
    assert counts == [expected] * 3
    inputs = samples[0]['inputs']
    assert len(inputs['views']) == 2 and tuple(inputs['views'][0].shape) == (3, 128, 64)
    assert ('canvas' in inputs) == (canvas is not None)


def test_num_mix_overrides_what_the_pipeline_asks(demo_root):
    with DefaultScope.overwrite_default_scope('saip_mm'):
        ds = PersonCropDataset(data_root=demo_root, ann_file='list.txt', background_dir='backgrounds',
                               pipeline=PIPELINE, num_mix=1)
    np.random.seed(0)
    assert _loads_per_sample(ds)[0] == [1 + 1 + 1] * 3
