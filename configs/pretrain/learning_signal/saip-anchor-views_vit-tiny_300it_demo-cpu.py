# Ablation at the learning-signal budget: the views are bare resizes of the augmented anchor (the
# behaviour before issue 13's fix), all three objectives.
_base_ = './saip_vit-tiny_300it_demo-cpu.py'

model = dict(data_preprocessor=dict(view_source='anchor'))
