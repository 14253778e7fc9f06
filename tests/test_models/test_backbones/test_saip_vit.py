import pytest
import torch
from mmpretrain.models import VisionTransformer

from saip_mm.models.backbones.saip_vit import SAIPViT
from saip_mm.models.utils.masking import keep_indices, random_patch_mask
from saip_mm.models.utils.pos_embed import infer_grid, patchify, sincos_2d, unpatchify


def test_vit_tiny_parameter_count():
    model = SAIPViT()
    n = sum(p.numel() for p in model.parameters())
    # ViT-Tiny: 5.5 M (the paper's count), 192-d, 12 blocks, 3 heads, 16x8 grid at 256x128
    assert 5.4e6 < n < 5.6e6, n
    assert model.embed_dims == 192 and model.num_layers == 12
    assert tuple(model.patch_resolution) == (16, 8)


@pytest.mark.parametrize('grid', [(16, 8), (20, 10)])
def test_mask_keep_count_exact(grid):
    num = grid[0] * grid[1]
    gen = torch.Generator().manual_seed(0)
    mask = random_patch_mask(6, num, 0.75, gen)
    assert mask.shape == (6, num)
    assert (mask.sum(1) == round(0.75 * num)).all()
    keep = keep_indices(mask)
    assert keep.shape == (6, num - round(0.75 * num))
    # kept indices are exactly the unmasked ones, in order
    for row, k in zip(mask, keep):
        assert torch.equal(k, torch.nonzero(~row).flatten())


def test_keep_indices_rejects_uneven_rows():
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[0, :3] = True
    with pytest.raises(ValueError, match='same number'):
        keep_indices(mask)


def test_pos_embed_resize_identity_and_structure():
    model = SAIPViT()
    with torch.no_grad():
        # a position embedding that encodes row in channel 0 and column in channel 1
        rows = torch.arange(16.).repeat_interleave(8)
        cols = torch.arange(8.).repeat(16)
        model.pos_embed[0, 1:, 0] = rows
        model.pos_embed[0, 1:, 1] = cols
    native = model.grid_pos_embed((16, 8))
    assert torch.equal(native, model.pos_embed)
    wide = model.grid_pos_embed((16, 12))[0, 1:].reshape(16, 12, -1)
    # rows stay rows: channel 0 is constant along each row and increases down the columns
    assert torch.allclose(wide[..., 0], wide[:, :1, 0].expand(-1, 12), atol=1e-4)
    assert (wide[1:, 0, 0] > wide[:-1, 0, 0]).all()
    # columns stay columns: channel 1 is constant down each column and increases to the right
    assert torch.allclose(wide[..., 1], wide[:1, :, 1].expand(16, -1), atol=1e-4)
    assert (wide[0, 1:, 1] > wide[0, :-1, 1]).all()


@pytest.mark.parametrize('size', [(256, 128), (128, 64), (320, 160), (224, 224), (256, 192)])
def test_forward_tokens_any_size(size):
    model = SAIPViT().eval()
    out = model.forward_tokens(torch.randn(2, 3, *size))
    rows, cols = size[0] // 16, size[1] // 16
    assert out['grid'] == (rows, cols)
    assert out['final'][0].shape == (2, 192)
    assert out['final'][1].shape == (2, rows * cols, 192)
    assert out['mid'][1].shape == (2, rows * cols, 192)


def test_masked_forward_equals_dropping_tokens():
    model = SAIPViT(arch=dict(embed_dims=48, num_layers=2, num_heads=3, feedforward_channels=96),
                    mid_index=1).eval()
    x = torch.randn(2, 3, 256, 128)
    mask = random_patch_mask(2, 128, 0.75, torch.Generator().manual_seed(1))
    out = model.forward_tokens(x, mask=mask)
    assert out['final'][1].shape == (2, 32, 48)
    # a kept token's value does not depend on the pixels of masked patches
    x2 = x.clone()
    masked_pixels = torch.kron(mask.view(2, 16, 8).float(), torch.ones(16, 16)).bool()
    x2[masked_pixels[:, None].expand_as(x2)] = 0
    out2 = model.forward_tokens(x2, mask=mask)
    assert torch.allclose(out['final'][1], out2['final'][1], atol=1e-5)


