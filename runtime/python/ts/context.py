"""The Context a handler receives: what is fixed at load time (model name,
manifest, system properties, model-config.yaml) and, for the batch being
handled, the request ids, request headers and the response status and
headers the handler sets per request.

One Context belongs to one handler instance, and an instance never handles
two batches at once, so nothing here needs a lock."""

from typing import Dict, Optional, Tuple


class RequestHeaders(dict):
    """The headers of one request. Names keep the case they were sent with
    (iteration shows them as sent), but lookups ignore case, as HTTP header
    names do: get("Content-Type") and get("content-type") find the same
    entry. Setting a name that differs only in case replaces the entry."""

    def __init__(self, items=()):
        super().__init__()
        self._names = {}
        for key, value in (items.items() if isinstance(items, dict)
                           else items):
            self[key] = value

    @staticmethod
    def _fold(key):
        return key.lower() if isinstance(key, str) else key

    def __setitem__(self, key, value):
        old = self._names.get(self._fold(key))
        if old is not None and old != key:
            super().__delitem__(old)
        self._names[self._fold(key)] = key
        super().__setitem__(key, value)

    def __getitem__(self, key):
        return super().__getitem__(self._names.get(self._fold(key), key))

    def __delitem__(self, key):
        name = self._names.pop(self._fold(key), key)
        super().__delitem__(name)

    def __contains__(self, key):
        return self._fold(key) in self._names

    def get(self, key, default=None):
        name = self._names.get(self._fold(key))
        return default if name is None else super().__getitem__(name)

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key, *default):
        name = self._names.pop(self._fold(key), None)
        if name is None:
            if default:
                return default[0]
            raise KeyError(key)
        return super().pop(name)


class RequestProcessor:
    """One request of the batch: its headers, and the status and headers
    the handler sets for its answer (200 and none until it does)."""

    def __init__(self, request_header: dict) -> None:
        self._status_code = 200
        self._reason_phrase = None
        self._response_header: Dict[str, str] = {}
        self._request_header = request_header

    def get_request_property(self, key: str):
        return self._request_header.get(key)

    def get_request_properties(self) -> dict:
        return self._request_header

    def report_status(self, code, reason_phrase=None) -> None:
        self._status_code = code
        self._reason_phrase = reason_phrase

    def get_response_status_code(self) -> int:
        return self._status_code

    def get_response_status_phrase(self) -> Optional[str]:
        return self._reason_phrase

    def add_response_property(self, key: str, value: str) -> None:
        self._response_header[key] = value

    def get_response_headers(self) -> dict:
        return self._response_header

    def get_response_header(self, key: str) -> Optional[str]:
        return self._response_header.get(key)


class Context:
    """What TorchServe's Context offers a handler; the constructor takes
    TorchServe's arguments so that handlers' own unit tests still build it."""

    def __init__(self, model_name, model_dir, manifest, batch_size, gpu,
                 mms_version, limit_max_image_pixels=True, metrics=None,
                 model_yaml_config=None):
        self.model_name = model_name
        self.manifest = manifest
        self._system_properties = {
            "model_dir": model_dir,
            "gpu_id": gpu,
            "batch_size": batch_size,
            "server_name": "MMS",
            "server_version": mms_version,
            "limit_max_image_pixels": limit_max_image_pixels,
        }
        self.request_ids = None
        self._request_processor = None
        self.metrics = metrics
        self.model_yaml_config = (model_yaml_config
                                  if model_yaml_config is not None else {})
        # TorchServe's streaming and sequence-batching hooks: present so
        # handlers that test them find them, unused by this server
        self.stopping_criteria = None
        self.cl_socket = None

    @property
    def system_properties(self):
        return self._system_properties

    @property
    def request_processor(self):
        return self._request_processor

    @request_processor.setter
    def request_processor(self, request_processor):
        self._request_processor = request_processor

    def get_request_id(self, idx: int = 0) -> Optional[str]:
        if self.request_ids is None:
            return None
        return self.request_ids.get(idx)

    def get_request_header(self, idx: int, key: str) -> Optional[str]:
        return self._request_processor[idx].get_request_property(key)

    def get_all_request_header(self, idx: int) -> Dict[str, str]:
        return self._request_processor[idx].get_request_properties()

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.set_response_header(idx, "content-type", value)

    def get_response_content_type(self, idx: int) -> Optional[str]:
        return self.get_response_headers(idx).get("content-type")

    def get_response_status(self, idx: int) -> Tuple[int, str]:
        processor = self._request_processor[idx]
        return (processor.get_response_status_code(),
                processor.get_response_status_phrase())

    def set_response_status(self, code: int = 200, phrase: str = "",
                            idx: int = 0):
        # TorchServe ignores the call outside a batch (no processors yet)
        if self._request_processor and self._request_processor[idx]:
            self._request_processor[idx].report_status(code, phrase)

    def set_all_response_status(self, code: int = 200,
                                phrase: str = "") -> None:
        for processor in self._request_processor or ():
            processor.report_status(code, phrase)

    def get_response_headers(self, idx: int) -> Dict[str, str]:
        return self._request_processor[idx].get_response_headers()

    def set_response_header(self, idx, key, value):
        self._request_processor[idx].add_response_property(key, value)

    def get_sequence_id(self, idx: int) -> Optional[str]:
        return self.get_request_header(idx, "ts_request_sequence_id")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Context) and self.__dict__ == other.__dict__

    __hash__ = object.__hash__
