"""Dataset builders: HP1M crops from annotated datasets, person crops harvested from video."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
from cfg_paths import DATA, ROOT

TOOLS = osp.join(ROOT, 'tools', 'dataset_converters')
sys.path.insert(0, TOOLS)
import build_hp_crops  # noqa: E402
import video_to_person_crops  # noqa: E402

SAMPLES = osp.join(DATA, 'mmpose_samples')


def _expected(boxes, min_size=32, aspect=(1.0, 5.0)):
    return [b for b in boxes if b[2] >= min_size and b[3] >= min_size
            and aspect[0] <= b[3] / b[2] <= aspect[1]]


def _coco():
    with open(osp.join(SAMPLES, 'coco', 'test_coco.json')) as f:
        return json.load(f)


def test_coco_crops_count_and_pixels(tmp_path):
    data = _coco()
    boxes = [a['bbox'] for a in data['annotations'] if not a.get('iscrowd', 0)]
    out = tmp_path / 'hp'
    result = build_hp_crops.main([
        '--out-dir', str(out), '--pad', '0', '--ext', 'png', '--workers', '2',
        '--source', 'coco', 'coco', osp.join(SAMPLES, 'coco', 'test_coco.json'),
        osp.join(SAMPLES, 'coco')])
    keep = _expected(boxes)
    assert 0 < len(keep) < len(boxes)  # the filters do drop some boxes here
    assert result['sources']['coco']['crops'] == len(keep)
    lines = (out / 'list.txt').read_text().split()
    assert len(lines) == len(keep)
    # every crop holds exactly the pixels of its box
    by_id = {im['id']: im['file_name'] for im in data['images']}
    per_image = {}
    for a in data['annotations']:
        per_image.setdefault(a['image_id'], []).append(a)
    for image_id, anns in per_image.items():
        img = cv2.imread(osp.join(SAMPLES, 'coco', by_id[image_id]))
        stem = osp.splitext(by_id[image_id])[0]
        for a in anns:
            b = a['bbox']
            path = out / 'crops' / 'coco' / f"{stem}_{a['id']}.png"
            if b not in keep:
                assert not path.exists()
                continue
            x1, y1 = int(np.floor(b[0])), int(np.floor(b[1]))
            x2 = min(img.shape[1], int(np.ceil(b[0] + b[2])))
            y2 = min(img.shape[0], int(np.ceil(b[1] + b[3])))
            assert np.array_equal(cv2.imread(str(path)), img[y1:y2, x1:x2])
    stats = json.loads((out / 'stats.json').read_text())
    assert stats['sources']['coco']['dropped']['too_small'] + \
        stats['sources']['coco']['dropped'].get('aspect', 0) == len(boxes) - len(keep)
    assert sum(stats['sources']['coco']['height_hist']) == len(keep)


def test_resumable(tmp_path):
    args = ['--out-dir', str(tmp_path), '--workers', '1', '--source', 'coco', 'coco',
            osp.join(SAMPLES, 'coco', 'test_coco.json'), osp.join(SAMPLES, 'coco')]
    first = build_hp_crops.main(args)['sources']['coco']
    second = build_hp_crops.main(args)['sources']['coco']
    assert first['existing'] == 0 and second['existing'] == second['crops'] == first['crops']


def test_raw_aic_crowdhuman_and_instance_png_formats(tmp_path):
    """Raw AI Challenger json, CrowdHuman .odgt and CIHP-style instance PNGs, derived from the real
    sample annotations, give the boxes they were made from."""
    with open(osp.join(SAMPLES, 'aic', 'test_aic.json')) as f:
        aic = json.load(f)
    raw, n_aic = [], 0
    for im in aic['images']:
        anns = [a for a in aic['annotations'] if a['image_id'] == im['id']]
        raw.append(dict(
            image_id=osp.splitext(im['file_name'])[0],
            human_annotations={f'human{i + 1}': [a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                                                 a['bbox'][1] + a['bbox'][3]] for i, a in enumerate(anns)},
            keypoint_annotations={f'human{i + 1}': _aic_keypoints(a) for i, a in enumerate(anns)}))
        n_aic += len(_expected([a['bbox'] for a in anns]))
    (tmp_path / 'aic.json').write_text(json.dumps(raw))

    coco = _coco()
    lines, n_ch = [], 0
    for im in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == im['id']]
        gt = [dict(tag='person', fbox=a['bbox'], vbox=a['bbox'], extra=dict(ignore=0)) for a in anns]
        gt.append(dict(tag='mask', fbox=[0, 0, 100, 200], extra=dict(ignore=1)))
        gt.append(dict(tag='person', fbox=[0, 0, 60, 150], extra=dict(ignore=1)))
        lines.append(json.dumps(dict(ID=osp.splitext(im['file_name'])[0], gtboxes=gt)))
        n_ch += len(_expected([a['bbox'] for a in anns]))
    (tmp_path / 'ch.odgt').write_text('\n'.join(lines))

    ids_dir = tmp_path / 'Human_ids'
    ids_dir.mkdir()
    im = coco['images'][0]
    ids = np.zeros((im['height'], im['width']), np.uint8)
    anns = [a for a in coco['annotations'] if a['image_id'] == im['id']]
    for i, a in enumerate(anns):
        x, y, w, h = (int(round(v)) for v in a['bbox'])
        ids[y:y + h, x:x + w] = i + 1
    cv2.imwrite(str(ids_dir / (osp.splitext(im['file_name'])[0] + '.png')), ids)

    result = build_hp_crops.main([
        '--out-dir', str(tmp_path / 'hp'), '--workers', '1',
        '--source', 'aic', 'aic', str(tmp_path / 'aic.json'), osp.join(SAMPLES, 'aic'),
        '--source', 'ch', 'crowdhuman', str(tmp_path / 'ch.odgt'), osp.join(SAMPLES, 'coco'),
        '--source', 'cihp', 'instance_png', str(ids_dir), osp.join(SAMPLES, 'coco')])['sources']
    assert result['aic']['crops'] == n_aic
    assert result['ch']['crops'] == n_ch
    assert result['ch']['dropped']['ignore'] == len(coco['images'])
    assert result['ch']['dropped']['not_person'] == len(coco['images'])
    assert result['cihp']['crops'] == len(anns) == 1


def _aic_keypoints(ann):
    """COCO-style visibility (2 visible, 1 occluded, 0 unlabelled) → AIC (1, 2, 3) triples."""
    k = np.asarray(ann['keypoints'], dtype=float).reshape(-1, 3)
    k[:, 2] = np.select([k[:, 2] == 2, k[:, 2] == 1], [1, 2], 3)
    return k.reshape(-1).tolist()


def test_unknown_format_and_missing_annotation(tmp_path):
    with pytest.raises(ValueError, match="unknown format 'yolo'"):
        build_hp_crops.main(['--out-dir', str(tmp_path), '--source', 'x', 'yolo', 'a', 'b'])
    with pytest.raises(FileNotFoundError, match='nope.json'):
        build_hp_crops.main(['--out-dir', str(tmp_path), '--source', 'x', 'coco', 'nope.json', 'b'])


@pytest.mark.slow
def test_video_harvester_finds_people_without_duplicates(tmp_path):
    clip = osp.join(osp.dirname(SAMPLES), 'vtest_clip.avi')
    stats = video_to_person_crops.main([clip, '--out-dir', str(tmp_path), '--every', '2'])  # default 1.5
    lines = (tmp_path / 'list.txt').read_text().split('\n')
    crops = [line.split()[0] for line in lines if line.strip()]
    assert len(crops) >= 10 and stats['crops'] == len(crops)
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    scores, hashes = [], set()
    for rel in crops:
        img = cv2.imread(str(tmp_path / rel))
        assert img.shape == (128, 64, 3)
        # a person fills the crop: HOG scores the 64x128 window (the crop itself) as a person
        found, weights = hog.detect(img, hitThreshold=0.0, winStride=(8, 8), padding=(0, 0))
        scores.append(float(np.max(weights)) if len(weights) else -1.0)
        hashes.add(img.tobytes())
    assert len(hashes) == len(crops)  # no exact duplicates
    assert np.mean(np.array(scores) > 0) >= 0.8, scores


def test_mhp_and_fashionpedia_formats(tmp_path):
    """MHP v2 per-person mask files and Fashionpedia apparel boxes (one person = their union)."""
    coco = _coco()
    im = coco['images'][2]
    anns = [a for a in coco['annotations'] if a['image_id'] == im['id']]
    stem = osp.splitext(im['file_name'])[0]
    mhp = tmp_path / 'parsing_annos'
    mhp.mkdir()
    for k, a in enumerate(anns):
        mask = np.zeros((im['height'], im['width']), np.uint8)
        x, y, w, h = (int(round(v)) for v in a['bbox'])
        mask[y:y + h, x:x + w] = 3  # any part label
        cv2.imwrite(str(mhp / f'{stem}_{len(anns):02d}_{k + 1:02d}.png'), mask)
    fashion = dict(images=[im], categories=[dict(id=7, name='shirt'), dict(id=9, name='pants')],
                   annotations=[dict(id=1, image_id=im['id'], category_id=7, bbox=[100, 50, 60, 80]),
                                dict(id=2, image_id=im['id'], category_id=9, bbox=[110, 120, 50, 100])])
    (tmp_path / 'fashion.json').write_text(json.dumps(fashion))
    out = tmp_path / 'hp'
    result = build_hp_crops.main([
        '--out-dir', str(out), '--workers', '1', '--pad', '0', '--ext', 'png',
        '--source', 'mhp', 'mhp', str(mhp), osp.join(SAMPLES, 'coco'),
        '--source', 'fp', 'fashionpedia', str(tmp_path / 'fashion.json'), osp.join(SAMPLES, 'coco')])
    rounded = [[int(round(v)) for v in a['bbox']] for a in anns]
    assert result['sources']['mhp']['crops'] == len(_expected(rounded))
    assert result['sources']['fp']['crops'] == 1
    img = cv2.imread(osp.join(SAMPLES, 'coco', im['file_name']))
    union = cv2.imread(str(out / 'crops' / 'fp' / f'{stem}_all.png'))
    assert np.array_equal(union, img[50:220, 100:160])
