"""tools/analysis/step_profile.py (issue 28): where a pretraining step's time goes, on the CPU at a tiny
batch (on a GPU the same rows add the kernels launched and the device's busy fraction)."""
import json
import os.path as osp
import sys

import pytest
from cfg_paths import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import benchmark_pretrain  # noqa: E402
import gpu_check  # noqa: E402
import step_profile  # noqa: E402


@pytest.mark.slow
def test_profile_splits_the_step_into_its_phases(tmp_path):
    rows = step_profile.main(['--presets', 'demo', '--batch', '2', '--steps', '1', '--device', 'cpu',
                              '--top', '5', '--out', str(tmp_path)])
    row = rows[0]
    phases = row['phases']
    assert list(phases) == [*step_profile.PHASES, 'step']
    assert all(phases[p] > 0 for p in step_profile.PHASES)
    assert phases['step'] == pytest.approx(sum(phases[p] for p in step_profile.PHASES))
    # the backward pass of the demo's three objectives costs more than the optimizer and the EMA update
    assert phases['backward'] > phases['optimizer'] + phases['expert']
    # views are dispatched but launch nothing: counted apart, and a step has many of both
    assert row['ops'] == row['view_ops'] + row['compute_ops'] and row['view_ops'] > 100
    assert row['compute_ops'] > 1000
    # the bytes the operators move: at least what AdamW alone reads and writes (parameter, gradient and
    # two moments read, three written: 7 fp32 values a trainable parameter)
    model = benchmark_pretrain.build('demo', 2, 'cpu')[1]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert row['gbytes_per_step'] > 7 * 4 * trainable / 1e9
    # the busiest operators by the host's time (no device here: no kernel or busy-time columns)
    assert row['time_kind'] == 'host' and len(row['top']) == 5
    assert all(t['name'].startswith('aten::') and t['ms_per_step'] > 0 for t in row['top'])
    times = [t['ms_per_step'] for t in row['top']]
    assert times == sorted(times, reverse=True)
    assert 'kernel_launches_per_step' not in row and 'device_busy_fraction' not in row
    table = (tmp_path / 'profile.md').read_text()
    assert '| demo | 2 | cpu |' in table and '| – | – | – | – |' in table
    assert json.loads((tmp_path / 'profile.json').read_text())[0]['ops'] == row['ops']


def test_tensor_bytes_counts_what_an_operator_reads():
    import torch
    x = torch.zeros(4, 8)
    assert step_profile.tensor_bytes(x) == 4 * 8 * 4
    assert step_profile.tensor_bytes(x[:1]) == 8 * 4  # a slice: its own elements
    assert step_profile.tensor_bytes(torch.zeros(8).expand(4, 8)) == 8 * 4  # expanded: one copy
    half = torch.zeros(3, dtype=torch.float16)
    assert step_profile.tensor_bytes(([x, half], {'k': half, 'n': 3})) == 128 + 6 + 6


def test_profile_refuses_a_bad_step_count(capsys):
    with pytest.raises(SystemExit):
        step_profile.parse_args(['--steps', '0'])
    assert '--steps, --batch and --warmup must be >= 1, got 0, 8 and 1' in capsys.readouterr().err


def test_gpu_check_profiles_both_presets():
    runs = gpu_check.runs(gpu_check.parse_args(['--out', 'x']))  # what a device session runs
    script, *args = runs['profile']
    assert script == gpu_check.PROFILE and osp.isfile(script)
    assert args[:3] == ['--presets', 'paper', 'official-code'] and '--amp' in args
    assert args[args.index('--batch') + 1] == '256'
    assert args[args.index('--out') + 1] == osp.join('x', 'profile')
    assert args[args.index('--warmup') + 1] == '4'  # the paper preset's view sizes run before the timing
