"""From the requests of a batch, as the C side passes them, to what a
handler receives: `data` (one dict per request) and one RequestProcessor
per request (its headers, and the status and headers it will answer with).

What TorchServe's frontend and backend do, together:
- multipart/form-data (with a boundary) and application/x-www-form-urlencoded
  bodies give one input per field, named after it; a field sent twice keeps
  its last value. Plain form fields have no content type; file parts keep
  theirs.
- any other body is one input named "body", whose content type is the
  request's (without parameters).
- an input's value: content type exactly application/json -> json.loads
  (the bytes if that fails), a content type starting with "text" -> str
  (the bytes if not UTF-8), else bytes.
- the request headers are every HTTP header, plus "url_path" and "explain"
  ("True"/"False"), plus one entry per input, {"content-type": <type>},
  under the input's name (HTTP headers of the same name win)."""

import json
import re
from urllib.parse import unquote_plus

from .context import RequestHeaders, RequestProcessor


class BadRequest(Exception):
    """A request whose body cannot be parsed as its content type says."""


def decode_value(value, content_type):
    if content_type == "application/json":
        try:
            return json.loads(value.decode("utf-8"))
        except Exception:
            return value
    if content_type and content_type.startswith("text"):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


def mime_type(content_type):
    """The type without its parameters, as Netty's HttpUtil.getMimeType:
    the text before the first ";", otherwise untouched; None if empty."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0] or None


_PARAM = re.compile(
    r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def header_params(value):
    """The parameters of a header value: 'form-data; name="a"' ->
    {"name": "a"} (names lower-cased, quotes and escapes removed)."""
    params = {}
    for name, raw in _PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r'\\(.)', r'\1', raw[1:-1])
        params[name.lower()] = raw
    return params


def multipart_boundary(content_type):
    """The boundary of a multipart/form-data type, else None (Netty then
    treats the body as a plain body)."""
    if not content_type or not content_type.lower().startswith(
            "multipart/form-data"):
        return None
    return header_params(content_type).get("boundary") or None


def _part_headers(head):
    headers = {}
    for line in re.split(rb"\r?\n", head):
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower().decode("latin-1")] = \
                value.strip().decode("utf-8", "replace")
    return headers


def _split_part(part):
    """A part between two delimiters -> (header bytes, content bytes)."""
    # the line break after the delimiter, then headers, a blank line, the
    # content, and the line break that belongs to the next delimiter
    part = re.sub(rb"\A[ \t]*\r?\n", b"", part, count=1)
    if part.endswith(b"\r\n"):
        part = part[:-2]
    elif part.endswith(b"\n"):
        part = part[:-1]
    if re.match(rb"\r?\n", part):
        return b"", re.sub(rb"\A\r?\n", b"", part, count=1)
    found = re.search(rb"\r?\n\r?\n", part)
    if found is None:
        raise BadRequest("multipart part without a blank line after its "
                         "headers")
    return part[:found.start()], part[found.end():]


def parse_multipart(body, boundary):
    """[(name, content type or None, value bytes)] of a form-data body."""
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 2:
        raise BadRequest("multipart body without its boundary "
                         "{!r}".format(boundary))
    fields = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):  # the close delimiter
            break
        head, content = _split_part(piece)
        headers = _part_headers(head)
        disposition = header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        # a part with a filename is a file upload: it keeps its type
        content_type = None
        if "filename" in disposition:
            content_type = mime_type(headers.get("content-type")) or \
                "application/octet-stream"
        fields.append((name, content_type, content))
    return fields


def parse_urlencoded(body):
    fields = []
    for pair in body.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        name = unquote_plus(name.decode("latin-1"), "utf-8", "replace")
        value = unquote_plus(value.decode("latin-1"), "utf-8", "replace")
        fields.append((name, None, value.encode("utf-8")))
    return fields


def request_inputs(body, content_type):
    """[(name, content type or None, value bytes)] of one request."""
    boundary = multipart_boundary(content_type)
    if boundary is not None:
        return parse_multipart(body, boundary)
    mime = mime_type(content_type)
    if mime is not None and \
            mime.lower() == "application/x-www-form-urlencoded":
        return parse_urlencoded(body)
    return [("body", mime, body)]


def _content_type(headers):
    found = None
    for name, value in headers:
        if name.lower() == "content-type":
            found = value
    return found


def request_row(request):
    """One request tuple -> (data dict, RequestProcessor)."""
    _, body, headers, explain, url_path = request[:5]
    if len(request) > 5 and request[5]:
        # KServe's routes: the protocol's body as bytes (ts/_kserve.py
        # reads it), whatever the content type says (curl -d sends a form's)
        inputs = [("body", None, bytes(body))]
    else:
        inputs = request_inputs(bytes(body), _content_type(headers))
    row = {}
    request_headers = RequestHeaders()
    for name, content_type, value in inputs:
        row[name] = decode_value(value, content_type)
        request_headers[name] = {"content-type": content_type or ""}
    for name, value in headers:
        request_headers[name] = value
    request_headers["url_path"] = url_path or ""
    request_headers["explain"] = "True" if explain else "False"
    return row, RequestProcessor(request_headers)
