"""Anti-collapse units and collapse diagnostics of CSM (issue 26, items 3-4): their maths on small
cases worked out by hand, and their wiring into the real SAIP model."""
import math
import os.path as osp

import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from saip_mm.engine.hooks import resolve_schedules
from saip_mm.models.heads import CSMHead
from saip_mm.models.losses import KoLeoLoss
from saip_mm.models.necks import CSMProjector
from saip_mm.models.utils import SinkhornKnoppCentering, mean_pairwise_cosine, sinkhorn_knopp
from saip_mm.registry import DATASETS, MODELS
from saip_mm.utils.host_sync import count_host_syncs


def _unit(*degrees):
    return torch.tensor([[math.cos(math.radians(d)), math.sin(math.radians(d))] for d in degrees])


# ---------------------------------------------------------------- Sinkhorn-Knopp
def test_sinkhorn_by_hand():
    # a symmetric 2 x 2 case is already balanced: each row is its own softmax
    e = math.e
    q = sinkhorn_knopp(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), temp=1.0)
    expected = torch.tensor([[e / (1 + e), 1 / (1 + e)], [1 / (1 + e), e / (1 + e)]])
    assert torch.allclose(q, expected, atol=1e-6)
    # four samples that all prefer prototype 0: softmax would give each 88 % on it, the
    # equipartition gives every prototype the same mass, so each row is uniform
    scores = torch.tensor([[2.0, 0.0]] * 4)
    assert torch.softmax(scores, -1)[0, 0] > 0.88
    assert torch.allclose(sinkhorn_knopp(scores, temp=1.0), torch.full((4, 2), 0.5), atol=1e-6)
    # 3 samples, 2 prototypes, one round by hand
    s = torch.tensor([[0.0, math.log(2.0)], [0.0, 0.0], [math.log(3.0), 0.0]])  # exp: [1,2],[1,1],[3,1]
    q = [[1.0, 2.0], [1.0, 1.0], [3.0, 1.0]]
    cols = [sum(r[k] for r in q) for k in range(2)]  # 5, 4: each prototype's mass -> equal
    q = [[r[k] / cols[k] for k in range(2)] for r in q]
    q = [[v / sum(r) for v in r] for r in q]  # rows -> 1
    assert torch.allclose(sinkhorn_knopp(s, temp=1.0, iterations=1), torch.tensor(q), atol=1e-6)


def test_sinkhorn_converges_to_equal_prototype_mass():
    torch.manual_seed(0)
    scores = torch.randn(64, 16) * 0.3
    q = sinkhorn_knopp(scores, temp=0.04, iterations=200)
    assert torch.allclose(q.sum(1), torch.ones(64), atol=1e-5)  # each sample's target sums to 1
    assert torch.allclose(q.sum(0), torch.full((16, ), 64 / 16), rtol=2e-2)  # 4 samples per prototype
    # the logits are cosines (unit bottleneck, unit prototypes): at τt 0.04 exp(±25) needs the shift
    extreme = torch.sign(torch.randn(64, 16))
    assert torch.isfinite(sinkhorn_knopp(extreme, temp=0.04)).all()


def test_sinkhorn_queue_normalises_with_earlier_samples():
    torch.manual_seed(0)
    unit = SinkhornKnoppCentering(num_prototypes=8, iterations=3, queue_length=6)
    first, second = torch.randn(4, 8), torch.randn(4, 8)
    alone = unit.targets([first], temp=0.1)[0]
    assert torch.allclose(alone, sinkhorn_knopp(first, 0.1), atol=1e-6) and int(unit.queued) == 4
    with_queue = unit.targets([second[:2], second[2:]], temp=0.1)
    expected = sinkhorn_knopp(torch.cat([first, second]), 0.1)[4:]
    assert torch.allclose(torch.cat(with_queue), expected, atol=1e-6)
    # first in, first out: the newest 6 rows, newest first
    assert int(unit.queued) == 6 and torch.allclose(unit.queue, torch.cat([second, first])[:6])
    # the fill count is a host int (no device read per step), saved with the queue and resumed
    with count_host_syncs() as syncs:
        unit.targets([first], temp=0.1)
    assert syncs.total == 0, syncs.sites
    state = unit.state_dict()
    resumed = SinkhornKnoppCentering(num_prototypes=8, iterations=3, queue_length=6)
    resumed.load_state_dict(state)
    assert int(resumed.queued) == 6 and torch.equal(resumed.queue, unit.queue)
    legacy = {'queue': state['queue'], 'queued': torch.tensor(5)}  # a checkpoint with the tensor buffer
    resumed.load_state_dict(legacy)
    assert int(resumed.queued) == 5
    with pytest.raises(ValueError, match='queue_length >= 0'):
        SinkhornKnoppCentering(num_prototypes=8, queue_length=-1)


