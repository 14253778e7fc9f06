"""Fault injection on the export, evaluation and video tools (issue 30, sections 2-4): each bad input
is a clear error naming what is wrong, or a loud count, and loses nothing; no tool leaves temporary
folders behind. The pose demo's inputs are in tests/test_deployment/test_pose_demo_and_latency.py."""
import glob
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time

import cv2
import pytest
from cfg_paths import DEMO_CFG, ROOT, SMALL_VIT

for sub in ('analysis', 'deployment', 'dataset_converters'):
    sys.path.insert(0, osp.join(ROOT, 'tools', sub))
import benchmark_latency  # noqa: E402
import eval_backbone  # noqa: E402
import pytorch2onnx  # noqa: E402
import video_to_reid  # noqa: E402

REID = osp.join(ROOT, 'demo', 'vtest_reid')
CLIP = osp.join(ROOT, 'tests', 'data', 'vtest_clip.avi')


def _export(*extra):
    return pytorch2onnx.main([osp.join(ROOT, DEMO_CFG), *extra])


# ---------------------------------------------------------------- pytorch2onnx.py
def test_export_needs_a_checkpoint_or_random_init_on_purpose(tmp_path, capsys):
    for argv in (['', '--task', 'backbone', '--out', str(tmp_path / 'a.onnx')],
                 ['--task', 'backbone', '--out', str(tmp_path / 'a.onnx')]):
        with pytest.raises(SystemExit):
            _export(*argv)
    assert 'no CHECKPOINT given' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _export('x.pth', '--random-init', '--task', 'backbone', '--out', str(tmp_path / 'a.onnx'))
    assert 'not both' in capsys.readouterr().err
    assert not (tmp_path / 'a.onnx').exists()
    report = _export('--random-init', '--task', 'backbone', '--out', str(tmp_path / 'r.onnx'))
    assert osp.isfile(report['onnx'])


def test_a_mistyped_reid_set_stops_before_the_export(tmp_path):
    """The retrieval report and the INT8 DEGRADED guard read --reid-data: a folder without the Market
    layout is an error before anything is written, not a silently skipped report."""
    start = time.time()
    with pytest.raises(FileNotFoundError, match=r'--reid-data demo/vtest_reidd: no query/ and no '
                                                r'bounding_box_test/ folder'):
        _export('--random-init', '--task', 'backbone', '--out', str(tmp_path / 'a.onnx'), '--int8',
                '--reid-data', 'demo/vtest_reidd')
    assert not (tmp_path / 'a.onnx').exists() and time.time() - start < 20
    with pytest.warns(UserWarning, match=r'--reid-data is read for the retrieval tasks'):
        pytorch2onnx.check_inputs(pytorch2onnx.parse_args(
            [osp.join(ROOT, DEMO_CFG), '--random-init', '--task', 'pose', '--out', 'p.onnx', '--reid-data',
             REID]))


def test_a_failed_verify_removes_the_unverified_graph(tmp_path):
    out = tmp_path / 'a.onnx'
    with pytest.raises(SystemExit, match=r'a\.onnx: onnxruntime differs from PyTorch .*the file was removed'):
        _export('--random-init', '--task', 'backbone', '--out', str(out), '--verify', '--rtol', '-1')
    assert not out.exists()


def test_unreadable_verify_and_calibration_images_are_named_and_skipped(tmp_path):
    from saip_mm.deployment.quantize import image_paths, read_images
    folder = tmp_path / 'crops'
    shutil.copytree(osp.join(REID, 'query'), folder)
    first = sorted(os.listdir(folder))[0]
    (folder / first).write_bytes((folder / first).read_bytes()[:300])  # a cut-off JPEG
    (folder / 'zz_notes.jpg').write_text('not an image')
    paths = image_paths(str(folder))
    with pytest.warns(UserWarning) as warned:
        kept, images = read_images(paths, '--calib')
    named = ' '.join(str(w.message) for w in warned)
    assert f'--calib: skipped unreadable image {folder / first}' in named and 'zz_notes.jpg' in named
    assert len(kept) == len(paths) - 2 and all(img.shape[2] == 3 for img in images)
    (tmp_path / 'bad').mkdir()
    (tmp_path / 'bad' / 'a.jpg').write_bytes(b'')
    with pytest.raises(FileNotFoundError, match=r'--images: none of the 1 image\(s\) can be read'):
        read_images(image_paths(str(tmp_path / 'bad')), '--images')


# ---------------------------------------------------------------- eval_backbone.py
def _small_sets(tmp_path, queries: int = 0):
    """The demo config on small copies of its validation sets (the checks do not depend on their size):
    (dumped config, the video subset's root), with only the first ``queries`` queries if given."""
    from mmengine.config import Config
    from val_sets import small_val_sets
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    data = small_val_sets(cfg, tmp_path)
    cfg.model.backbone.update(SMALL_VIT)  # nor on the student's depth
    cfg.dump(str(tmp_path / 'config.py'))
    if queries:
        for name in sorted(os.listdir(osp.join(data, 'query')))[queries:]:
            os.remove(osp.join(data, 'query', name))
    return str(tmp_path / 'config.py'), data


