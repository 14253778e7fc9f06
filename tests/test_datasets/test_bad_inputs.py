"""Fault injection: data nobody here prepared, config typos and bad files (issue 14, items 1-13).

Each test names the item it covers. Item 4 (unknown keys under ``model.csm/csr/css``, one mask ratio)
is covered by ``test_models/test_algorithms/test_saip.py::test_objective_option_typos_raise`` and
its neighbours.
"""
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT, SMALL_VIT, small_vit_config
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

SAMPLES = osp.join(ROOT, 'tests', 'data', 'mmpose_samples')
CONVERTERS = osp.join(ROOT, 'tools', 'dataset_converters')
sys.path.insert(0, CONVERTERS)
sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))
import build_hp_crops  # noqa: E402
from hp_formats import FormatError  # noqa: E402
from saip2backbone import main as export  # noqa: E402


def _coco_image(k=0):
    with open(osp.join(SAMPLES, 'coco', 'test_coco.json')) as f:
        data = json.load(f)
    im = data['images'][k]
    anns = [a for a in data['annotations'] if a['image_id'] == im['id'] and not a.get('iscrowd')]
    return im, anns


def _build(out, *sources, extra=()):
    args = ['--out-dir', str(out), '--workers', '1', '--pad', '0', '--ext', 'png', *extra]
    for s in sources:
        args += ['--source', *s]
    return build_hp_crops.main(args)


def _two_videos(tmp_path):
    """PoseTrack-like: two folders, each with a '000000.jpg' holding a different picture, and a COCO
    json with one person box in each."""
    im0, anns0 = _coco_image(0)
    im1, anns1 = _coco_image(1)
    a0, a1 = (next(a for a in anns if a['bbox'][2] >= 32 and 1 <= a['bbox'][3] / a['bbox'][2] <= 5)
              for anns in (anns0, anns1))
    images = tmp_path / 'images'
    for name, im in (('video_a', im0), ('video_b', im1)):
        (images / name).mkdir(parents=True)
        shutil.copy(osp.join(SAMPLES, 'coco', im['file_name']), images / name / '000000.jpg')
    ann = dict(images=[dict(id=1, file_name='video_a/000000.jpg'),
                       dict(id=2, file_name='video_b/000000.jpg')],
               annotations=[dict(a0, id=10, image_id=1), dict(a1, id=10, image_id=2)],
               categories=[dict(id=1, name='person')])
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    return images, tmp_path / 'ann.json', [a0['bbox'], a1['bbox']]


def _box_pixels(path, box):
    img = cv2.imread(str(path))
    x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
    x2 = min(img.shape[1], int(np.ceil(box[0] + box[2])))
    y2 = min(img.shape[0], int(np.ceil(box[1] + box[3])))
    return img[y1:y2, x1:x2]


# ---------------------------------------------------------------- 1-3, 9: build_hp_crops.py
def test_same_named_images_in_two_folders_keep_both_people(tmp_path):  # item 1
    images, ann, boxes = _two_videos(tmp_path)
    out = tmp_path / 'hp'
    stats = _build(out, ('pt', 'coco', str(ann), str(images)))['sources']['pt']
    lines = (out / 'list.txt').read_text().split()
    assert stats['crops'] == 2 and len(set(lines)) == 2
    for line, video, box in zip(sorted(lines), ('video_a', 'video_b'), boxes):
        assert f'/{video}/' in line
        assert np.array_equal(cv2.imread(str(out / line)), _box_pixels(images / video / '000000.jpg', box))
    again = _build(out, ('pt', 'coco', str(ann), str(images)))['sources']['pt']
    assert again['existing'] == again['crops'] == 2


