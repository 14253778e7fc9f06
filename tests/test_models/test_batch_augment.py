"""DINO's photometric augmentation on the device (issue 28 §2): each operation matches the pipeline's
CPU transform on a real image, the per-sample parameters have the pipeline's ranges, probabilities and
independence, the augmented images have the CPU path's distribution, and the data preprocessor applies
it (training only, reproducibly, the canvas with the anchor's parameters). A config asking for it twice
is refused."""
import glob
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from cfg_paths import DEMO_CFG, PAPER_CFG, ROOT
from mmcv.image import photometric as cpu_ops
from mmengine.config import Config
from mmpretrain.datasets.transforms import GaussianBlur, Solarize

from saip_mm.models.batch_augment import BatchPhotometricAugment
from saip_mm.models.utils import photometric as P
from saip_mm.utils.preflight import ConfigConflictError, check_augmentation_placement

GREY = (0.114, 0.587, 0.2989)


@pytest.fixture(scope='module')
def person():
    """A real person crop, 256x128 BGR uint8, and the same as a (1, 3, H, W) float tensor."""
    path = sorted(glob.glob(osp.join(ROOT, 'demo/persons/crops/*.jpg')))[5]
    img = mmcv.imresize(mmcv.imread(path), (128, 256))
    return img, torch.from_numpy(img).permute(2, 0, 1)[None].float()


def _diff(cpu: np.ndarray, device: torch.Tensor) -> float:
    return float(np.abs(cpu.astype(np.float32) - device[0].permute(1, 2, 0).numpy()).mean())


@pytest.mark.parametrize('name,cpu,device', [
    ('brightness', lambda i: cpu_ops.adjust_brightness(i, 1.3, backend='pillow'),
     lambda x: P.adjust_brightness(x, torch.tensor([1.3]))),
    ('contrast', lambda i: cpu_ops.adjust_contrast(i, 0.65, backend='pillow'),
     lambda x: P.adjust_contrast(x, torch.tensor([0.65]))),
    ('saturation', lambda i: cpu_ops.adjust_color(i, 2.0, backend='pillow'),
     lambda x: P.adjust_saturation(x, torch.tensor([2.0]))),
    ('hue', lambda i: cpu_ops.adjust_hue(i, -0.09, backend='pillow'),
     lambda x: P.adjust_hue(x, torch.tensor([-0.09]))),
    ('grey', lambda i: np.dstack([(np.array(GREY) / sum(GREY) * i).sum(2).astype('uint8')] * 3),
     lambda x: P.to_grey(x, torch.tensor([True]), GREY)),
    ('blur', lambda i: GaussianBlur(radius=1.6, prob=1.0).transform(dict(img=i.copy()))['img'],
     lambda x: P.gaussian_blur(x, torch.tensor([1.6]), torch.tensor([True]), 2.0)),
    ('solarize', lambda i: Solarize(thr=128, prob=1.0).transform(dict(img=i.copy()))['img'],
     lambda x: P.solarize(x, torch.tensor([True]), 128)),
])
def test_each_operation_matches_the_pipeline_transform(person, name, cpu, device):
    img, x = person
    out = device(x)
    diff = _diff(cpu(img), out)
    assert diff < 0.6, name  # rounding to uint8 after each PIL step, PIL's box blur
    assert _diff(img, out) > 4 * diff, name  # and the change is much larger than the difference


def test_identity_parameters_leave_a_sample_unchanged(person):
    _, x = person
    batch = x.repeat(2, 1, 1, 1)
    out = P.adjust_saturation(P.adjust_hue(batch, torch.tensor([0.0, 0.2])), torch.tensor([1.0, 1.0]))
    assert torch.allclose(out[0], batch[0], atol=1e-3) and not torch.allclose(out[1], batch[1], atol=1)
    out = P.gaussian_blur(batch, torch.tensor([2.0, 2.0]), torch.tensor([False, True]), 2.0)
    assert torch.equal(out[0], batch[0]) and not torch.equal(out[1], batch[1])