@pytest.mark.slow  # evaluates a set
def test_a_set_too_small_is_refused_and_counts_are_printed(tmp_path, capsys):
    config, data = _small_sets(tmp_path, queries=1)
    with pytest.raises(ValueError, match=r'reid: 1 query image\(s\) \(at least 10 are needed.*--min-queries'):
        eval_backbone.main(['none', '--config', config, '--data', data])
    eval_backbone.main(['none', '--config', config, '--data', data,
                        '--min-queries', '1', '--json', str(tmp_path / 'r.json')])
    assert f'set {data}: 1 queries (1 identities; one query = 100.0 points of R1)' in capsys.readouterr().out
    assert json.load(open(tmp_path / 'r.json'))['set']['queries'] == 1


@pytest.mark.slow
def test_a_corrupt_jpeg_is_skipped_and_counted(tmp_path, capsys):
    """One cut-off gallery image: the evaluation runs on the rest and says what it skipped."""
    config, data = _small_sets(tmp_path)
    victim = sorted(glob.glob(osp.join(data, 'bounding_box_test', '*.jpg')))[3]
    with open(victim, 'rb') as f:
        head = f.read(500)
    with open(victim, 'wb') as f:
        f.write(head)
    with pytest.warns(UserWarning, match=f'skipped unreadable image {victim}'):
        table = eval_backbone.main(['none', '--config', config, '--data', data,
                                    '--json', str(tmp_path / 'r.json')])
    assert 0 <= table['none']['mAP'] <= 100
    assert '1 unreadable image(s) skipped' in capsys.readouterr().out
    assert json.load(open(tmp_path / 'r.json'))['set']['skipped'] == [victim]


# ---------------------------------------------------------------- video_to_reid.py
def test_video_to_reid_refuses_what_would_lose_or_fake_data(tmp_path):
    # a still image given as the video
    still = tmp_path / 'frame.jpg'
    cap = cv2.VideoCapture(CLIP)
    ok, frame = cap.read()
    cap.release()
    cv2.imwrite(str(still), frame)
    with pytest.raises(ValueError, match=r'frame\.jpg is a still image'):
        video_to_reid.main([str(still), '--out-dir', str(tmp_path / 'a')])
    # no identity: fails with the reason and writes nothing
    with pytest.raises(ValueError, match=r'no identity kept, nothing written: 1 frame\(s\) read .*too few'):
        video_to_reid.main([CLIP, '--out-dir', str(tmp_path / 'b'), '--frames', '0', '2'])
    with pytest.raises(ValueError, match=r'no person detected \(--min-score 1000'):
        video_to_reid.main([CLIP, '--out-dir', str(tmp_path / 'b'), '--frames', '0', '6',
                            '--min-score', '1000'])
    assert not (tmp_path / 'b').exists() or not os.listdir(tmp_path / 'b')
    # an earlier set is not mixed with a new one; --overwrite clears only what the tool wrote
    old = tmp_path / 'old'
    shutil.copytree(REID, old)
    before = sorted(os.listdir(old / 'query'))
    with pytest.raises(FileExistsError, match=r'--out-dir .*old is not empty .*--overwrite'):
        video_to_reid.main([CLIP, '--out-dir', str(old)])
    assert sorted(os.listdir(old / 'query')) == before
    (old / 'README.md').write_text('mine')
    with pytest.raises(FileExistsError, match=r'holds files this tool did not write \(README\.md'):
        video_to_reid.main([CLIP, '--out-dir', str(old), '--overwrite'])
    assert (old / 'README.md').exists() and sorted(os.listdir(old / 'query')) == before


# ---------------------------------------------------------------- benchmark_latency.py, task_metric
def test_latency_benchmark_checks_its_image_first(tmp_path, capsys):
    start = time.time()
    with pytest.raises(FileNotFoundError, match='--image nowhere.jpg: no such file'):
        benchmark_latency.main(['--image', 'nowhere.jpg'])
    (tmp_path / 'bad.jpg').write_bytes(b'\xff\xd8broken')
    with pytest.raises(FileNotFoundError, match=r'--image: none of the 1 image\(s\) can be read'):
        benchmark_latency.main(['--image', str(tmp_path / 'bad.jpg'), '--no-int8'])
    assert time.time() - start < 10  # before any model is built
    with pytest.raises(SystemExit):
        benchmark_latency.parse_args(['--help'])
    assert '(default: 100)' in capsys.readouterr().out


def test_task_metric_leaves_no_temporary_folder(monkeypatch):
    """loop_metrics without a work_dir runs in a temporary folder and removes it, also on failure."""
    from saip_mm.deployment import task_metric
    made = []
    real = tempfile.TemporaryDirectory

    def spy(*args, **kwargs):
        folder = real(*args, **kwargs)
        made.append(folder.name)
        return folder
    monkeypatch.setattr(task_metric.tempfile, 'TemporaryDirectory', spy)

    def run(x):
        raise RuntimeError('model failed')
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs/downstream/attribute/'
                                         'par_vit-tiny-p16_1xb64-25e_pa100k-256x128.py'))
    with pytest.raises(Exception):
        task_metric.loop_metrics(cfg, 'attribute', run)
    ours = [m for m in made if osp.basename(m).startswith('saip_metric_')]
    assert len(ours) == 1 and not osp.exists(ours[0])
