"""tools/analysis/step_timing.py (issue 28): the benchmarks' timed steps on a pre-built batch, each step
timed apart, and the timed steps that ran an image size no earlier step ran counted (the paper preset's
scale buckets draw each view's size per step)."""
import json
import os.path as osp
import sys

import pytest
from cfg_paths import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import benchmark_pretrain  # noqa: E402
import gpu_check  # noqa: E402
import step_timing  # noqa: E402


@pytest.fixture(scope='module')
def demo_step():
    """The demo preset's model, a pre-built batch of 2 and its optimizer wrapper, training."""
    from saip_mm.engine.hooks import resolve_schedules
    cfg, _, model, data, torch = benchmark_pretrain.build('demo', 2, 'cpu', with_cfg=True)
    torch.manual_seed(0)
    optim = benchmark_pretrain.training_optim_wrapper(cfg, model, False)
    model.train()
    resolve_schedules(model, 20, 20)
    return model, data, optim


def test_timed_steps_count_the_steps_that_met_a_new_image_size(demo_step):
    model, data, optim = demo_step
    every = set()
    for _ in range(60):  # the sizes the preprocessor can give: anchor, canvas, the 4 view buckets
        every |= step_timing.image_shapes(model.data_preprocessor(data, True)['inputs'])
    assert (256, 128) in every and len(every) <= 6
    # no warm-up: the first timed step runs sizes nothing ran before
    timing = step_timing.timed_steps(model, data, optim, 2, False, step_timing.warm_up(model, data, optim, 0))
    assert timing['new_shape_steps'] >= 1
    assert len(timing['times_s']) == 2 and min(timing['times_s']) > 0
    assert timing['median_s'] <= timing['max_s'] == max(timing['times_s'])
    assert timing['mean_s'] == pytest.approx(sum(timing['times_s']) / 2, rel=0.05)
    # a warm-up's sizes are its steps' own, among those the preprocessor can give
    seen = step_timing.warm_up(model, data, optim, 1)
    assert (256, 128) in seen and seen <= every
    # every size seen before: no timed step is new
    assert step_timing.timed_steps(model, data, optim, 2, False, every)['new_shape_steps'] == 0


@pytest.mark.slow
def test_benchmark_row_reports_its_warmup_and_step_spread(tmp_path, capsys):
    out = tmp_path / 'rows.json'
    benchmark_pretrain.main(['--presets', 'demo', '--batch', '2', '--steps', '2', '--warmup', '2',
                             '--device', 'cpu', '--data-samples', '2', '--shape-batches', '5',
                             '--json', str(out)])
    row = json.loads(out.read_text())[1]
    assert row['warmup'] == 2 and len(row['step_times_s']) == 2 and 0 <= row['new_shape_steps'] <= 2
    assert row['step_median_s'] <= row['step_max_s'] == max(row['step_times_s'])
    assert f"({row['new_shape_steps']} of 2; warm-up 2) |" in capsys.readouterr().out


def test_benchmark_refuses_a_bad_step_count(capsys):
    with pytest.raises(SystemExit):
        benchmark_pretrain.parse_args(['--warmup', '-1'])
    assert '--steps must be >= 1 and --warmup >= 0, got 3 and -1' in capsys.readouterr().err


def test_gpu_check_warms_up_its_rows():
    runs = gpu_check.runs(gpu_check.parse_args(['--out', 'x']))
    for table in ('prebuilt_batch', 'loader', 'compile'):
        assert runs[table][runs[table].index('--warmup') + 1] == '4'
