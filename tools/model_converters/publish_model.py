# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""Prepare a checkpoint for release: drop what only resuming needs, name it after its content hash.

    python tools/model_converters/publish_model.py work_dirs/x/iter_100.pth saip_vit-tiny_demo.pth
    # -> saip_vit-tiny_demo-<first 8 hex digits of its sha256>.pth

The optimizer state, parameter-scheduler states and the message hub's resume data are removed
(``--keep-message-hub`` keeps the logged scalars, e.g. the retrieval figures); ``state_dict`` and
``meta`` stay, so the file still loads with ``load_from`` / ``init_cfg=dict(type='Pretrained')`` and
exports with ``saip2backbone.py``. The tensors are saved as they are (fp32 unless ``--half``).
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
from typing import List, Optional

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

DROPPED = ('optimizer', 'param_schedulers', 'message_hub')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Strip a checkpoint for release and add its hash to the name')
    p.add_argument('src', help='runner checkpoint')
    p.add_argument('dst', help='output name (.pth); the hash is inserted before the extension')
    p.add_argument('--keep-message-hub', action='store_true', help='keep the logged scalars')
    p.add_argument('--half', action='store_true', help='store floating-point tensors as fp16')
    return p.parse_args(argv)


def sha256_prefix(path: str, length: int = 8) -> str:
    """The first ``length`` hex digits of a file's SHA-256."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()[:length]


def main(argv: Optional[List[str]] = None) -> str:
    """Write the published checkpoint; returns its path."""
    args = parse_args(argv)
    from saip_mm.utils.checkpoint import safe_load  # torch's safe loader, errors naming the file
    ckpt = safe_load(args.src)
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError(f'{args.src} is not a runner checkpoint (no state_dict)')
    dropped = [k for k in DROPPED if k in ckpt and not (k == 'message_hub' and args.keep_message_hub)]
    out = {k: v for k, v in ckpt.items() if k not in dropped}
    if args.half:
        out['state_dict'] = {k: v.half() if v.is_floating_point() else v
                             for k, v in out['state_dict'].items()}
    stem, ext = osp.splitext(args.dst)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    tmp = stem + '.tmp' + (ext or '.pth')
    torch.save(out, tmp)
    final = f'{stem}-{sha256_prefix(tmp)}{ext or ".pth"}'
    os.replace(tmp, final)
    size = osp.getsize(final) / 2**20
    print(f'{final}: {size:.1f} MiB (from {osp.getsize(args.src) / 2**20:.1f} MiB; dropped {dropped})')
    return final


if __name__ == '__main__':
    from saip_mm.utils.cli import run_tool
    run_tool(main, 'publish_model')
