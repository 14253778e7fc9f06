from .saip_vit import SAIPViT
from .starnet import StarNet
from .tinyvit import SAIPTinyViT
from .token_adapter import TokenAdapter

__all__ = ['SAIPTinyViT', 'SAIPViT', 'StarNet', 'TokenAdapter']
