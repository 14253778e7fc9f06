from .saip_vit import SAIPViT

__all__ = ['SAIPViT']
