"""TorchServe's default handlers: base_handler, image_classifier,
image_segmenter, object_detector, text_classifier (and the vision_handler
and text_handler bases). A handler named by one of these module names runs
the one class the module defines."""

BUILT_IN = ("base_handler", "image_classifier", "image_segmenter",
            "object_detector", "text_classifier")

# TorchServe's other default handlers need packages Debian does not have
# (NVIDIA DALI, vLLM, TensorRT-LLM)
NOT_PROVIDED = ("dali_image_classifier", "vllm_handler", "trt_llm_handler")
