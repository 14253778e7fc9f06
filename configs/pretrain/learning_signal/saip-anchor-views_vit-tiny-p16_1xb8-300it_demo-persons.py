# Ablation at the learning-signal budget: the views are bare resizes of the augmented anchor (the
# behaviour before issue 13's fix), all three objectives, with the anchor-teacher CSM pairs it was
# measured with.
_base_ = './saip-anchor-teacher_vit-tiny-p16_1xb8-300it_demo-persons.py'

model = dict(data_preprocessor=dict(view_source='anchor'))
