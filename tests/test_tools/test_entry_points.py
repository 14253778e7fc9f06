"""The user's own command (issue 27, section 1) and the checks every launch makes first (issue 30,
section 3): the short-named entry points are the paper presets, `mim train saip_mm saip_vit-tiny_lup1m`
finds them, and a missing config or data folder stops a launch at once with one line."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time

import pytest
from cfg_paths import PAPER_CFG, ROOT, SHORT_VIT, SMALL_PRETRAIN
from mmengine.config import Config
from mmengine.registry import DefaultScope
from side_by_side import run_side_by_side

from saip_mm.utils.preflight import PreflightError, check_data, missing_data, resolve_config

SHORT = {'configs/pretrain/saip_vit-tiny_lup1m.py': PAPER_CFG,
         'configs/pretrain/saip_starnet-s3_lup1m.py': SMALL_PRETRAIN['starnet'],
         'configs/pretrain/saip_tinyvit-5m_lup1m.py': SMALL_PRETRAIN['tinyvit']}


def _env():
    path = osp.dirname(sys.executable) + os.pathsep + os.environ['PATH']
    return dict(os.environ, PYTHONPATH=ROOT, PATH=path)


def test_short_names_are_exactly_the_paper_presets():
    for short, full in SHORT.items():
        resolved = Config.fromfile(osp.join(ROOT, short)).to_dict()
        assert resolved == Config.fromfile(osp.join(ROOT, full)).to_dict()
        # the extension-less link (what mim looks for) names the same file
        link = osp.join(ROOT, short[:-3])
        assert osp.islink(link) and resolve_config(link) == osp.realpath(osp.join(ROOT, short))
    with pytest.raises(PreflightError, match=r'saip_vit-tiny_lup1n\.py: no such file; did you mean '
                                             r'configs/pretrain/saip_vit-tiny_lup1m\.py'):
        resolve_config('configs/pretrain/saip_vit-tiny_lup1n.py')


def test_readme_first_training_command_uses_the_short_name():
    with open(osp.join(ROOT, 'README.md')) as f:
        readme = f.read()
    first = re.search(r'(tools/dist_train\.sh|tools/train\.py|mim train saip_mm) \S+', readme)
    assert first.group(0) == 'tools/dist_train.sh configs/pretrain/saip_vit-tiny_lup1m.py'


def test_an_unknown_option_is_refused_as_by_the_full_name():
    from saip_mm.registry import MODELS
    messages = []
    for path in ('configs/pretrain/saip_vit-tiny_lup1m.py', PAPER_CFG):
        cfg = Config.fromfile(osp.join(ROOT, path))
        cfg.merge_from_dict({'model.csm.tau_teacher': 0.04})
        with DefaultScope.overwrite_default_scope('saip_mm'), pytest.raises(ValueError) as info:
            MODELS.build(cfg.model)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and 'tau_teacher' in messages[0]


def test_missing_data_paths_are_found_through_dataset_wrappers(tmp_path):
    """Data paths under wrappers (dataset=, datasets=[...]), joined with data_root as the datasets join
    them; the first missing one is named with the --cfg-options key that sets it."""
    (tmp_path / 'a' / 'images').mkdir(parents=True)
    (tmp_path / 'a' / 'list.txt').write_text('x.jpg\n')
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='RepeatDataset', dataset=dict(
        type='ConcatDataset', datasets=[
            dict(data_root=str(tmp_path / 'a'), ann_file='list.txt', data_prefix=dict(img='images/')),
            dict(data_root=str(tmp_path / 'b'), ann_file='ann.json', data_prefix=dict(img='train/')),
            dict(data_root='s3://bucket/c', ann_file='remote.json')])))))
    missing = missing_data(cfg, ['train_dataloader'])
    key = 'train_dataloader.dataset.dataset.datasets.1'
    assert missing == [(f'{key}.data_root', str(tmp_path / 'b')),
                       (f'{key}.ann_file', str(tmp_path / 'b' / 'ann.json')),
                       (f'{key}.data_prefix.img', osp.join(tmp_path, 'b', 'train/'))]
    expected = (rf'x\.py: the data folder or file {tmp_path}/b does not exist '
                r'\(and 2 more missing path\(s\)\); '
                rf'build it as docs/pretraining\.md.*--cfg-options {re.escape(key)}\.data_root=PATH')
    with pytest.raises(PreflightError, match=expected):
        check_data(cfg, 'configs/pretrain/x.py', ['train_dataloader'])


@pytest.mark.slow
def test_a_launch_without_data_stops_in_one_line(tmp_path):
    """`tools/dist_train.sh configs/pretrain/saip_vit-tiny_lup1m.py 8` on a machine without data/LUP1M:
    one line from one process naming the folder, the key and the guide; no worker starts. `mim train`
    by the bare name runs the same tool's check, which passes once the data is named."""
    mim = shutil.which('mim', path=osp.dirname(sys.executable))  # the same tool behind the bare name
    start = time.time()
    out = run_side_by_side({
        'launch': ['bash', osp.join(ROOT, 'tools/dist_train.sh'), osp.join(ROOT, SHORT_VIT), '8'],
        'mim': [mim, 'train', 'saip_mm', 'saip_vit-tiny_lup1m', '--preflight', '--cfg-options',
                f"train_dataloader.dataset.data_root={osp.join(ROOT, 'demo', 'persons')}"],
        'typo': [sys.executable, osp.join(ROOT, 'tools/train.py'), 'configs/pretrain/saip_vit-tiny.py'],
    }, env=_env(), cwd=tmp_path, per_command={'typo': dict(cwd=ROOT)})

    launch = out['launch']
    lines = [line for line in launch.stderr.splitlines() if line.strip() and 'Warning' not in line
             and not line.startswith('  ')]
    assert launch.returncode == 1 and 'Traceback' not in launch.stderr, launch.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith('train: saip_vit-tiny_lup1m.py: the data folder or file '
                                                   'data/LUP1M does not exist'), lines
    assert 'docs/pretraining.md' in lines[0]
    assert '--cfg-options train_dataloader.dataset.data_root=' in lines[0]
    assert 'torch.distributed' not in launch.stdout + launch.stderr and time.time() - start < 120

    mim_out = out['mim']
    assert mim_out.returncode == 0 and 'preflight ok' in mim_out.stdout, \
        mim_out.stdout[-2000:] + mim_out.stderr[-3000:]
    assert osp.realpath(osp.join(ROOT, SHORT_VIT)) in mim_out.stdout  # mim found the short-named preset

    typo = out['typo']
    assert typo.returncode == 1 and typo.stderr.strip().splitlines()[-1].startswith(
        'train: config configs/pretrain/saip_vit-tiny.py: no such file; did you mean'), typo.stderr[-2000:]


def test_mim_search_lists_the_model_zoo():
    """`mim search saip_mm` reads model-index.yml (exposed as saip_mm/.mim/model-index.yml) and its
    metafiles: every preset and baseline row, by name."""
    import saip_mm
    index = osp.join(osp.dirname(saip_mm.__file__), '.mim', 'model-index.yml')
    assert osp.isfile(index)
    mim = shutil.which('mim', path=osp.dirname(sys.executable))
    out = subprocess.run([mim, 'search', 'saip_mm'], env=_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    import yaml
    for meta in ('configs/pretrain/metafile.yml', 'configs/baselines/metafile.yml'):
        with open(osp.join(ROOT, meta)) as f:
            for model in yaml.safe_load(f)['Models']:
                assert model['Name'] in out.stdout, model['Name']
