"""The glue the C side (runtime/ts_python.c) calls, with the GIL held:

    service = ts._embed.load(model_dir, handler, workers, batch_size,
                             gpu_id, model_name, model_version)
    answers = service.handle(requests)     # from several threads at once
    service.close()                        # at unload

load() reads model_dir/MAR-INF/MANIFEST.json and the archive's configFile,
imports the handler and creates `workers` handler instances, each with its
own Context, as TorchServe's model_loader does in each worker process:
- handler "file.py" or "dir/file.py" (the directory part is dropped):
  module "file" of the model directory; "file.py:fn" (default fn
  "handle"): when the module has fn, it is the entry point, fn(data,
  context), called once at load as fn(None, context); otherwise the module
  must define exactly one class (imported classes do not count), which is
  instantiated without arguments and initialize(context)d.
- a built-in name (image_classifier, base_handler, ...) without a file of
  that name in the archive: ts.torch_handler.<name>'s class.
- a failed import of the archive's handler is reported as it is: there is
  no fallback to ts.torch_handler.<name> hiding it (pytorch/serve#1010).
Failures raise LoadError. requirementsFile is not installed (the caller
logs service.requirements).

Isolation and the working directory: see ts._loader. In short, loads take
a process-wide lock and run with cwd = model_dir and model_dir first on
sys.path; afterwards the archive's modules leave sys.modules (each instance
keeps its own copy), so archives with the same file names do not mix; at
handle time the cwd is whatever it is.

handle(requests) takes a free instance (waiting, without the GIL, until
one is free: an instance never runs two batches at once), builds `data`
(ts._request), calls the handler and returns one answer per request
(ts._response). A failure of the whole batch raises BatchError."""

import gc
import importlib
import json
import os
import queue
import threading
import re
import sys
import time
import traceback

from . import __version__, _kserve
from ._loader import ArchiveImport, forget_dir, register_dir, unregister_dir
from ._request import BadRequest, request_row
from ._response import OutputError, answer
from .context import Context
from .metrics.metric_cache import MetricsCache
from .torch_handler import BUILT_IN, NOT_PROVIDED
from .utils.util import PredictionException, list_classes_from_module

MESSAGE_LIMIT = 2000

# --- errors ----------------------------------------------------------------


class LoadError(Exception):
    """message: "ExcType: text (file.py:LINE)", one line; detail: the
    traceback."""

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.message = message
        self.detail = detail


class BatchError(Exception):
    """code: the HTTP status of every request of the batch; message: one
    line; detail: the traceback, or ""."""

    def __init__(self, code, message, detail=""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def _one_line(text):
    text = re.sub(r"\s+", " ", str(text)).strip()
    if len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT - 3] + "..."
    return text


def _describe(exc):
    """"ExcType: text", or "ExcType" when the text is empty."""
    # a SyntaxError's str() repeats the file and line _where() gives
    text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    name = type(exc).__name__
    return "{}: {}".format(name, text) if text else name


_OWN_DIR = os.path.dirname(os.path.abspath(__file__))


def _is_plumbing(filename):
    """Frames that say nothing to the handler's author: the import
    machinery and this glue."""
    if filename.startswith("<frozen") or \
            os.sep + "importlib" + os.sep in filename:
        return True
    return os.path.dirname(filename) == _OWN_DIR and \
        os.path.basename(filename).startswith("_")


def _short_path(filename, model_dir):
    real = os.path.realpath(filename)
    if real.startswith(model_dir + os.sep):
        return os.path.relpath(real, model_dir)
    roots = [os.path.realpath(path) for path in sys.path
             if isinstance(path, str) and path]
    roots = [root for root in roots if real.startswith(root + os.sep)]
    if roots:
        return os.path.relpath(real, max(roots, key=len))
    return os.path.basename(filename)


