"""ONNX export (tools/deployment/pytorch2onnx.py): each task and student exports, onnxruntime gives
PyTorch's answers on real person crops at batch 4 and 1, and a checkpoint that does not fit its
config is refused with the missing keys named."""
import json
import os.path as osp
import sys
from typing import Optional

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT, SMALL_PRETRAIN
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.utils import import_modules_from_strings

sys.path.insert(0, osp.join(ROOT, 'tools', 'deployment'))
from pytorch2onnx import main as export  # noqa: E402

DOWNSTREAM = {
    'reid': 'configs/downstream/reid/reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py',
    'attribute': 'configs/downstream/attribute/par_vit-tiny-p16_1xb64-25e_pa100k-256x128.py',
    'pose': 'configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py',
    'seg': 'configs/downstream/mmseg/upernet_vit-tiny-p16_mln_8xb4-80k_lip-473x473.py',
}


def _saip_checkpoint(tmp_path, student: str) -> str:
    """A randomly initialised SAIP model (demo preset, the given student) saved as a runner would."""
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    if student != 'vit':
        cfg.model.backbone = Config.fromfile(osp.join(ROOT, SMALL_PRETRAIN[student])).model.backbone
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path / f'saip_{student}.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def _downstream_checkpoint(tmp_path, task: str, cfg_options: Optional[dict] = None) -> str:
    """A randomly initialised (seed 0) model of the task's downstream config, as a runner saves it."""
    from saip_mm.utils.launcher import replace_sync_bn
    cfg = Config.fromfile(osp.join(ROOT, DOWNSTREAM[task]))
    cfg.merge_from_dict(cfg_options or {})
    import_modules_from_strings(**cfg.custom_imports)
    cfg.model.backbone.pop('init_cfg', None)
    replace_sync_bn(cfg.model)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path / f'{task}.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def _run(path: str, batch: int, size) -> np.ndarray:
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return session.run(None, {'input': np.random.RandomState(0).randn(batch, 3, *size).astype(np.float32)})[0]


def _metadata(path: str) -> dict:
    return {p.key: p.value for p in onnx.load(path).metadata_props}


@pytest.mark.parametrize('student', ['vit', pytest.param('starnet', marks=pytest.mark.slow),
                                     pytest.param('tinyvit', marks=pytest.mark.slow)])
def test_backbone_export_gives_pytorch_answers(tmp_path, student):
    out = str(tmp_path / 'backbone.onnx')
    config = DEMO_CFG if student == 'vit' else SMALL_PRETRAIN[student]
    report = export([osp.join(ROOT, config), _saip_checkpoint(tmp_path, student), '--task', 'backbone',
                     '--out', out, '--verify'])
    assert report['verify']['rel_diff'] <= 1e-4 and report['verify']['batch_sizes'] == [4, 1]
    meta = _metadata(out)
    spec = json.loads(meta['preprocess'])
    assert meta['task'] == 'backbone' and spec['size'] == [256, 128] and spec['channel_order'] == 'RGB'
    assert spec['mean'] == pytest.approx([123.675, 116.28, 103.53])
    width = {'vit': 192, 'starnet': 256, 'tinyvit': 320}[student]
    assert _run(out, 3, (256, 128)).shape == (3, width)  # the batch axis is dynamic


@pytest.mark.slow
@pytest.mark.parametrize('task', ['reid', 'attribute', 'pose'])  # seg: test_task_metric (one export)
def test_downstream_export_gives_pytorch_answers(tmp_path, task):
    out = str(tmp_path / f'{task}.onnx')
    report = export([osp.join(ROOT, DOWNSTREAM[task]), _downstream_checkpoint(tmp_path, task), '--task', task,
                     '--out', out, '--verify'])
    assert report['verify']['rel_diff'] <= 1e-4
    h, w = report['preprocess']['size']
    y = _run(out, 2, (h, w))
    if task == 'reid':  # unit-length embeddings
        assert np.allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-5)
    elif task == 'attribute':  # one sigmoid score per PA100K attribute
        assert y.shape == (2, 26) and (y > 0).all() and (y < 1).all()
    else:  # COCO heatmaps at a quarter of 256x192
        assert (h, w) == (256, 192) and y.shape == (2, 17, 64, 48)


def test_checkpoint_that_does_not_fit_is_refused(tmp_path):
    """A SAIP pretraining checkpoint given for the ReID model: the head's keys are named missing."""
    with pytest.raises(KeyError, match=r'missing \d+ key\(s\) \[.*head\.'):
        export([osp.join(ROOT, DOWNSTREAM['reid']), _saip_checkpoint(tmp_path, 'vit'), '--task', 'reid',
                '--out', str(tmp_path / 'x.onnx')])
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        export([osp.join(ROOT, DEMO_CFG), str(tmp_path / 'nothing.pth'), '--task', 'backbone',
                '--out', str(tmp_path / 'y.onnx')])


@pytest.mark.slow  # evaluates retrieval three times (PyTorch, onnxruntime fp32 and INT8)
def test_int8_export_reports_its_metric_change(tmp_path):
    """--int8 writes a QDQ model about a quarter of the fp32 size and reports retrieval from PyTorch,
    onnxruntime fp32 and INT8 on the Market-layout sample set; a drop beyond --max-drop is flagged."""
    from val_sets import small_reid_set
    out = str(tmp_path / 'backbone.onnx')
    report = export([osp.join(ROOT, DEMO_CFG), _saip_checkpoint(tmp_path, 'vit'), '--task', 'backbone',
                     '--out', out, '--verify', '--int8', '--calib-images', '16', '--max-drop', '-100',
                     '--reid-data', small_reid_set(tmp_path)])  # the report's form: any set will do
    assert report['metric']['pytorch'] == pytest.approx(report['metric']['onnx_fp32'], abs=1e-6)
    int8 = report['int8']
    assert osp.getsize(int8['onnx']) < 0.35 * osp.getsize(out)
    ops = {n.op_type for n in onnx.load(int8['onnx']).graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear', 'MatMul'} <= ops
    assert 0 < int8['rel_diff_vs_fp32'] < 0.1  # quantized, yet close to fp32, with this CPU's scheme
    from saip_mm.deployment.int8_scheme import choose_scheme
    assert int8['scheme'] == choose_scheme()
    assert int8['map_drop'] == pytest.approx(report['metric']['onnx_fp32']['mAP'] - int8['metric']['mAP'])
    assert int8['degraded']  # any change exceeds a threshold of -100 points


def test_checkpoint_of_another_shape_is_refused(tmp_path):
    """A ReID checkpoint trained on 6 identities given with the 751-identity config: the error names
    the classifier tensors and both shapes instead of failing inside load_state_dict."""
    path = _downstream_checkpoint(tmp_path, 'reid')
    ckpt = torch.load(path)
    ckpt['state_dict']['head.classifier.weight'] = ckpt['state_dict']['head.classifier.weight'][:6]
    ckpt['state_dict']['head.classifier.bias'] = ckpt['state_dict']['head.classifier.bias'][:6]
    torch.save(ckpt, path)
    wrong = r'reid\.pth .*head\.classifier\.weight \(6, 192\) vs \(751, 192\)'
    with pytest.raises(ValueError, match=wrong):
        export([osp.join(ROOT, DOWNSTREAM['reid']), path, '--task', 'reid',
                '--out', str(tmp_path / 'x.onnx')])
