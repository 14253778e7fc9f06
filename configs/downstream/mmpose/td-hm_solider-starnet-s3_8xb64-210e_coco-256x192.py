# Top-down heatmap pose on COCO with a SOLIDER-pretrained StarNet-S3
# (configs/baselines/solider/solider_starnet-s3_*): the StarNet-S3 pose config, the backbone with SOLIDER's
# semantic controller (after each of its four stages) at lambda = 0.8 (SOLIDER supplementary section 4).
# Any lambda in [0, 1]: --cfg-options model.backbone.semantic_weight=...
#   tools/dist_train.sh configs/downstream/mmpose/td-hm_solider-starnet-s3_8xb64-210e_coco-256x192.py 8
_base_ = ['./td-hm_starnet-s3_8xb64-210e_coco-256x192.py']

model = dict(backbone=dict(
    semantic_weight=0.8,
    init_cfg=dict(
        checkpoint='work_dirs/solider_starnet-s3_8xb256-amp-coslr-300e_lup1m/solider_starnet-s3_backbone.pth')))
