import math

import pytest
import torch
import torch.nn as nn

from saip_mm.models.heads import CSMHead, CSRHead, CSSHead
from saip_mm.models.necks import CSMProjector, CSRDecoder, CSSDecoder
from saip_mm.models.utils import CosineEMAExpert


def test_csm_loss_matches_hand_computation():
    head = CSMHead(out_channels=3, student_temp=0.5, teacher_temp=0.25, center_momentum=0.9)
    head.center.fill_(0.1)
    teacher = torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    s0 = torch.tensor([[0.2, 0.1, 0.0], [0.0, 1.0, 0.0]])
    s1 = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    loss = head.loss([s0, s1], [teacher], teacher_views=[0])
    # by hand: only the pair (expert view 0, student view 1) counts
    total = 0.
    for b in range(2):
        t = [math.exp((v - 0.1) / 0.25) for v in teacher[b].tolist()]
        t = [v / sum(t) for v in t]
        s = [math.exp(v / 0.5) for v in s1[b].tolist()]
        logp = [math.log(v / sum(s)) for v in s]
        total += -sum(ti * li for ti, li in zip(t, logp))
    assert math.isclose(float(loss), total / 2, rel_tol=1e-5)
    # centre: 0.9 * 0.1 + 0.1 * batch mean
    expected_center = 0.9 * 0.1 + 0.1 * teacher.mean(0)
    assert torch.allclose(head.center[0], expected_center)


def test_csm_projector_shapes_and_fixed_norm():
    proj = CSMProjector(in_channels=192, hidden_channels=64, bottleneck_channels=32, out_channels=100)
    out = proj(torch.randn(4, 192))
    assert out.shape == (4, 100)
    g = proj.last_layer.parametrizations.weight.original0
    assert not g.requires_grad and torch.all(g == 1)


def _center_rank(rank: int, folder: str) -> None:
    """One gloo rank: update a CSMHead's centre with this rank's logits, check it against the mean over
    both ranks' logits, save it."""
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{folder}/rendezvous', rank=rank, world_size=2)
    head = CSMHead(out_channels=4, center_momentum=0.5)
    torch.manual_seed(rank)
    logits = torch.randn(3 + rank, 4) * (rank + 1)
    head.update_center(logits)
    all_logits = [None, None]
    dist.all_gather_object(all_logits, logits)
    expected = 0.5 * torch.cat(all_logits).mean(0, keepdim=True)
    assert torch.allclose(head.center, expected, atol=1e-6), (head.center, expected)
    torch.save(head.center, f'{folder}/center{rank}.pt')
    dist.destroy_process_group()


@pytest.mark.slow
def test_center_all_reduced_across_two_gloo_ranks(tmp_path):
    """Two real gloo ranks, forked from this process (no interpreter start-ups): the centre is the
    momentum average of the batch mean over both ranks (DINO's all-reduce), the same on each."""
    import multiprocessing
    context = multiprocessing.get_context('fork')
    procs = [context.Process(target=_center_rank, args=(rank, str(tmp_path))) for rank in (0, 1)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0, 0]
    c0, c1 = torch.load(tmp_path / 'center0.pt'), torch.load(tmp_path / 'center1.pt')
    assert torch.equal(c0, c1)


def test_ema_momentum_cosine_schedule():
    ema = CosineEMAExpert(nn.Linear(2, 2), momentum=0.996, end_momentum=1.0, iters=100)
    assert math.isclose(ema.momentum_at(0), 0.996)
    assert math.isclose(ema.momentum_at(50), 0.998)
    assert math.isclose(ema.momentum_at(100), 1.0)
    assert math.isclose(ema.momentum_at(25), 1 - 0.004 * (math.cos(math.pi / 4) + 1) / 2)


def test_ema_update_uses_global_step():
    student = nn.Linear(2, 1, bias=False)
    ema = CosineEMAExpert(student, momentum=0.5, end_momentum=1.0, iters=2)
    with torch.no_grad():
        ema.module.weight.zero_()
        student.weight.fill_(1.0)
    ema.update_parameters(student)  # step 0: m = 0.5
    assert torch.allclose(ema.module.weight, torch.full((1, 2), 0.5))
    ema.update_parameters(student)  # step 1: m = 0.75
    assert torch.allclose(ema.module.weight, torch.full((1, 2), 0.5 * 0.75 + 0.25))
    assert int(ema.steps) == 2


