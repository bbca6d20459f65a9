/*
 * fuzz_base64.c: libFuzzer target for Python's lenient base64 decoding
 * (ts_base64_decode, runtime/ts_base64.c), which the vision handlers run
 * on a client's text.
 *
 * One input is the text.  Checks: the output stays within
 * TS_BASE64_DECODED_MAX (the buffer is exactly that, so ASan sees an
 * overrun), and decoding in place, which ts_vision_input does in a
 * buffer of the text's own size, gives the same answer and bytes.
 */

#include "ts_base64.h"

#include "fuzz_util.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int             rc, rc2;
    char            err[128], err2[128];
    size_t          n, n2;
    unsigned char  *out, *in_place;

    out = malloc(TS_BASE64_DECODED_MAX(size));
    in_place = fuzz_copy(data, size);

    if (out == NULL || in_place == NULL) {
        free(out);
        free(in_place);
        return 0;
    }

    n = (size_t) -1;
    err[0] = '\0';
    rc = ts_base64_decode(data, size, out, &n, err, sizeof(err));

    if (rc == 0) {
        FUZZ_CHECK(n <= TS_BASE64_DECODED_MAX(size), "%zu bytes out of %zu",
                   n, size);

    } else {
        FUZZ_CHECK(rc == -1 && err[0] != '\0', "a refusal without a message");
    }

    n2 = (size_t) -1;
    err2[0] = '\0';
    rc2 = ts_base64_decode(in_place, size, in_place, &n2, err2, sizeof(err2));

    FUZZ_CHECK(rc2 == rc, "in place: %d, not %d", rc2, rc);

    if (rc == 0) {
        FUZZ_CHECK(n2 == n && memcmp(out, in_place, n) == 0,
                   "in place: other bytes");

    } else {
        FUZZ_CHECK(strcmp(err, err2) == 0, "in place: \"%s\", not \"%s\"",
                   err2, err);
    }

    free(out);
    free(in_place);

    return 0;
}
