"""Which INT8 data types to quantize to, for the CPU the model will run on.

onnxruntime's x86 kernels multiply uint8 activations by int8 weights. With VNNI (AVX512-VNNI, AVX-VNNI,
AMX) the products accumulate in 32 bits. Without it (an AVX2-only or AVX-512 without VNNI processor)
they go through ``vpmaddubsw``, which adds pairs of u8 x s8 products into a *saturating 16-bit*
integer: two products of 255 x 127 already exceed 32767. On such CPUs the u8/s8 graph of our
ViT-Tiny backbone differs from fp32 by 0.53 of the output scale instead of 0.05 (measured under QEMU's
Haswell model, which has AVX2 and no VNNI; docs/deployment.md). uint8 weights (u8 x u8) go through a
kernel that widens to 16 bits before multiplying and do not saturate; that is the choice there.
``reduce_range`` (7-bit weights) also avoids the overflow, at slightly larger error in our
measurement. Other architectures (ARM's ``sdot``/``udot``) accumulate in 32 bits: u8/s8.
"""
import platform
from typing import Dict, Iterable, Optional, Set

VNNI_FLAGS = ('avx512_vnni', 'avx_vnni', 'amx_int8')
SCHEMES: Dict[str, Dict[str, str]] = {
    'u8s8': dict(activation='QUInt8', weight='QInt8'),
    'u8u8': dict(activation='QUInt8', weight='QUInt8'),
}


def cpu_flags(cpuinfo: str = '/proc/cpuinfo') -> Set[str]:
    """The instruction-set flags the kernel reports for this CPU (empty where there is no cpuinfo)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def choose_scheme(flags: Optional[Iterable[str]] = None, machine: Optional[str] = None) -> Dict[str, str]:
    """The INT8 scheme for a CPU (module docstring).

    Args:
        flags: CPU flags (default: this CPU's, :func:`cpu_flags`).
        machine: ``platform.machine()`` (default: this one's).

    Returns:
        dict: ``name`` ('u8s8' or 'u8u8'), ``activation`` / ``weight`` (onnxruntime ``QuantType`` names),
        ``cpu`` (the features that decided, in words) and ``reason``.
    """
    flags = set(cpu_flags() if flags is None else flags)
    machine = (machine or platform.machine()).lower()
    if machine not in ('x86_64', 'amd64', 'i386', 'i686', 'x86'):
        return dict(SCHEMES['u8s8'], name='u8s8', cpu=machine,
                    reason='not x86: integer dot products accumulate in 32 bits')
    vnni = [f for f in VNNI_FLAGS if f in flags]
    simd = [f for f in ('avx512f', 'avx2') if f in flags]
    cpu = f"{machine} with {', '.join(simd + vnni) or 'no AVX2'}"
    if vnni:
        return dict(SCHEMES['u8s8'], name='u8s8', cpu=cpu,
                    reason=f'{vnni[0]}: u8 x s8 products accumulate in 32 bits')
    return dict(SCHEMES['u8u8'], name='u8u8', cpu=cpu,
                reason='no VNNI: the u8 x s8 kernel (vpmaddubsw) saturates 16-bit sums; u8 x u8 does not')


def scheme(name: str = 'auto') -> Dict[str, str]:
    """``choose_scheme()`` for ``'auto'``, else the named scheme (for a CPU other than this one).

    Raises:
        ValueError: For an unknown name.
    """
    if name == 'auto':
        return choose_scheme()
    if name not in SCHEMES:
        raise ValueError(f'--int8-scheme must be auto or one of {sorted(SCHEMES)}, got {name!r}')
    return dict(SCHEMES[name], name=name, cpu='chosen by the user', reason='--int8-scheme')


__all__ = ['SCHEMES', 'choose_scheme', 'cpu_flags', 'scheme']