def test_the_jitter_runs_each_samples_own_operations_in_its_order(person):
    """The jitter gathers, per order slot, the samples of each operation: every sample goes through its
    own four operations in its own order (as if run alone), and one without jitter is copied bit for bit
    (the old path ran all 16 with identity parameters, which moved such a sample by rounding)."""
    _, x = person
    n = 16
    batch = x.repeat(n, 1, 1, 1) * torch.linspace(0.6, 1.0, n).view(n, 1, 1, 1)  # 16 different images
    aug = BatchPhotometricAugment(jitter_prob=0.75, grey_prob=0.0)
    params = aug.draw(n, torch.Generator().manual_seed(1))  # 11 of 16 jittered
    assert 0 < params['jitter'].sum() < n and len({tuple(o) for o in params['order'].tolist()}) > 4
    out = aug.apply(batch, params)
    ops = ((P.adjust_brightness, 'brightness'), (P.adjust_contrast, 'contrast'),
           (P.adjust_saturation, 'saturation'), (P.adjust_hue, 'hue'))
    for i in range(n):
        alone = batch[i:i + 1]
        if not params['jitter'][i]:
            assert torch.equal(out[i], batch[i]), i
            continue
        for k in params['order'][i].tolist():
            op, name = ops[k]
            alone = op(alone, params[name][i:i + 1])
        assert torch.allclose(out[i:i + 1], alone, atol=1e-3), i
        assert not torch.allclose(out[i], batch[i], atol=1.0), i


def test_the_blur_touches_the_samples_drawn_for_it_only(person):
    _, x = person
    n = 8
    batch = x.repeat(n, 1, 1, 1) * torch.linspace(0.6, 1.0, n).view(n, 1, 1, 1)
    for prob in (0.5, 1.0):
        aug = BatchPhotometricAugment(jitter_prob=0.0, grey_prob=0.0, blur_prob=prob)
        params = aug.draw(n, torch.Generator().manual_seed(2))
        assert 0 < params['blur'].sum() <= n and (prob == 1.0) == bool(params['blur'].all())
        out = aug.apply(batch, params)
        for i in range(n):
            if params['blur'][i]:
                alone = P.gaussian_blur(batch[i:i + 1], params['sigma'][i:i + 1], None, 2.0)
                assert torch.allclose(out[i:i + 1], alone, atol=1e-3) and not torch.equal(out[i], batch[i])
            else:
                assert torch.equal(out[i], batch[i]), i


def test_images_on_another_device_are_grouped_by_the_host_parameters():
    """On a GPU the images are on the device and the parameters stay on the host, where the jitter and
    the blur group the samples; 'meta' images stand in for the device here (shapes only)."""
    aug = BatchPhotometricAugment(jitter_prob=0.8, grey_prob=0.2, blur_prob=0.5, solarize_prob=0.2)
    params = aug.draw(8, torch.Generator().manual_seed(0))
    out = aug.apply(torch.empty(8, 3, 32, 16, device='meta'), params)
    assert out.device.type == 'meta' and out.shape == (8, 3, 32, 16)
    assert all(v.device.type == 'cpu' for v in params.values())  # the canvas reuses the anchor's


def test_host_groups_orders_each_column_by_key():
    from saip_mm.models.utils.randomness import host_groups
    keys = torch.tensor([[2, 0], [0, 0], [2, 1], [1, 0]])
    order, counts = host_groups(keys, 3)
    assert order[:, 0].tolist() == [1, 3, 0, 2] and counts[0] == [1, 1, 2]
    assert order[:, 1].tolist() == [0, 1, 3, 2] and counts[1] == [3, 1, 0]
    with pytest.raises(ValueError, match='host_groups reads host draws; got keys on meta'):
        host_groups(torch.zeros(2, 2, dtype=torch.long, device='meta'), 3)


