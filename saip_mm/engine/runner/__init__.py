from .multi_set_val_loop import MultiSetValLoop

__all__ = ['MultiSetValLoop']
