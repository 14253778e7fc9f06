# The SAIP TinyViT-5M backbone for children of the ViT-Tiny configs: `backbone={{_base_.tinyvit_5m_backbone}}`
# (last stage: stride 32, 320 channels, with its output norm; pose, WholeBody, ReID, attributes),
# `{{_base_.tinyvit_5m_stride16}}` (the stride-16 stage, 160 channels, the map SAIP pretrains; LIP,
# CIHP and CrowdHuman through the simple feature pyramid), and `neck={{_base_.gap_neck}}` (pooling).
# Stage grids follow each input size, so `img_size` is only the build-time default.
gap_channels = 320
tinyvit_5m_backbone = dict(
    _delete_=True,
    type='saip_mm.SAIPTinyViT',
    arch='5m',
    img_size=(256, 128),
    out_indices=(3, ),
    drop_path_rate=0.1,
    init_cfg=dict(type='Pretrained',
                  checkpoint='work_dirs/saip_tinyvit-5m_8xb256-amp-coslr-300e_lup1m/saip_tinyvit-5m_backbone.pth',
                  prefix='backbone.'))
gap_neck = dict(_delete_=True, type='mmpretrain.GlobalAveragePooling')
tinyvit_5m_stride16 = dict(tinyvit_5m_backbone, out_indices=(1, ))
