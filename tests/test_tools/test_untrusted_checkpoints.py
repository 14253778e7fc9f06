"""No code runs from a checkpoint (issue 30, section 1).

Every tool that takes a checkpoint is handed (a) a pickle whose unpickling would create a marker file
(``os.system``-free: ``pathlib.Path.touch`` through ``__reduce__``) and (b) a checkpoint with sound
tensors whose stored config (``meta['cfg']``, Python source) would create the marker when executed.
Each is refused with one line that names the file, and the marker does not exist afterwards.
"""
import os
import os.path as osp
import pathlib
import sys

import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT
from mmengine.config import Config
from mmengine.registry import DefaultScope
from side_by_side import run_side_by_side

from saip_mm.utils.checkpoint import CheckpointError, config_from_checkpoint, literal_config, load_checkpoint

for sub in ('model_converters', 'analysis', 'deployment'):
    sys.path.insert(0, osp.join(ROOT, 'tools', sub))
import eval_backbone  # noqa: E402
import publish_model  # noqa: E402
import pytorch2onnx  # noqa: E402
import saip2backbone  # noqa: E402
import visualize_pretrain  # noqa: E402


class Payload:
    """Unpickling this calls ``pathlib.Path(marker).touch()``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker), )


@pytest.fixture(scope='module')
def saip_state():
    """A randomly initialised SAIP demo model's state dict (what a runner checkpoint holds)."""
    from saip_mm.registry import MODELS
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(Config.fromfile(osp.join(ROOT, DEMO_CFG)).model)
    return model.state_dict()


def _crafted_pickle(tmp_path, saip_state) -> tuple:
    marker = tmp_path / 'pickle_payload_ran'
    path = tmp_path / 'crafted_pickle.pth'
    torch.save(dict(state_dict=saip_state, meta=dict(iter=1, note=Payload(str(marker)))), path)
    assert not marker.exists()
    return str(path), marker


def _crafted_config(tmp_path, saip_state, source: str) -> tuple:
    marker = tmp_path / 'config_payload_ran'
    path = tmp_path / 'crafted_config.pth'
    text = Config.fromfile(osp.join(ROOT, DEMO_CFG)).pretty_text + '\n' + source.format(marker=marker)
    torch.save(dict(state_dict=saip_state, meta=dict(iter=1, cfg=text)), path)
    return str(path), marker


def _refused(call, path: str, marker: pathlib.Path) -> str:
    with pytest.raises(CheckpointError) as info:
        call()
    message = str(info.value)
    assert path in message and '\n' not in message, message
    assert not marker.exists(), 'the payload ran'
    return message


def test_the_payload_would_run_with_the_unsafe_loader(tmp_path, saip_state):
    """The fixture is a real attack: torch.load(weights_only=False) runs it."""
    path, marker = _crafted_pickle(tmp_path, saip_state)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_every_tool_refuses_a_crafted_pickle(tmp_path, saip_state):
    path, marker = _crafted_pickle(tmp_path, saip_state)
    out = str(tmp_path / 'out')
    calls = {
        'saip2backbone': lambda: saip2backbone.main([path, out + '.pth']),
        'publish_model': lambda: publish_model.main([path, out + '_pub.pth']),
        'pytorch2onnx': lambda: pytorch2onnx.main([osp.join(ROOT, DEMO_CFG), path, '--task', 'backbone',
                                                   '--out', out + '.onnx']),
        'eval_backbone': lambda: eval_backbone.main([path, '--config', osp.join(ROOT, DEMO_CFG)]),
        'eval_backbone (config from the checkpoint)': lambda: eval_backbone.main([path]),
        'visualize_pretrain': lambda: visualize_pretrain.main([path, '--out', out + '_vis']),
    }
    for name, call in calls.items():
        message = _refused(call, path, marker)
        assert 'its pickle asks for' in message and 'never runs code' in message, (name, message)
    assert not osp.exists(out + '.onnx') and not osp.exists(out + '.pth')
    # what tools/test.py, predict_keypoints.py and the downstream configs' init_cfg use: mmengine's
    # loader, under torch's weights_only default
    from mmengine.runner import load_checkpoint as mmengine_load
    with pytest.raises(Exception, match='Weights only load failed'):
        mmengine_load(torch.nn.Linear(1, 1), path)
    assert not marker.exists()


