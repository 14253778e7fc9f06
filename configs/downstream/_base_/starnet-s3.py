# The SAIP StarNet-S3 backbone for children of the ViT-Tiny configs: `backbone={{_base_.starnet_s3_backbone}}`
# (last stage: stride 32, 256 channels; pose, WholeBody, ReID, attributes), `{{_base_.starnet_s3_pyramid}}`
# (all four stages, strides 4-32, 32-256 channels; LIP, CIHP, CrowdHuman), and for a person-level
# feature `neck={{_base_.gap_neck}}` (average pooling).
_base_ = ['./hierarchical-student.py']
gap_channels = 256
starnet_s3_checkpoint = 'work_dirs/saip_starnet-s3_8xb256-amp-coslr-300e_lup1m/saip_starnet-s3_backbone.pth'
starnet_s3_backbone = dict(_base_.last_stage, type='saip_mm.StarNet', arch='s3',
                           init_cfg=dict(type='Pretrained', checkpoint=starnet_s3_checkpoint, prefix='backbone.'))
starnet_s3_pyramid = dict(starnet_s3_backbone, out_indices=(0, 1, 2, 3))
# the UPerNet model (LIP, CIHP) on that pyramid: `model = _base_.starnet_s3_upernet` in a child of the ViT one
starnet_s3_upernet = dict(backbone=starnet_s3_pyramid, neck=None,
                          decode_head=dict(in_channels=[32, 64, 128, 256]),
                          auxiliary_head=dict(in_channels=128, in_index=2))
