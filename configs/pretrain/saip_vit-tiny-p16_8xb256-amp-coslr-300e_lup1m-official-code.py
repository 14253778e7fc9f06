# Code-faithful preset: the authors' released code where it differs from the paper (its data
# pipeline and CSR, paper §III-B),
# view for view and objective for objective (docs/differences.md lists what still differs).
#
# Images (ids as SAIP numbers them: 0 = anchor, then the views in this order):
#   0      g1   global crop 256x128 (the anchor)            student + expert (CSM), CSR keys/values, CSS query
#   1      g2   global crop 256x128                         student + expert (CSM)
#   2..7   l0..l5  local crops 128x64                       student (CSM)
#   8      l6   local crop 128x64, nearest-rescaled x1.25   student (CSM + CSS query of the canvas's l6)
#   9      g1 shrunk to 128x64, nearest-rescaled x0.75      student (CSM)
#   10     g2 nearest-up-scaled x1.25 (320x160), masked     student (CSR masked view)
# CSM: the student's 10-view pass (2 global, 6 plain local, l6 rescaled, shrunk g1 rescaled) against expert
# targets on the 2 global crops, as the code's.
# CSR: the code's index logic: the mask is drawn on the anchor's 16x8 grid (75 %) and nearest-upsampled to
# the view's 20x10 grid (the loss's mask: its count varies); the encoder sees the first 50 patches of
# argsort(1 - keep), kept ones first (so some visible patches are dropped, or some masked ones encoded:
# saip_mm.models.utils.masking.code_encoder_mask); 8 self-attention blocks over [the view's own global
# token, the anchor's global token, 200 queries (visible tokens, mask tokens elsewhere)].
# CSS: 2 queries; the canvas pastes l6 and the shrunk g1 (128x64, unscaled) side by side, l6 first, at 0.7
# opacity on a random-resized-crop background; l6 x1.25 searches l6 and g1 at full size searches the
# shrunk g1 (the code's ROI and instance queries); the decoder (cross-attention block with its FFN and a
# norm, logits without scale or bias, no canvas positions) runs once per query, mask branch and every
# query row of its last block included (the work the code does); the two per-query BCE means are summed.
# The code draws the two rescale factors from {0.75, 0.875, 1.125, 1.25}; here they are fixed per
# slot (0.75 and 1.25: multiples of 16 px, so that the batch stacks and patchifies exactly).
# Init: the CSM projector's MLP Xavier-uniform, the class token N(0, 0.02), as the code's.
# No gradient clipping and no last-layer freeze (the code has neither).
_base_ = './saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'

model = dict(
    # the CPU photometric path: its derived views (the shrunk g1, the rescaled l6 and g2) and its canvas
    # reuse augmented pixels of several crops, which one parameter set per image cannot reproduce
    data_preprocessor=dict(view_scale_range=None, view_scale_set=None, keep_views=0, anchor_copies=0,
                           photometric=None),
    backbone=dict(cls_token_std=0.02),
    csm=dict(teacher_views=[0, 1], student_views=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
             neck=dict(init_cfg=dict(type='Xavier', layer='Linear', distribution='uniform'), freeze_last_layer=0)),
    csr=dict(query_encoder='student', kv='cls', view_index=9, encode_masked='code', query_global=True,
             neck=dict(layout='self', depth=8, embed_dims=512, num_heads=16)),
    css=dict(query_views=[8, 0],
             neck=dict(share_canvas_features=False, all_query_rows=True, cross_ffn=True, scaled_logits=False,
                       logit_bias=False, canvas_positions=False),
             head=dict(view_reduction='sum')),
)
optim_wrapper = dict(clip_grad=None)
custom_hooks = [dict(type='ExpertEMAHook'), dict(type='SkippedImagesHook'), _base_.milestone_checkpoint]

_pipeline = [
    # DINO's views, colour jitter and blur through OpenCV (the Pillow path: global1_aug, global2_aug, local_aug)
    dict(type='SharedMultiView', num_views=[1, 1, 7],
         transforms=[{{_base_.cv2_global1_aug}}, {{_base_.cv2_global2_aug}}, {{_base_.cv2_local_aug}}]),
    dict(type='AssignViews'),  # anchor = g1; views[0] = g2, views[1..7] = l0..l6
    # views[8] = the anchor shrunk to 128x64 (nearest)
    dict(type='MultiScaleResize', scales=(0.5, ), nearest_views=(0, ), append=True),
    # canvas: l6 and the shrunk anchor side by side, l6 first (instance 0 = l6, 1 = shrunk anchor)
    dict(type='CopyPasteCanvas', canvas_size=(224, 224), instance_views=(7, 8), layout='row',
         height_range=(128 / 224, 128 / 224), alpha=0.7),
    dict(type='BoxMaskTarget', patch_size=16),
    # rescaled (nearest) after pasting: shrunk anchor x0.75 (96x48), l6 x1.25 (160x80)
    dict(type='MultiScaleResize', scales=(0.75, ), src_view=8, nearest_views=(0, ), replace=True),
    dict(type='MultiScaleResize', scales=(1.25, ), src_view=7, nearest_views=(0, ), replace=True),
    # views[9]: CSR's masked view, g2 nearest-up-scaled x1.25 (320x160)
    dict(type='MultiScaleResize', scales=(1.25, ), src_view=0, nearest_views=(0, ), append=True),
    # the CSR view's mask only (the other views get one with nothing masked)
    dict(type='RandomPatchMask', ratio=0.75, patch_size=16, draw_grid=(16, 8), views=(9, )),
    dict(type='PackSAIPInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=_pipeline))
