"""From a handler's return value to one answer per request:
(status, phrase, body bytes, content type or None, [(header, value)]).

Items become bytes as TorchServe's backend does: bytes as they are, str as
UTF-8, a tensor torch.save'd, anything else json.dumps(item, indent=2) (no
trailing newline). Status, phrase and headers are what the handler set for
that request through the context (200, "" and none otherwise). The content
type is the one the handler set; JSON answers without one are
application/json (a deliberate difference: TorchServe sends none)."""

import io
import json
import sys


class OutputError(Exception):
    """An item that cannot become bytes."""


def item_bytes(item):
    """(bytes, True if the bytes are json.dumps' output)."""
    if isinstance(item, (bytes, bytearray)):
        return bytes(item), False
    if isinstance(item, str):
        return item.encode("utf-8"), False
    # torch may not be imported at all by a handler that does not need it
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(item, torch.Tensor):
        buffer = io.BytesIO()
        torch.save(item, buffer)
        return buffer.getvalue(), False
    try:
        return json.dumps(item, indent=2).encode("utf-8"), True
    except (TypeError, ValueError) as e:
        raise OutputError("Unsupported model output data type: {}: "
                          "{}".format(type(e).__name__, e)) from None


def _headers(processor):
    """(content type or None, [(name, value)] without the content type)."""
    content_type = None
    headers = []
    for name, value in processor.get_response_headers().items():
        if value is None:
            continue
        if str(name).lower() == "content-type":
            content_type = str(value)
        else:
            headers.append((str(name), str(value)))
    return content_type, headers


def answer(item, processor):
    body, is_json = item_bytes(item)
    content_type, headers = _headers(processor)
    if content_type is None and is_json:
        content_type = "application/json"
    code = processor.get_response_status_code()
    phrase = processor.get_response_status_phrase()
    return (200 if code is None else int(code),
            "" if phrase is None else str(phrase),
            body, content_type, headers)
