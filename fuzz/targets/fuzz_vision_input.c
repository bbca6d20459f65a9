/*
 * fuzz_vision_input.c: libFuzzer target for what a C vision handler reads
 * from a request (ts_vision_input, runtime/ts_vision_input.c): the body
 * or a form's "data"/"body" field (ts_multipart.c), decoded by its
 * content type, JSON (jansson or the fast path), base64 text
 * (ts_base64.c), %-encoding.
 *
 * One input is "Content-Type\nbody" (no line: no content type; an empty
 * line: the empty type).  Checks: an image's bytes lie in the body or in
 * the input's own decoded buffer, a tensor is float32; all
 * of it is freed by ts_vision_input_clear (LeakSanitizer).
 */

#include "ts_vision_input.h"
#include "ts_image.h"

#include "fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 rc;
    char               *type, err[TS_ERROR_LEN];
    size_t              len;
    uint8_t            *body;
    const uint8_t      *rest;
    ts_request_t        req;
    ts_vision_input_t   in;

    if (!fuzz_first_line(data, size, &type, &rest, &len)) {
        return 0;
    }

    body = fuzz_copy(rest, len);
    if (body == NULL) {
        free(type);
        return 0;
    }

    memset(&req, 0, sizeof(ts_request_t));
    req.body = body;
    req.len = len;
    req.content_type = type;

    err[0] = '\0';
    rc = ts_vision_input(&req, &in, err, sizeof(err));

    if (rc != 0) {
        FUZZ_CHECK(rc == -1 && err[0] != '\0', "a refusal without a message");
        FUZZ_CHECK(in.owned == NULL && in.data == NULL
                   && in.tensor.data == NULL, "a refusal keeps its input");

    } else if (in.kind == TS_VISION_BYTES) {
        FUZZ_CHECK(in.len > 0, "an empty image");
        FUZZ_CHECK((in.data >= body && in.data + in.len <= body + len)
                   || (in.owned != NULL && in.data == in.owned),
                   "the image's bytes are neither the body's nor owned");

        (void) ts_image_format(in.data, in.len);

    } else {
        FUZZ_CHECK(in.kind == TS_VISION_TENSOR
                   && in.tensor.dtype == TS_FLOAT32
                   && ts_tensor_numel(&in.tensor) >= 0,
                   "kind %d: not a float32 tensor", (int) in.kind);
    }

    ts_vision_input_clear(&in);
    free(body);
    free(type);

    return 0;
}
