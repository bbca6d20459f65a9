/*
 * fuzz_kserve.c: libFuzzer target for KServe requests on the C handlers'
 * batch path (ts_kserve_infer, runtime/ts_kserve.c): v1's {"instances":
 * [...]}, each instance re-encoded as a request of its own; v2's JSON
 * tensors and the binary tensor extension (ts_kserve_v2_parse,
 * runtime/ts_kserve_v2.c: Inference-Header-Content-Length, the JSON
 * header, binary_data_size parts, the big "data" arrays cut out for the
 * fast decoder), split into rows; and their answers
 * (ts_kserve_v2_answer.c: requested "outputs", binary_data_output).
 *
 * One input is up to FUZZ_SERVE_MAX_REQUESTS requests separated by "---"
 * lines (FUZZ_SERVE_SEPARATOR), each "PROTOCOL\nbody" with PROTOCOL one
 * of
 *   v1        KServe v1
 *   v2        KServe v2, JSON only
 *   v2 N      KServe v2 whose first N bytes are the JSON header
 * and any other first line (or none) a TorchServe request, the whole
 * piece its body: a batch may mix them, as nginx's batches do.  Served
 * by each of fuzz_serve.h's servables; every request must be answered
 * (fuzz_serve_check), a KServe answer must be JSON (but for a v2 tensor's
 * NaN or infinity) and a v2 answer's "id" must be the request's.
 */

#define _GNU_SOURCE             /* memmem */

#include <jansson.h>

#include "ts_kserve.h"

#include "fuzz_serve.h"
#include "fuzz_util.h"


static void
fuzz_kserve_request(ts_request_t *req, const uint8_t *piece, size_t len)
{
    size_t          n, k;
    const uint8_t  *nl;

    req->body = piece;
    req->len = len;
    req->content_type = "application/json";
    req->protocol = TS_PROTOCOL_TORCHSERVE;
    snprintf(req->request_id, sizeof(req->request_id), "fuzz-id");

    nl = memchr(piece, '\n', len);
    if (nl == NULL) {
        return;
    }

    n = (size_t) (nl - piece);

    if (n == 2 && memcmp(piece, "v1", 2) == 0) {
        req->protocol = TS_PROTOCOL_KSERVE_V1;

    } else if (n >= 2 && memcmp(piece, "v2", 2) == 0
               && (n == 2 || piece[2] == ' '))
    {
        req->protocol = TS_PROTOCOL_KSERVE_V2;

        /* digits only (strtoull would skip the '\n'); wraps if huge */
        for (k = 3; k < n && piece[k] >= '0' && piece[k] <= '9'; k++) {
            req->header_len = req->header_len * 10 + (piece[k] - '0');
        }

    } else {
        return;
    }

    req->body = nl + 1;
    req->len = len - n - 1;
}


/* the JSON part's length, from the answer's own header when binary */
static size_t
fuzz_kserve_json_len(const ts_request_t *req)
{
    const char  *h, *end;

    h = req->response_headers;
    end = h ? h + req->response_headers_len : NULL;

    while (h != NULL && h < end) {
        if (strcmp(h, "Inference-Header-Content-Length") == 0) {
            return strtoul(h + strlen(h) + 1, NULL, 10);
        }

        h += strlen(h) + 1;
        h += strlen(h) + 1;
    }

    return req->response_len;
}


/*
 * An answer is JSON, but where a v2 tensor holds NaN or an infinity
 * (binary inputs can: Python's json writes them so); a v2 answer's "id"
 * is the request's, or the request id when it has none.
 */
static void
fuzz_kserve_check_answer(const ts_request_t *req, fuzz_serve_kind_e kind)
{
    size_t         jlen;
    json_t        *answer, *body, *id;
    json_error_t   e;

    if (req->status != TS_STATUS_OK || req->protocol == TS_PROTOCOL_TORCHSERVE)
    {
        return;
    }

    jlen = fuzz_kserve_json_len(req);
    FUZZ_CHECK(jlen <= req->response_len, "a JSON part of %zu bytes in %zu",
               jlen, req->response_len);

    answer = json_loadb(req->response, jlen, 0, &e);

    if (answer == NULL) {
        FUZZ_CHECK(req->protocol == TS_PROTOCOL_KSERVE_V2
                   && (memmem(req->response, jlen, "NaN", 3) != NULL
                       || memmem(req->response, jlen, "Infinity", 8) != NULL),
                   "the answer is not JSON: %s: %.*s", e.text,
                   (int) (jlen < 300 ? jlen : 300), req->response);
        return;
    }

    if (req->protocol == TS_PROTOCOL_KSERVE_V2) {
        body = json_loadb((const char *) req->body,
                          req->header_len ? req->header_len : req->len,
                          JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
        id = json_object_get(body, "id");

        FUZZ_CHECK(id != NULL
                   ? json_equal(id, json_object_get(answer, "id"))
                   : strcmp(json_string_value(json_object_get(answer, "id")),
                            req->request_id) == 0,
                   "the answer's id is not the request's: %.*s",
                   (int) (jlen < 300 ? jlen : 300), req->response);

        json_decref(body);
    }

    json_decref(answer);
}


/* KServe's requests through ts_kserve_infer, TorchServe's as they are */
static void
fuzz_kserve_batch(ts_servable_t *s, ts_request_t *reqs, size_t n)
{
    if (ts_kserve_any(reqs, n)) {
        ts_kserve_infer(s, reqs, n, fuzz_serve_infer);

    } else {
        fuzz_serve_infer(s, reqs, n);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_serve_run(data, size, fuzz_kserve_request, fuzz_kserve_batch,
                          fuzz_kserve_check_answer);
}
