"""A handler that cannot be imported: the load error must name the module
that is missing and this line, not a default handler."""

import not_installed_module


def handle(data, context):
    return not_installed_module.answer(data)
