# SOLIDER (Chen et al., CVPR 2023) as DINO plus one head, the baseline of SAIP Tables I-IV: on top of a
# DINO config, the ViT-Tiny student gets SOLIDER's semantic controller (lambda scales and shifts the
# tokens after blocks 3, 6, 9, 12), each image draws a binary lambda (the same for all its crops, student
# and teacher), the teacher's patch tokens of the global crops at lambda = 1 are clustered into background
# + 3 parts (top to bottom), and SemanticTokenHead (3 x Linear-BN-ReLU) classifies the student's tokens of
# the global crops and of copies with one part blanked, weighted by lambda: L = L_dino + lambda L_sm.
# The labels read the teacher's block-7 tokens (label_level='mid'): the final LayerNorm gives every token
# the same norm at initialisation, so SOLIDER's magnitude split has nothing to split (models/algorithms/
# solider.py). The backbone's own lambda (0.2) is the one its retrieval validation uses (SOLIDER's ReID setting).
solider_model = dict(
    type='SOLIDER',
    backbone=dict(semantic_weight=0.2),
    semantic=dict(
        num_parts=3, min_foreground=0.5, level='final', label_level='mid', lambda_prob=0.5, mask_part=True,
        head=dict(type='SemanticTokenHead', in_channels=192, num_parts=3, num_blocks=3, hidden_channels=256,
                  loss_weight=1.0)),
)
