# HAP (Yuan et al., NeurIPS 2023) as the MAE baseline plus keypoint-guided masks and one head, a baseline
# of SAIP Tables I-IV. HAP's human structure priors (80-100 % crops, 50 % masks), then two part-guided
# masks per image from its keypoints (six parts; random parts masked, then adjusted to exactly 50 % of the
# patches, block-wise when short), MAE's loss on both masked views and InfoNCE (tau 0.2, weight 0.05)
# between their normalised class tokens. The dataset needs a keypoint_file.
hap_model = dict(type='HAP', align=dict(type='InfoNCEAlignHead', temperature=0.2, loss_weight=0.05))
# the crop moves the keypoints with the image (the child takes SAIP's person_crop with this)
hap_crop = dict(type='KeypointRandomResizedCrop', crop_ratio_range=(0.8, 1.0))
hap_pipeline_tail = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='HumanPartMask', mask_ratio=0.5, num_masks=2, patch_size=16),
    dict(type='PackPretrainInputs'),
]
