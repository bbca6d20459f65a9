"""A handler that sets its own status, reason phrase, header and content
type for every request, and says which request id it was given."""


def handle(data, context):
    if data is None:
        return None
    for idx in range(len(data)):
        context.set_response_status(599, "Custom Status", idx)
        context.set_response_header(idx, "X-Custom-Header", "yes")
        context.set_response_header(idx, "X-Handler-Request-Id",
                                    context.get_request_id(idx))
        context.set_response_content_type(idx, "text/plain")
    return ["custom answer\n" for _ in data]
