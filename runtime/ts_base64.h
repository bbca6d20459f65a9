/*
 * ts_base64.h: base64 text to bytes, as Python's base64.b64decode(s) does
 * it by default (binascii.a2b_base64 without strict_mode, CPython 3.11),
 * because that is what TorchServe's vision handler calls on a str input.
 *
 * The standard alphabet only (b64decode's default; "-" and "_" of the
 * URL-safe one are discarded like any other character outside it).
 */

#ifndef TS_BASE64_H
#define TS_BASE64_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* the most bytes n characters of base64 text decode to */
#define TS_BASE64_DECODED_MAX(n)  (((n) / 4 + 1) * 3)

/*
 * Decodes src[0..len) into out (room for TS_BASE64_DECODED_MAX(len)
 * bytes; out may be src: the output never overtakes the input).
 * Characters outside the alphabet are skipped, the first complete run
 * of padding ends the text ("YQ==x" is "a"), and a final quad that is
 * not complete and not padded is an error.  Returns 0 with *outlen, or
 * -1 with Python's reason in err ("incorrect padding", ...).
 */
int ts_base64_decode(const unsigned char *src, size_t len,
    unsigned char *out, size_t *outlen, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* TS_BASE64_H */
