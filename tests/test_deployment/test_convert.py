"""Other forms of an export (saip_mm/deployment/convert.py through pytorch2onnx.py): onnxsim keeps the
function and the metadata, FP16 halves the file and stays close to fp32, OpenVINO IR gives fp32's answers
at f32 precision, and pose exports can carry decoded keypoints that match mmpose's decoding."""
import json
import os.path as osp

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from cfg_paths import DEMO_CFG, ROOT
from test_onnx_export import DOWNSTREAM, _downstream_checkpoint, _metadata, _saip_checkpoint, export

from saip_mm.deployment import build_for_export, codec_scale, input_spec, preprocess
from saip_mm.deployment.convert import simplify
from saip_mm.deployment.quantize import image_paths, onnx_runner


def test_simplify_keeps_the_function_and_the_metadata(tmp_path):
    out = str(tmp_path / 'backbone.onnx')
    report = export([osp.join(ROOT, DEMO_CFG), _saip_checkpoint(tmp_path, 'vit'), '--task', 'backbone',
                     '--out', out])
    before = onnx_runner(out)
    meta = _metadata(out)
    info = simplify(out, str(tmp_path / 'simple.onnx'))
    simple = str(tmp_path / 'simple.onnx')
    assert info['nodes_after'] < info['nodes_before'] == len(onnx.load(out).graph.node)
    assert len(onnx.load(simple).graph.node) == info['nodes_after']
    assert _metadata(simple) == meta  # task and preprocessing kept, onnxsim's own entries not added
    x = preprocess([cv2.imread(p) for p in image_paths(osp.join(ROOT, 'demo/vtest_reid/query'))[:3]],
                   report['preprocess'])
    ref = before(x)
    assert np.abs(onnx_runner(simple)(x) - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.slow
def test_fp16_and_openvino_forms_report_their_difference_and_metric(tmp_path):
    """--simplify --fp16 --openvino on the ViT-Tiny backbone: each form is compared with fp32 on the
    crops and by retrieval on the Market-layout sample set; --max-drop -100 flags every form."""
    from val_sets import small_reid_set
    out = str(tmp_path / 'backbone.onnx')
    # openvino is optional for users but pinned and installed by tools/install.sh: tested here
    report = export([osp.join(ROOT, DEMO_CFG), _saip_checkpoint(tmp_path, 'vit'), '--task', 'backbone',
                     '--out', out, '--verify', '--simplify', '--fp16', '--openvino', '--max-drop', '-100',
                     '--reid-data', small_reid_set(tmp_path)])  # the report's form: any set will do
    assert report['verify']['rel_diff'] <= 1e-4  # the simplified graph is what was verified
    assert report['simplify']['nodes_after'] == len(onnx.load(out).graph.node)
    fp16 = report['fp16']
    graph = onnx.load(fp16['onnx'])
    assert graph.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # fp32 in and out
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.graph.initializer)
    assert osp.getsize(fp16['onnx']) < 0.55 * osp.getsize(out)
    assert 0 < fp16['rel_diff_vs_fp32'] < 1e-2
    assert fp16['degraded'] and fp16['map_drop'] == pytest.approx(
        report['metric']['onnx_fp32']['mAP'] - fp16['metric']['mAP'])
    assert json.loads(_metadata(fp16['onnx'])['preprocess']) == report['preprocess']
    vino = report['openvino']
    assert osp.isfile(vino['onnx']) and osp.isfile(vino['onnx'][:-4] + '.bin')
    assert vino['rel_diff_vs_fp32'] <= 1e-4  # f32 inference: the fp32 graph's answers
    half = report['openvino_fp16_weights']
    assert half['size_mb'] < 0.55 * vino['size_mb'] and half['rel_diff_vs_fp32'] < 1e-2


def test_openvino_absent_is_a_clear_error(tmp_path, monkeypatch):
    import saip_mm.deployment.convert as convert
    monkeypatch.setattr(convert, 'openvino_available', lambda: False)
    with pytest.raises(SystemExit, match='optional package openvino'):
        export([osp.join(ROOT, DEMO_CFG), _saip_checkpoint(tmp_path, 'vit'), '--task', 'backbone',
                '--out', str(tmp_path / 'b.onnx'), '--openvino'])
    assert not (tmp_path / 'b.onnx').exists()  # refused before any work


def test_codec_scale_follows_mmpose_decoding():
    """A Gaussian peak centred on heatmap cell (7, 10), decoded by mmpose's own codecs (UDP with DARK
    refinement, MSRA with its quarter-pixel shift: neither moves a symmetric peak), lands at
    codec_scale x (7, 10)."""
    from mmpose.codecs import MSRAHeatmap, UDPHeatmap
    yy, xx = np.mgrid[0:64, 0:48]
    heatmaps = np.exp(-((xx - 7)**2 + (yy - 10)**2) / 8.0)[None].astype(np.float32)
    for cls in (UDPHeatmap, MSRAHeatmap):
        codec = cls(input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
        decoded, _ = codec.decode(heatmaps.copy())
        sx, sy = codec_scale(dict(type=cls.__name__, input_size=(192, 256), heatmap_size=(48, 64)))
        assert np.allclose(decoded[0, 0], [7 * sx, 10 * sy], atol=1e-3), (cls.__name__, decoded)
    with pytest.raises(ValueError, match='SimCC.*heatmap_size'):
        codec_scale(dict(type='SimCCLabel', input_size=(192, 256)))


@pytest.mark.slow
def test_pose_export_with_decoded_keypoints(tmp_path):
    """--keypoints: the graph's keypoints and scores are mmpose's heatmap maxima (get_heatmap_maximum)
    of its own heatmaps, scaled by the UDP codec, on real COCO person crops."""
    from mmpose.codecs.utils import get_heatmap_maximum
    out = str(tmp_path / 'pose.onnx')
    report = export([osp.join(ROOT, DOWNSTREAM['pose']), _downstream_checkpoint(tmp_path, 'pose'), '--task',
                     'pose', '--out', out, '--verify', '--keypoints'])
    assert report['outputs'] == ['output', 'keypoints', 'scores']
    assert report['verify']['rel_diff'] <= 1e-4 and report['verify']['keypoints_agree'] >= 0.9
    _, cfg = build_for_export(osp.join(ROOT, DOWNSTREAM['pose']), None, 'pose', keypoints=True)
    images = [cv2.imread(p) for p in image_paths(osp.join(ROOT, 'tests/data/mmpose_samples/coco'))[:3]]
    x = preprocess(images, input_spec(cfg, 'pose'))
    heatmaps, keypoints, scores = ort.InferenceSession(out, providers=['CPUExecutionProvider']).run(
        None, {'input': x})
    assert keypoints.shape == (3, 17, 2) and scores.shape == (3, 17)
    for i in range(3):
        xy, val = get_heatmap_maximum(heatmaps[i])
        assert np.allclose(keypoints[i], xy / [47, 63] * [192, 256], atol=1e-3)
        assert np.allclose(scores[i], val, atol=1e-6)
    with pytest.raises(ValueError, match='pose output, not reid'):
        build_for_export(osp.join(ROOT, DOWNSTREAM['reid']), None, 'reid', keypoints=True)
