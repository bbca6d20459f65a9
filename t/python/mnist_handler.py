"""The MNIST tutorial's handler: TorchServe's image classifier, but the
28x28 grey digit only becomes a tensor (no resize, crop or normalisation),
and the answer is the most probable digit."""

from torch.profiler import ProfilerActivity
from torchvision import transforms
from ts.torch_handler.image_classifier import ImageClassifier


class MNISTDigitClassifier(ImageClassifier):
    image_processing = transforms.Compose([transforms.ToTensor()])

    def __init__(self):
        super().__init__()
        # used only when ENABLE_TORCH_PROFILER is set
        self.profiler_args = {
            "activities": [ProfilerActivity.CPU],
            "record_shapes": True,
        }

    def postprocess(self, data):
        return data.argmax(1).tolist()
