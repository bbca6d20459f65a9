/*
 * fuzz_json_fast.c: libFuzzer target for the float32 fast path of request
 * bodies (ts_json_fast_float32, runtime/ts_json_fast.c), differential.
 *
 * One input is a body.  The fast path promises (ts_json.h) the tensor the
 * general path gives, jansson then ts_json_to_tensor as float32, or to
 * decline: so whenever it accepts, the general path must accept too and
 * give the same shape and the same bits, value by value.
 */

#include <inttypes.h>

#include "ts_json.h"

#include "fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int           d;
    char          err[512];
    json_t       *j;
    int64_t       i, n;
    uint32_t      a, b;
    ts_tensor_t   fast, general;

    if (!ts_json_fast_float32(data, size, &fast)) {
        return 0;
    }

    FUZZ_CHECK(fast.dtype == TS_FLOAT32 && fast.ndim >= 1
               && fast.ndim <= TS_MAX_DIMS, "dtype %d, %d dimensions",
               (int) fast.dtype, fast.ndim);

    j = ts_json_load(data, size, err, sizeof(err));
    FUZZ_CHECK(j != NULL, "the fast path took what jansson refuses: %s", err);

    FUZZ_CHECK(ts_json_to_tensor(ts_json_unwrap_instance(j), TS_FLOAT32,
                                 &general, err, sizeof(err))
               == 0, "the fast path took what the general path refuses: %s",
               err);

    FUZZ_CHECK(general.ndim == fast.ndim, "%d dimensions, not %d",
               fast.ndim, general.ndim);

    for (d = 0; d < fast.ndim; d++) {
        FUZZ_CHECK(fast.shape[d] == general.shape[d],
                   "dimension %d: %" PRId64 ", not %" PRId64, d,
                   fast.shape[d], general.shape[d]);
    }

    n = ts_tensor_numel(&fast);

    for (i = 0; i < n; i++) {
        memcpy(&a, (float *) fast.data + i, sizeof(uint32_t));
        memcpy(&b, (float *) general.data + i, sizeof(uint32_t));

        FUZZ_CHECK(a == b, "value %" PRId64 ": %a (0x%08x), not %a (0x%08x)",
                   i, (double) ((float *) fast.data)[i], a,
                   (double) ((float *) general.data)[i], b);
    }

    ts_tensor_clear(&fast);
    ts_tensor_clear(&general);
    json_decref(j);

    return 0;
}
