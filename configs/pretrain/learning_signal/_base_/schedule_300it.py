# The learning-signal budget (docs/results.md): 300 iterations of batch 8, lr warm-up over 30, cosine to
# 1e-5, retrieval on demo/vtest_reid and a checkpoint every 100. Named values, so that a config can take
# them on top of another base (mmengine refuses the same key in two bases).
ls_param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', T_max=270, eta_min=1e-5, by_epoch=False, begin=30, end=300),
]
ls_train_cfg = dict(max_iters=300, val_interval=100)
ls_checkpoint = dict(interval=100)
# the recipe under DINO's small-batch rules (saip-recipe_*): each parameter tensor's gradient clipped at 3,
# the prototypes frozen for one epoch of the data, no τt warm-up
ls_recipe_optim_wrapper = dict(type='PerTensorClipOptimWrapper',
                               clip_grad=dict(type='per_tensor', max_norm=3.0))
ls_recipe_freeze = dict(type='FirstSteps', epochs=1, _delete_=True)  # model.csm.neck.freeze_last_layer
ls_recipe_hooks = [dict(type='ExpertEMAHook'), dict(type='SkippedImagesHook', interval=50),
                   dict(type='ProgressBarHook'),
                   dict(type='ValBeforeTrainHook')]