def test_mostly_missing_images_fail_naming_them(tmp_path):  # item 2
    """A HumanArt-style json (file_name 'HumanArt/images/...') built with the HumanArt folder as
    IMAGE_DIR (the old docstring's example) finds no image and fails, naming the paths it tried; the
    folder that holds HumanArt/ (the fixed example) works."""
    im, _ = _coco_image(0)
    data = tmp_path / 'data'
    (data / 'HumanArt' / 'images' / 'cartoon').mkdir(parents=True)
    shutil.copy(osp.join(SAMPLES, 'coco', im['file_name']), data / 'HumanArt/images/cartoon/000000000001.jpg')
    _, anns = _coco_image(0)
    ann = dict(images=[dict(id=1, file_name='HumanArt/images/cartoon/000000000001.jpg')],
               annotations=[dict(a, image_id=1) for a in anns], categories=[dict(id=1, name='person')])
    (data / 'HumanArt' / 'ann.json').write_text(json.dumps(ann))
    with pytest.raises(FileNotFoundError, match=r'1 of 1 images are missing.*HumanArt/HumanArt/images/'):
        _build(tmp_path / 'hp', ('ha', 'coco', str(data / 'HumanArt/ann.json'), str(data / 'HumanArt')))
    assert _build(tmp_path / 'hp', ('ha', 'coco', str(data / 'HumanArt/ann.json'), str(data)))['total'] > 0
    doc = build_hp_crops.__doc__
    assert 'training_humanart_coco.json data\n' in doc and 'training_humanart.json data/HumanArt' not in doc


def test_incremental_list_and_changed_options_recrop(tmp_path):  # item 3
    images, ann, _ = _two_videos(tmp_path)
    coco = ('coco', 'coco', osp.join(SAMPLES, 'coco', 'test_coco.json'), osp.join(SAMPLES, 'coco'))
    pt = ('pt', 'coco', str(ann), str(images))
    out = tmp_path / 'hp'
    n_coco = _build(out, coco)['total']
    # a second run with another source keeps the first source's crops in list.txt
    result = _build(out, pt)
    lines = (out / 'list.txt').read_text().split()
    assert result['total'] == len(lines) == n_coco + 2
    assert sum(line.startswith('crops/coco/') for line in lines) == n_coco
    assert set(result['sources']) == {'coco', 'pt'}
    # changed options re-crop that source (no stale crop reused), unchanged ones reuse
    before = {p: cv2.imread(str(out / p)).shape for p in lines if p.startswith('crops/pt/')}
    stats = _build(out, pt, extra=('--pad', '0.2'))['sources']['pt']  # extra after: overrides --pad 0
    assert stats['existing'] == 0
    after = {p: cv2.imread(str(out / p)).shape for p in before}
    assert all(after[p] >= before[p] for p in before) and any(after[p] != before[p] for p in before)
    assert _build(out, pt, extra=('--pad', '0.2'))['sources']['pt']['existing'] == 2
    assert len((out / 'list.txt').read_text().split()) == n_coco + 2


@pytest.mark.parametrize('fmt,make,expected', [
    ('aic', lambda d: _write(d / 'a.json', open(osp.join(SAMPLES, 'coco', 'test_coco.json')).read()),
     r'a\.json holds a json dict, expected a list'),
    ('coco', lambda d: _write(d / 'a.json', '[{"image_id": "x", "human_annotations": {}}]'),
     r'a\.json holds a json list, expected a dict'),
    ('coco', lambda d: _write(d / 'a.json', '{"images": [{"id": 1, "file_name": "x.jpg"}], '
                                            '"annotations": [{"image_id": 1, "category_id": 1}]}'),
     r"a\.json does not fit format coco \(KeyError: 'bbox'\); expected a COCO json"),
    ('crowdhuman', lambda d: _write(d / 'a.odgt', '{"ID": "x", "gtboxes": [{"tag": "person"}]}\n'),
     r"a\.odgt does not fit format crowdhuman \(KeyError: 'fbox'\)"),
    ('instance_png', lambda d: _write(d / 'a.json', '{}'),
     r'a\.json is a file; format instance_png expects a folder'),
    ('coco', lambda d: (d / 'a.json').mkdir(), r'a\.json is a folder; format coco expects a COCO json'),
    ('mhp', lambda d: (d / 'empty').mkdir(), r'empty lists no images; expected a folder of per-person PNGs'),
    ('coco', lambda d: _write(d / 'a.json', 'not json'), r'a\.json is not json'),
    ('mpii', lambda d: _write(d / 'a.mat', 'MATLAB 5.0'), r"a\.mat is MPII's \.mat release"),
])
def test_mismatched_annotation_names_file_and_layout(tmp_path, fmt, make, expected):  # item 9
    made = make(tmp_path)
    ann = made if made is not None else next(p for p in tmp_path.iterdir())
    with pytest.raises(FormatError, match=expected):
        _build(tmp_path / 'hp', ('src', fmt, str(ann), osp.join(SAMPLES, 'coco')))
    assert not (tmp_path / 'hp' / 'list.txt').exists()


def _write(path, text):
    path.write_text(text)
    return path


