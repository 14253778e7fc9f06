# Retrieval evaluation of a pretraining student (issue 15): the student's global feature at scales
# 0.75 / 1.0 / 1.5 (model.eval_cfg) on a Market-1501-layout identity set, ranked query -> gallery
# (Rank-1, mAP, camera-filtered), across scales, and by k-NN on the train part.
# The default set is demo/vtest_reid (built from vtest.avi by tools/dataset_converters/video_to_reid.py,
# frames disjoint from demo/persons); point reid_data_root at any Market-1501 layout.
# Enable with train_cfg.val_interval; ValBeforeTrainHook adds the figures of the initialisation.
reid_data_root = '{{ fileDirname }}/../../../../demo/vtest_reid'
reid_eval_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256), keep_ratio=False, interpolation='bicubic', backend='cv2'),
    dict(type='mmpretrain.PackInputs', meta_keys=('img_path', 'camid', 'is_query', 'subset')),
]
val_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='saip_mm.Market1501Dataset', data_root=reid_data_root, split='all', skip_unreadable=True,
                 pipeline=reid_eval_pipeline))
val_evaluator = dict(type='saip_mm.PretrainRetrievalMetric', knn_k=5)

# A second outside measure (issue 26): 26 annotated people of the COCO / CrowdPose / AI Challenger
# samples (demo/xscale_persons, tools/dataset_converters/build_xscale_persons.py), each as a query and a
# gallery crop with independent box jitter (centre +-20 % of the box, height x0.8-1.25), matched across
# scales (0.75 vs 1.5) against all the others; mean and spread over 3 jitter seeds, logged as
# xscale_persons/R1, /mAP (and *_std). At the demo's initialisation: R1 51.3 +- 2.4 (chance 3.8).
xscale_data_root = '{{ fileDirname }}/../../../../demo/xscale_persons'
xscale_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropBox', scale=(128, 256)),
    dict(type='mmpretrain.PackInputs', meta_keys=('img_path', 'xs_seed', 'xs_role')),
]
xscale_persons_set = dict(
    dataloader=dict(batch_size=32, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                    collate_fn=dict(type='pseudo_collate'),
                    dataset=dict(type='saip_mm.CrossScalePersonDataset', data_root=xscale_data_root,
                                 seeds=(0, 1, 2), jitter=0.2, scale_range=(0.8, 1.25),
                                 pipeline=xscale_pipeline)),
    evaluator=dict(type='saip_mm.CrossScalePersonMetric'))
val_cfg = dict(type='saip_mm.MultiSetValLoop', extra_sets=[xscale_persons_set])
