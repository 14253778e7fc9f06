from .onnx_export import (
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
from .tasks import DownstreamTask, get_task, task_names

__all__ = ['DownstreamTask', 'ExportWrapper', 'build_for_export', 'codec_scale', 'export_onnx', 'get_task',
           'heatmap_maximum', 'input_spec', 'load_config', 'load_state', 'preprocess', 'task_names', 'verify']
