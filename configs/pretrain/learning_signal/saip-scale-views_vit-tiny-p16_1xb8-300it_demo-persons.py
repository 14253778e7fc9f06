# The recipe (saip-recipe_*) with the paper's §III-B views taken literally: the expert on the two global
# crops g1 and g2 (the authors' code), the student on them and on g1 itself at two other scales in
# [0.75, 1.5] (the same pixels, no independent augmentation): 6 CSM pairs, 2 of them same-pixel across
# scales. CSS queries and the CSR view are the two rescaled copies.
_base_ = ['./saip_vit-tiny-p16_1xb8-300it_demo-persons.py']

optim_wrapper = _base_.ls_recipe_optim_wrapper
custom_hooks = _base_.ls_recipe_hooks

model = dict(data_preprocessor=dict(keep_views=1, anchor_copies=2), csr=dict(view_index=[1, 2]),
             css=dict(query_views=[2, 3]), csm=dict(neck=dict(freeze_last_layer=_base_.ls_recipe_freeze)))
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='SharedMultiView', num_views=[1, 1], transforms=[_base_.global1_aug, _base_.global2_aug]),
    *_base_.train_pipeline[1:]]))