def _where(exc, model_dir):
    """"file.py:LINE" of the archive's frame nearest to the error, else of
    the nearest frame outside the import machinery; None if none."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return "{}:{}".format(_short_path(exc.filename, model_dir),
                              exc.lineno)
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames
           if os.path.realpath(f.filename).startswith(model_dir + os.sep)]
    rest = [f for f in frames if not _is_plumbing(f.filename)]
    for candidates in (own, rest):
        if candidates:
            frame = candidates[-1]
            return "{}:{}".format(_short_path(frame.filename, model_dir),
                                  frame.lineno)
    return None


def _load_error(exc, model_dir):
    where = _where(exc, model_dir)
    message = _describe(exc) + (" ({})".format(where) if where else "")
    return LoadError(_one_line(message),
                     "".join(traceback.format_exception(exc)))


def _batch_error(exc):
    detail = "".join(traceback.format_exception(exc))
    if isinstance(exc, PredictionException):
        try:
            code = int(exc.error_code)
        except (TypeError, ValueError):
            code = 503
        return BatchError(code, _one_line(exc.message), detail)
    if isinstance(exc, MemoryError) or "CUDA" in str(exc):
        return BatchError(507, _one_line("Out of resources: " +
                                         _describe(exc)), detail)
    return BatchError(503, _one_line("Prediction failed: " + _describe(exc)),
                      detail)


# --- loading ---------------------------------------------------------------


def _read_manifest(model_dir):
    path = os.path.join(model_dir, "MAR-INF", "MANIFEST.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise ValueError("MAR-INF/MANIFEST.json: {}".format(e)) from None


def _read_model_config(model_dir, manifest):
    """model-config.yaml as a dict: {} without a configFile (or with an
    empty one, which TorchServe gives as None: handlers test keys in it)."""
    config_file = ((manifest or {}).get("model") or {}).get("configFile")
    if not config_file:
        return {}
    import yaml

    with open(os.path.join(model_dir, config_file), encoding="utf-8") as f:
        try:
            return yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ValueError("{}: {}".format(config_file, e)) from None


class _HandlerSpec:
    """Which module to import and which entry point to look for."""

    def __init__(self, handler, model_dir):
        path, _, function = handler.partition(":")
        name = path[:-3] if path.endswith(".py") else path
        name = name.split("/")[-1]
        if not name:
            raise ValueError("empty handler {!r}".format(handler))
        self.function = function or None
        # a bare name is the archive's file if it has one, as TorchServe
        # tries the plain import first
        default = not path.endswith(".py") and not os.path.isfile(
            os.path.join(model_dir, name + ".py"))
        self.built_in = default and name in BUILT_IN
        self.module_name = ("ts.torch_handler." + name if self.built_in
                            else name)
        if default and name in NOT_PROVIDED:
            raise ValueError(
                "handler {!r} is a TorchServe default handler this server "
                "does not provide (it provides {})".format(
                    name, ", ".join(BUILT_IN)))


def _entry_point(module, spec):
    """(entry(data, context), initialize(context))"""
    function = spec.function or "handle"
    if callable(getattr(module, function, None)):
        entry = getattr(module, function)
        return entry, lambda context: entry(None, context)
    classes = list_classes_from_module(module)
    if len(classes) != 1:
        raise ValueError(
            "Expected only one class in custom service code or a function "
            "entry point{} {}".format(
                " ({} not found)".format(spec.function)
                if spec.function else "", classes))
    service = classes[0]()
    if not hasattr(service, "handle"):
        raise ValueError("Expect handle method in class {}".format(
            classes[0]))
    initialize = getattr(service, "initialize", None) or (lambda _: None)
    return service.handle, initialize


class _Instance:
    """One handler instance (TorchServe's worker): its entry point, its
    Context and its own copy of the archive's modules."""

    def __init__(self, entry, context, modules):
        self.entry = entry
        self.context = context
        self.modules = modules


def load(model_dir, handler, workers, batch_size, gpu_id, model_name,
         model_version, limit_max_image_pixels=True):
    """A Service with `workers` loaded instances, or LoadError."""
    model_dir = os.path.realpath(model_dir)
    try:
        return Service(model_dir, handler, workers, batch_size, gpu_id,
                       model_name, model_version, limit_max_image_pixels)
    except LoadError:
        raise
    except BaseException as e:  # SystemExit from a handler too
        error = _load_error(e, model_dir)
    raise error


class Service:
    def __init__(self, model_dir, handler, workers, batch_size, gpu_id,
                 model_name, model_version, limit_max_image_pixels=True):
        if workers < 1:
            raise ValueError("workers must be at least 1, not {}".format(
                workers))
        self.model_dir = model_dir
        self.model_name = model_name
        self.model_version = model_version
        self.handler = handler
        self.manifest = _read_manifest(model_dir)
        model = (self.manifest or {}).get("model") or {}
        self.requirements = model.get("requirementsFile")
        self.model_yaml_config = _read_model_config(model_dir, self.manifest)
        self._spec = _HandlerSpec(handler, model_dir)
        self._settings = (batch_size, gpu_id, limit_max_image_pixels)
        self._closed = False
        self._free = queue.LifoQueue()
        self._target = workers
        self._sizing = threading.Lock()   # one resize at a time
        self._counting = threading.Lock()  # the list and the target
        self.instances = []
        register_dir(model_dir)
        try:
            for _ in range(workers):
                self.instances.append(self._new_instance())
        except BaseException:
            self.close()
            raise
        for instance in self.instances:
            self._free.put(instance)

    def _new_context(self):
        batch_size, gpu_id, limit_max_image_pixels = self._settings
        return Context(self.model_name, self.model_dir, self.manifest,
                       batch_size, gpu_id, __version__,
                       limit_max_image_pixels, MetricsCache(self.model_name),
                       dict(self.model_yaml_config))

    def _new_instance(self):
        context = self._new_context()
        with ArchiveImport(self.model_dir) as imported:
            module = importlib.import_module(self._spec.module_name)
            entry, initialize = _entry_point(module, self._spec)
            initialize(context)
        return _Instance(entry, context, imported.modules)

    # --- one batch -----------------------------------------------------------

    def handle(self, requests):
        if self._closed:
            raise BatchError(503, "Model {} is unloaded".format(
                self.model_name))
        instance = self._free.get()  # waits without the GIL
        try:
            return self._handle(instance, requests)
        finally:
            if not self._closed and not self._retire(instance):
                self._free.put(instance)

    # --- scaling -------------------------------------------------------------

    def resize(self, workers):
        """`workers` instances: new ones are loaded here (as at load, under
        the load lock); those beyond it retire when they are free, a busy
        one when its batch returns. Raises LoadError."""
        workers = max(1, workers)
        with self._sizing:
            self._target = workers
            while len(self.instances) < workers and not self._closed:
                try:
                    instance = self._new_instance()
                except BaseException as e:
                    raise _load_error(e, self.model_dir) from None
                with self._counting:
                    self.instances.append(instance)
                self._free.put(instance)
            while len(self.instances) > workers:
                try:
                    instance = self._free.get_nowait()
                except queue.Empty:
                    break
                self._retire(instance)
        return len(self.instances)

    def _retire(self, instance):
        """Drops instance if there are more than the target; True if so."""
        with self._counting:
            if len(self.instances) <= self._target:
                return False
            try:
                self.instances.remove(instance)
            except ValueError:
                return False
        instance.modules.clear()
        return True

    def _handle(self, instance, requests):
        answers = [None] * len(requests)
        rows, processors, ids, positions = [], [], {}, []
        for position, request in enumerate(requests):
            try:
                row, processor = request_row(request)
            except BadRequest as e:
                answers[position] = _bad_request(str(e))
                continue
            if len(request) > 5 and request[5]:
                # a KServe request: its own handle() call, its own failure
                try:
                    answers[position] = self._kserve(instance, request, row,
                                                     processor)
                except BadRequest as e:
                    answers[position] = _kserve_error(request[5], 400,
                                                      str(e))
                except BatchError as e:
                    answers[position] = _kserve_error(request[5], e.code,
                                                      str(e))
                continue
            ids[len(rows)] = request[0]
            rows.append(row)
            processors.append(processor)
            positions.append(position)
        if rows:
            items = self._run(instance, rows, processors, ids)
            for position, item in zip(positions, items):
                answers[position] = item
        return answers

    def _kserve(self, instance, request, row, processor):
        """One KServe request through TorchServe's envelope for it."""
        request_id, body, protocol, header_len = (request[0], row["body"],
                                                  request[5], request[6])
        if protocol == _kserve.V1:
            data = _kserve.v1_rows(body)
        else:
            data, given_id = _kserve.v2_rows(body, header_len)
        # every row answers through the one request's processor
        result = self._call(instance, data, [processor] * len(data),
                            {0: request_id})
        try:
            if protocol == _kserve.V1:
                item = _kserve.v1_answer(result, request[3])
            else:
                item = _kserve.v2_answer(result, data, given_id or request_id,
                                         self.manifest)
            return answer(item, processor)
        except (OutputError, IndexError, KeyError, ValueError,
                TypeError) as e:
            raise BatchError(503, _one_line("{}: {}".format(
                type(e).__name__, e))) from None

    def _run(self, instance, rows, processors, ids):
        result = self._call(instance, rows, processors, ids)
        try:
            return [answer(item, processor)
                    for item, processor in zip(result, processors)]
        except OutputError as e:
            raise BatchError(503, _one_line(str(e))) from None

    def _call(self, instance, rows, processors, ids):
        """The handler's answer to rows, checked to be one per row."""
        context = instance.context
        context.request_ids = ids
        context.request_processor = processors
        context.metrics.set_request_ids(ids)
        start = time.time()
        error = None
        try:
            result = instance.entry(rows, context)
        except BaseException as e:  # SystemExit must not end the worker
            error = _batch_error(e)
        if error is not None:
            # raised here, outside the except clause, so that the error
            # does not keep the handler's frames (and tensors) alive
            raise error
        _check_result(result, len(rows))
        context.metrics.add_time("PredictionTime",
                                 round((time.time() - start) * 1000, 2))
        return result

    # --- unload --------------------------------------------------------------

    def close(self):
        """Drops the instances and the archive's modules, so that a reload
        or an unregister frees them. A batch still running keeps its
        instance until it returns."""
        self._closed = True
        # a running batch holds its instance (and, through its functions'
        # globals, the modules it needs) until it returns
        for instance in self.instances:
            instance.modules.clear()
        self.instances = []
        while True:
            try:
                self._free.get_nowait()
            except queue.Empty:
                break
        unregister_dir(self.model_dir)
        forget_dir(self.model_dir)
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()


def _check_result(result, expected):
    if not isinstance(result, list):
        raise BatchError(503, "Invalid model predict output")
    if len(result) != expected:
        raise BatchError(503, "number of batch response mismatched")


def _kserve_error(protocol, code, message):
    """A KServe request's failure: v2's {"error"}, else TorchServe's."""
    if protocol == _kserve.V2:
        body = json.dumps({"error": message}, indent=2, ensure_ascii=False)
    else:
        body = json.dumps({"code": code, "type": "BadRequestException"
                           if code == 400 else "InternalServerException",
                           "message": message}, indent=2, ensure_ascii=False)
    return (code, "", (body + "\n").encode("utf-8"), "application/json", [])


def _bad_request(message):
    """The answer to a request whose body cannot be parsed, in TorchServe's
    error format (§9: bad input is 400 and fails only its request)."""
    body = json.dumps({"code": 400, "type": "BadRequestException",
                       "message": message}, indent=2, ensure_ascii=False)
    return (400, "Bad Request", (body + "\n").encode("utf-8"),
            "application/json", [])
