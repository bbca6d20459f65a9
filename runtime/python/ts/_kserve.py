"""KServe v1 and v2 requests for Python handlers: what TorchServe's request
envelopes (ts/torch_handler/request_envelope/kserve.py and kservev2.py) do
when TorchServe runs behind KServe, applied to the requests that came in on
the /v1 and /v2 routes, so that a handler sees the same data and its answer
is wrapped the same way.

- v1: the handler's data is the request's "instances" (one row each); the
  answer is {"predictions": [...]} ({"explanations"} when explaining).
- v2: the handler's data is the request's "inputs", each with its "data"
  reshaped to its "shape" (BYTES: the first element), binary tensors
  (Inference-Header-Content-Length) decoded first; the answer is
  {"id", "model_name", "model_version", "outputs"}, output i named after
  input i with its data flattened, as TorchServe writes it."""

import json

from ._request import BadRequest

V1 = 1
V2 = 2

_NUMPY = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
    "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32",
    "INT64": "int64", "FP16": "float16", "FP32": "float32",
    "FP64": "float64", "BYTES": "byte",
}
_DATATYPE = {value: key for key, value in _NUMPY.items()}
_DATATYPE["object"] = "BYTES"
_DATATYPE["U"] = "BYTES"


def _json(body, what):
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("the {} body is not JSON: {}".format(what, e)) from None
    if not isinstance(value, dict):
        raise BadRequest("the {} body is not a JSON object".format(what))
    return value


def v1_rows(body):
    """The handler's data for a v1 request body."""
    request = _json(body, "KServe v1")
    instances = request.get("instances")
    if not isinstance(instances, list) or not instances:
        raise BadRequest('a KServe v1 request is a JSON object with a '
                         'non-empty "instances" array')
    return instances


def v1_answer(results, explain):
    return {"explanations" if explain else "predictions": results}


def v2_rows(body, header_len):
    """The handler's data for a v2 request: (inputs, id or None)."""
    import numpy as np

    head = body[:header_len] if header_len else body
    binary = memoryview(body)[header_len:] if header_len else memoryview(b"")
    request = _json(bytes(head), "v2 inference")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest('a v2 inference request needs a non-empty '
                         '"inputs" array')
    at = 0
    for item in inputs:
        if not isinstance(item, dict) or not isinstance(
                item.get("datatype"), str) or item["datatype"] not in _NUMPY:
            raise BadRequest('each input needs a known "datatype"')
        shape = item.get("shape")
        if not isinstance(shape, list):
            raise BadRequest('each input needs a "shape"')
        size = (item.get("parameters") or {}).get("binary_data_size")
        if size is not None:
            if item["datatype"] == "BYTES":
                raise BadRequest("binary BYTES inputs are not supported "
                                 "for Python handlers")
            chunk = binary[at:at + size]
            if len(chunk) != size:
                raise BadRequest("input {!r}: binary_data_size past the "
                                 "body's end".format(item.get("name")))
            at += size
            item["data"] = np.frombuffer(
                chunk, dtype=_NUMPY[item["datatype"]]).tolist()
        if "data" not in item:
            raise BadRequest("input {!r} has no data".format(item.get("name")))
        try:
            if item["datatype"] == "BYTES":
                item["data"] = item["data"][0]
            else:
                item["data"] = np.array(item["data"]).reshape(
                    tuple(shape)).tolist()
        except (ValueError, TypeError, IndexError) as e:
            raise BadRequest("input {!r}: {}".format(item.get("name"), e)) \
                from None
    if at != len(binary):
        raise BadRequest("{} bytes of binary data after the inputs' "
                         "binary_data_size".format(len(binary) - at))
    request_id = request.get("id")
    if not (isinstance(request_id, str) and request_id.strip()):
        request_id = None
    return inputs, request_id


def v2_answer(results, inputs, request_id, manifest):
    import numpy as np

    names = [item.get("name") for item in inputs]
    outputs = []
    for index, item in enumerate(results):
        data = np.array(item).flatten()
        as_str = str(data.dtype)
        datatype = _DATATYPE.get(as_str) or _DATATYPE[data.dtype.kind]
        outputs.append({"name": names[index], "datatype": datatype,
                        "data": data.tolist(), "shape": data.shape})
    model = manifest.get("model", {})
    return {"id": request_id, "model_name": model.get("modelName"),
            "model_version": model.get("modelVersion"), "outputs": outputs}
