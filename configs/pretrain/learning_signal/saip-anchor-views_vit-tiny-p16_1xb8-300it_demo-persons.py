# Ablation at the learning-signal budget: the views are bare resizes of the augmented anchor (the
# behaviour before issue 13's fix), all three objectives, with the anchor-teacher CSM pairs it was
# measured with.
_base_ = './saip_vit-tiny-p16_1xb8-300it_demo-persons.py'

model = _base_.anchor_teacher_pairing  # as saip-anchor-teacher_*
model.data_preprocessor.update(view_source='anchor')
train_dataloader = dict(dataset=dict(pipeline=_base_.anchor_teacher_pipeline))
