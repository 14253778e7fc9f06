# SAIP with a ViT-Tiny student and an EMA expert: the paper's three objectives (paper §III, appendix A).
model = dict(
    type='SAIP',
    data_preprocessor=dict(
        type='SAIPDataPreprocessor', view_scale_range=(0.75, 1.5), view_source='views'),
    # mid_index=7: CSR and CSS read the output of the 7th block. Paper appendix A: all transformer
    # blocks Xavier-uniform (their Linear layers, attention included); patch embedding as mmpretrain.
    backbone=dict(type='SAIPViT', arch='deit-tiny', img_size=(256, 128), patch_size=16,
                  mid_index=7, drop_path_rate=0.0,
                  init_cfg=[dict(type='Xavier', layer='Linear', distribution='uniform'),
                            dict(type='Kaiming', layer='Conv2d', mode='fan_in',
                                 nonlinearity='linear')]),
    csm=dict(
        level='final',
        teacher_views=[0],
        neck=dict(type='CSMProjector', in_channels=192, hidden_channels=2048,
                  bottleneck_channels=256, out_channels=65536),
        head=dict(type='CSMHead', out_channels=65536, student_temp=0.1, teacher_temp=0.04,
                  center_momentum=0.9)),
    csr=dict(
        level='mid',
        mask_ratio=0.75,  # the one place of the CSR mask ratio (the preprocessor takes it from here)
        query_encoder='expert',
        kv='patches',
        neck=dict(type='CSRDecoder', in_channels=192, embed_dims=512, depth=6, num_heads=16,
                  layout='cross'),
        head=dict(type='CSRHead', patch_size=16, norm_pix=True)),
    css=dict(
        level='mid',
        neck=dict(type='CSSDecoder', in_channels=192, embed_dims=512, depth=2, num_heads=16,
                  num_convs=4),
        # eq. 3 sums over the query views
        head=dict(type='CSSHead', loss=dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True),
                  view_reduction='sum')),
    expert=dict(type='CosineEMAExpert', momentum=0.996, end_momentum=1.0),
)
