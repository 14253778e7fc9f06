# CPU demo of the HAP baseline: the MAE CPU demo (mae/_base_/mae.py: its model and hooks, on the SAIP CPU
# demo's schedule, decoder size and retrieval validation) on the 23 embedded crops with annotated
# keypoints (demo/hp_persons, from the COCO / CrowdPose / AIC samples).
#   python tools/train.py configs/baselines/hap/hap_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../../pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py', '../mae/_base_/mae.py',
          './_base_/hap.py']

model = _base_.mae_model
model.update(_base_.hap_model)
model.csr.update(_base_.hap_prior_mask)
train_dataloader = dict(dataset=dict(data_root='{{ fileDirname }}/../../../demo/hp_persons',
                                     ann_file='list.txt', keypoint_file='keypoints.json',
                                     background_dir=None,
                                     pipeline=[dict(_base_.person_crop, **_base_.hap_crop)]
                                     + _base_.hap_pipeline_tail))
custom_hooks = _base_.mae_demo_hooks