def test_csm_head_with_sinkhorn_and_its_refusals():
    from saip_mm.models.heads import PatchDistillHead
    torch.manual_seed(0)
    head = CSMHead(out_channels=8, teacher_temp=0.1, centering=dict(type='SinkhornKnoppCentering'))
    teacher = [torch.randn(4, 8)]
    head.loss([torch.randn(4, 8), torch.randn(4, 8)], teacher, teacher_views=[0])
    assert torch.equal(head.center, torch.zeros(1, 8))  # no EMA centre in use
    # first batch: the targets are the caught-up ones, so the relative entropy is exactly 1
    assert float(head.monitor['teacher_entropy_rel']) == pytest.approx(1.0)
    with pytest.raises(ValueError, match='center_momentum=0.5 has no use with centering=SinkhornKnopp'):
        CSMHead(out_channels=8, center_momentum=0.5, centering=dict(type='SinkhornKnoppCentering'))
    with pytest.raises(ValueError, match='PatchDistillHead: centering=SinkhornKnoppCentering is a CSMHead'):
        PatchDistillHead(out_channels=8, centering=dict(type='SinkhornKnoppCentering'))


# ---------------------------------------------------------------- KoLeo
def test_koleo_by_hand():
    koleo = KoLeoLoss(loss_weight=1.0, eps=0.0)
    # 0, 90, 180 degrees: every nearest neighbour is 90 degrees away, at distance sqrt(2)
    assert float(koleo(_unit(0, 90, 180))) == pytest.approx(-math.log(math.sqrt(2)), rel=1e-5)
    # 0, 10, 90, 180: nearest distances 2 sin 5 deg (twice), 2 sin 40 deg (90 -> 10), sqrt 2 (180 -> 90)
    expected = -(2 * math.log(2 * math.sin(math.radians(5))) + math.log(2 * math.sin(math.radians(40)))
                 + math.log(math.sqrt(2))) / 4
    assert float(koleo(_unit(0, 10, 90, 180) * 3.0)) == pytest.approx(expected, rel=1e-5)  # norm-free
    assert float(KoLeoLoss(loss_weight=0.1, eps=0.0)(_unit(0, 90, 180))) == pytest.approx(
        -0.1 * math.log(math.sqrt(2)), rel=1e-5)
    with pytest.raises(ValueError, match='at least 2 features'):
        koleo(torch.randn(1, 4))


def test_koleo_pushes_the_closest_pair_apart():
    x = _unit(0, 10, 90, 180).requires_grad_(True)
    KoLeoLoss(loss_weight=1.0)(x).backward()
    with torch.no_grad():
        moved = x - 0.01 * x.grad
    gap = lambda p: float(torch.nn.functional.normalize(p, dim=-1)[:2].diff(dim=0).norm())  # noqa: E731
    assert gap(moved) > gap(x.detach())


