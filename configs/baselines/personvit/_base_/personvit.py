# PersonViT (Hu et al., 2024) as DINO plus one objective, the baseline of SAIP Tables I-IV: on top of a
# DINO config, the student sees its two global crops masked (block-wise, learned mask token; iBOT's
# defaults: half of the images, ratio 0.1-0.5) and a patch projector + PatchDistillHead distil the
# teacher's patch tokens of the intact crops at the masked positions (eq. 7); lambda1 = lambda2 = 1.
# The patch head has 8192 prototypes (iBOT's patch_out_dim), the global one DINO's.
personvit_model = dict(
    type='PersonViT',
    mim=dict(
        mask_ratio=(0.1, 0.5), mask_prob=0.5, mask_type='block',
        # frozen for the first epoch as the CSM projector (DINO, iBOT)
        neck=dict(type='CSMProjector', in_channels=192, hidden_channels=2048, bottleneck_channels=256,
                  out_channels=8192, freeze_last_layer=dict(type='FirstSteps', epochs=1)),
        head=dict(type='PatchDistillHead', out_channels=8192, student_temp=0.1, teacher_temp=0.04,
                  center_momentum=0.9, loss_weight=1.0)),
)
# the CPU demo's sizes (those of its CSM projector)
personvit_demo_mim = dict(neck=dict(hidden_channels=512, out_channels=4096), head=dict(out_channels=4096))
