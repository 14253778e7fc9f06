# CrowdDet (multi-instance prediction, EMD loss) on CrowdHuman with the SAIP ViT-Tiny backbone through a
# ViTDet simple feature pyramid (strides 4-64 from the stride-16 map, LayerNorm-2d) and AdamW lr 2e-4
# (paper appendix B: CrowdHuman AP 87.1 / MR-2 49.6 for SAIP ViT-Tiny).
#   tools/dist_train.sh configs/downstream/mmdet/crowddet-rcnn_vit-tiny-p16_sfp_8xb2-30e_crowdhuman.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_vit-tiny.pth
_base_ = ['mmdet::crowddet/crowddet-rcnn_r50_fpn_8xb2-30e_crowdhuman.py', '../_base_/vit-tiny-p16.py']
custom_imports = dict(imports=['saip_mm.models'], allow_failed_imports=False)

model = dict(
    # the SAIP encoder was pretrained on RGB images normalised with ImageNet statistics
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(_delete_=True, **_base_.vit_tiny_p16_featmap, img_size=(800, 1408), out_indices=(11, )),
    neck=dict(
        _delete_=True,
        type='saip_mm.SimpleFeaturePyramid',
        in_channels=192,
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_outs=5))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2),
    paramwise_cfg=dict(custom_keys=dict(_base_.vit_no_decay, norm=dict(decay_mult=0.))))
