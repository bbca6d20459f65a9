/*
 * fuzz_form.c: libFuzzer target for form bodies: multipart/form-data and
 * application/x-www-form-urlencoded (ts_form_init, ts_form_next,
 * ts_form_name_is, ts_form_urldecode, runtime/ts_multipart.c).
 *
 * One input is "Content-Type\nbody": its first line is the request's
 * content type (no line: none, the body is not a form).  Checks: every
 * field's name, value and type lie inside the body (or are the parser's
 * "application/octet-stream"), no more than TS_FORM_MAX_FIELDS come out,
 * and percent-decoding never grows a name or a value (it is done into
 * buffers of exactly their size, in place too).
 */

#include "ts_multipart.h"

#include "fuzz_util.h"


static int
fuzz_inside(const void *p, size_t n, const uint8_t *body, size_t len)
{
    const uint8_t  *q = p;

    return q >= body && q <= body + len && n <= (size_t) (body + len - q);
}


static void
fuzz_urldecode(const unsigned char *s, size_t n)
{
    size_t          m, m2;
    unsigned char  *out, *in_place;

    out = malloc(n ? n : 1);
    in_place = fuzz_copy(s, n);

    if (out != NULL && in_place != NULL) {
        m = ts_form_urldecode(s, n, out);
        FUZZ_CHECK(m <= n, "%zu bytes decode to %zu", n, m);

        m2 = ts_form_urldecode(in_place, n, in_place);
        FUZZ_CHECK(m2 == m && memcmp(out, in_place, m) == 0,
                   "in place: other bytes");
    }

    free(out);
    free(in_place);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               kind, rc;
    char             *type, err[256];
    size_t            len, n, mlen;
    uint8_t          *body;
    ts_form_t         form;
    const char       *mime;
    const uint8_t    *rest;
    ts_form_field_t   f;

    if (!fuzz_first_line(data, size, &type, &rest, &len)) {
        return 0;
    }

    mlen = ts_content_mime(type, &mime);
    FUZZ_CHECK(type == NULL || mlen <= strlen(type), "mime of %zu bytes",
               mlen);

    /* a copy of its own size: the parser must not read past the body */
    body = fuzz_copy(rest, len);
    if (body == NULL) {
        free(type);
        return 0;
    }

    err[0] = '\0';
    kind = ts_form_init(&form, body, len, type, err, sizeof(err));

    if (kind < 0) {
        FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
        goto done;
    }

    for (n = 0; ; n++) {
        err[0] = '\0';
        rc = ts_form_next(&form, &f, err, sizeof(err));

        if (rc <= 0) {
            FUZZ_CHECK(rc == 0 || err[0] != '\0',
                       "a refusal without a message");
            FUZZ_CHECK(kind != TS_FORM_NONE || (rc == 0 && n == 0),
                       "a body that is not a form has fields");
            break;
        }

        FUZZ_CHECK(n < TS_FORM_MAX_FIELDS, "field %zu", n + 1);

        FUZZ_CHECK(fuzz_inside(f.name, f.name_len, body, len)
                   && fuzz_inside(f.value, f.value_len, body, len),
                   "field %zu is outside the body", n);

        FUZZ_CHECK(f.type == NULL
                   || fuzz_inside(f.type, f.type_len, body, len)
                   || (f.type_len == 24
                       && memcmp(f.type, "application/octet-stream", 24)
                          == 0),
                   "field %zu's type is outside the body", n);

        FUZZ_CHECK(f.type == NULL || f.file, "a plain field with a type");

        (void) ts_form_name_is(&f, "data");
        (void) ts_form_name_is(&f, "body");

        if (f.name_enc == TS_FORM_NAME_PERCENT) {
            fuzz_urldecode(f.name, f.name_len);
            fuzz_urldecode(f.value, f.value_len);
        }
    }

done:

    free(body);
    free(type);

    return 0;
}
