"""A handler whose every batch fails: the batch answers 503."""


def handle(data, context):
    if data is None:
        return None
    raise ValueError("this handler always fails")
