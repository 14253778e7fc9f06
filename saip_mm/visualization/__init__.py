"""Diagnostics of pretraining: token maps on the 16×8 grid and PNG panels (issue 15)."""
from .maps import feature_norm_map, global_attention, pca_rgb, token_maps
from .panels import attention_panel, csr_panel, css_panel, objective_panels, scatter, tsne

__all__ = ['attention_panel', 'csr_panel', 'css_panel', 'feature_norm_map', 'global_attention',
           'objective_panels', 'pca_rgb', 'scatter', 'token_maps', 'tsne']
