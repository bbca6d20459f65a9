"""BaseHandler: loads the archive's model (an eager model from modelFile and
its state_dict, or TorchScript from a .pt) and runs a batch through
preprocess -> inference -> postprocess. Custom handlers subclass it and
override those steps; the other default handlers build on it too."""

import importlib
import logging
import os
import time

import torch

from ..handler_utils.timer import timed
from ..utils.util import list_classes_from_module, load_label_mapping

logger = logging.getLogger(__name__)

PROFILER_TRACE_DIR = "/tmp/pytorch_profiler"


class BaseHandler:
    def __init__(self):
        self.model = None
        self.mapping = None
        self.device = None
        self.initialized = False
        self.context = None
        self.model_pt_path = None
        self.manifest = None
        self.map_location = None
        self.explain = False
        self.target = 0
        self.profiler_args = {}
        self.model_yaml_config = {}

    # --- loading -------------------------------------------------------------

    def initialize(self, context):
        """Picks the device, loads the model and the label mapping."""
        self.model_yaml_config = getattr(context, "model_yaml_config",
                                         None) or {}
        properties = context.system_properties
        self._choose_device(properties.get("gpu_id"))
        self.manifest = context.manifest

        model_dir = properties.get("model_dir")
        model = self.manifest["model"]
        serialized_file = model.get("serializedFile")
        self.model_pt_path = (os.path.join(model_dir, serialized_file)
                              if serialized_file else None)
        self.model = self._load_model(model_dir, model.get("modelFile", ""))

        self.mapping = load_label_mapping(
            os.path.join(model_dir, "index_to_name.json"))
        self.initialized = True

    def _choose_device(self, gpu_id):
        # the GPU the server assigned, if CUDA can reach it; else the CPU
        if gpu_id is not None and torch.cuda.is_available():
            self.map_location = "cuda"
            self.device = torch.device("cuda:{}".format(gpu_id))
        else:
            self.map_location = "cpu"
            self.device = torch.device("cpu")

    def _load_model(self, model_dir, model_file):
        if model_file:
            model = self._load_pickled_model(model_dir, model_file,
                                             self.model_pt_path)
            model.to(self.device)
            model.eval()
            return model
        if self.model_pt_path and self.model_pt_path.endswith(".pt"):
            model = self._load_torchscript_model(self.model_pt_path)
            model.eval()
            return model
        raise RuntimeError(
            "No model weights could be loaded: {}".format(
                "serializedFile {} is neither TorchScript (.pt) nor a "
                "state_dict with a modelFile".format(
                    os.path.basename(self.model_pt_path))
                if self.model_pt_path else
                "the manifest names no serializedFile and no modelFile"))

    def _load_torchscript_model(self, model_pt_path):
        return torch.jit.load(model_pt_path, map_location=self.device)

    def _load_pickled_model(self, model_dir, model_file, model_pt_path):
        """The one class model_file defines, instantiated without arguments,
        with the state_dict of model_pt_path when there is one."""
        if not os.path.isfile(os.path.join(model_dir, model_file)):
            raise RuntimeError("Missing the model.py file")
        module = importlib.import_module(model_file.split(".")[0])
        classes = list_classes_from_module(module)
        if len(classes) != 1:
            raise ValueError(
                "Expected only one class as model definition. {}".format(
                    classes))
        model = classes[0]()
        if model_pt_path:
            state_dict = torch.load(model_pt_path, map_location=self.device)
            model.load_state_dict(state_dict)
        return model

    # --- one batch -----------------------------------------------------------

    @timed
    def preprocess(self, data):
        return torch.as_tensor(data, device=self.device)

    @timed
    def inference(self, data, *args, **kwargs):
        with torch.inference_mode():
            return self.model(data.to(self.device), *args, **kwargs)

    @timed
    def postprocess(self, data):
        return data.tolist()

    def handle(self, data, context):
        """preprocess -> inference -> postprocess, or the explanation or
        description the request asks for; records HandlerTime (ms)."""
        start = time.time()
        self.context = context
        if os.environ.get("ENABLE_TORCH_PROFILER"):
            output, _ = self._infer_with_profiler(data)
        elif self._is_describe():
            output = [self.describe_handle()]
        else:
            data_preprocess = self.preprocess(data)
            if self._is_explain():
                output = self.explain_handle(data_preprocess, data)
            else:
                output = self.postprocess(self.inference(data_preprocess))
        elapsed_ms = round((time.time() - start) * 1000, 2)
        context.metrics.add_time("HandlerTime", elapsed_ms, None, "ms")
        return output

    def _infer_with_profiler(self, data):
        """The batch under torch.profiler (ENABLE_TORCH_PROFILER set): a
        trace per batch under /tmp/pytorch_profiler/<model name>."""
        from torch.profiler import (ProfilerActivity, profile,
                                    record_function,
                                    tensorboard_trace_handler)

        if self.manifest is None:
            self.manifest = self.context.manifest
        if not self.profiler_args:
            activities = [ProfilerActivity.CPU]
            if torch.cuda.is_available():
                activities.append(ProfilerActivity.CUDA)
            self.profiler_args = {"activities": activities,
                                  "record_shapes": True}
        if "on_trace_ready" not in self.profiler_args:
            name = (self.manifest or {}).get("model", {}).get("modelName", "")
            self.profiler_args["on_trace_ready"] = tensorboard_trace_handler(
                os.path.join(PROFILER_TRACE_DIR, name))
        with profile(**self.profiler_args) as prof:
            with record_function("preprocess"):
                data_preprocess = self.preprocess(data)
            if self._is_explain():
                with record_function("explain"):
                    output = self.explain_handle(data_preprocess, data)
            else:
                with record_function("inference"):
                    output = self.inference(data_preprocess)
                with record_function("postprocess"):
                    output = self.postprocess(output)
        return output, prof

    # --- explanations and descriptions ---------------------------------------

    def explain_handle(self, data_preprocess, raw_data):
        """The explanation of the first request: get_insights with its
        input and its "target" field (default 0)."""
        inputs = None
        target = 0
        row = raw_data[0]
        if isinstance(row, dict):
            inputs = row.get("data") or row.get("body")
            target = row.get("target") or 0
        return self.get_insights(data_preprocess, inputs, target)

    def get_insights(self, tensor_data, raw_data, target=0):
        raise NotImplementedError(
            "{} gives no explanations: it has no get_insights".format(
                type(self).__name__))

    def _is_explain(self):
        if self.context and self.context.get_request_header(0, "explain") \
                == "True":
            self.explain = True
            return True
        return False

    def _is_describe(self):
        return bool(self.context) and \
            self.context.get_request_header(0, "describe") == "True"

    def describe_handle(self):
        """What a describe request answers; None unless overridden."""
        return None

    def get_device(self):
        return self.device
