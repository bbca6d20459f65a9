"""A small DenseNet (torchvision's class, few and narrow layers) so that
the densenet tutorial's flow (--handler image_classifier with
index_to_name.json) runs fast in tests."""

from torchvision.models.densenet import DenseNet


class TinyDenseNet(DenseNet):
    def __init__(self):
        super().__init__(growth_rate=8, block_config=(2, 2),
                         num_init_features=16, num_classes=10)
