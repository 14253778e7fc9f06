# The DINO baseline set up as the official DINO code's CPU reference run (docs/results.md, "DINO against
# its official code"): every setting that code takes, at the learning-signal budget. The official run
# (facebookresearch/dino main_dino.py, a throwaway copy patched for one CPU process, our crop sizes and
# the 512-wide head; nothing of it is in this repository) uses --arch vit_tiny --patch_size 16 --out_dim
# 4096 --norm_last_layer true --use_bn_in_head false --momentum_teacher 0.996 --warmup_teacher_temp 0.04
# --teacher_temp 0.04 --warmup_teacher_temp_epochs 0 --weight_decay 0.05 --weight_decay_end 0.05
# --clip_grad 3.0 --batch_size_per_gpu 8 --epochs 6 --freeze_last_layer 1 --lr 0.016 (= 5e-4 at batch 8)
# --warmup_epochs 0 --min_lr 1e-6 --global_crops_scale 0.8 1.0 --local_crops_scale 0.05 0.8
# --local_crops_number 8 --drop_path_rate 0 --num_workers 0 --seed 0 on demo/persons (431 crops, 53
# iterations per epoch with drop_last, 318 in all).
_base_ = ['../../baselines/dino/dino_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/schedule_300it.py']

# DINO's init of the ViT's Linear layers (truncated normal 0.02; the paper preset's is Xavier-uniform)
model = dict(backbone=dict(init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
                                     dict(type='Kaiming', layer='Conv2d', mode='fan_in', nonlinearity='linear')]),
             # no τt warm-up (--warmup_teacher_temp_epochs 0); the prototypes frozen for one epoch (53 iterations)
             csm=dict(head=dict(teacher_temp=0.04),
                      neck=dict(freeze_last_layer=dict(type='FirstSteps', iters=53, _delete_=True))))
# DINO's per-tensor clipping at 3; lr 5e-4, no warm-up, cosine to 1e-6 over the 318 iterations
optim_wrapper = dict(type='PerTensorClipOptimWrapper', clip_grad=dict(type='per_tensor', max_norm=3.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=318, eta_min=1e-6, by_epoch=False, begin=0, end=318)]
train_cfg = dict(_base_.ls_train_cfg, max_iters=318)
default_hooks = dict(checkpoint=_base_.ls_checkpoint)
custom_hooks = [dict(type='ExpertEMAHook'), dict(type='SkippedImagesHook', interval=50),
                dict(type='ProgressBarHook'),
                dict(type='ValBeforeTrainHook')]
