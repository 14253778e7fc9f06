# Learning signal at a GPU budget (docs/results.md): the paper preset unchanged (full decoders, 65536
# prototypes, τt 0.04, EMA 0.996 -> 1, AMP) at one GPU's batch of 256 and the paper's lr rule
# (2.5e-4 x 256 / 256), on the embedded demo crops, with retrieval on demo/vtest_reid every 200 iterations.
#   python tools/train.py configs/pretrain/learning_signal/saip_vit-tiny-p16_1xb256-amp-600it_demo-persons.py
_base_ = ['../saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', '../_base_/datasets/vtest-reid_retrieval.py']

data_root = '{{ fileDirname }}/../../../demo/persons'
train_dataloader = dict(
    batch_size=256,
    num_workers=14,
    # 431 crops are under 2 batches: an epoch-bound sampler would keep 2 of the 14 workers busy (a
    # worker makes a whole batch); the infinite one lets all of them prefetch
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, ann_file='list.txt', background_dir='backgrounds'),
)
optim_wrapper = dict(optimizer=dict(lr=2.5e-4))
auto_scale_lr = dict(base_batch_size=256)
max_iters = 600
# lr warm-up over the first 100 iterations (the paper: 10 of 300 epochs; longer here, as DINO's rule of
# 10 epochs at a short run), then cosine to 1e-6
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', T_max=max_iters - 100, eta_min=1e-6, by_epoch=False,
         begin=100, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', _delete_=True, max_iters=max_iters, val_interval=200)
default_hooks = dict(logger=dict(interval=10, log_metric_by_epoch=False),
                     checkpoint=dict(interval=200, by_epoch=False, max_keep_ckpts=1,
                                     save_best='retrieval/mAP', rule='greater'))
log_processor = dict(by_epoch=False)
# DINO freezes the prototypes for its first epoch: here the first 10 iterations
model = dict(csm=dict(neck=dict(freeze_last_layer=dict(type='FirstSteps', iters=10, _delete_=True))))
custom_hooks = [dict(type='ExpertEMAHook'), dict(type='SkippedImagesHook', interval=50),
                dict(type='ValBeforeTrainHook')]
