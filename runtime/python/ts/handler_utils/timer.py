"""@timed: with `handler: {profile: true}` in model-config.yaml, the
decorated handler method's duration is recorded as metric
ts_handler_<method name> (ms), as TorchServe does. Off by default."""

import functools
import sys
import time


def _profiling(context):
    config = getattr(context, "model_yaml_config", None) or {}
    handler = config.get("handler")
    return isinstance(handler, dict) and bool(handler.get("profile"))


def _sync_gpu():
    # GPU work is asynchronous: without waiting for it the time is wrong
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(func):
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        context = getattr(self, "context", None)
        if context is None or not _profiling(context):
            return func(self, *args, **kwargs)
        _sync_gpu()
        start = time.perf_counter()
        result = func(self, *args, **kwargs)
        _sync_gpu()
        elapsed_ms = (time.perf_counter() - start) * 1000
        context.metrics.add_time("ts_handler_" + func.__name__, elapsed_ms)
        return result

    return wrapper
