# MAE (He et al., CVPR 2022) as a composition of SAIP's units, the baseline of SAIP Tables I-IV.
# MAE's decoder and loss are CSR's: the student encodes the visible patches of a masked crop (75 %
# random), a self-attention pixel decoder with no anchor (CSRDecoder layout='self', memory=False) predicts
# the masked patches, and CSRHead's per-patch-normalised MSE scores the masked patches only. The decoder
# keeps SAIP's CSR size (6 blocks, 512 wide, 16 heads; MAE's own has 8), so the methods differ in the
# objective alone. No expert, no views, no canvas: the dataset reads one image per sample.
mae_csr = dict(level='final', query_encoder='student', kv='none', view_index=None, mask_ratio=0.75,
               mask_type='random', encode_masked='drop', neck=dict(layout='self', memory=False))
mae_model = dict(
    # the pipeline augments (the CPU path; the presets' device-side augmentation is SAIP's pipeline's)
    data_preprocessor=dict(view_scale_range=None, view_scale_set=None, keep_views=0, anchor_copies=0,
                           photometric=None),
    csm=None,
    csr=mae_csr,
    css=None,
    expert=None,
)
# MAE's augmentation, at the person aspect ratio: a random-resized crop of 20-100 % of the area (the
# child config takes SAIP's person_crop with this range), a horizontal flip, and the image as the anchor.
mae_crop = dict(crop_ratio_range=(0.2, 1.0))
mae_flip_pack = [dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                 dict(type='PackPretrainInputs')]
# HAP's human structure priors (HAP §3.1), as an option: 80 % scaling ratio, 50 % block-wise masking
hap_prior_crop = dict(crop_ratio_range=(0.8, 1.0))
hap_prior_mask = dict(mask_ratio=0.5, mask_type='block')
mae_hooks = [dict(type='SkippedImagesHook')]
mae_demo_hooks = [
    dict(type='SkippedImagesHook', interval=50),
    dict(type='ProgressBarHook'),
    dict(type='ValBeforeTrainHook'),
    dict(type='PretrainVisualizationHook', interval=50),
]
# MAE+DINO: with DINO's model (dino.py), MAE's loss on a masked copy of view 0 of the views (DINO's
# second global crop, 256x128); DINO's EMA teacher stays.
mae_dino_csr = dict(mae_csr, view_index=0)