def test_csr_decoder_and_head():
    dec = CSRDecoder(in_channels=192, embed_dims=64, depth=2, num_heads=4)
    keep = torch.tensor([[0, 3, 5], [1, 2, 7]])
    pred = dec(torch.randn(2, 3, 192), keep, (4, 2), torch.randn(2, 128, 192))
    assert pred.shape == (2, 8, 768)
    head = CSRHead(patch_size=16, norm_pix=False)
    imgs = torch.randn(2, 3, 64, 32)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[:, 0] = False
    # a perfect prediction of the masked patches gives zero loss, whatever the visible ones
    from saip_mm.models.utils import patchify
    perfect = patchify(imgs, 16).clone()
    perfect[:, 0] += 5
    assert float(head.loss(perfect, imgs, mask)) == 0
    assert float(head.loss(perfect + 1, imgs, mask)) == 1
    # the pixel loss comes from config (mmpretrain's loss module, as MAEHead builds it)
    assert float(head.loss(perfect + 2, imgs, mask)) == 4
    l1 = CSRHead(patch_size=16, norm_pix=False,
                 loss=dict(type='mmpretrain.PixelReconstructionLoss', criterion='L1'))
    assert float(l1.loss(perfect + 2, imgs, mask)) == 2
    # masked rows only (the 'drop' path) give the same value as all rows with the mask
    only = perfect[:, 1:] + 2
    assert float(head.loss(only, imgs, mask)) == 4
    with pytest.raises(Exception, match='criterion|L3'):
        CSRHead(loss=dict(type='mmpretrain.PixelReconstructionLoss', criterion='L3'))


def test_css_decoder_and_head():
    dec = CSSDecoder(in_channels=192, embed_dims=64, depth=2, num_heads=4)
    queries = [torch.randn(2, 1 + 128, 192), torch.randn(2, 1 + 200, 192)]
    logits = dec(queries, torch.randn(2, 196, 192), (14, 14))
    assert logits.shape == (2, 2, 14, 14)
    target = torch.zeros(2, 14, 14)
    target[:, 2:6, 3:5] = 1
    bce, mse = CSSHead(), CSSHead(loss=dict(type='SigmoidMSELoss'))
    good = (target * 20 - 10)[None].expand(2, -1, -1, -1)
    assert float(bce.loss(good, target)) < 1e-3 < float(bce.loss(-good, target))
    assert float(mse.loss(good, target)) < 1e-6


def test_decoder_row_subsets_equal_full_outputs():
    """Computing only the needed rows in a last block (CSS: the global token; CSR: masked patches)
    gives exactly those rows of the full computation."""
    from saip_mm.models.utils.attention_blocks import DecoderBlock
    from saip_mm.models.utils.masking import masked_indices
    torch.manual_seed(0)
    block = DecoderBlock(32, 4, cross=True).eval()
    x, mem = torch.randn(2, 10, 32), torch.randn(2, 6, 32)
    rows = torch.tensor([[1, 4, 7], [0, 2, 9]])
    full = block(x, mem)
    part = block(x, mem, rows=rows)
    assert torch.allclose(part, torch.gather(full, 1, rows[..., None].expand(-1, -1, 32)), atol=1e-5)

    for layout in ('cross', 'self'):
        dec = CSRDecoder(in_channels=16, embed_dims=32, depth=2, num_heads=4, layout=layout).eval()
        keep = torch.tensor([[0, 3], [1, 2]])
        mask = torch.ones(2, 8, dtype=torch.bool).scatter(1, keep, False)
        args = (torch.randn(2, 2, 16), keep, (4, 2), torch.randn(2, 5, 16))
        full, part = dec(*args), dec(*args, predict=masked_indices(mask))
        idx = masked_indices(mask)
        assert part.shape == (2, 6, 768)
        assert torch.allclose(part, torch.gather(full, 1, idx[..., None].expand(-1, -1, 768)),
                              atol=1e-5)
        head = CSRHead(norm_pix=True)
        imgs = torch.randn(2, 3, 64, 32)
        assert torch.allclose(head.loss(part, imgs, mask), head.loss(full, imgs, mask), atol=1e-6)


