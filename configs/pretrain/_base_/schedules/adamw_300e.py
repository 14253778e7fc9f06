# Paper Table VIII: AdamW (0.9, 0.95), wd 0.05, base lr 2.5e-4 per 256 images (2e-3 at 2048),
# 10 warm-up epochs then cosine, 300 epochs; no decay on norms, biases, position embeddings, tokens;
# each parameter tensor's gradient norm clipped at 3, as DINO clips (utils.clip_gradients).
optim_wrapper = dict(
    type='PerTensorClipAmpOptimWrapper',
    constructor='TrainableOptimWrapperConstructor',
    loss_scale='dynamic',
    # fused: one kernel for the update, and it takes the loss scaler's inf flag on the device (a
    # non-fused AdamW makes GradScaler read it on the host every step)
    optimizer=dict(type='AdamW', lr=2.5e-4 * 2048 / 256, betas=(0.9, 0.95), weight_decay=0.05, fused=True),
    # DINO's gradient clipping, per tensor (the paper: other settings identical to DINO); mmengine's
    # global-norm clipping is clip_grad=dict(max_norm=3.0)
    clip_grad=dict(type='per_tensor', max_norm=3.0),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.0),
            'cls_token': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0),
        }),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=290, eta_min=1e-6, by_epoch=True, begin=10, end=300,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
auto_scale_lr = dict(base_batch_size=2048)
