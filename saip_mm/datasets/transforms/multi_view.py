# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""mmpretrain's ``MultiView`` without its deep copies (issue 28: the workers' time per sample)."""
from contextlib import contextmanager
from typing import Dict, Iterator, List

import numpy as np
from mmpretrain.datasets.transforms import MultiView

from saip_mm.registry import TRANSFORMS


@contextmanager
def read_only(arrays: List[np.ndarray]) -> Iterator[None]:
    """Make ``arrays`` read-only for the block (an in-place write raises), then restore their flags."""
    flags = [a.flags.writeable for a in arrays]
    for a in arrays:
        a.flags.writeable = False
    try:
        yield
    finally:
        for a, flag in zip(arrays, flags):
            a.flags.writeable = flag


@TRANSFORMS.register_module()
class SharedMultiView(MultiView):
    """``mmpretrain.MultiView`` (the same arguments, the same views from the same random draws), each view
    pipeline given a shallow copy of the sample instead of a deep one.

    ``MultiView`` deep-copies the whole sample once per view, the other people and the canvas background
    that the dataset loaded with it included, and keeps only each view's ``img``. Here each view starts
    from ``dict(results)``, and the sample's arrays (its image, and the images of ``mix_results`` and
    ``background``) are read-only while the views are made, so a transform that would write into them
    in place raises instead of changing the other views.

    Added keys: ``img`` becomes the list of views, as ``MultiView``'s.
    """

    def transform(self, results: Dict) -> Dict:
        shared = [v for v in results.values() if isinstance(v, np.ndarray)]
        shared += [m['img'] for m in results.get('mix_results', ()) if isinstance(m.get('img'), np.ndarray)]
        with read_only(shared):
            views = [pipeline(dict(results))['img'] for pipeline in self.transforms]
        results['img'] = views
        return results
