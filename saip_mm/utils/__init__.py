from .launcher import prepare_launcher, prepare_runtime
from .setup_env import register_all_modules

__all__ = ['prepare_launcher', 'prepare_runtime', 'register_all_modules']
