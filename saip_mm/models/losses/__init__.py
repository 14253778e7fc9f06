from .koleo_loss import KoLeoLoss
from .sigmoid_mse_loss import SigmoidMSELoss

__all__ = ['KoLeoLoss', 'SigmoidMSELoss']