def test_parameters_have_the_pipeline_ranges_probabilities_and_independence():
    aug = BatchPhotometricAugment(jitter_prob=0.8, brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1,
                                  grey_prob=0.2, blur_prob=0.1, blur_sigma=(0.1, 2.0), solarize_prob=0.2)
    n = 20000
    p = aug.draw(n, torch.Generator().manual_seed(0))
    tol = 4 * (0.25 / n) ** 0.5  # 4 binomial standard deviations at most
    for key, prob in dict(jitter=0.8, grey=0.2, blur=0.1, solarize=0.2).items():
        assert abs(p[key].float().mean().item() - prob) < tol, key
    for key, (low, high) in dict(brightness=(0.6, 1.4), contrast=(0.6, 1.4), saturation=(0.8, 1.2),
                                 hue=(-0.1, 0.1), sigma=(0.1, 2.0)).items():
        v = p[key]
        assert low <= v.min() and v.max() <= high, key
        assert v.min() < low + 0.01 * (high - low) and v.max() > high - 0.01 * (high - low), key  # covered
        assert abs(v.mean().item() - (low + high) / 2) < 0.01 * (high - low), key  # uniform
    # the order of the four jitter operations: every permutation, equally often
    perms, counts = p['order'].unique(dim=0, return_counts=True)
    assert len(perms) == 24 and counts.min() > n / 24 * 0.8
    # per sample and independent: neighbours uncorrelated, the coins independent of each other
    b = p['brightness']
    assert abs(torch.corrcoef(torch.stack([b[:-1], b[1:]]))[0, 1].item()) < 0.03
    both = (p['grey'] & p['solarize']).float().mean().item()
    assert abs(both - 0.2 * 0.2) < tol
    # a fixed number of draws: what follows in the stream does not depend on the outcome
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    BatchPhotometricAugment(grey_prob=0.0).draw(8, g1)
    BatchPhotometricAugment(grey_prob=1.0, solarize_prob=0.5).draw(8, g2)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))


def test_augmented_images_have_the_cpu_paths_distribution(person):
    """DINO's second global view (jitter 0.8, grey 0.2, blur 0.1, solarize 0.2), 400 times on one real crop
    through the CPU transforms and through the batch op: per-image brightness, contrast and colourfulness
    have the same distribution (two-sample Kolmogorov-Smirnov), and so have the grey and solarized shares."""
    from mmcv.transforms import RandomApply
    from mmpretrain.datasets.transforms import ColorJitter, RandomGrayscale
    img = mmcv.imresize(person[0], (32, 64))  # the operations are per pixel (the blur per neighbourhood)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    n = 400
    np.random.seed(0)
    cpu = [RandomApply([ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)], prob=0.8),
           RandomGrayscale(prob=0.2, keep_channels=True, channel_weights=GREY),
           GaussianBlur(magnitude_range=(0.1, 2.0), magnitude_std='inf', prob=0.1),
           Solarize(thr=128, prob=0.2)]
    cpu_out = []
    for _ in range(n):
        r = dict(img=img.copy())
        for t in cpu:
            r = t(r)
        cpu_out.append(torch.from_numpy(r['img'].astype(np.float32)).permute(2, 0, 1))
    cpu_out = torch.stack(cpu_out)
    aug = BatchPhotometricAugment(jitter_prob=0.8, grey_prob=0.2, grey_weights=GREY, blur_prob=0.1,
                                  solarize_prob=0.2)
    dev_out = aug(x.repeat(n, 1, 1, 1), torch.Generator().manual_seed(0))

    def stats(batch):
        return dict(mean=batch.mean((1, 2, 3)), std=batch.std((1, 2, 3)),
                    colour=batch.std(1).mean((1, 2)), grey=(batch.std(1).amax((1, 2)) < 1e-3).float())

    def ks(a, b):
        grid = torch.cat([a, b]).sort().values
        cdf = lambda v: torch.searchsorted(v.sort().values, grid, right=True).float() / len(v)  # noqa: E731
        return (cdf(a) - cdf(b)).abs().max().item()

    s_cpu, s_dev = stats(cpu_out), stats(dev_out)
    for key in ('mean', 'std', 'colour'):
        assert ks(s_cpu[key], s_dev[key]) < 0.12, key  # 5 % critical value at n = 400: 0.096
    assert abs(s_cpu['grey'].mean() - s_dev['grey'].mean()) < 0.07
    # a wrong probability shows: no grey at all moves the colourfulness distribution past the bound
    no_grey = stats(BatchPhotometricAugment(grey_prob=0.0, blur_prob=0.1, solarize_prob=0.2)(
        x.repeat(n, 1, 1, 1), torch.Generator().manual_seed(0)))
    assert ks(s_cpu['colour'], no_grey['colour']) > 0.12


