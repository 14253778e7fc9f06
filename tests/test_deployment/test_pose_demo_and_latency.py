"""The no-OpenMMLab pose demo (tools/deployment/onnx_pose_demo.py) gives mmpose's keypoints for the
same boxes and draws them; the latency benchmark (tools/deployment/benchmark_latency.py) times the
three runtimes and counts the work of mmpose's RTMPose-t as its model zoo does."""
import json
import os
import os.path as osp
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch
from cfg_paths import ROOT
from mmengine.registry import DefaultScope

sys.path.insert(0, osp.join(ROOT, 'tools', 'deployment'))
import benchmark_latency  # noqa: E402
import onnx_pose_demo  # noqa: E402

POSE_CFG = osp.join(ROOT, 'configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py')
COCO = osp.join(ROOT, 'tests/data/mmpose_samples/coco')
IMAGE = osp.join(COCO, '000000196141.jpg')


@pytest.fixture(scope='module')
def pose_model(tmp_path_factory):
    """The ViT-Tiny pose model (random weights, seeded), exported; and the PyTorch model."""
    from saip_mm.deployment import build_for_export, export_onnx, input_spec
    torch.manual_seed(0)
    wrapper, cfg = build_for_export(POSE_CFG, None, 'pose')
    path = str(tmp_path_factory.mktemp('pose') / 'pose.onnx')
    export_onnx(wrapper, input_spec(cfg, 'pose'), path, 'pose')
    return path, wrapper.model, cfg


def _boxes(tmp_path) -> tuple:
    with open(osp.join(COCO, 'test_coco.json')) as f:
        ann = json.load(f)
    image_id = next(i['id'] for i in ann['images'] if i['file_name'] == osp.basename(IMAGE))
    boxes = np.array([[x, y, x + w, y + h] for a in ann['annotations'] if a['image_id'] == image_id
                      for x, y, w, h in [a['bbox']]], np.float32)
    path = str(tmp_path / 'boxes.json')
    with open(path, 'w') as f:
        json.dump([b + [0.9] for b in boxes.tolist()], f)  # with a score column, as detectors write
    return boxes, path


def test_demo_gives_mmpose_keypoints_and_draws_them(tmp_path, pose_model):
    from mmpose.apis import inference_topdown
    from mmpose.apis.inference import dataset_meta_from_config
    path, model, cfg = pose_model
    boxes, box_file = _boxes(tmp_path)
    out_png = str(tmp_path / 'pose.png')
    res = onnx_pose_demo.main([IMAGE, '--model', path, '--det', box_file, '--out', out_png, '--kpt-thr', '0'])
    kpts, scores = np.array(res['keypoints']), np.array(res['scores'])
    assert kpts.shape == (len(boxes), 17, 2)

    model.cfg, model.dataset_meta = cfg, dataset_meta_from_config(cfg, 'test')
    model.test_cfg['flip_test'] = False  # the demo does no flip test
    with DefaultScope.overwrite_default_scope('mmpose'):  # inference_topdown sets a global scope
        ref = inference_topdown(model, IMAGE, boxes, bbox_format='xyxy')
    ref_kpts = np.stack([r.pred_instances.keypoints[0] for r in ref])
    ref_scores = np.stack([r.pred_instances.keypoint_scores[0] for r in ref])
    assert np.allclose(scores, ref_scores, atol=1e-5)  # same crops, same network
    valid = ref_scores > 0  # mmpose gives no location for a non-positive maximum
    assert valid.mean() > 0.5
    assert np.abs(kpts - ref_kpts)[valid].max() < 0.25  # pixels, after UDP + DARK decoding

    drawn = cv2.imread(out_png)
    original = cv2.imread(IMAGE)
    assert drawn.shape == original.shape and (drawn != original).any()
    h, w = original.shape[:2]
    for x, y in kpts[scores >= 0].reshape(-1, 2):
        x, y = int(round(x)), int(round(y))
        if 0 <= x < w and 0 <= y < h:
            assert tuple(drawn[y, x]) == (0, 255, 0)  # a keypoint dot at every drawn keypoint


def test_demo_full_image_and_bad_boxes(tmp_path, pose_model):
    path = pose_model[0]
    res = onnx_pose_demo.main([IMAGE, '--model', path, '--full-image', '--out', str(tmp_path / 'a.png'),
                               '--kpt-thr', '2'])
    assert np.array(res['keypoints']).shape == (1, 17, 2)
    assert (cv2.imread(str(tmp_path / 'a.png')) == cv2.imread(IMAGE)).all()  # threshold 2: nothing drawn
    bad = tmp_path / 'bad.json'
    bad.write_text('[[10, 10, 5, 40]]')
    with pytest.raises(ValueError, match='bad.json'):
        onnx_pose_demo.main([IMAGE, '--model', path, '--det', str(bad), '--out', str(tmp_path / 'b.png')])
    assert not osp.exists(tmp_path / 'b.png')