@pytest.mark.parametrize('source', [
    "import pathlib\npathlib.Path('{marker}').touch()",
    "evil = dict(type=__import__('pathlib').Path('{marker}').touch())",
    "evil = [x for x in (open('{marker}', 'w'), )]",
    "evil = open('{marker}', 'w')",
], ids=['statement', 'call-in-dict', 'comprehension', 'builtin'])
def test_a_stored_config_is_read_as_data_never_executed(tmp_path, saip_state, source):
    path, marker = _crafted_config(tmp_path, saip_state, source)
    assert load_checkpoint(path)['state']  # the tensors load: only the config is hostile
    for call in (lambda: eval_backbone.main([path]),
                 lambda: visualize_pretrain.main([path, '--out', str(tmp_path / 'vis')])):
        message = _refused(call, path, marker)
        assert 'never executed' in message and 'line' in message


def test_mmengine_would_execute_the_stored_config(tmp_path, saip_state):
    """The fixture is a real attack: mmengine's Config.fromstring (what eval_backbone.py used) runs it."""
    path, marker = _crafted_config(tmp_path, saip_state, "evil = dict(type=__import__('pathlib').Path("
                                                         "'{marker}').touch())")
    Config.fromstring(torch.load(path, weights_only=True)['meta']['cfg'], '.py')
    assert marker.exists()


def test_a_runner_config_reads_back_equal(tmp_path):
    """The safe reader gives the config that mmengine's Runner stored (its pretty_text), for the demo
    and the paper preset."""
    for name in (DEMO_CFG, 'configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'):
        cfg = Config.fromfile(osp.join(ROOT, name))
        text = cfg.pretty_text
        read = config_from_checkpoint('x.pth', dict(cfg=text))
        assert read.to_dict() == Config.fromstring(text, '.py').to_dict()
    assert literal_config('a = -1.5\nb = (1, [2, {"k": None}], inf)\nc = dict(x=True)', 'x') == dict(
        a=-1.5, b=(1, [2, {'k': None}], float('inf')), c=dict(x=True))
    with pytest.raises(CheckpointError, match='carries no config'):
        config_from_checkpoint('x.pth', {})


@pytest.mark.parametrize('content,words', [
    (b'', 'is empty (0 bytes)'),
    (b'epoch 1 loss 0.3\n' * 20, 'is not a PyTorch checkpoint: a text file'),
    ('truncated', 'truncated or corrupt'),
    ('list', 'holds no state dict of tensors'),
], ids=['empty', 'text', 'truncated', 'no-tensors'])
def test_bad_checkpoint_files_are_named_in_one_line(tmp_path, saip_state, content, words):
    """Empty, text, truncated and tensor-less files: one line naming the file and what it is, from
    pytorch2onnx.py and eval_backbone.py alike (one shared loader)."""
    path = tmp_path / 'bad.pth'
    if content == 'truncated':
        torch.save(dict(state_dict=saip_state), path)
        path.write_bytes(path.read_bytes()[:200_000])
    elif content == 'list':
        torch.save([1, 2, 3], path)
    else:
        path.write_bytes(content)
    for call in (lambda: pytorch2onnx.main([osp.join(ROOT, DEMO_CFG), str(path), '--task', 'backbone',
                                           '--out', str(tmp_path / 'x.onnx')]),
                 lambda: eval_backbone.main([str(path), '--config', osp.join(ROOT, DEMO_CFG)])):
        with pytest.raises(CheckpointError) as info:
            call()
        assert str(path) in str(info.value) and words in str(info.value) and '\n' not in str(info.value)
    assert not (tmp_path / 'x.onnx').exists()


@pytest.mark.slow
def test_command_lines_print_one_line_and_fail(tmp_path, saip_state):
    """As a user runs them: exit status 1, one line on stderr naming the file, no traceback, no payload."""
    path, marker = _crafted_pickle(tmp_path, saip_state)
    env = dict(os.environ, PYTHONPATH=ROOT)
    export = [osp.join(ROOT, DEMO_CFG), path, '--task', 'backbone', '--out', str(tmp_path / 'x.onnx')]
    tools = {tool: [sys.executable, osp.join(ROOT, tool), *args]
             for tool, args in (('tools/deployment/pytorch2onnx.py', export),
                                ('tools/analysis/eval_backbone.py', [path]))}
    for tool, proc in run_side_by_side(tools, env=env, cwd=str(tmp_path)).items():
        lines = [line for line in proc.stderr.splitlines() if line.strip() and 'Warning' not in line]
        assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
        assert lines[-1].startswith(osp.basename(tool)[:-3] + ': ') and path in lines[-1]
    assert not marker.exists()
