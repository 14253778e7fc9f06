from .sigmoid_mse_loss import SigmoidMSELoss

__all__ = ['SigmoidMSELoss']
