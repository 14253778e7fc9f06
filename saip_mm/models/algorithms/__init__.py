from .saip import SAIP

__all__ = ['SAIP']