@pytest.mark.slow  # exports, quantizes and times two models
def test_latency_benchmark_rows(tmp_path):
    out = str(tmp_path / 'latency.json')
    rows = benchmark_latency.main(['--models', 'rtmpose-t', '--runs', '3', '--warmup', '1',
                                   '--calib-images', '8', '--work-dir', str(tmp_path), '--json', out])
    assert set(rows) == {'rtmpose-t', 'saip-vit-tiny-pose'}  # the reference is always measured
    for row in rows.values():
        for runtime in ('eager', 'ort_fp32', 'ort_int8'):
            assert 0 < row[runtime]['p50_ms'] <= row[runtime]['p95_ms']
        assert row['int8_mb'] < 0.5 * row['onnx_mb']
    # mmpose's model zoo lists RTMPose-t at 3.34 M parameters and 0.36 G(MAC) at 256x192
    assert rows['rtmpose-t']['params_m'] == pytest.approx(3.34, abs=0.01)
    assert rows['rtmpose-t']['gmac'] == pytest.approx(0.36, abs=0.02)
    assert rows['saip-vit-tiny-pose']['input'] == [256, 192]
    with open(out) as f:
        assert json.load(f)['rows']['rtmpose-t']['task'] == 'pose'


@pytest.mark.parametrize('boxes,words', [
    ('[[5000, 5000, 5100, 5200]]', 'lies entirely outside the'),
    ('[[0, 0, 1e9, 1e9]]', 'is more than 2 times the size of the'),
    ('[[0, 0, NaN, 40]]', 'has a value that is not a finite number'),
    ('[[10, 10, 40]]', 'box 0 is [10, 10, 40] (3 numbers); expected [x1, y1, x2, y2]'),
    ('[[10, 10, "a", 40]]', '(not a list of numbers)'),
    ('', 'is empty; expected a list of'),
    ('[[10, 10,', 'is not JSON'),
    ('{"people": 3}', 'expected a list of [x1, y1, x2, y2(, score)] boxes'),
], ids=['outside', 'huge', 'nan', 'three-numbers', 'text', 'empty-file', 'broken-json', 'no-boxes-key'])
def test_demo_refuses_boxes_it_cannot_use(tmp_path, pose_model, boxes, words):
    """Each bad box file: one error naming the file (and the box), no output written."""
    det = tmp_path / 'det.json'
    det.write_text(boxes)
    out = tmp_path / 'o.png'
    with pytest.raises(ValueError) as info:
        onnx_pose_demo.main([IMAGE, '--model', pose_model[0], '--det', str(det), '--out', str(out)])
    assert str(det) in str(info.value) and words in str(info.value), str(info.value)
    assert not out.exists()


def test_demo_without_detections_and_with_bad_model_files(tmp_path, pose_model):
    """`[]`: the image with nothing drawn, written beside the input by default (not into the current
    folder), and standard JSON; a file that is not ONNX, or an ONNX without our metadata, is named."""
    image = tmp_path / 'street.jpg'
    shutil.copy(IMAGE, image)
    det = tmp_path / 'none.json'
    det.write_text('[]')
    res = onnx_pose_demo.main([str(image), '--model', pose_model[0], '--det', str(det), '--out-json',
                               str(tmp_path / 'k.json')])
    assert res['image'] == str(tmp_path / 'street_pose.png')
    assert (cv2.imread(res['image']) == cv2.imread(str(image))).all()
    assert json.loads((tmp_path / 'k.json').read_text(), parse_constant=pytest.fail) == dict(
        boxes=[], keypoints=[], scores=[], image=res['image'])
    (tmp_path / 'notes.onnx').write_text('hello')
    with pytest.raises(ValueError, match=r'notes\.onnx is not an ONNX model onnxruntime can load'):
        onnx_pose_demo.main([str(image), '--model', str(tmp_path / 'notes.onnx'), '--full-image'])
    import onnx
    bare = onnx.load(pose_model[0])
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / 'bare.onnx'))
    with pytest.raises(ValueError, match=r'bare\.onnx has no "preprocess" metadata'):
        onnx_pose_demo.main([str(image), '--model', str(tmp_path / 'bare.onnx'), '--full-image'])
    assert sorted(os.listdir(tmp_path)) == ['bare.onnx', 'k.json', 'none.json', 'notes.onnx', 'street.jpg',
                                            'street_pose.png']


def test_demo_writes_standard_json():
    """Keypoints that are not finite (a degenerate heatmap) are written as null, not NaN."""
    values = np.array([[[1.0, np.nan], [np.inf, 2.0]]], np.float32)
    assert onnx_pose_demo.finite_or_none(values) == [[[1.0, None], [None, 2.0]]]
    assert json.dumps(onnx_pose_demo.finite_or_none(values), allow_nan=False)
