"""INT8 on every x86 CPU (issue 30, section 2): the export picks u8 x s8 where VNNI accumulates in 32
bits and u8 x u8 where onnxruntime's u8 x s8 kernel saturates (AVX2 / AVX-512 without VNNI). The
saturation and its fix are shown on an AVX2-only CPU model (QEMU's Haswell: AVX2, no AVX-512, no VNNI)
when ``qemu-x86_64`` is installed (``.ci/run`` installs it)."""
import os.path as osp
import platform
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT

from saip_mm.deployment.int8_scheme import VNNI_FLAGS, choose_scheme, cpu_flags, scheme

HASWELL = ['fpu', 'sse4_2', 'avx', 'avx2', 'fma']
CASCADE_LAKE = HASWELL + ['avx512f', 'avx512bw', 'avx512_vnni']
SKYLAKE_X = HASWELL + ['avx512f', 'avx512bw']
ALDER_LAKE = HASWELL + ['avx_vnni']


def test_the_scheme_follows_the_cpu():
    assert choose_scheme(HASWELL, 'x86_64')['name'] == 'u8u8'
    assert choose_scheme(SKYLAKE_X, 'x86_64')['name'] == 'u8u8'  # AVX-512 without VNNI saturates too
    assert choose_scheme(CASCADE_LAKE, 'x86_64')['name'] == 'u8s8'
    assert choose_scheme(ALDER_LAKE, 'x86_64')['name'] == 'u8s8'
    assert choose_scheme([], 'aarch64')['name'] == 'u8s8'
    chosen = choose_scheme(SKYLAKE_X, 'x86_64')
    assert chosen['weight'] == 'QUInt8' and chosen['activation'] == 'QUInt8'
    assert 'avx512f' in chosen['cpu'] and 'saturates' in chosen['reason']
    assert scheme('u8s8')['weight'] == 'QInt8' and scheme('auto') == choose_scheme()
    with pytest.raises(ValueError, match='--int8-scheme must be auto or one of'):
        scheme('s4s4')
    if platform.machine() == 'x86_64':  # this machine's flags are read
        assert 'sse2' in cpu_flags()


@pytest.fixture(scope='module')
def int8_graphs(tmp_path_factory):
    """The ViT-Tiny backbone (random init, seeded) in fp32 and quantized with both schemes; 4 real crops
    and the fp32 output on them."""
    from saip_mm.deployment import build_for_export, export_onnx, input_spec, preprocess
    from saip_mm.deployment.quantize import image_paths, onnx_runner, quantize_int8, read_images
    out = tmp_path_factory.mktemp('int8')
    torch.manual_seed(0)
    wrapper, cfg = build_for_export(osp.join(ROOT, DEMO_CFG), None, 'backbone')
    spec = input_spec(cfg, 'backbone')
    fp32 = export_onnx(wrapper, spec, str(out / 'fp32.onnx'), 'backbone')
    calib = image_paths(osp.join(ROOT, 'demo', 'persons'), 16)
    graphs = {name: quantize_int8(fp32, str(out / f'{name}.onnx'), calib, spec, scheme(name))
              for name in ('u8s8', 'u8u8')}
    x = preprocess(read_images(image_paths(osp.join(ROOT, 'demo', 'vtest_reid', 'query'))[:4], 'x')[1], spec)
    np.save(out / 'x.npy', x)
    np.save(out / 'ref.npy', onnx_runner(fp32, 1)(x))
    return out, graphs


def _rel_diff(out, y: np.ndarray) -> float:
    """max |y - fp32| / max |fp32| on the fixture's first ``len(y)`` crops."""
    ref = np.load(out / 'ref.npy')[:len(y)]
    return float(np.abs(y - ref).max() / np.abs(ref).max())


@pytest.mark.slow  # exports and quantizes (the fixture)
def test_on_this_cpu_the_chosen_scheme_is_close_to_fp32(int8_graphs):
    """What each scheme gives on the machine that runs the suite: the one ``choose_scheme`` picks for it
    within 0.1 of the fp32 output scale; u8 x s8 too where the CPU has VNNI, and off by more than 0.2
    where it has not (on an AVX2-only AMD EPYC: 0.525, the saturation the QEMU test below models)."""
    from saip_mm.deployment.quantize import onnx_runner
    out, graphs = int8_graphs
    x = np.load(out / 'x.npy')
    diff = {name: _rel_diff(out, onnx_runner(graph, 1)(x)) for name, graph in graphs.items()}
    chosen = choose_scheme()
    assert 0 < diff[chosen['name']] < 0.1, (chosen, diff)
    assert 0 < diff['u8u8'] < 0.1, diff  # no saturating kernel on any CPU
    if platform.machine() == 'x86_64':
        has_vnni = bool(cpu_flags() & set(VNNI_FLAGS))
        assert (diff['u8s8'] < 0.1) if has_vnni else (diff['u8s8'] > 0.2), (chosen['cpu'], diff)


RUN = """import sys, numpy as np, onnxruntime as ort
o = ort.SessionOptions(); o.intra_op_num_threads = 1
x = np.load(sys.argv[1])
for graph, dst in zip(sys.argv[2::2], sys.argv[3::2]):
    s = ort.InferenceSession(graph, o, providers=['CPUExecutionProvider'])
    np.save(dst, s.run(None, {'input': x})[0])
"""


@pytest.mark.slow
@pytest.mark.skipif(platform.machine() != 'x86_64' or not shutil.which('qemu-x86_64'),
                    reason='needs x86-64 and qemu-x86_64 (apt-get install qemu-user) to model an AVX2-only '
                           'CPU')
def test_on_an_avx2_only_cpu_u8s8_saturates_and_u8u8_does_not(int8_graphs):
    """onnxruntime under QEMU's Haswell model (AVX2, no VNNI): the u8 x s8 graph is off by about half
    the output scale (the issue's 0.52 on a real AVX2-only machine), the u8 x u8 graph that the export
    picks there is within 0.1 (measured on the first crop: 0.45 and 0.033; one crop because the emulation
    runs ~20x slower than the host)."""
    out, graphs = int8_graphs
    (out / 'run.py').write_text(RUN)
    np.save(out / 'x1.npy', np.load(out / 'x.npy')[:1])
    emulated = {name: out / f'{name}.haswell.npy' for name in graphs}
    cmd = ['qemu-x86_64', '-cpu', 'Haswell-v4', sys.executable, str(out / 'run.py'), str(out / 'x1.npy')]
    for name, graph in graphs.items():  # one emulated process runs both graphs
        cmd += [graph, str(emulated[name])]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _rel_diff(out, np.load(emulated['u8s8'])) > 0.2
    assert _rel_diff(out, np.load(emulated['u8u8'])) < 0.1
    assert choose_scheme(HASWELL, 'x86_64')['name'] == 'u8u8'