# ---------------------------------------------------------------- projector and diagnostics
def test_projector_batch_norm_option_and_bottleneck():
    torch.manual_seed(0)
    plain = CSMProjector(in_channels=8, hidden_channels=16, bottleneck_channels=4, out_channels=10)
    bn = CSMProjector(in_channels=8, hidden_channels=16, bottleneck_channels=4, out_channels=10,
                      norm_cfg=dict(type='BN1d'))
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in bn.modules()) == 2  # after each hidden Linear
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in plain.modules())
    x = torch.randn(6, 8)
    z = bn.bottleneck(x)
    assert torch.allclose(z.norm(dim=-1), torch.ones(6), atol=1e-6)
    assert torch.allclose(bn(x), bn.last_layer(z))
    # batch statistics: an image's output depends on the other images in its batch (train mode)
    assert not torch.allclose(bn(x)[:3], bn(x[:3]), atol=1e-4)


def test_mean_pairwise_cosine_by_hand():
    assert float(mean_pairwise_cosine(torch.tensor([[1., 0.], [0., 2.], [3., 0.]]))) == pytest.approx(1 / 3)
    assert float(mean_pairwise_cosine(torch.ones(4, 3))) == pytest.approx(1.0)


def test_relative_entropy_reference_is_the_caught_up_first_batch():
    """The EMA centre starts at 0; the reference is the entropy with the centre caught up on the first
    batch (what a random teacher gives), so later values near 1 mean "still the random teacher"."""
    torch.manual_seed(0)
    head = CSMHead(out_channels=16, teacher_temp=0.1)
    teacher = torch.randn(8, 16) + torch.linspace(0, 3, 16)  # a shared offset that the centre removes
    head.loss([torch.randn(8, 16), torch.randn(8, 16)], [teacher], teacher_views=[0])
    caught_up = torch.softmax((teacher - teacher.mean(0)) / 0.1, dim=-1)
    ent = float(-(caught_up * caught_up.log()).sum(-1).mean() / math.log(16))
    assert float(head.reference_entropy) == pytest.approx(ent, rel=1e-5)
    assert float(head.monitor['teacher_entropy_rel']) == pytest.approx(
        float(head.monitor['teacher_entropy']) / ent, rel=1e-5)
    first = torch.softmax(teacher / 0.1, dim=-1)  # the centre is still 0 at the first step
    assert float(head.monitor['teacher_entropy']) == pytest.approx(
        float(-(first * first.log()).sum(-1).mean() / math.log(16)), rel=1e-5)
    state = head.state_dict()
    assert 'reference_entropy' in state  # kept in checkpoints: a resumed run reads the same reference


@pytest.fixture(scope='module')
def demo_batch():
    from mmengine.runner import set_random_seed
    set_random_seed(0)
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    cfg.train_dataloader.dataset.data_root = osp.join(ROOT, 'demo', 'persons')
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return pseudo_collate([dataset[i] for i in range(4)])


def test_saip_with_every_anti_collapse_option(demo_batch):
    """KoLeo, Sinkhorn-Knopp with a queue and a BatchNorm projector together in the real model: the
    step runs, the diagnostics are logged, and KoLeo is part of loss_csm."""
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    cfg.model.csm.update(koleo=dict(type='KoLeoLoss', loss_weight=0.1),
                         neck=dict(cfg.model.csm.neck, norm_cfg=dict(type='BN1d')),
                         head=dict(cfg.model.csm.head, centering=dict(type='SinkhornKnoppCentering',
                                                                       queue_length=32)))
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-4)))
    resolve_schedules(model, 2, 2)
    for _ in range(2):
        log = model.train_step(demo_batch, optim)
        model.update_expert()
    for key in ('csm_koleo', 'csm_bottleneck_cos', 'csm_teacher_entropy_rel', 'csm_teacher_entropy'):
        assert key in log and torch.isfinite(log[key]), key
    assert -1 < float(log['csm_bottleneck_cos']) < 1  # BatchNorm centres the bottleneck features
    # two steps of 4 images, each teacher view's scores queued
    assert int(model.objectives['csm'].head.centering.queued) == 2 * 4 * len(cfg.model.csm.teacher_views)
    with DefaultScope.overwrite_default_scope('saip_mm'), pytest.raises(ValueError, match='unknown option '
                                                                                           'model.csm.koleo_weight'):
        MODELS.build(dict(cfg.model, csm=dict(cfg.model.csm, koleo_weight=0.1)))
