# What the StarNet-S3 and TinyViT-5M bases share: the last stage (stride 32) with stochastic depth
# 0.1, replacing the parent's ViT backbone, and average pooling for a person-level feature.
last_stage = dict(_delete_=True, out_indices=(3, ), drop_path_rate=0.1)
gap_neck = dict(_delete_=True, type='mmpretrain.GlobalAveragePooling')