def test_refusals_are_one_line_with_a_non_zero_exit(tmp_path):  # item 9
    (tmp_path / 'a.json').write_text('{}')
    out = subprocess.run([sys.executable, osp.join(CONVERTERS, 'build_hp_crops.py'), '--out-dir',
                          str(tmp_path / 'hp'), '--source', 'x', 'coco', str(tmp_path / 'a.json'),
                          str(tmp_path / 'a.json')], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and 'image folder of source x is not a folder' in err[0] and 'a.json' in err[0]


def test_mpii_center_scale_format(tmp_path):  # item 9
    """mmpose's MPII json: box = 200·scale high around the centre, as wide as the visible joints."""
    im, anns = _coco_image(2)
    a = max(anns, key=lambda a: a['bbox'][3])
    x, y, w, h = a['bbox']
    joints = [[x + 0.2 * w, y + 0.1 * h], [x + 0.8 * w, y + 0.9 * h], [0, 0]]
    item = dict(image=im['file_name'], center=[x + w / 2, y + h / 2], scale=h / 200, joints=joints,
                joints_vis=[1, 1, 0])
    (tmp_path / 'mpii.json').write_text(json.dumps([item]))
    out = tmp_path / 'hp'
    stats = _build(out, ('mpii', 'mpii', str(tmp_path / 'mpii.json'), osp.join(SAMPLES, 'coco')))
    assert stats['total'] == 1
    crop = cv2.imread(str(out / (out / 'list.txt').read_text().split()[0]))
    # 200·scale high around the centre; as wide as the joints' reach from the centre (0.3 w) plus
    # 0.1 h on each side; clipped to the image
    half_w = 0.3 * w + 0.1 * h
    x1, x2 = max(0, int(np.floor(x + w / 2 - half_w))), min(im['width'], int(np.ceil(x + w / 2 + half_w)))
    y1, y2 = max(0, int(np.floor(y))), min(im['height'], int(np.ceil(y + h)))
    assert crop.shape[:2] == (y2 - y1, x2 - x1)


# ---------------------------------------------------------------- 5: sampler
def test_weighted_sampler_on_a_mixture_and_from_cfg_options(demo_root):  # item 5
    from saip_mm.datasets import MixedPersonDataset, WeightedPersonSampler
    from saip_mm.registry import DATA_SAMPLERS
    ds = dict(type='PersonCropDataset', data_root=demo_root, ann_file='list.txt', num_mix=0)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        mixed = MixedPersonDataset([ds, dict(ds, num_samples=20)], ratios=[3, 1], length=40)
        assert mixed.get_data_info(35)['source'] == 1 and 'weight' in mixed.get_data_info(0)
        sampler = WeightedPersonSampler(mixed, seed=0)
        assert len(list(sampler)) == 40 and max(sampler) < 40
        # what --cfg-options train_dataloader.sampler.type=WeightedPersonSampler leaves behind
        cfg = dict(type='WeightedPersonSampler', shuffle=True, dataset=mixed, seed=0)
        assert list(DATA_SAMPLERS.build(cfg)) == list(sampler)
        with pytest.raises(ValueError, match='shuffle=False is not supported'):
            DATA_SAMPLERS.build(dict(cfg, shuffle=False))
        with pytest.raises(TypeError, match='list has none'):
            WeightedPersonSampler([1, 2, 3])


# ---------------------------------------------------------------- 6: demo config anywhere
def test_demo_config_runs_from_any_folder_on_any_crops(tmp_path, demo_root, monkeypatch):  # item 6
    monkeypatch.chdir(tmp_path)  # not the repository root
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    assert osp.isfile(osp.join(cfg.train_dataloader.dataset.data_root, 'list.txt'))
    assert osp.isfile(osp.join(cfg.val_dataloader.dataset.data_root, 'query', os.listdir(
        osp.join(cfg.val_dataloader.dataset.data_root, 'query'))[0]))
    # another crop folder, without a backgrounds/ subfolder: loads, canvas backgrounds from crops
    other = tmp_path / 'crops'
    other.mkdir()
    for name in sorted(os.listdir(osp.join(demo_root, 'crops')))[:6]:
        shutil.copy(osp.join(demo_root, 'crops', name), other / name)
    ds_cfg = dict(cfg.train_dataloader.dataset, data_root=str(other), ann_file='')
    from saip_mm.registry import DATASETS
    with DefaultScope.overwrite_default_scope('saip_mm'):
        ds = DATASETS.build(ds_cfg)
        assert len(ds) == 6 and ds.backgrounds == []
        assert tuple(ds[0]['inputs']['canvas'].shape)[0] == 3
        with pytest.raises(FileNotFoundError, match='no background images found in /nonexistent'):
            DATASETS.build(dict(ds_cfg, background_dir='/nonexistent'))


# ---------------------------------------------------------------- 7: skipped-image reports
@pytest.mark.slow
def test_every_skip_reaches_the_log_with_a_current_count(tmp_path, demo_root):  # item 7
    crops = tmp_path / 'crops'
    crops.mkdir()
    names = sorted(os.listdir(osp.join(demo_root, 'crops')))[:3]
    for name in names:
        shutil.copy(osp.join(demo_root, 'crops', name), crops / name)
    (crops / 'zz_corrupt.jpg').write_bytes(os.urandom(1024))
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.update(batch_size=4, sampler=dict(type='DefaultSampler', shuffle=False))
    cfg.train_dataloader.dataset.update(data_root=str(crops), ann_file='', num_mix=0, background_dir=None)
    cfg.train_cfg.max_iters = 4
    cfg.default_hooks.logger.interval = 2
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.custom_hooks = [dict(type='ExpertEMAHook'), dict(type='SkippedImagesHook', interval=2)]
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.model.csr = cfg.model.css = None
    cfg.model.backbone.update(SMALL_VIT)
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    # the same file in both intervals: two reports, not one swallowed as a repeated warning
    reports = [line for line in log.splitlines() if 'unreadable image(s) skipped' in line]
    assert len(reports) == 2, log[-3000:]
    assert 'iterations 1-2' in reports[0] and 'iterations 3-4' in reports[1]
    assert all('zz_corrupt.jpg' in r for r in reports)
    listed = open(osp.join(cfg.work_dir, 'skipped_images.txt')).read().split()
    assert listed == [str(crops / 'zz_corrupt.jpg')]
    # the count logged at iteration 2 is that iteration's, not the previous interval's
    scalars = [json.loads(line) for line in open(osp.join(runner.log_dir, 'vis_data', 'scalars.json'))]
    logged = {s['iter']: s['skipped_images'] for s in scalars if 'skipped_images' in s}
    assert logged[2] == 1 and logged[4] == 1, logged
    # item 13: no per-parameter "requires_grad=False" warnings, one summary line
    assert 'requires_grad=False' not in log.replace('(requires_grad=False, under', '')
    assert re.search(r"\d+ frozen parameters \(requires_grad=False, under \[.*'expert'.*\]\) are not "
                     r'optimised', log)


# ---------------------------------------------------------------- 8: JPEG with trailing bytes
def test_jpeg_with_bytes_after_its_end_marker_is_read(tmp_path, demo_root):  # item 8
    from saip_mm.datasets.person_crops import read_image
    src = osp.join(demo_root, 'crops', sorted(os.listdir(osp.join(demo_root, 'crops')))[0])
    data = open(src, 'rb').read()
    (tmp_path / 'tail.jpg').write_bytes(data + b'\x00' * 7 + b'EXTRA-CAMERA-DATA' * 20)
    (tmp_path / 'cut.jpg').write_bytes(data[:len(data) * 2 // 3])
    img = read_image(str(tmp_path / 'tail.jpg'))
    assert img is not None and np.array_equal(img, cv2.imread(src))
    assert read_image(str(tmp_path / 'cut.jpg')) is None


# ---------------------------------------------------------------- 10: saip2backbone.py
def test_exporter_says_what_a_non_saip_file_is(tmp_path, saip_backbone):  # item 10
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty\.pth is empty \(0 bytes\); expected a SAIP checkpoint'):
        export([str(tmp_path / 'empty.pth'), str(tmp_path / 'o.pth')])
    (tmp_path / 'notes.pth').write_text('epoch 1 loss 0.3\n' * 20)
    with pytest.raises(ValueError, match=r'notes\.pth is not a PyTorch checkpoint'):
        export([str(tmp_path / 'notes.pth'), str(tmp_path / 'o.pth')])
    from mmpretrain.models import ImageClassifier
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        vit_s = ImageClassifier(backbone=dict(type='VisionTransformer', arch='deit-small', img_size=224),
                                neck=None, head=dict(type='LinearClsHead', num_classes=10, in_channels=384))
    torch.save(dict(state_dict=vit_s.state_dict(), meta={}), tmp_path / 'vit_s.pth')
    with pytest.raises(ValueError, match=r'not a SAIP checkpoint: a supervised model .*a ViT of width '
                                         r'384 and depth 12'):
        export([str(tmp_path / 'vit_s.pth'), str(tmp_path / 'o.pth')])
    # a SAIP student without a class token: its position table has 16x8 entries, no extra one
    state = torch.load(osp.join(osp.dirname(saip_backbone[0]), 'saip.pth'))['state_dict']
    state.pop('backbone.cls_token')
    state['backbone.pos_embed'] = state['backbone.pos_embed'][:, 1:]
    torch.save(dict(state_dict=state, meta={}), tmp_path / 'nocls.pth')
    out = export([str(tmp_path / 'nocls.pth'), str(tmp_path / 'nocls_b.pth'), '--target-size', '256', '192'])
    assert out['backbone.pos_embed'].shape == (1, 16 * 12, 192)
    assert json.load(open(str(tmp_path / 'nocls_b.pth') + '.keymap.json'))['grid'] == [16, 12]


# ---------------------------------------------------------------- 11: list files
def test_list_file_errors_name_file_and_line_and_paths_may_hold_spaces(tmp_path, demo_root):  # item 11
    from saip_mm.datasets import PersonCropDataset
    src = [osp.join(demo_root, 'crops', n) for n in sorted(os.listdir(osp.join(demo_root, 'crops')))[:3]]
    (tmp_path / 'my crops').mkdir()
    for i, s in enumerate(src):
        shutil.copy(s, tmp_path / 'my crops' / f'person {i}.jpg')

    def load(text):
        (tmp_path / 'list.txt').write_text(text)
        with DefaultScope.overwrite_default_scope('saip_mm'):
            ds = PersonCropDataset(data_root=str(tmp_path), ann_file='list.txt', num_mix=0)
        return [(osp.relpath(ds.get_data_info(i)['img_path'], tmp_path), ds.get_data_info(i)['weight'])
                for i in range(len(ds))]

    got = load('"my crops/person 0.jpg" 2\nmy crops/person 1.jpg\t0.5\nmy crops/person 2.jpg\n# note\n')
    assert got == [('my crops/person 0.jpg', 2.0), ('my crops/person 1.jpg', 0.5),
                   ('my crops/person 2.jpg', 1.0)]
    with pytest.raises(ValueError, match=r"list\.txt, line 2: the weight 'heavy' of 'my crops/person 1"):
        load('my crops/person 0.jpg\nmy crops/person 1.jpg\theavy\n')
    with pytest.raises(ValueError, match=r'list\.txt, line 1: No closing quotation'):
        load('"my crops/person 0.jpg 2\n')
    with pytest.raises(FileNotFoundError, match=r'my crops/person 9\.jpg \(line 1\)'):
        load('my crops/person 9.jpg 1.0\n')


# ---------------------------------------------------------------- 12: harvester threshold
def test_harvester_default_threshold_depends_on_the_detector():  # item 12
    import video_to_person_crops
    import video_to_reid
    assert video_to_person_crops.parse_args(['v.avi', '--out-dir', 'x']).min_score == 1.5
    det = video_to_person_crops.parse_args(['v.avi', '--out-dir', 'x', '--det-config', 'c.py'])
    assert det.min_score == 0.5  # mmdet scores are probabilities
    given = video_to_person_crops.parse_args(['v.avi', '--out-dir', 'x', '--min-score', '0.7'])
    assert given.min_score == 0.7
    assert video_to_reid.parse_args(['v.avi', '--out-dir', 'x']).min_score == 0.5  # the shipped set's


# ---------------------------------------------------------------- 13: what a user sees
@pytest.mark.slow
def test_log_lines_start_below_the_progress_bar(tmp_path):  # item 13
    cmd = [sys.executable, 'tools/train.py', small_vit_config(tmp_path), '--work-dir',
           str(tmp_path / 'w'), '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=100',
           'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2', 'model.csr=None',
           'model.css=None', 'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None']
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.split('\n')
    logged = [line for line in lines if 'Iter(train)' in line]
    assert len(logged) == 3, out.stdout[-3000:]
    # a log line never continues a line the bar drew on
    assert not any('task/s' in line for line in logged), logged
    assert any('task/s' in line for line in lines)  # the bar was drawn
    assert 'requires_grad=False' not in out.stdout.replace('(requires_grad=False, under', '')
