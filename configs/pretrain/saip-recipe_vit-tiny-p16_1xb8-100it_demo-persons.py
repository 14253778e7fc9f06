# `make demo`: SAIP on the embedded person crops under DINO's small-batch rules (issue 26; the factorial
# of docs/results.md chose them), 100 iterations of batch 8 on the CPU.
#   python tools/train.py configs/pretrain/saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py
# The rules, each from DINO's code or help text:
# * lr by the linear rule from the paper's base: 5e-4 x batch / 256 (1.5625e-5 at batch 8), a linear
#   warm-up over the first 10 % of the run, cosine to 2 % of it;
# * the teacher's EMA momentum from 0.9995, DINO's advice for small batches, cosine to 1;
# * τt fixed at 0.04 (no warm-up), the prototypes frozen for one epoch of the data (54 iterations);
# * each parameter tensor's gradient clipped at 3 (DINO's clip_gradients).
_base_ = ['./saip_vit-tiny-p16_1xb8-100it_demo-persons.py']

paper_base_lr = 5e-4  # per 256 images (paper, Table VI; DINO's base)
batch = 8
max_iters = 100
lr = paper_base_lr * batch / 256
warmup = max_iters // 10

# the prototypes frozen for one epoch (a named value: the baselines under this recipe take it)
recipe_freeze = dict(type='FirstSteps', epochs=1, _delete_=True)
model = dict(csm=dict(neck=dict(freeze_last_layer=recipe_freeze), head=dict(teacher_temp=0.04)),
             expert=dict(momentum=0.9995))
train_dataloader = dict(batch_size=batch)
optim_wrapper = dict(type='PerTensorClipOptimWrapper', optimizer=dict(lr=lr),
                     clip_grad=dict(type='per_tensor', max_norm=3.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup, eta_min=lr * 0.02, by_epoch=False,
         begin=warmup, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters // 2)
auto_scale_lr = dict(base_batch_size=batch)
# DINOv2's anti-collapse units as `make demo` adds them to this recipe (saip-recipe-sk-koleo_…; named for
# the baselines under that config): Sinkhorn-Knopp centring over the batch and a queue of 512 teacher
# outputs (at most one epoch of them: the run refuses a longer queue), KoLeo 0.1 on the student's tokens
demo_anti_collapse = dict(koleo=dict(type='KoLeoLoss', loss_weight=0.1),
                          head=dict(centering=dict(type='SinkhornKnoppCentering', queue_length=512)))
# named, for the baselines under the same recipe (learning_signal/*-recipe_*)
recipe_hooks = [dict(type='ExpertEMAHook'), dict(type='SkippedImagesHook', interval=50),
                dict(type='ProgressBarHook'), dict(type='ValBeforeTrainHook')]
custom_hooks = recipe_hooks + [dict(type='PretrainVisualizationHook', interval=50)]