def test_sincos_non_square_layout():
    table = sincos_2d((4, 3), 16).reshape(4, 3, 16)
    # second half (rows) shared along a row, first half (cols) shared down a column
    assert torch.allclose(table[:, :, 8:], table[:, :1, 8:].expand(-1, 3, -1))
    assert torch.allclose(table[:, :, :8], table[:1, :, :8].expand(4, -1, -1))
    assert not torch.allclose(table[0, 0], table[1, 0])


def test_patchify_roundtrip_non_square():
    imgs = torch.randn(2, 3, 320, 160)
    tokens = patchify(imgs, 16)
    assert tokens.shape == (2, 200, 768)
    # token 1 is the patch in row 0, column 1
    assert torch.equal(tokens[0, 1].view(16, 16, 3).permute(2, 0, 1), imgs[0, :, :16, 16:32])
    assert torch.equal(unpatchify(tokens, (20, 10), 16), imgs)


def test_weights_load_into_mmpretrain_vit():
    saip = SAIPViT()
    vit = VisionTransformer(arch='deit-tiny', img_size=(256, 128), patch_size=16, out_type='raw')
    result = vit.load_state_dict(saip.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(1, 3, 256, 128)
    saip.eval(), vit.eval()
    assert torch.allclose(saip(x)[0], vit(x)[0], atol=1e-5)


def test_non_square_checkpoint_into_downstream_grid():
    src = SAIPViT()
    dst = SAIPViT(img_size=(256, 192))
    dst.load_state_dict(src.state_dict())
    expected = src.grid_pos_embed((16, 12))
    assert torch.allclose(dst.pos_embed, expected)


@pytest.mark.parametrize('size', [(384, 192), (224, 224), (256, 128)])
def test_exporter_and_backbone_agree_on_checkpoint_grids(size):
    """One grid rule: a table the exporter reads as R×C is the table the backbone resizes from R×C."""
    src = SAIPViT(img_size=size)
    rows, cols = size[0] // 16, size[1] // 16
    assert infer_grid(rows * cols) == (rows, cols)
    dst = SAIPViT(img_size=(256, 192))
    dst.load_state_dict(src.state_dict())
    assert torch.allclose(dst.pos_embed, src.grid_pos_embed((16, 12)), atol=1e-6)


def test_grid_inference_errors_name_the_fix():
    with pytest.raises(ValueError, match='does not hold 130'):
        infer_grid(130, grid=(16, 8))
    with pytest.raises(ValueError, match='pretrained_grid'):
        SAIPViT(img_size=(256, 128)).load_state_dict(
            {**SAIPViT(img_size=(272, 128)).state_dict()})  # 17×8 = 136 tokens: neither 2:1 nor square
    assert infer_grid(136, own=(17, 8)) == (17, 8)


def test_mid_tokens_are_the_output_of_exactly_seven_blocks():
    """mid_index=7 is the authors' "block 7": the output of the 7th block (layers[0..6])."""
    torch.manual_seed(0)
    model = SAIPViT(mid_index=7).eval()
    x = torch.randn(2, 3, 256, 128)
    with torch.no_grad():
        out = model.forward_tokens(x)
        tokens, grid = model.patch_embed(x)
        pos = model.grid_pos_embed(grid)
        cls = (model.cls_token + pos[:, :1]).expand(2, -1, -1)
        h = model.pre_norm(torch.cat([cls, tokens + pos[:, 1:]], 1))
        for layer in model.layers[:7]:
            h = layer(h)
        after8 = model.layers[7](h)
    assert torch.equal(out['mid'][0], h[:, 0]) and torch.equal(out['mid'][1], h[:, 1:])
    assert not torch.allclose(out['mid'][1], after8[:, 1:])
    # negative indices count from the end; 0 and out-of-range counts are refused
    assert SAIPViT(mid_index=-1).mid_index == 12
    for bad in (0, 13, -13):
        with pytest.raises(ValueError, match='mid_index'):
            SAIPViT(mid_index=bad)
