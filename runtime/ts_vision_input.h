/*
 * ts_vision_input.h: what a C vision handler reads from one request, as
 * TorchServe's VisionHandler.preprocess reads its row (API.md §1, §7):
 *
 *   the request's fields (ts_multipart.h: a form's fields, or one field
 *   "body"), each decoded by its content type (exactly application/json:
 *   JSON, bytes if it does not parse; text...: a string, bytes if not
 *   UTF-8; else bytes), then value = data or body (the first that is not
 *   empty, as Python's `or`), and
 *     - a string: base64 (Python's b64decode) -> the image file's bytes;
 *     - bytes: the image file's bytes as they are;
 *     - a JSON list of numbers: a float32 tensor, used as it is.
 *
 * Beyond TorchServe, which fails on these (see the .c for why):
 *   - a JSON object {"data": x} or {"body": x} is read as x;
 *   - a form field without a type (a plain multipart field, an urlencoded
 *     value), which TorchServe hands over as bytes, is read as base64
 *     when it is ASCII text.
 *
 * No copy of the body is made: the bytes point into req->body (which
 * must outlive in) unless they were decoded (base64, %XX) into owned.
 * A JSON body `"<base64>"` is read in place; JSON with escapes, objects
 * and lists go through jansson (a tree, then the tensor).
 */

#ifndef TS_VISION_INPUT_H
#define TS_VISION_INPUT_H

#include <stddef.h>

#include "ts_handler.h"
#include "ts_value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TS_VISION_BYTES = 1,
    TS_VISION_TENSOR
} ts_vision_kind_e;


typedef struct {
    ts_vision_kind_e      kind;

    /* TS_VISION_BYTES: the image file's bytes (into the body, or owned) */
    const unsigned char  *data;
    size_t                len;
    unsigned char        *owned;        /* malloc'd (decoded), or NULL */

    /* TS_VISION_TENSOR: float32, from a JSON list */
    ts_tensor_t           tensor;
} ts_vision_input_t;


/*
 * Reads req's input into in.  Returns 0, or -1 with a message for a 400
 * in err, which says what is missing or malformed:
 *   the request has no field "data" or "body"
 *   the request body is empty / the "data" field is empty
 *   malformed multipart body: ... (ts_multipart.h)
 *   the "data" field is not valid base64: incorrect padding
 *   the "body" field is not a list of numbers: ragged nested list ...
 *   the "data" field must be base64 text, an image or a list of numbers,
 *     not a JSON number
 *   no memory
 * in is empty on failure; ts_vision_input_clear releases it either way.
 */
int ts_vision_input(const ts_request_t *req, ts_vision_input_t *in,
    char *err, size_t errlen);

void ts_vision_input_clear(ts_vision_input_t *in);

#ifdef __cplusplus
}
#endif

#endif /* TS_VISION_INPUT_H */
