/*
 * fuzz_json_tensor.c: libFuzzer target for the general path of request
 * bodies: jansson (ts_json_load) and ts_json_to_tensor
 * (runtime/ts_json.c), for every dtype, and the text those tensors are
 * answered with (ts_json_dump_value, runtime/ts_pyjson.c and ts_dtoa.c).
 *
 * One input is a body.  Checks: a tensor has the shape of its lists and
 * room for its elements (ASan); and the answer's text is JSON that reads
 * back to the same values, bit for bit for the float dtypes (a float
 * printed as Python's repr must round-trip).
 */

#include <inttypes.h>

#include "ts_json.h"

#include "fuzz_util.h"


/* the value at flat index i of json: a nested list of numbers */
static json_t *
fuzz_json_leaf(json_t *j, const ts_tensor_t *t, int64_t i)
{
    int      d;
    int64_t  stride, k;

    for (d = 0; d < t->ndim; d++) {
        stride = 1;
        for (k = d + 1; k < t->ndim; k++) {
            stride *= t->shape[k];
        }

        j = json_array_get(j, (size_t) (i / stride));
        i %= stride;
    }

    return j;
}


static void
fuzz_check_round_trip(const ts_tensor_t *t)
{
    int          d;
    char        *text, err[512];
    size_t       len, cap;
    json_t      *back, *leaf;
    int64_t      i, n;
    double       want, got;
    ts_value_t   v;

    memset(&v, 0, sizeof(ts_value_t));
    v.type = TS_VAL_TENSOR;
    v.u.tensor = *t;

    text = NULL;
    len = 0;
    cap = 0;

    if (ts_json_dump_value(&v, &text, &len, &cap) != 0) {
        free(text);
        return;
    }

    back = ts_json_load(text, len, err, sizeof(err));
    FUZZ_CHECK(back != NULL, "the answer is not JSON: %s: %.200s", err, text);

    /* a 0-dim tensor is a bare number; else lists as deep as the shape */
    leaf = back;
    for (d = 0; d < t->ndim; d++) {
        FUZZ_CHECK(json_is_array(leaf)
                   && (int64_t) json_array_size(leaf) == t->shape[d],
                   "dimension %d of the answer: %.200s", d, text);
        if (t->shape[d] == 0) {
            break;
        }
        leaf = json_array_get(leaf, 0);
    }

    n = ts_tensor_numel(t);

    for (i = 0; i < n; i++) {
        leaf = fuzz_json_leaf(back, t, i);
        want = ts_tensor_get_double(t, i);

        if (t->dtype == TS_BOOL) {
            FUZZ_CHECK(json_is_boolean(leaf)
                       && json_is_true(leaf) == (want != 0),
                       "element %" PRId64 " of a bool tensor", i);
            continue;
        }

        FUZZ_CHECK(json_is_number(leaf), "element %" PRId64 " is not a "
                   "number: %.200s", i, text);

        got = json_number_value(leaf);

        FUZZ_CHECK(memcmp(&got, &want, sizeof(double)) == 0
                   || (got == 0 && want == 0 && !json_is_real(leaf)),
                   "element %" PRId64 " (%s): %.17g reads back as %.17g",
                   i, ts_dtype_name(t->dtype), want, got);
    }

    json_decref(back);
    free(text);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int           dtype;
    char          err[512];
    json_t       *j, *instance;
    ts_tensor_t   t;

    j = ts_json_load(data, size, err, sizeof(err));
    if (j == NULL) {
        FUZZ_CHECK(strncmp(err, "invalid JSON at line ", 21) == 0,
                   "message \"%s\"", err);
        return 0;
    }

    (void) ts_json_all_bool(j);

    instance = ts_json_unwrap_instance(j);

    for (dtype = TS_FLOAT32; dtype <= TS_BOOL; dtype++) {
        err[0] = '\0';

        if (ts_json_to_tensor(instance, (ts_dtype_e) dtype, &t, err,
                              sizeof(err))
            != 0)
        {
            FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
            continue;
        }

        FUZZ_CHECK(t.dtype == (ts_dtype_e) dtype && t.ndim >= 0
                   && t.ndim <= TS_MAX_DIMS, "dtype %d, %d dimensions",
                   (int) t.dtype, t.ndim);

        fuzz_check_round_trip(&t);
        ts_tensor_clear(&t);
    }

    json_decref(j);

    return 0;
}
