# Market-1501 ReID with a SOLIDER-pretrained ViT-Tiny (configs/baselines/solider): the ViT-Tiny ReID
# config, the backbone with SOLIDER's semantic controller at lambda = 0.2 (SOLIDER supplementary section 4:
# 0-0.2 for ReID, where appearance matters more than semantics).
#   tools/train.py configs/downstream/reid/reid_solider-vit-tiny-p16_1xb64-24k_market1501-256x128.py
_base_ = ['./reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py']

model = dict(backbone=dict(
    semantic_weight=0.2,
    init_cfg=dict(
        checkpoint='work_dirs/solider_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m/solider_vit-tiny_backbone.pth')))
