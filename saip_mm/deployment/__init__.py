from .onnx_export import (
                          TASKS,
                          ExportWrapper,
                          build_for_export,
                          codec_scale,
                          export_onnx,
                          heatmap_maximum,
                          input_spec,
                          load_config,
                          load_state,
                          preprocess,
                          verify,
)

__all__ = ['TASKS', 'ExportWrapper', 'build_for_export', 'codec_scale', 'export_onnx', 'heatmap_maximum',
           'input_spec', 'load_config', 'load_state', 'preprocess', 'verify']
