# What the ConvNet / hybrid students (StarNet-S3, TinyViT-5M) change in the ViTPose configs: a stride-32
# map needs three deconvolutions (32 -> 4), and ViTPose's layer-wise lr decay is ViT-specific, so
# plain AdamW.
deconv_out_channels = (256, 256, 256)
deconv_kernel_sizes = (4, 4, 4)
convnet_optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=1., norm_type=2))
