# SAIP with a ViT-Tiny student and an EMA expert: the paper's three objectives (paper §III, appendix A).
model = dict(
    type='SAIP',
    # images (SAIP's ids): 0 = g1 (anchor, 256x128), 1 = g2 (256x128), 2, 3 = independent views at their
    # scales, 4 = g1 rescaled (the same pixels at another scale). The scales: one of 0.75, 1.0, 1.25, 1.5
    # per view and batch (the paper's range [0.75, 1.5] in 4 buckets whose sides are multiples of 16: a
    # run sees 4 view shapes, not a new one each step; view_scale_range=(0.75, 1.5) draws from the interval)
    data_preprocessor=dict(
        type='SAIPDataPreprocessor', view_scale_set=(0.75, 1.0, 1.25, 1.5), view_source='views', keep_views=1,
        anchor_copies=1),
    # mid_index=7: CSR and CSS read the output of the 7th block. Paper appendix A: all transformer
    # blocks Xavier-uniform (their Linear layers, attention included); patch embedding as mmpretrain.
    backbone=dict(type='SAIPViT', arch='deit-tiny', img_size=(256, 128), patch_size=16,
                  mid_index=7, drop_path_rate=0.0,
                  init_cfg=[dict(type='Xavier', layer='Linear', distribution='uniform'),
                            dict(type='Kaiming', layer='Conv2d', mode='fan_in',
                                 nonlinearity='linear')]),
    # CSM pairs as the authors' code makes them: the expert on the two global crops, the student on every
    # image: 8 pairs, one of them the same pixels at two scales (g1 -> its rescaled copy)
    csm=dict(
        level='final',
        teacher_views=[0, 1],
        # DINO: the prototypes stay fixed during the first epoch (a schedule of the projector's step)
        neck=dict(type='CSMProjector', in_channels=192, hidden_channels=2048,
                  bottleneck_channels=256, out_channels=65536,
                  freeze_last_layer=dict(type='FirstSteps', epochs=1)),
        head=dict(type='CSMHead', out_channels=65536, student_temp=0.1, teacher_temp=0.04,
                  center_momentum=0.9)),
    csr=dict(
        level='mid',
        view_index=[1, 2],  # a random one of the two independent multi-resolution views each step
        mask_ratio=0.75,  # the one place of the CSR mask ratio (the preprocessor takes it from here)
        query_encoder='expert',
        kv='patches',
        neck=dict(type='CSRDecoder', in_channels=192, embed_dims=512, depth=6, num_heads=16,
                  layout='cross'),
        head=dict(type='CSRHead', patch_size=16, norm_pix=True)),
    css=dict(
        level='mid',
        query_views=[2, 3],  # the two independent multi-resolution views search the canvas
        neck=dict(type='CSSDecoder', in_channels=192, embed_dims=512, depth=2, num_heads=16,
                  num_convs=4),
        # eq. 3 sums over the query views
        head=dict(type='CSSHead', loss=dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True),
                  view_reduction='sum')),
    expert=dict(type='CosineEMAExpert', momentum=0.996, end_momentum=1.0),
)
# The anchor-teacher pairing (the paper preset before 2026-12-03, an ablation now): the expert on the
# anchor alone, the student on it and two independently augmented views at their scales, 2 CSM pairs and
# none of the same pixels (with anchor_teacher_pipeline of the dataset base)
anchor_teacher_pairing = dict(data_preprocessor=dict(keep_views=0, anchor_copies=0, photometric=None), csm=dict(teacher_views=[0]),
                              csr=dict(view_index=None), css=dict(query_views=None))
