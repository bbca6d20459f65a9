/*
 * fuzz_tensor.c: libFuzzer target for the "tensor" handler's requests
 * (TorchServe's own protocol, runtime/ts_handler_tensor.c): a body is one
 * instance, a nested list, {"data": ...}, {"inputs": ...} or an object
 * keyed by forward's argument names; instances of one shape are stacked
 * into a batch, and each gets its row of forward's output as JSON
 * (ts_pyjson.c).
 *
 * One input is up to FUZZ_SERVE_MAX_REQUESTS bodies separated by "---"
 * lines (FUZZ_SERVE_SEPARATOR): the requests of one batch.  They are
 * served by each of fuzz_serve.h's servables in turn; every request must
 * be answered (fuzz_serve_check), an answer must be JSON, and a string
 * the client sent must read back from it unchanged.
 */

#include <jansson.h>

#include "ts_json.h"

#include "fuzz_serve.h"
#include "fuzz_util.h"


/*
 * An answer is JSON (the values came from JSON: no NaN or Infinity), and
 * the client's name, which FUZZ_SERVE_MANY's forward returns, reads back
 * as the string the client sent (Python's ensure_ascii escaping).
 */
static void
fuzz_tensor_check_answer(const ts_request_t *req, fuzz_serve_kind_e kind)
{
    json_t        *answer, *body, *sent;
    json_error_t   e;

    if (req->status != TS_STATUS_OK) {
        return;
    }

    answer = json_loadb(req->response, req->response_len, JSON_DECODE_ANY,
                        &e);
    FUZZ_CHECK(answer != NULL, "the answer is not JSON: %s: %.*s", e.text,
               (int) (req->response_len < 300 ? req->response_len : 300),
               req->response);

    if (kind == FUZZ_SERVE_MANY && json_array_size(answer) == 3) {
        body = json_loadb((const char *) req->body, req->len,
                          JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        sent = json_object_get(ts_json_unwrap_instance(body), "name");

        FUZZ_CHECK(json_equal(json_array_get(answer, 2), sent),
                   "the name does not read back: %.*s",
                   (int) (req->response_len < 300 ? req->response_len : 300),
                   req->response);

        json_decref(body);
    }

    json_decref(answer);
}


static void
fuzz_tensor_request(ts_request_t *req, const uint8_t *body, size_t len)
{
    req->body = body;
    req->len = len;
    req->content_type = "application/json";
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_serve_run(data, size, fuzz_tensor_request, fuzz_serve_infer,
                          fuzz_tensor_check_answer);
}
