# The SAIP TinyViT-5M backbone, last stage (stride 32, 320 channels, with its output norm), for
# children of the ViT-Tiny configs (pose, WholeBody, ReID, attributes):
# `backbone={{_base_.tinyvit_5m_backbone}}`, and for a person-level feature `neck={{_base_.gap_neck}}`.
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
                  checkpoint='work_dirs/saip_tinyvit-5m_lup1m/saip_tinyvit-5m_backbone.pth',
                  prefix='backbone.'))
gap_neck = dict(_delete_=True, type='mmpretrain.GlobalAveragePooling')
