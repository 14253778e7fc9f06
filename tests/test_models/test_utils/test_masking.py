"""Block-wise patch masks (HAP's human prior, PersonViT's masking): exact counts, contiguous blocks,
reproducible with a seed, and the one dispatch that draws either kind."""
import pytest
import torch

from saip_mm.models.utils.masking import block_patch_mask, draw_patch_mask, random_patch_mask


def _masked_neighbour_share(mask: torch.Tensor, grid) -> float:
    """Among the 4-neighbours (inside the grid) of masked patches, the share that are masked."""
    m = mask.view(-1, *grid).float()
    pad = torch.nn.functional.pad(m, (1, 1, 1, 1))
    inside = torch.nn.functional.pad(torch.ones_like(m), (1, 1, 1, 1))
    shifts = [(0, 1), (0, -1), (1, 0), (-1, 0)]
    masked = sum(pad.roll(s, (1, 2))[:, 1:-1, 1:-1] for s in shifts)
    total = sum(inside.roll(s, (1, 2))[:, 1:-1, 1:-1] for s in shifts)
    return float((masked * m).sum() / (total * m).sum())


@pytest.mark.parametrize('grid,ratio', [((16, 8), 0.5), ((16, 8), 0.75), ((14, 14), 0.4), ((8, 4), 0.3)])
def test_block_mask_has_exact_counts_and_contiguous_blocks(grid, ratio):
    gen = torch.Generator().manual_seed(0)
    mask = block_patch_mask(64, grid, ratio, gen)
    assert mask.shape == (64, grid[0] * grid[1]) and mask.dtype == torch.bool
    assert (mask.sum(1) == round(ratio * grid[0] * grid[1])).all()
    # blocks: masked patches have masked neighbours far more often than under uniform sampling
    rand = random_patch_mask(64, grid[0] * grid[1], ratio, torch.Generator().manual_seed(0))
    assert _masked_neighbour_share(mask, grid) > _masked_neighbour_share(rand, grid) + 0.15
    # rows differ, and the same seed repeats the masks
    assert len({tuple(r.tolist()) for r in mask}) > 60
    assert torch.equal(mask, block_patch_mask(64, grid, ratio, torch.Generator().manual_seed(0)))


def test_draw_patch_mask_dispatches_and_refuses_unknown_types():
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert torch.equal(draw_patch_mask('random', 4, (16, 8), 0.75, gen()),
                       random_patch_mask(4, 128, 0.75, gen()))
    assert torch.equal(draw_patch_mask('block', 4, (16, 8), 0.5, gen()),
                       block_patch_mask(4, (16, 8), 0.5, gen()))
    with pytest.raises(ValueError, match="mask_type must be one of \\('random', 'block'\\), got 'grid'"):
        draw_patch_mask('grid', 4, (16, 8), 0.5)
    with pytest.raises(ValueError, match='mask ratio must be in'):
        block_patch_mask(4, (16, 8), 1.0)
