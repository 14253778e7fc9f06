"""Issue 29 §4: downstream tasks are registered entries (``saip_mm/deployment/tasks.py``), and the guide
``docs/advanced_guides/add_a_downstream_task.md`` shows ``projects/example_downstream_task/`` verbatim;
that project's task exports, verifies and scores from both runtimes through ``pytorch2onnx.py``."""
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F
from cfg_paths import ROOT
from test_guides import _blocks

from saip_mm.deployment import build_for_export, get_task, input_spec, preprocess, task_names

sys.path.insert(0, osp.join(ROOT, 'tools', 'deployment'))
sys.path.insert(0, osp.join(ROOT, 'tests', 'test_deployment'))
from pytorch2onnx import main as export  # noqa: E402
from test_onnx_export import _downstream_checkpoint  # noqa: E402

GUIDE = 'docs/advanced_guides/add_a_downstream_task.md'
EXAMPLE = 'projects/example_downstream_task'
CONFIG = f'{EXAMPLE}/reid-flip_vit-tiny-p16_1xb64-24k_market1501-256x128.py'


def test_guide_shows_the_example_files_verbatim(root):
    with open(osp.join(root, GUIDE)) as f:
        blocks = _blocks(f.read())
    assert set(blocks) == {f'{EXAMPLE}/reid_flip.py', CONFIG}
    for path, code in blocks.items():
        with open(osp.join(root, path)) as f:
            assert f.read() == code, f'{GUIDE} shows a different {path}'


def test_the_tasks_are_registered_entries():
    assert task_names()[:5] == ['backbone', 'reid', 'attribute', 'pose', 'seg']
    assert {n: get_task(n).metric for n in task_names()[:5]} == dict(
        backbone='retrieval', reid='retrieval', attribute='loop', pose='loop', seg='loop')
    assert [n for n in task_names() if get_task(n).keypoints] == ['pose']
    with pytest.raises(ValueError, match=r"task must be one of \('backbone', .*got 'segm'"):
        get_task('segm')
    with pytest.raises(SystemExit):  # the tool refuses an unregistered task by name, before any work
        export([osp.join(ROOT, CONFIG), '--random-init', '--task', 'reid_flipped', '--out', 'x.onnx'])


@pytest.mark.slow
def test_the_guide_task_exports_verifies_and_scores(tmp_path):
    import mmcv
    ckpt = _downstream_checkpoint(tmp_path, 'reid')  # the project config's model is the ReID config's
    report = export([osp.join(ROOT, CONFIG), ckpt, '--task', 'reid_flip', '--verify',
                     '--out', str(tmp_path / 'flip.onnx')])
    assert report['verify']['rel_diff'] <= 1e-4 and report['outputs'] == ['output']
    pytorch, onnx = report['metric']['pytorch'], report['metric']['onnx_fp32']
    assert onnx['R1'] == pytest.approx(pytorch['R1'], abs=1e-6)
    assert onnx['mAP'] == pytest.approx(pytorch['mAP'], abs=1e-6)
    # the output contract, from the plain ReID model: normalize(f(x) + f(flip x)), not f(x)
    flip, cfg = build_for_export(osp.join(ROOT, CONFIG), ckpt, 'reid_flip')
    plain, _ = build_for_export(osp.join(ROOT, CONFIG), ckpt, 'reid')
    with open(osp.join(ROOT, 'demo', 'persons', 'list.txt')) as f:
        names = [line.split()[0] for line in f.readlines()[:4]]
    images = [mmcv.imread(osp.join(ROOT, 'demo', 'persons', name)) for name in names]
    x = torch.from_numpy(preprocess(images, input_spec(cfg, 'reid_flip')))
    with torch.no_grad():
        embed = plain.model
        expected = F.normalize(embed(x, None, mode='tensor') + embed(x.flip(-1), None, mode='tensor'))
        out = flip(x)
        assert torch.allclose(out, expected, atol=1e-5)
        assert (out - plain(x)).abs().max() > 1e-3  # the mirror image changes the embedding
