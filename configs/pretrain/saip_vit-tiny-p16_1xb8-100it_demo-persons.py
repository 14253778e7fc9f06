# CPU demo: the real ViT-Tiny student on the embedded person crops, smaller decoders, a few minutes.
#   python tools/train.py configs/pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py
# The paper preset's bases (saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py is these plus the device-side
# augmentation, which the demo replaces by the CPU path below), so that every config built on the demo
# stays at most 4 files deep.
_base_ = [
    './_base_/models/saip_vit-tiny-p16.py',
    './_base_/datasets/lup1m_saip.py',
    './_base_/schedules/adamw_300e.py',
    './_base_/default_runtime.py',
    './_base_/datasets/vtest-reid_retrieval.py',
]

# found from the config's own folder, so that the demo runs from any working directory (mim too)
data_root = '{{ fileDirname }}/../../demo/persons'
# the CPU photometric path (train_pipeline; photometric=None), as docs/results.md measured the demo
model = dict(
    data_preprocessor=dict(photometric=None),
    # the prototypes frozen for the first 10 iterations (the preset: one epoch)
    csm=dict(neck=dict(hidden_channels=512, out_channels=4096,
                       freeze_last_layer=dict(type='FirstSteps', iters=10, _delete_=True)),
             head=dict(out_channels=4096)),
    csr=dict(neck=dict(embed_dims=128, depth=2, num_heads=4)),
    css=dict(neck=dict(embed_dims=128, depth=1, num_heads=4)),
)
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    pin_memory=False,
    dataset=dict(data_root=data_root, ann_file='list.txt', background_dir='backgrounds',
                 pipeline=_base_.train_pipeline),
)
# mmengine's global-norm clipping (clip_grad without type='per_tensor'); the wrapper keeps the norm on
# the device for DeferredRuntimeInfoHook to log with the other scalars
optim_wrapper = dict(type='PerTensorClipOptimWrapper', _delete_=True,
                     constructor='TrainableOptimWrapperConstructor',
                     optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.95), weight_decay=0.05),
                     clip_grad=dict(max_norm=3.0),
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='CosineAnnealingLR', T_max=80, eta_min=1e-5, by_epoch=False, begin=20, end=100),
]
# retrieval on demo/vtest_reid (people from other frames of the video) at iterations 0, 50 and 100
train_cfg = dict(type='IterBasedTrainLoop', _delete_=True, max_iters=100, val_interval=50)
default_hooks = dict(logger=dict(interval=10, log_metric_by_epoch=False),
                     checkpoint=dict(interval=50, by_epoch=False, max_keep_ckpts=2,
                                     save_best='retrieval/mAP', rule='greater'))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=8)
custom_hooks = [dict(type='ExpertEMAHook'), dict(type='SkippedImagesHook', interval=50),
                dict(type='ProgressBarHook'),
                dict(type='ValBeforeTrainHook'), dict(type='PretrainVisualizationHook', interval=50)]
