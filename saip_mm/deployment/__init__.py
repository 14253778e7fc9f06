from .onnx_export import (
                          TASKS,
                          ExportWrapper,
                          build_for_export,
                          export_onnx,
                          input_spec,
                          load_config,
                          load_state,
                          preprocess,
                          verify,
)

__all__ = ['TASKS', 'ExportWrapper', 'build_for_export', 'export_onnx', 'input_spec', 'load_config',
           'load_state', 'preprocess', 'verify']
