"""The TorchServe release whose backend behaviour this package reproduces;
handlers see it as context.system_properties["server_version"]."""

__version__ = "0.12.0"
