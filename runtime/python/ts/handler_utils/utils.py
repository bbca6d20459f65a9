"""Helpers handlers import from ts.handler_utils.utils."""

import importlib


def import_class(class_name: str, module_prefix=None):
    """The class named "module.Class" (or "Class" under module_prefix)."""
    if not class_name:
        raise ImportError("class name is not defined")
    module_name, _, name = class_name.rpartition(".")
    if module_prefix:
        module_name = ("{}.{}".format(module_prefix, module_name)
                       if module_name else module_prefix)
    elif not module_name:
        raise ImportError("module name is not defined.")
    module = importlib.import_module(module_name)
    cls = getattr(module, name, None)
    if cls is None:
        raise ImportError("class:{} not found in module:{}.".format(
            name, module_name))
    return cls


def send_intermediate_predict_response(ret, req_id_map, message, code,
                                       context=None):
    """TorchServe streams partial answers through this call. This server
    does not stream Python handlers' answers (yet): fail clearly rather
    than drop the partial answers."""
    raise NotImplementedError(
        "send_intermediate_predict_response: streaming partial responses "
        "from Python handlers is not supported by ngx_http_torchserve_module")