def test_csm_pairs_follow_the_configured_roles():
    """student_views / teacher_views are image ids; pairs of the same image are skipped. The paper's
    text (student on the anchor, expert on the views) and the code's roles give different pairs."""
    torch.manual_seed(0)
    head = CSMHead(out_channels=5)
    s = [torch.randn(2, 5) for _ in range(3)]
    t = [torch.randn(2, 5) for _ in range(2)]

    def ce(ti, si):
        return torch.sum(-torch.softmax(ti / 0.04, -1) * torch.log_softmax(si / 0.1, -1), -1).mean()

    # paper text: student anchor (id 0) against expert views (ids 1, 2): 2 pairs
    loss = head.loss(s[:1], t, teacher_views=[1, 2], student_views=[0])
    assert torch.allclose(loss, (ce(t[0], s[0]) + ce(t[1], s[0])) / 2, atol=1e-6)
    head.center.zero_()
    # student views 0, 2, 5 against expert 0, 5: pairs (0,2) (0,5) (5,0) (5,2)
    loss = head.loss(s, t, teacher_views=[0, 5], student_views=[0, 2, 5])
    expected = (ce(t[0], s[1]) + ce(t[0], s[2]) + ce(t[1], s[0]) + ce(t[1], s[1])) / 4
    assert torch.allclose(loss, expected, atol=1e-6)


def test_css_view_reduction_and_per_query_targets():
    logits = torch.randn(3, 2, 14, 14)
    target = torch.rand(2, 14, 14)
    mean = CSSHead(view_reduction='mean').loss(logits, target)
    total = CSSHead(view_reduction='sum').loss(logits, target)
    assert torch.allclose(total, 3 * mean)  # eq. 3 sums over the N views
    # one instance per query: query t is scored against target[:, t]
    targets = (torch.rand(2, 2, 14, 14) > 0.5).float()
    right = 20 * (2 * targets.transpose(0, 1) - 1)
    head = CSSHead()
    assert float(head.loss(right, targets)) < 1e-6
    assert float(head.loss(right.flip(0), targets)) > 1
    with pytest.raises(ValueError, match='3 CSS query views but targets for 2'):
        head.loss(logits, targets)
    with pytest.raises(ValueError, match='view_reduction'):
        CSSHead(view_reduction='avg')


def test_heads_build_their_loss_from_config():
    """CSM and CSS take ``loss=dict(type=...)`` like mmpretrain's MAEHead: the module built from it is
    what computes the value (its weight shows), the default equals the hand formula of each equation, and
    a loss given twice or by an unknown shorthand is refused."""
    torch.manual_seed(0)
    s, t = [torch.randn(4, 6) for _ in range(2)], [torch.randn(4, 6)]
    ce = torch.sum(-torch.softmax(t[0] / 0.04, -1) * torch.log_softmax(s[1] / 0.1, -1), -1).mean()
    assert torch.allclose(CSMHead(out_channels=6).loss(s, t, teacher_views=[0]), ce, atol=1e-6)
    doubled = CSMHead(out_channels=6,
                      loss=dict(type='mmpretrain.CrossEntropyLoss', use_soft=True, loss_weight=2.))
    assert torch.allclose(doubled.loss(s, t, teacher_views=[0]), 2 * ce, atol=1e-6)

    logits, target = torch.randn(2, 3, 4, 4), torch.rand(3, 4, 4)  # soft targets: covered fraction
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target.expand_as(logits))
    sq = ((logits.sigmoid() - target) ** 2).mean()
    assert torch.allclose(CSSHead().loss(logits, target), bce, atol=1e-6)
    assert torch.allclose(CSSHead(loss=dict(type='SigmoidMSELoss')).loss(logits, target), sq, atol=1e-6)
    with pytest.raises(TypeError, match='loss_type'):  # one way to choose the loss (issue 29)
        CSSHead(loss_type='mse')


def test_step_generator_differs_by_rank_and_repeats():
    from saip_mm.models.utils import step_generator

    def draw(seed, step, rank):
        return torch.rand(8, generator=step_generator(seed, step, rank))

    assert torch.equal(draw(0, 5, 0), draw(0, 5, 0))
    assert not torch.equal(draw(0, 5, 0), draw(0, 5, 1))
    assert not torch.equal(draw(0, 5, 0), draw(0, 6, 0))
    assert not torch.equal(draw(0, 5, 0), draw(1, 5, 0))


