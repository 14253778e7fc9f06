# ViTPose on COCO keypoints with a SOLIDER-pretrained ViT-Tiny (configs/baselines/solider): the ViT-Tiny
# pose config, the backbone with SOLIDER's semantic controller at lambda = 0.8 (SOLIDER supplementary
# section 4: 0.8-1.0 for pose, parsing, detection and attributes; 0-0.2 for ReID). Any lambda in [0, 1]
# can be set with --cfg-options model.backbone.semantic_weight=...
#   tools/dist_train.sh configs/downstream/mmpose/td-hm_solider-vit-tiny-p16_8xb64-210e_coco-256x192.py 8
_base_ = ['./td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py']

model = dict(backbone=dict(
    semantic_weight=0.8,
    init_cfg=dict(
        checkpoint='work_dirs/solider_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m/solider_vit-tiny_backbone.pth')))
