"""``pytorch2onnx.py --verify`` prints the task metric of pose / seg / attribute configs from PyTorch and
from onnxruntime: the config's own test loop (real Runner, dataset, evaluator) on the project's sample
sets, with the exported part of the model served by each runtime in turn."""
import os.path as osp
import sys

import pytest
from cfg_paths import DATA, ROOT
from mmengine.config import Config
from mmengine.runner import Runner

sys.path.insert(0, osp.join(ROOT, 'tools', 'deployment'))
from pytorch2onnx import main as export  # noqa: E402
from test_onnx_export import DOWNSTREAM, _downstream_checkpoint, _metadata, _run  # noqa: E402

COCO = osp.join(DATA, 'mmpose_samples', 'coco')
ATTRIBUTES = ['model.head.num_classes=5', 'model.data_preprocessor.num_classes=5']  # the sample set's


def _options(task: str, samples: str) -> list:
    if task == 'pose':
        return [f'test_dataloader.dataset.data_root={COCO}', 'test_dataloader.dataset.data_prefix.img=',
                'test_dataloader.dataset.ann_file=test_coco.json', 'test_dataloader.dataset.bbox_file=None',
                f'test_evaluator.ann_file={COCO}/test_coco.json']
    if task == 'seg':
        return [f'test_dataloader.dataset.data_root={samples}/LIP']
    return ATTRIBUTES + [f'test_dataloader.dataset.data_root={samples}/PA100k']


def _checkpoint(tmp_path, task: str, options: list) -> str:
    """A random model of the config, with the sample set's class count where it has one."""
    return _downstream_checkpoint(tmp_path, task, {k: int(v) for k, v in (o.split('=') for o in options)
                                                   if 'num_classes' in k})


@pytest.mark.slow
@pytest.mark.parametrize('task', ['attribute', 'pose', 'seg'])
def test_task_metric_from_both_runtimes(tmp_path, downstream_samples, task):
    options = _options(task, downstream_samples)
    ckpt = _checkpoint(tmp_path, task, options)
    # pose with decoded keypoints: the test loop reads the heatmaps, the first of the three outputs
    extra = ['--keypoints'] if task == 'pose' else []
    report = export([osp.join(ROOT, DOWNSTREAM[task]), ckpt, '--task', task, '--verify', *extra,
                     '--out', str(tmp_path / 'm.onnx'), '--cfg-options', *options])
    pytorch, onnx = report['metric']['pytorch'], report['metric']['onnx_fp32']
    key = {'attribute': 'attribute/mA', 'pose': 'coco/AP', 'seg': 'mIoU'}[task]
    assert key in pytorch and set(pytorch) == set(onnx)
    for name, value in pytorch.items():  # stated tolerance: 1e-6 of the metric's own unit
        assert onnx[name] == pytest.approx(value, abs=1e-6), name
    assert report['verify']['rel_diff'] <= 1e-4
    if task == 'seg':  # the seg graph's only export in the suite: LIP logits at the input size
        h, w = report['preprocess']['size']
        assert (h, w) == (473, 473) and _run(str(tmp_path / 'm.onnx'), 2, (h, w)).shape == (2, 20, 473, 473)
        # UPerNet's pyramid pooling written at its size: the TorchScript exporter, not the fallback
        assert _metadata(str(tmp_path / 'm.onnx'))['exporter'] == 'torchscript'
    if task == 'attribute':
        # routing the test loop through the exported graph changes nothing: the unpatched model's own
        # loop (the same checkpoint) scores the same, and the score is not a constant
        assert 0 < pytorch[key] < 100
        cfg = Config.fromfile(osp.join(ROOT, DOWNSTREAM[task]))
        cfg.merge_from_dict({k: int(v) for k, v in (o.split('=') for o in ATTRIBUTES)})
        cfg.model.backbone.pop('init_cfg')
        cfg.test_dataloader.dataset.data_root = f'{downstream_samples}/PA100k'
        cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
        cfg.update(work_dir=str(tmp_path / 'own'), load_from=ckpt)
        own = Runner.from_cfg(cfg).test()
        assert own[key] == pytest.approx(pytorch[key], abs=1e-6)


@pytest.mark.slow
def test_other_forms_report_the_task_metric(tmp_path, downstream_samples):
    """--fp16 on the attribute config: the FP16 graph's mA comes from the same test loop, and its drop
    against fp32 is reported in points (flagged with --max-drop -100)."""
    options = _options('attribute', downstream_samples)
    report = export([osp.join(ROOT, DOWNSTREAM['attribute']), _checkpoint(tmp_path, 'attribute', options),
                     '--task', 'attribute', '--verify', '--fp16', '--max-drop', '-100',
                     '--out', str(tmp_path / 'm.onnx'), '--cfg-options', *options])
    fp16, fp32 = report['fp16'], report['metric']['onnx_fp32']
    assert set(fp16['metric']) == set(fp32)
    assert fp16['drop'] == pytest.approx(fp32['attribute/mA'] - fp16['metric']['attribute/mA'])
    assert abs(fp16['drop']) < 5 and fp16['degraded']


@pytest.mark.slow
def test_missing_test_data_is_named(tmp_path):
    """No test data named: the metric is skipped with a line saying how to ask for it; a set the user
    named that is absent is an error naming it."""
    ckpt = _checkpoint(tmp_path, 'attribute', ATTRIBUTES)
    args = [osp.join(ROOT, DOWNSTREAM['attribute']), ckpt, '--task', 'attribute', '--out',
            str(tmp_path / 'a.onnx'), '--verify', '--cfg-options', *ATTRIBUTES]
    assert export(args)['metric'] is None
    with pytest.raises(FileNotFoundError, match='nowhere'):
        export(args + [f'test_dataloader.dataset.data_root={tmp_path}/nowhere'])