def test_frozen_last_layer_gets_no_update():
    """``freeze_last_layer=FirstSteps(iters=3)``: at steps 0-2 the prototypes get a zero gradient (not
    None: AdamW still sees them) and do not move while the MLP does; from step 3 they train; without a
    step (the expert, evaluation) nothing is frozen."""
    torch.manual_seed(0)
    proj = CSMProjector(in_channels=8, hidden_channels=16, bottleneck_channels=8, out_channels=32,
                        freeze_last_layer=dict(type='FirstSteps', iters=3))
    opt = torch.optim.AdamW(proj.parameters(), lr=1e-2, weight_decay=0.05)
    last = proj.last_layer.parametrizations.weight.original1
    before, mlp_before = proj.last_layer.weight.detach().clone(), proj.mlp[0].weight.detach().clone()
    for step in range(3):
        opt.zero_grad()
        proj(torch.randn(4, 8), step).logsumexp(-1).mean().backward()
        assert last.grad is not None and last.grad.abs().sum() == 0
        opt.step()
    # the prototypes (weight-normalised) did not move; the MLP did
    assert torch.allclose(proj.last_layer.weight, before, atol=1e-6)
    assert not torch.allclose(proj.mlp[0].weight, mlp_before)
    for step in (3, None):
        opt.zero_grad()
        proj(torch.randn(4, 8), step).logsumexp(-1).mean().backward()
        assert last.grad.abs().sum() > 0, step
    opt.step()
    assert not torch.allclose(proj.last_layer.weight, before, atol=1e-6)
    from saip_mm.engine.hooks import FreezeLastLayerHook  # the hook that set a flag: refused, naming this
    with pytest.raises(ValueError, match="FreezeLastLayerHook was removed.*model.csm.neck.freeze_last_layer="
                                         r"dict\(type='FirstSteps', epochs=1\)"):
        FreezeLastLayerHook(epochs=1)


def test_csm_collapse_monitor_names_both_collapse_modes():
    """Flat targets (uniform collapse) give teacher_entropy 1; every image on one prototype gives
    batch_entropy 0; well-spread sharp targets give a low teacher entropy and a high batch entropy."""
    k = 64
    flat = CSMHead.collapse_monitor(torch.full((8, k), 1 / k))
    assert flat['teacher_entropy'] == pytest.approx(1.0) and flat['batch_entropy'] == pytest.approx(1.0)
    one = CSMHead.collapse_monitor(torch.nn.functional.one_hot(torch.zeros(8).long(), k).float())
    assert one['teacher_entropy'] == pytest.approx(0.0, abs=1e-6)
    assert one['batch_entropy'] == pytest.approx(0.0, abs=1e-6)
    spread = CSMHead.collapse_monitor(torch.nn.functional.one_hot(torch.arange(64), k).float())
    assert spread['teacher_entropy'] < 0.01 and spread['batch_entropy'] == pytest.approx(1.0)


def test_css_per_query_canvas_features_equal_shared_ones():
    """``share_canvas_features=False`` (the code-faithful preset's equal-work mode) recomputes the mask
    branch per query and gives the same logits as one shared pass."""
    from saip_mm.models.necks.css_decoder import CSSDecoder
    torch.manual_seed(0)
    shared = CSSDecoder(in_channels=32, embed_dims=64, num_heads=4)
    shared.init_weights()
    per_query = CSSDecoder(in_channels=32, embed_dims=64, num_heads=4, share_canvas_features=False)
    per_query.load_state_dict(shared.state_dict())
    queries = [torch.randn(2, 1 + 18, 32), torch.randn(2, 1 + 50, 32), torch.randn(2, 1 + 18, 32)]
    canvas = torch.randn(2, 14 * 14, 32)
    calls = []
    branch = per_query.mask_branch.forward
    per_query.mask_branch.forward = lambda x: calls.append(1) or branch(x)
    out = per_query(queries, canvas, (14, 14))
    assert len(calls) == 3  # once per query
    assert torch.allclose(out, shared(queries, canvas, (14, 14)), atol=1e-5)
