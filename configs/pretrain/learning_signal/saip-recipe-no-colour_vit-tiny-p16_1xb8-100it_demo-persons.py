# SAIP under the demo's small-batch recipe and budget with no colour jitter and no grayscale in any
# view (a diagnosis, docs/results.md "Why the video set does not move"): the crops, flips, blur and
# solarize are the demo's. It asks whether the colour augmentation is what costs the demo a little
# retrieval on the video set, whose people differ mostly by their clothes' colour (measured, three seeds:
# about half of that loss; the features do not become colour-invariant either way).
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

no_colour_views = [[_base_.person_crop, _base_.flip, _base_.blur],
                   [_base_.person_crop, _base_.flip, dict(_base_.blur, prob=0.1), _base_.solarize]]
train_dataloader = dict(dataset=dict(pipeline=[
    dict(_base_.train_pipeline[0], transforms=no_colour_views),
    *_base_.train_pipeline[1:],
]))
custom_hooks = _base_.recipe_hooks
