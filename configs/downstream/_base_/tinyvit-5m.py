# The SAIP TinyViT-5M backbone for children of the ViT-Tiny configs: `backbone={{_base_.tinyvit_5m_backbone}}`
# (last stage: stride 32, 320 channels, with its output norm; pose, WholeBody, ReID, attributes),
# `{{_base_.tinyvit_5m_stride16}}` (the stride-16 stage, 160 channels, the map SAIP pretrains; LIP,
# CIHP and CrowdHuman through the simple feature pyramid), and `neck={{_base_.gap_neck}}` (pooling).
# Stage grids follow each input size, so `img_size` is only the build-time default.
_base_ = ['./hierarchical-student.py']
gap_channels = 320
tinyvit_5m_checkpoint = 'work_dirs/saip_tinyvit-5m_8xb256-amp-coslr-300e_lup1m/saip_tinyvit-5m_backbone.pth'
tinyvit_5m_backbone = dict(_base_.last_stage, type='saip_mm.SAIPTinyViT', arch='5m', img_size=(256, 128),
                           init_cfg=dict(type='Pretrained', checkpoint=tinyvit_5m_checkpoint, prefix='backbone.'))
tinyvit_5m_stride16 = dict(tinyvit_5m_backbone, out_indices=(1, ))
# the UPerNet model (LIP, CIHP) on the stride-16 map through the simple feature pyramid:
# `model = _base_.tinyvit_5m_upernet` in a child of the ViT one
tinyvit_5m_upernet = dict(
    backbone=tinyvit_5m_stride16,
    neck=dict(_delete_=True, type='saip_mm.SimpleFeaturePyramid', in_channels=160, out_channels=160,
              scale_factors=(4.0, 2.0, 1.0, 0.5), num_outs=4),
    decode_head=dict(in_channels=[160] * 4),
    auxiliary_head=dict(in_channels=160, in_index=2))
