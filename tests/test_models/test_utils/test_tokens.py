"""The one token contract (saip_mm/models/utils/tokens.py): every student the configs build (ViT-Tiny,
StarNet-S3 and TinyViT-5M behind the token adapter) and the colour-histogram encoder keep it at two
input sizes, with and without a mask; a broken output is refused naming its key."""
import os.path as osp

import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT, SMALL_PRETRAIN
from mmengine.config import Config
from mmengine.registry import DefaultScope

from saip_mm.models.utils import check_tokens, student_tokens
from saip_mm.models.utils.masking import random_patch_mask
from saip_mm.models.utils.retrieval import ColourHistogramEncoder
from saip_mm.registry import MODELS

CONFIGS = {'vit-tiny': DEMO_CFG, **SMALL_PRETRAIN}


def _student(name: str):
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[name])).model.backbone
    with DefaultScope.overwrite_default_scope('saip_mm'):
        return MODELS.build(cfg).eval()


@pytest.mark.parametrize('name', sorted(CONFIGS))
@pytest.mark.parametrize('size', [(256, 128), (192, 96)])
def test_every_student_keeps_the_contract(name, size):
    model = _student(name)
    x = torch.randn(2, 3, *size)
    rows, cols = size[0] // 16, size[1] // 16
    mask = random_patch_mask(2, rows * cols, 0.75, torch.Generator().manual_seed(0))
    with torch.no_grad():
        plain, masked = model.forward_tokens(x), model.forward_tokens(x, mask=mask)
    check_tokens(plain, 2)
    check_tokens(masked, 2, mask)
    assert plain['grid'] == (rows, cols)
    # the visible indices are the unmasked positions, ascending
    assert torch.equal(masked['keep'], (~mask).nonzero()[:, 1].view(2, -1))


def test_colour_histogram_encoder_keeps_the_contract():
    check_tokens(ColourHistogramEncoder().forward_tokens(torch.randn(3, 3, 256, 128)), 3)


def test_a_broken_output_is_refused_naming_its_key():
    glob, patches = torch.zeros(2, 8), torch.zeros(2, 128, 8)
    good = student_tokens((glob, patches), (glob, patches), (16, 8))
    check_tokens(good, 2)
    with pytest.raises(ValueError, match=r"lacks \['keep'\]"):
        check_tokens({k: v for k, v in good.items() if k != 'keep'}, 2)
    with pytest.raises(ValueError, match=r"'mid' patch tokens must be \(2, 128, C\)"):
        check_tokens(dict(good, mid=(glob, patches[:, :100])), 2)
    with pytest.raises(ValueError, match=r"'final' global token must be \(2, C\)"):
        check_tokens(dict(good, final=(glob[:1], patches)), 2)
    mask = random_patch_mask(2, 128, 0.5)
    with pytest.raises(ValueError, match=r"'keep' must be \(2, 64\)"):
        check_tokens(dict(good, final=(glob, patches[:, :64]), mid=(glob, patches[:, :64])), 2, mask)
    with pytest.raises(ValueError, match="'grid' must be"):
        check_tokens(dict(good, grid=(16, )), 2)
