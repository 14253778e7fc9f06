from .launcher import prepare_launcher
from .setup_env import register_all_modules

__all__ = ['prepare_launcher', 'register_all_modules']
