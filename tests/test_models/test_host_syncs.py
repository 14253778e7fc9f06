"""Issue 28 §3: the training step does not make the host wait for the device. Counted on the CPU by
saip_mm.utils.host_sync (what ``torch.cuda.set_sync_debug_mode`` reports on a GPU)."""
import os.path as osp
import sys

import pytest
import torch
from cfg_paths import DEMO_CFG
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from saip_mm.engine.hooks import resolve_schedules
from saip_mm.models.utils.host_counter import HostCounter, add_host_counter
from saip_mm.models.utils.masking import keep_indices
from saip_mm.registry import DATASETS, MODELS
from saip_mm.utils.host_sync import count_host_syncs

# A masked encoding's kept-patch count comes with its mask (drawn with an exact count, or counted by
# PackSAIPInputs in the worker), not from reading the mask back; the losses' finiteness is read with
# the logged scalars once per logging interval (DeferredRuntimeInfoHook,
# tests/test_engine/test_deferred_reads.py).


def test_the_counter_sees_a_host_read():
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[:, :3] = True
    with count_host_syncs() as syncs:
        keep_indices(mask)
    assert syncs.total == 2  # the equal-count check and the count
    with count_host_syncs() as syncs:
        assert keep_indices(mask, num_keep=5).tolist() == [[3, 4, 5, 6, 7]] * 2
    assert syncs.total == 0
    assert torch.Tensor.item is not None and torch.nonzero.__module__ == 'torch'  # restored


@pytest.mark.slow
@pytest.mark.parametrize('name', ['paper', 'code-faithful'])
def test_a_training_step_reads_nothing_back(root, name):
    path = DEMO_CFG if name == 'paper' else (
        'configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m-official-code.py')
    cfg = Config.fromfile(osp.join(root, path))
    demo = Config.fromfile(osp.join(root, DEMO_CFG))
    cfg.train_dataloader.dataset.update(data_root=osp.join(root, 'demo/persons'), ann_file='list.txt',
                                        background_dir='backgrounds')
    cfg.model.csm.neck.update(demo.model.csm.neck)
    cfg.model.csm.head.update(demo.model.csm.head)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        model = MODELS.build(cfg.model)
        optim = build_optim_wrapper(model, demo.optim_wrapper)
    model.init_weights()
    resolve_schedules(model, 2, 2)  # what SchedulesHook gives a 2-step run
    batch = pseudo_collate([dataset[i] for i in range(2)])
    model.train_step(batch, optim)  # the first step sets one-off references
    sdpa, calls = torch.nn.functional.scaled_dot_product_attention, []

    def counted_sdpa(*args, **kwargs):  # the calls made by nn.MultiheadAttention (not the backbone's)
        if sys._getframe(1).f_code.co_name == 'multi_head_attention_forward':
            calls.append(args[0].shape)
        return sdpa(*args, **kwargs)
    torch.nn.functional.scaled_dot_product_attention = counted_sdpa
    try:
        with count_host_syncs() as syncs:
            model.train_step(batch, optim)
            model.update_expert()
    finally:
        torch.nn.functional.scaled_dot_product_attention = sdpa
    # every decoder attention runs through the fused kernel (nn.MultiheadAttention, need_weights=False)
    decoder_attn = [m for neck in (model.objectives['csr'].neck, model.objectives['css'].neck)
                    for m in neck.modules() if isinstance(m, torch.nn.MultiheadAttention)]
    assert decoder_attn and len(calls) >= len(decoder_attn)
    assert syncs.total == 0, syncs.sites
    assert model.step.value == 2 and model.expert.steps.value == 1  # the counters still count
    assert model.data_preprocessor.batches.value == (2 if name == 'paper' else 0)  # draws view scales


def test_host_counter_is_saved_and_reads_old_checkpoints():
    holder = torch.nn.Module()
    add_host_counter(holder, 'step')
    for _ in range(3):
        holder.step.advance()
    state = holder.state_dict()
    assert state['step._extra_state'] == 3
    # mmengine's Runner broadcasts every state-dict entry in a distributed run: tensors only
    assert all(isinstance(v, torch.Tensor) for v in state.values()), state
    fresh = torch.nn.Module()
    assert isinstance(add_host_counter(fresh, 'step'), HostCounter)
    fresh.load_state_dict(state)
    assert int(fresh.step) == 3
    fresh.load_state_dict({'step': torch.tensor(7)})  # a tensor buffer of the same name (before)
    assert fresh.step.value == 7
    fresh.to(torch.float64)  # not a tensor: nothing moves or casts
    assert fresh.step.value == 7


def test_mask_counts_flow_from_the_workers_and_give_the_same_tokens(root):
    """PackSAIPInputs counts each mask in the worker; the preprocessor passes one count per mask when the
    batch's rows agree (None when they differ); the encoder given the count gathers what it gathers
    when it reads the mask itself, with no host read."""
    from saip_mm.datasets.transforms.formatting import PackSAIPInputs
    from saip_mm.models.backbones.saip_vit import SAIPViT
    from saip_mm.models.data_preprocessor import SAIPDataPreprocessor
    gen = torch.Generator().manual_seed(0)
    img = torch.randint(0, 255, (64, 32, 3), generator=gen).numpy().astype('uint8')
    pack = PackSAIPInputs()

    def sample(counts):
        masks = []
        for n in counts:
            m = torch.zeros(8, dtype=torch.bool)
            m[torch.randperm(8, generator=gen)[:n]] = True
            masks.append(m.numpy())
        return pack(dict(img=img, view_masks=masks))
    pre = SAIPDataPreprocessor()
    out = pre(pseudo_collate([sample([6, 4]), sample([6, 5])]), False)['inputs']
    assert out['mask_counts'] == {'view_masks': [6, None]}
    vit = SAIPViT(arch='deit-tiny', img_size=(64, 32))
    vit.eval()
    mask = out['view_masks'][0]
    with count_host_syncs() as syncs:
        given = vit.forward_tokens(out['anchor'], mask=mask, num_masked=6)
    assert syncs.total == 0
    read = vit.forward_tokens(out['anchor'], mask=mask)
    assert torch.equal(given['keep'], read['keep']) and given['keep'].shape == (2, 2)
    assert torch.allclose(given['final'][1], read['final'][1])
    with pytest.raises(ValueError, match='same number of patches'):  # unequal rows, no count: refused
        vit.forward_tokens(out['anchor'], mask=out['view_masks'][1])
