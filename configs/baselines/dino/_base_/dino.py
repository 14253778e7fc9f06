# DINO (Caron et al., ICCV 2021) as a composition of SAIP's units, the baseline of SAIP Tables I-IV.
# DINO's loss is CSM's: the same projector (3-layer MLP, weight-normalised 65536 prototypes) and head
# (centred, sharpened teacher targets, cross-entropy over every pair of different crops), applied to
# same-scale multi-crop views. The EMA teacher (CosineEMAExpert, 0.996 -> 1) sees the 2 global crops
# (images 0 and 1), the student every crop; there is no anchor apart from the first global crop, no
# canvas and no mask, so the dataset reads one image per sample.
dino_model = dict(
    # the pipeline augments (the CPU path; the presets' device-side augmentation is SAIP's pipeline's)
    data_preprocessor=dict(view_scale_range=None, view_scale_set=None, keep_views=0, anchor_copies=0,
                           photometric=None),
    csm=dict(teacher_views=[0, 1], student_views=None),
    csr=None,
    css=None,
)
# The crops: dino_multicrop_pipeline of the dataset base (lup1m_saip.py), with the presets'
# augmentations, so the methods differ in the objective alone.
# DINO's teacher temperature warm-up (0.04 -> 0.07 over 30 of 300 epochs), a schedule of the CSM head (and
# of any other distillation head, e.g. PersonViT's patch head: iBOT warms both up alike); the last-layer
# freeze (epoch 1) is the presets' (model.csm.neck.freeze_last_layer)
dino_teacher_temp = dict(type='LinearWarmup', start=0.04, end=0.07, warmup_epochs=30)
# (_delete_: the schedule replaces the number the presets set)
dino_warmup_model = dict(dino_model, csm=dict(dino_model['csm'],
                                              head=dict(teacher_temp=dict(dino_teacher_temp, _delete_=True))))
dino_hooks = [
    dict(type='ExpertEMAHook'),
    dict(type='SkippedImagesHook'),
]
# the CPU demos (100 and 300 iterations): the τt warm-up over DINO's 10 % of the run (10 iterations of the
# 100-iteration demo), the prototypes frozen for the SAIP demo's 10 iterations
dino_demo_teacher_temp = dict(type='LinearWarmup', start=0.04, end=0.07, warmup_iters=10)
dino_demo_freeze = dict(type='FirstSteps', iters=10, _delete_=True)
dino_demo_model = dict(dino_model, csm=dict(dino_model['csm'], neck=dict(freeze_last_layer=dino_demo_freeze),
                                            head=dict(teacher_temp=dict(dino_demo_teacher_temp, _delete_=True))))
dino_demo_hooks = [
    dict(type='ExpertEMAHook'),
    dict(type='SkippedImagesHook', interval=50),
    dict(type='ProgressBarHook'),
    dict(type='ValBeforeTrainHook'),
]
