"""ngx_http_torchserve_module's own `ts` package: the names TorchServe's
handlers import (ts.context, ts.torch_handler.*, ts.utils.util, ts.metrics,
ts.handler_utils), rewritten for a CPython interpreter embedded in each nginx
worker process. ts._embed is the glue the C side calls."""

from .version import __version__

__all__ = ["__version__"]