def _batch(person, n=6):
    img, _ = person
    t = torch.from_numpy(img).permute(2, 0, 1)
    canvas = torch.nn.functional.interpolate(t[None].float(), size=(224, 112)).to(torch.uint8)[0]
    return dict(inputs=dict(anchor=[t] * n, canvas=[canvas] * n, views=[[t] * n, [t] * n]))


def test_data_preprocessor_augments_in_training_reproducibly(person):
    from saip_mm.models.data_preprocessor import SAIPDataPreprocessor
    recipe = dict(type='BatchPhotometricAugment', jitter_prob=0.0, grey_prob=0.0, solarize_prob=0.5)
    photometric = dict(anchor=recipe, views=[dict(recipe, solarize_prob=1.0), None], canvas='anchor')
    pre = SAIPDataPreprocessor(photometric=photometric, seed=3)
    plain = SAIPDataPreprocessor()
    ref = plain(_batch(person), training=True)['inputs']
    out = pre(_batch(person), training=True)['inputs']
    solarized = (out['anchor'] - ref['anchor']).flatten(1).abs().amax(1) > 1e-4
    assert 0 < solarized.sum() < 6  # per sample
    # the canvas has the anchor's own draws (it holds the anchor's person)
    assert torch.equal(solarized, (out['canvas'] - ref['canvas']).flatten(1).abs().amax(1) > 1e-4)
    assert not torch.allclose(out['views'][0], ref['views'][0])
    assert torch.equal(out['views'][1], ref['views'][1])
    assert pre.batches.value == 1
    # evaluation: no augmentation; a second model with the same seed and counter draws the same
    assert torch.equal(pre(_batch(person), training=False)['inputs']['anchor'], ref['anchor'])
    again = SAIPDataPreprocessor(photometric=photometric, seed=3)
    assert torch.equal(again(_batch(person), training=True)['inputs']['anchor'], out['anchor'])
    with pytest.raises(ValueError, match='photometric.views has 3 entries'):
        SAIPDataPreprocessor(photometric=dict(views=[recipe] * 3))(_batch(person), training=True)
    with pytest.raises(KeyError, match='unknown key'):
        SAIPDataPreprocessor(photometric=dict(anchors=recipe))
    with pytest.raises(ValueError, match="canvas='anchor' needs an anchor augmentation"):
        SAIPDataPreprocessor(photometric=dict(views=[recipe], canvas='anchor'))  # refused at build time


def test_paper_preset_augments_on_the_device_and_a_double_one_is_refused():
    paper, demo = Config.fromfile(osp.join(ROOT, PAPER_CFG)), Config.fromfile(osp.join(ROOT, DEMO_CFG))
    assert paper.model.data_preprocessor.photometric.canvas == 'anchor'
    assert demo.model.data_preprocessor.photometric is None  # the demo keeps the CPU path it was measured on
    check_augmentation_placement(paper)
    check_augmentation_placement(demo)
    paper.train_dataloader.dataset.pipeline = demo.train_dataloader.dataset.pipeline  # CPU-augmenting
    with pytest.raises(ConfigConflictError, match=r'train_dataloader\.dataset\.pipeline\.0\.transforms\.0\.2'
                       r'\.transforms\.0 \(ColorJitter\).*applied twice'):
        check_augmentation_placement(paper)
