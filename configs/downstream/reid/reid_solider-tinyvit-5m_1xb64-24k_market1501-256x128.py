# Market-1501 ReID with a SOLIDER-pretrained TinyViT-5M (configs/baselines/solider/solider_tinyvit-5m_*):
# the TinyViT-5M ReID config, the backbone with SOLIDER's semantic controller (after each of its four
# stages) at lambda = 0.2 (SOLIDER supplementary section 4: 0-0.2 for ReID).
#   tools/train.py configs/downstream/reid/reid_solider-tinyvit-5m_1xb64-24k_market1501-256x128.py
_base_ = ['./reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py', '../_base_/tinyvit-5m.py']

# reid_tinyvit-5m_*'s model with the SOLIDER-pretrained backbone at lambda 0.2
solider_backbone = _base_.tinyvit_5m_backbone
solider_backbone.update(semantic_weight=0.2, init_cfg=dict(
    checkpoint='work_dirs/solider_tinyvit-5m_8xb256-amp-coslr-300e_lup1m/solider_tinyvit-5m_backbone.pth'))
model = dict(backbone=solider_backbone, neck={{_base_.gap_neck}},
             head=dict(in_channels={{_base_.gap_channels}}, fc_channels={{_base_.gap_channels}},
                       out_channels={{_base_.gap_channels}}))
