default_scope = 'saip_mm'

default_hooks = dict(
    # the step's scalars read once per logging interval, with the losses' finiteness check (issue 28)
    runtime_info=dict(type='DeferredRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # the 3 newest for resuming; epochs 100/200/300 (paper Fig. 4 compares them) are kept by the
    # milestone hook below
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # gives the model's value schedules (τt warm-up, EMA momentum ramp, prototype freeze) the epoch and
    # run lengths
    schedules=dict(type='SchedulesHook'),
)
# keeps epochs 100/200/300 (a named value: the presets and baselines that set their own hooks take it)
milestone_checkpoint = dict(type='CheckpointHook', interval=100, max_keep_ckpts=-1, save_last=False,
                            filename_tmpl='milestone_epoch_{}.pth')
custom_hooks = [
    dict(type='ExpertEMAHook'),
    dict(type='SkippedImagesHook'),
    milestone_checkpoint,
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
# the skipped-image count is a running total: log its current value (the mean over a window of 1),
# not the mean over the last 10 iterations
log_processor = dict(window_size=10, by_epoch=True,
                     custom_cfg=[dict(data_src='skipped_images', method_name='mean', window_size=1)])
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
