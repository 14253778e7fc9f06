# What a COCO-WholeBody (133 keypoints) config changes in its COCO keypoint parent: the head's output
# channels, the dataset and annotation files, the metric and the best-checkpoint key. A child writes
#   model = dict(head={{_base_.wholebody_head}})
#   train_dataloader = {{_base_.wholebody_train_dataloader}}
#   val_dataloader = test_dataloader = {{_base_.wholebody_val_dataloader}}
#   val_evaluator = test_evaluator = {{_base_.wholebody_evaluator}}
#   default_hooks = {{_base_.wholebody_hooks}}
wholebody_head = dict(out_channels=133)
wholebody_train_dataloader = dict(dataset=dict(
    type='CocoWholeBodyDataset', ann_file='annotations/coco_wholebody_train_v1.0.json'))
wholebody_val_dataloader = dict(dataset=dict(
    type='CocoWholeBodyDataset', ann_file='annotations/coco_wholebody_val_v1.0.json'))
wholebody_evaluator = dict(
    _delete_=True, type='CocoWholeBodyMetric',
    ann_file='data/coco/annotations/coco_wholebody_val_v1.0.json')
wholebody_hooks = dict(checkpoint=dict(save_best='coco-wholebody/AP'))
