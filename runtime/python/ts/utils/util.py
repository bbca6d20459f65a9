"""Helpers TorchServe's handlers share: finding the classes a module
defines, label mappings, model-config.yaml, and PredictionException, the
exception that gives a failed batch its own HTTP status."""

import inspect
import json
import logging
import os
import re

logger = logging.getLogger(__name__)

# HTML tags and character entities, which text handlers strip
CLEANUP_REGEX = re.compile(
    "<.*?>|&([a-z0-9]+|#[0-9]{1,6}|#x[0-9a-f]{1,6});")


def list_classes_from_module(module, parent_class=None):
    """The classes defined in module itself, sorted by name (classes it
    imports do not count), optionally only subclasses of parent_class."""
    classes = [
        member for _, member in inspect.getmembers(module, inspect.isclass)
        if member.__module__ == module.__name__
    ]
    if parent_class is not None:
        classes = [cls for cls in classes if issubclass(cls, parent_class)]
    return classes


def load_label_mapping(mapping_file_path):
    """index_to_name.json as {"<class index>": "label"}, or None without
    the file. A list value names a class by its last item, and the older
    {"object_type_names": [...]} form is accepted."""
    if not os.path.isfile(mapping_file_path):
        logger.warning("%r is missing. Inference output will not include "
                       "class name.", mapping_file_path)
        return None
    with open(mapping_file_path) as f:
        mapping = json.load(f)
    if not isinstance(mapping, dict):
        raise Exception('index->name JSON mapping should be in "class": '
                        '"label" format.')
    names = mapping.get("object_type_names")
    if isinstance(names, list):
        return {str(i): name for i, name in enumerate(names)}
    for key, value in mapping.items():
        label = value[-1] if isinstance(value, list) else value
        if not isinstance(label, str):
            raise Exception("labels in index->name mapping must be either "
                            "str or List[str]")
        mapping[key] = label
    return mapping


def map_class_to_label(probs, mapping=None, lbl_classes=None):
    """One {label: probability} dict per row of probs. Without lbl_classes
    row i's values belong to classes 0..n-1; labels are mapping[str(class)]
    or str(class) without a mapping."""
    if not isinstance(probs, list):
        raise Exception("Convert classes to list before doing mapping")
    if mapping is not None and not isinstance(mapping, dict):
        raise Exception("Mapping must be a dict")
    if lbl_classes is None:
        lbl_classes = [range(len(row)) for row in probs]

    def label(cls):
        return mapping[str(cls)] if mapping is not None else str(cls)

    return [
        {label(cls): prob for cls, prob in zip(classes, row)}
        for classes, row in zip(lbl_classes, probs)
    ]


def get_yaml_config(yaml_file_path):
    import yaml

    with open(yaml_file_path) as f:
        return yaml.safe_load(f)


def check_valid_pt2_backend(backend: str) -> bool:
    # torch.compile needs torch 2; Debian 12's torch is 1.13
    logger.warning("torch.compile backend %r ignored: torch %s has no "
                   "torch.compile", backend, _torch_version())
    return False


def _torch_version():
    try:
        import torch
        return torch.__version__
    except ImportError:
        return "(not installed)"


class PredictionException(Exception):
    """Raised by a handler to fail the batch with error_code and message
    instead of 503 "Prediction failed"."""

    def __init__(self, message, error_code=500):
        self.message = message
        self.error_code = error_code
        super().__init__(message)

    def __str__(self):
        return "{} : {}".format(self.message, self.error_code)
