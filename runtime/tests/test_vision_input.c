/*
 * test_vision_input.c: a request's input for the C vision handlers
 * (ts_vision_input), its form parser (ts_multipart) and base64 decoder
 * (ts_base64), with cmocka.
 *
 * Multipart bodies are built the way curl 7.88 sends them (`curl -F
 * data=@x.png`, captured): boundary "------------------------" and 16
 * hex digits, parts closed by CRLF, a file part's Content-Disposition
 * with name and filename, then its Content-Type.  The expected base64
 * results and messages are Debian's /usr/bin/python3 (3.11) b64decode's.
 * Every body is a malloc'd block of its exact size, so that valgrind
 * sees a read past its end.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ts_base64.h"
#include "ts_multipart.h"
#include "ts_vision_input.h"


#define TEST_ERRLEN  512

#define CURL_BOUNDARY  "------------------------b1c03a2ca16ceda1"
#define CURL_TYPE      "multipart/form-data; boundary=" CURL_BOUNDARY
#define FORM_TYPE      "application/x-www-form-urlencoded"


/* a 1x1 PNG, and its base64 */
static const unsigned char  test_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
    0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00,
    0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82
};

#define TEST_PNG_B64  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElE" \
                      "QVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"

/* quote_plus of it: '/' is %2F */
#define TEST_PNG_URL  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElE" \
                      "QVR4nGP4z8AAAAMBAQDJ%2FpLvAAAAAElFTkSuQmCC"

/* a second image's worth of bytes, to tell fields apart */
static const unsigned char  test_other[] = "\xff\xd8\xff\xe0 not the PNG";


/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */


typedef struct {
    unsigned char  *p;
    size_t          len;
    size_t          cap;
} test_buf_t;


static void
test_add(test_buf_t *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }

    memcpy(b->p + b->len, data, len);
    b->len += len;
}


static void
test_adds(test_buf_t *b, const char *s)
{
    test_add(b, s, strlen(s));
}


/* one part as curl writes it; filename/type NULL for a plain field */
static void
test_part(test_buf_t *b, const char *name, const char *filename,
    const char *type, const void *content, size_t len)
{
    test_adds(b, "--" CURL_BOUNDARY "\r\n"
                 "Content-Disposition: form-data; name=\"");
    test_adds(b, name);
    test_adds(b, "\"");

    if (filename) {
        test_adds(b, "; filename=\"");
        test_adds(b, filename);
        test_adds(b, "\"");
    }

    test_adds(b, "\r\n");

    if (type) {
        test_adds(b, "Content-Type: ");
        test_adds(b, type);
        test_adds(b, "\r\n");
    }

    test_adds(b, "\r\n");
    test_add(b, content, len);
    test_adds(b, "\r\n");
}


static void
test_close(test_buf_t *b)
{
    test_adds(b, "--" CURL_BOUNDARY "--\r\n");
}


/* a malloc'd copy of exactly len bytes (valgrind sees what is past it) */
static unsigned char *
test_dup(const void *body, size_t len)
{
    unsigned char  *p;

    p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, body, len);

    return p;
}


static int
test_run(const char *type, const unsigned char *body, size_t len,
    ts_vision_input_t *in, char *err)
{
    ts_request_t  req;

    memset(&req, 0, sizeof(req));
    req.body = body;
    req.len = len;
    req.content_type = type;
    err[0] = '\0';

    return ts_vision_input(&req, in, err, TEST_ERRLEN);
}


/*
 * The input is these bytes; into_body: 1 if they must point into the
 * body (no copy), 0 if decoded into owned, -1 either.
 */
static void
test_expect_bytes(const char *type, const void *body, size_t len,
    const void *expect, size_t expect_len, int into_body)
{
    unsigned char      *b;
    char                err[TEST_ERRLEN];
    ts_vision_input_t   in;
    int                 rc;

    b = test_dup(body, len);
    rc = test_run(type, b, len, &in, err);

    if (rc != 0) {
        fail_msg("unexpected error: %s", err);
    }

    assert_int_equal(in.kind, TS_VISION_BYTES);
    assert_int_equal(in.len, expect_len);
    assert_memory_equal(in.data, expect, expect_len);

    if (into_body == 1) {
        assert_null(in.owned);
        assert_true(in.data >= b && in.data + in.len <= b + len);
    } else if (into_body == 0) {
        assert_non_null(in.owned);
        assert_ptr_equal(in.data, in.owned);
    }

    ts_vision_input_clear(&in);
    assert_null(in.owned);
    free(b);
}


static void
test_expect_error(const char *type, const void *body, size_t len,
    const char *expect)
{
    unsigned char      *b;
    char                err[TEST_ERRLEN];
    ts_vision_input_t   in;

    b = test_dup(body, len);

    assert_int_equal(test_run(type, b, len, &in, err), -1);
    assert_string_equal(err, expect);
    assert_null(in.owned);
    assert_null(in.tensor.data);

    ts_vision_input_clear(&in);
    free(b);
}


static void
test_expect_tensor(const char *type, const char *body, int ndim,
    const int64_t *shape, const float *values)
{
    unsigned char      *b;
    char                err[TEST_ERRLEN];
    size_t              len;
    ts_vision_input_t   in;

    len = strlen(body);
    b = test_dup(body, len);

    if (test_run(type, b, len, &in, err) != 0) {
        fail_msg("unexpected error: %s", err);
    }

    assert_int_equal(in.kind, TS_VISION_TENSOR);
    assert_int_equal(in.tensor.dtype, TS_FLOAT32);
    assert_int_equal(in.tensor.ndim, ndim);
    assert_memory_equal(in.tensor.shape, shape, ndim * sizeof(int64_t));
    assert_memory_equal(in.tensor.data, values,
                        ts_tensor_numel(&in.tensor) * sizeof(float));
    assert_null(in.owned);

    ts_vision_input_clear(&in);
    free(b);
}


static uint64_t
test_rand(uint64_t *s)
{
    /* xorshift64*: deterministic, no libc state */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;

    return *s * UINT64_C(2685821657736338717);
}


/* ------------------------------------------------------------------ */
/* base64                                                             */
/* ------------------------------------------------------------------ */


static void
test_b64(const char *text, const char *expect, size_t expect_len,
    const char *error)
{
    unsigned char  *src, *out;
    size_t          len, n;
    char            err[TEST_ERRLEN];
    int             rc;

    len = strlen(text);
    src = test_dup(text, len);
    out = malloc(TS_BASE64_DECODED_MAX(len));
    assert_non_null(out);

    err[0] = '\0';
    rc = ts_base64_decode(src, len, out, &n, err, sizeof(err));

    if (error) {
        assert_int_equal(rc, -1);
        assert_string_equal(err, error);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(n, expect_len);
        assert_memory_equal(out, expect, n);

        /* in place gives the same */
        assert_int_equal(ts_base64_decode(src, len, src, &n, err,
                                          sizeof(err)), 0);
        assert_int_equal(n, expect_len);
        assert_memory_equal(src, expect, n);
    }

    free(out);
    free(src);
}


static void
test_base64(void **state)
{
    /* each as Python 3.11's base64.b64decode answers it */
    test_b64("YWJj", "abc", 3, NULL);
    test_b64("YWJjZA==", "abcd", 4, NULL);
    test_b64("Y W\nJj", "abc", 3, NULL);
    test_b64("YW=Jj", "abc", 3, NULL);
    test_b64("=YWJj", "abc", 3, NULL);
    test_b64("YWJjZA==YWJj", "abcd", 4, NULL);
    test_b64("ab=c=", "i\xb7", 2, NULL);
    test_b64("YWJjZA=!=", "abcd", 4, NULL);
    test_b64("YQ==x", "a", 1, NULL);
    test_b64("!!!!", "", 0, NULL);
    test_b64("====", "", 0, NULL);
    test_b64("", "", 0, NULL);
    /* the URL-safe alphabet is not b64decode's: skipped */
    test_b64("-_-_", "", 0, NULL);
    test_b64(TEST_PNG_B64, (const char *) test_png, sizeof(test_png), NULL);

    test_b64("YWJjZA=", NULL, 0, "incorrect padding");
    test_b64("YWJjZA", NULL, 0, "incorrect padding");
    test_b64("YQ", NULL, 0, "incorrect padding");
    test_b64("YWJjZ", NULL, 0,
             "number of data characters (5) cannot be 1 more than a "
             "multiple of 4");
    test_b64("YWJjZGVmZ", NULL, 0,
             "number of data characters (9) cannot be 1 more than a "
             "multiple of 4");
}


/* ------------------------------------------------------------------ */
/* the form parser                                                    */
/* ------------------------------------------------------------------ */


static void
test_form_fields(void **state)
{
    test_buf_t        b = { NULL, 0, 0 };
    ts_form_t         form;
    ts_form_field_t   f;
    char              err[TEST_ERRLEN];
    unsigned char    *body;

    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_part(&b, "body", NULL, NULL, "hello", 5);
    test_part(&b, "other", "y.bin", NULL, "", 0);
    test_close(&b);
    body = test_dup(b.p, b.len);

    assert_int_equal(ts_form_init(&form, body, b.len, CURL_TYPE, err,
                                  sizeof(err)), TS_FORM_MULTIPART);

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "data"));
    assert_false(ts_form_name_is(&f, "dat"));
    assert_false(ts_form_name_is(&f, "datas"));
    assert_true(f.file);
    assert_int_equal(f.type_len, 9);
    assert_memory_equal(f.type, "image/png", 9);
    assert_int_equal(f.value_len, sizeof(test_png));
    assert_memory_equal(f.value, test_png, sizeof(test_png));

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "body"));
    assert_false(f.file);
    assert_null(f.type);
    assert_int_equal(f.value_len, 5);
    assert_memory_equal(f.value, "hello", 5);

    /* a file part without a type: application/octet-stream */
    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "other"));
    assert_int_equal(f.value_len, 0);
    assert_int_equal(f.type_len, strlen("application/octet-stream"));
    assert_memory_equal(f.type, "application/octet-stream", f.type_len);

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 0);
    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 0);

    free(body);
    free(b.p);
}


static void
test_form_syntax(void **state)
{
    static const char  body_lf[] =
        "preamble, ignored\n"
        "--xyz \t\n"
        "content-disposition: form-data; name=\"\\d\\a\\t\\a\"\n"
        "\n"
        "one\n"
        "--xyz\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "CONTENT-DISPOSITION:form-data;filename=\"a;b.txt\";NAME = body\n"
        "\n"
        "two\r\n"
        "--xyz--\n"
        "epilogue\n--xyz\nignored too";

    static const char  body_url[] = "a=1&&data=x%2By+z%zz%4&=&noeq&%64ata=2";

    ts_form_t         form;
    ts_form_field_t   f;
    char              err[TEST_ERRLEN];
    unsigned char     dec[64];
    size_t            n;

    /* bare LFs, padding after a delimiter, escapes, case, '; ' inside "" */
    assert_int_equal(ts_form_init(&form, (const unsigned char *) body_lf,
                                  sizeof(body_lf) - 1,
                                  "Multipart/Form-Data; BOUNDARY=xyz", err,
                                  sizeof(err)), TS_FORM_MULTIPART);

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "data"));
    assert_int_equal(f.value_len, 3);
    assert_memory_equal(f.value, "one", 3);

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "body"));
    assert_true(f.file);
    assert_int_equal(f.type_len, 10);
    assert_memory_equal(f.type, "text/plain", 10);
    assert_int_equal(f.value_len, 3);
    assert_memory_equal(f.value, "two", 3);

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 0);

    /* urlencoded: pairs between '&', names and values still encoded */
    assert_int_equal(ts_form_init(&form, (const unsigned char *) body_url,
                                  sizeof(body_url) - 1,
                                  "application/x-www-form-urlencoded; "
                                  "charset=utf-8", err, sizeof(err)),
                     TS_FORM_URLENCODED);

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "a"));

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "data"));
    n = ts_form_urldecode(f.value, f.value_len, dec);
    assert_int_equal(n, 10);
    assert_memory_equal(dec, "x+y z%zz%4", n);

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_int_equal(f.name_len, 0);
    assert_true(ts_form_name_is(&f, ""));

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "noeq"));
    assert_int_equal(f.value_len, 0);

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 1);
    assert_true(ts_form_name_is(&f, "data"));

    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 0);

    /* not forms */
    assert_int_equal(ts_form_init(&form, (const unsigned char *) "x", 1,
                                  NULL, err, sizeof(err)), TS_FORM_NONE);
    assert_int_equal(ts_form_init(&form, (const unsigned char *) "x", 1,
                                  "multipart/mixed; boundary=x", err,
                                  sizeof(err)), TS_FORM_NONE);
    assert_int_equal(ts_form_init(&form, (const unsigned char *) "x", 1,
                                  "application/x-www-form-urlencoded2", err,
                                  sizeof(err)), TS_FORM_NONE);
    assert_int_equal(ts_form_next(&form, &f, err, sizeof(err)), 0);
}


/* ------------------------------------------------------------------ */
/* accepted forms                                                     */
/* ------------------------------------------------------------------ */


static void
test_raw_bodies(void **state)
{
    /* curl -T x.png (no type), --data-binary with -H, any binary type */
    test_expect_bytes(NULL, test_png, sizeof(test_png), test_png,
                      sizeof(test_png), 1);
    test_expect_bytes("image/png", test_png, sizeof(test_png), test_png,
                      sizeof(test_png), 1);
    test_expect_bytes("application/octet-stream", test_png,
                      sizeof(test_png), test_png, sizeof(test_png), 1);

    /* JSON that does not parse is bytes (the backend's fallback) */
    test_expect_bytes("application/json", test_png, sizeof(test_png),
                      test_png, sizeof(test_png), 1);

    /* only exactly application/json is JSON, only text... is text */
    test_expect_bytes("Application/JSON", "\"YWJj\"", 6, "\"YWJj\"", 6, 1);
    test_expect_bytes("Text/plain", "YWJj", 4, "YWJj", 4, 1);

    /* base64 with no type is bytes, as in TorchServe */
    test_expect_bytes(NULL, "YWJj", 4, "YWJj", 4, 1);
}


static void
test_json_bodies(void **state)
{
    static const char  *s = "\"" TEST_PNG_B64 "\"";

    test_expect_bytes("application/json", s, strlen(s), test_png,
                      sizeof(test_png), 0);
    test_expect_bytes("application/json; charset=utf-8", s, strlen(s),
                      test_png, sizeof(test_png), 0);

    s = "{\"data\": \"" TEST_PNG_B64 "\"}";
    test_expect_bytes("application/json", s, strlen(s), test_png,
                      sizeof(test_png), 0);

    s = "{\"body\": \"" TEST_PNG_B64 "\"}";
    test_expect_bytes("application/json", s, strlen(s), test_png,
                      sizeof(test_png), 0);

    /* `or`: an empty data gives way to body */
    s = "{\"data\": \"\", \"body\": \"YWJj\"}";
    test_expect_bytes("application/json", s, strlen(s), "abc", 3, 0);

    /* a repeated key keeps its last value, as json.loads does */
    s = "{\"data\": \"!!\", \"data\": \"YWJj\"}";
    test_expect_bytes("application/json", s, strlen(s), "abc", 3, 0);

    /* JSON's whitespace around a string read in place */
    s = " \r\n\t\"YWJj\"\n";
    test_expect_bytes("application/json", s, strlen(s), "abc", 3, 0);

    /* an escape: the string goes through jansson ("\/" is '/') */
    s = "\"" "AAAA\\/w==" "\"";
    test_expect_bytes("application/json", s, strlen(s), "\0\0\0\xff", 4, 0);

    /* \u0000 is a character base64 skips */
    s = "\"YW\\u0000Jj\"";
    test_expect_bytes("application/json", s, strlen(s), "abc", 3, 0);
}


static void
test_json_tensors(void **state)
{
    static const int64_t  s23[] = { 2, 3 }, s3[] = { 3 },
                          s1122[] = { 1, 1, 2, 2 };
    static const float    v23[] = { 1, 2, 3, 4, 5, 6.5f },
                          v3[] = { 1, 0, 1 },
                          v4[] = { 0.25f, -1, 1e3f, 7 };

    /* the fast path (a list), the general one (wrapped, booleans) */
    test_expect_tensor("application/json", " \n[[1, 2, 3], [4, 5, 6.5]]",
                       2, s23, v23);
    test_expect_tensor("application/json",
                       "{\"data\": [[1, 2, 3], [4, 5, 6.5]]}", 2, s23, v23);
    test_expect_tensor("application/json", "{\"body\": [true, false, 1]}",
                       1, s3, v3);
    test_expect_tensor("application/json", "[[[[0.25, -1], [1e3, 7]]]]", 4,
                       s1122, v4);
}


static void
test_text_bodies(void **state)
{
    static const char  *s = TEST_PNG_B64 "\n";

    test_expect_bytes("text/plain", s, strlen(s), test_png,
                      sizeof(test_png), 0);
    test_expect_bytes("text/plain; charset=us-ascii", s, strlen(s),
                      test_png, sizeof(test_png), 0);

    /* bytes that are not UTF-8 stay bytes (the str decoding fails) */
    test_expect_bytes("text/plain", test_png, sizeof(test_png), test_png,
                      sizeof(test_png), 1);
}


static void
test_multipart(void **state)
{
    test_buf_t  b = { NULL, 0, 0 };

    /* curl -F data=@x.png */
    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    /* curl -F body=@x.png */
    b.len = 0;
    test_part(&b, "body", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    /* both, either order: data wins */
    b.len = 0;
    test_part(&b, "body", "y.jpg", "image/jpeg", test_other,
              sizeof(test_other));
    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    b.len = 0;
    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_part(&b, "body", "y.jpg", "image/jpeg", test_other,
              sizeof(test_other));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    /* -F data=@a -F data=@b: the last */
    b.len = 0;
    test_part(&b, "data", "y.jpg", "image/jpeg", test_other,
              sizeof(test_other));
    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    /* an empty data gives way to body */
    b.len = 0;
    test_part(&b, "data", "e.png", "image/png", "", 0);
    test_part(&b, "body", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    /* -F data=<base64>: a plain field of ASCII text is base64 */
    b.len = 0;
    test_part(&b, "data", NULL, NULL, TEST_PNG_B64, strlen(TEST_PNG_B64));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 0);

    /* -F 'data=<x.png': a plain field of binary is the image */
    b.len = 0;
    test_part(&b, "data", NULL, NULL, test_png, sizeof(test_png));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    /* a file part's type decides: text/plain is base64, JSON is JSON */
    b.len = 0;
    test_part(&b, "data", "x.b64", "text/plain", TEST_PNG_B64,
              strlen(TEST_PNG_B64));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 0);

    b.len = 0;
    test_part(&b, "data", "x.json", "application/json",
              "\"" TEST_PNG_B64 "\"", strlen(TEST_PNG_B64) + 2);
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 0);

    /* a part without headers is passed over */
    b.len = 0;
    test_adds(&b, "--" CURL_BOUNDARY "\r\n\r\nno headers\r\n");
    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    /* long headers and content that looks like delimiters: one pass */
    b.len = 0;
    test_adds(&b, "--" CURL_BOUNDARY "\r\nContent-Disposition: form-data");
    for (int i = 0; i < 50000; i++) {
        test_adds(&b, "; x=\"\\\"\"; y=1");
    }
    test_adds(&b, "; name=\"data\"; filename=\"x\"\r\n\r\n");
    for (int i = 0; i < 50000; i++) {
        test_adds(&b, "\r\n--" "------------------------b1c03a2ca16ceda");
    }
    test_adds(&b, "\r\n");
    test_close(&b);
    {
        ts_vision_input_t  in;
        char               err[TEST_ERRLEN];
        unsigned char     *body = test_dup(b.p, b.len);

        assert_int_equal(test_run(CURL_TYPE, body, b.len, &in, err), 0);
        assert_int_equal(in.kind, TS_VISION_BYTES);
        assert_int_equal(in.len, 50000 * 43);
        ts_vision_input_clear(&in);
        free(body);
    }

    /* exactly TS_FORM_MAX_FIELDS parts */
    b.len = 0;
    for (int i = 0; i < TS_FORM_MAX_FIELDS - 1; i++) {
        test_part(&b, "x", NULL, NULL, "1", 1);
    }
    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);
    test_expect_bytes(CURL_TYPE, b.p, b.len, test_png, sizeof(test_png), 1);

    free(b.p);
}


static void
test_multipart_boundary(void **state)
{
    static const char  body[] =
        "--simple boundary\r\n"
        "Content-Disposition: form-data; name=data; filename=x.png\r\n"
        "\r\n"
        "PNG?\r\n"
        "--simple boundary--\r\n";

    static const char  body70[] =
        "--0123456789012345678901234567890123456789012345678901234567890123"
        "456789\r\n"
        "Content-Disposition: form-data; name=\"data\"; filename=\"x\"\r\n"
        "\r\n"
        "PNG?\r\n"
        "--0123456789012345678901234567890123456789012345678901234567890123"
        "456789--\r\n";

    /* quoted (a space needs it), unquoted name and filename */
    test_expect_bytes("multipart/form-data; boundary=\"simple boundary\"",
                      body, sizeof(body) - 1, "PNG?", 4, 1);
    test_expect_bytes("multipart/form-data; charset=x; boundary=\"simple"
                      " \\boundary\"", body, sizeof(body) - 1, "PNG?", 4, 1);

    /* 70 characters: RFC 2046's most */
    test_expect_bytes("multipart/form-data; boundary=01234567890123456789"
                      "01234567890123456789012345678901234567890123456789",
                      body70, sizeof(body70) - 1, "PNG?", 4, 1);
}


static void
test_urlencoded(void **state)
{
    static const char  *s = "name=x&data=" TEST_PNG_URL "&z=1";

    test_expect_bytes(FORM_TYPE, s, strlen(s), test_png, sizeof(test_png),
                      0);

    /* an unencoded '+' is a space, which base64 skips: "YW Jj" */
    s = "data=YW+Jj";
    test_expect_bytes(FORM_TYPE, s, strlen(s), "abc", 3, 0);

    /* the last of a repeated name; %64ata is data */
    s = "data=ZZZZ&%64ata=YWJj";
    test_expect_bytes(FORM_TYPE, s, strlen(s), "abc", 3, 0);

    /* body when data is empty */
    s = "data=&body=YWJj";
    test_expect_bytes(FORM_TYPE, s, strlen(s), "abc", 3, 0);

    /* %-encoded binary is the image itself */
    s = "data=%89PNG%0D%0A";
    test_expect_bytes(FORM_TYPE, s, strlen(s), "\x89PNG\r\n", 6, 0);
}


/* ------------------------------------------------------------------ */
/* refused input                                                      */
/* ------------------------------------------------------------------ */


static void
test_refused_multipart(void **state)
{
    test_buf_t  b = { NULL, 0, 0 };
    char        type[256], expect[256];

    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);

    test_expect_error("multipart/form-data", b.p, b.len,
                      "malformed multipart body: the content type has no "
                      "boundary parameter");
    test_expect_error("multipart/form-data; boundary=", b.p, b.len,
                      "malformed multipart body: the content type has no "
                      "boundary parameter");
    test_expect_error("multipart/form-data; boundary=\"\"", b.p, b.len,
                      "malformed multipart body: the content type has no "
                      "boundary parameter");

    snprintf(type, sizeof(type), "multipart/form-data; boundary=%071d", 0);
    test_expect_error(type, b.p, b.len,
                      "malformed multipart body: the boundary is 71 "
                      "characters long, more than the 70 RFC 2046 allows");

    /* another boundary than the body's */
    test_expect_error("multipart/form-data; boundary=other", b.p, b.len,
                      "malformed multipart body: no delimiter \"--other\"");
    test_expect_error(CURL_TYPE, "", 0,
                      "malformed multipart body: no delimiter \"--"
                      CURL_BOUNDARY "\"");

    /* truncated: no closing delimiter */
    snprintf(expect, sizeof(expect), "malformed multipart body: no closing "
             "delimiter \"--%s--\"", CURL_BOUNDARY);
    test_expect_error(CURL_TYPE, b.p, b.len - 10, expect);

    b.len = 0;
    test_adds(&b, "--" CURL_BOUNDARY);
    test_expect_error(CURL_TYPE, b.p, b.len, expect);
    test_adds(&b, "\r\n");
    test_expect_error(CURL_TYPE, b.p, b.len, expect);

    /* text after a delimiter */
    b.len = 0;
    test_adds(&b, "--" CURL_BOUNDARY "x\r\n\r\nv\r\n--" CURL_BOUNDARY "--");
    test_expect_error(CURL_TYPE, b.p, b.len,
                      "malformed multipart body: text after the delimiter "
                      "\"--" CURL_BOUNDARY "\" on its line");

    /* headers that never end */
    b.len = 0;
    test_adds(&b, "--" CURL_BOUNDARY "\r\n"
                  "Content-Disposition: form-data; name=\"data\"\r\n"
                  "PNG\r\n"
                  "--" CURL_BOUNDARY "--\r\n");
    test_expect_error(CURL_TYPE, b.p, b.len,
                      "malformed multipart body: part 1 has no blank line "
                      "after its headers");

    /* parts without a name: none is "data" or "body" */
    b.len = 0;
    test_adds(&b, "--" CURL_BOUNDARY "\r\n\r\nv\r\n"
                  "--" CURL_BOUNDARY "\r\n"
                  "Content-Disposition: form-data\r\n\r\nv\r\n"
                  "--" CURL_BOUNDARY "--\r\n");
    test_expect_error(CURL_TYPE, b.p, b.len,
                      "the request has no field \"data\" or \"body\"");

    /* only a close delimiter */
    b.len = 0;
    test_adds(&b, "--" CURL_BOUNDARY "--\r\n");
    test_expect_error(CURL_TYPE, b.p, b.len,
                      "the request has no field \"data\" or \"body\"");

    /* one part too many */
    b.len = 0;
    for (int i = 0; i < TS_FORM_MAX_FIELDS; i++) {
        test_part(&b, "x", NULL, NULL, "1", 1);
    }
    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_close(&b);
    test_expect_error(CURL_TYPE, b.p, b.len,
                      "malformed multipart body: more than 128 parts");

    /* empty fields */
    b.len = 0;
    test_part(&b, "data", "x.png", "image/png", "", 0);
    test_close(&b);
    test_expect_error(CURL_TYPE, b.p, b.len, "the \"data\" field is empty");

    b.len = 0;
    test_part(&b, "data", NULL, NULL, "", 0);
    test_part(&b, "body", NULL, NULL, "", 0);
    test_close(&b);
    test_expect_error(CURL_TYPE, b.p, b.len, "the \"body\" field is empty");

    /* a plain field of text that is not base64 */
    b.len = 0;
    test_part(&b, "data", NULL, NULL, "not base64", 10);
    test_close(&b);
    test_expect_error(CURL_TYPE, b.p, b.len,
                      "the \"data\" field is not valid base64: number of "
                      "data characters (9) cannot be 1 more than a multiple "
                      "of 4");

    free(b.p);
}


static void
test_refused_urlencoded(void **state)
{
    test_buf_t  b = { NULL, 0, 0 };

    test_expect_error(FORM_TYPE, "a=1&b=2", 7,
                      "the request has no field \"data\" or \"body\" (the "
                      "body is read as an application/x-www-form-urlencoded"
                      " form, the type curl --data-binary sends without -H "
                      "'Content-Type: ...')");

    test_expect_error(FORM_TYPE, "data=", 5, "the \"data\" field is empty");
    test_expect_error(FORM_TYPE, "data=YWJ", 8,
                      "the \"data\" field is not valid base64: incorrect "
                      "padding");
    test_expect_error(FORM_TYPE, "data=%21%21", 11,
                      "the \"data\" field is not valid base64: it decodes "
                      "to nothing");

    for (int i = 0; i <= TS_FORM_MAX_FIELDS; i++) {
        test_adds(&b, "x=1&");
    }
    test_adds(&b, "data=YWJj");
    test_expect_error(FORM_TYPE, b.p, b.len,
                      "malformed urlencoded body: more than 128 fields");

    free(b.p);
}


static void
test_refused_bodies(void **state)
{
    test_buf_t  b = { NULL, 0, 0 };

    test_expect_error(NULL, "", 0,
                      "the request body is empty: send an image, its base64 "
                      "text or a JSON list of numbers");
    test_expect_error("application/json", "", 0,
                      "the request body is empty: send an image, its base64 "
                      "text or a JSON list of numbers");

    /* JSON that is empty, of the wrong type, or not a tensor */
    test_expect_error("application/json", "[]", 2,
                      "the \"body\" field is empty");
    test_expect_error("application/json", "\"\"", 2,
                      "the \"body\" field is empty");
    test_expect_error("application/json", "{}", 2,
                      "the \"body\" field is empty");
    test_expect_error("application/json", "null", 4,
                      "the \"body\" field must be base64 text, an image or a "
                      "list of numbers, not a JSON null");
    test_expect_error("application/json", "0", 1,
                      "the \"body\" field must be base64 text, an image or a "
                      "list of numbers, not a JSON number");
    test_expect_error("application/json", "12", 2,
                      "the \"body\" field must be base64 text, an image or a "
                      "list of numbers, not a JSON number");
    test_expect_error("application/json", "{\"x\": 1}", 8,
                      "the \"body\" field is a JSON object without \"data\" "
                      "or \"body\"");
    test_expect_error("application/json", "{\"data\": []}", 12,
                      "the \"data\" field is empty");
    test_expect_error("application/json", "{\"data\": {\"data\": \"YWJj\"}}",
                      26,
                      "the \"data\" field must be base64 text, an image or a "
                      "list of numbers, not a JSON object");
    test_expect_error("application/json", "{\"data\": [[1, 2], [3]]}", 23,
                      "the \"data\" field is not a list of numbers: ragged "
                      "nested list at [1]: expected 2 elements, got 1");
    test_expect_error("application/json", "[\"a\"]", 5,
                      "the \"body\" field is not a list of numbers: "
                      "expected a number at [0], got a string");

    /* base64 that Python refuses */
    test_expect_error("application/json", "\"YWJjZ\"", 7,
                      "the \"body\" field is not valid base64: number of "
                      "data characters (5) cannot be 1 more than a multiple "
                      "of 4");
    test_expect_error("application/json", "\"YWJj\xc3\xa9\"", 8,
                      "the \"body\" field is not valid base64: only ASCII "
                      "characters are allowed");
    test_expect_error("text/plain", "YWJj\xc3\xa9", 6,
                      "the \"body\" field is not valid base64: only ASCII "
                      "characters are allowed");
    test_expect_error("text/plain", "!!!!", 4,
                      "the \"body\" field is not valid base64: it decodes "
                      "to nothing");

    /* a nesting bomb: jansson stops at its depth, so it is bytes */
    for (int i = 0; i < 100000; i++) {
        test_adds(&b, "[");
    }
    test_expect_bytes("application/json", b.p, b.len, b.p, b.len, 1);

    /* deep but parsed: more dimensions than a tensor has */
    test_expect_error("application/json", "[[[[[[[[[1]]]]]]]]]", 19,
                      "the \"body\" field is not a list of numbers: too "
                      "many dimensions: lists nested more than 8 deep");

    free(b.p);
}


/* every prefix and random damage of valid bodies: errors, never a crash */
static void
test_hostile_bytes(void **state)
{
    test_buf_t          b = { NULL, 0, 0 };
    unsigned char      *body;
    char                err[TEST_ERRLEN];
    size_t              n, k;
    uint64_t            seed;
    ts_vision_input_t   in;
    int                 i, rc;

    static const char  *types[] = {
        CURL_TYPE, FORM_TYPE, "application/json", "text/plain", NULL
    };

    test_part(&b, "body", NULL, NULL, "x", 1);
    test_part(&b, "data", "x.png", "image/png", test_png, sizeof(test_png));
    test_part(&b, "data", "x.json", "application/json",
              "{\"data\": [[1, 2], [3, 4]]}", 26);
    test_close(&b);

    for (i = 0; i < 5; i++) {
        for (n = 0; n <= b.len; n++) {
            body = test_dup(b.p, n);
            rc = test_run(types[i], body, n, &in, err);
            assert_true(rc == 0 || err[0] != '\0');
            ts_vision_input_clear(&in);
            free(body);
        }
    }

    seed = 0x9e3779b97f4a7c15;

    for (i = 0; i < 3000; i++) {
        body = test_dup(b.p, b.len);

        for (k = test_rand(&seed) % 8; k > 0; k--) {
            body[test_rand(&seed) % b.len] =
                "\r\n-\"\\;=:"[test_rand(&seed) % 8];
        }

        n = test_rand(&seed) % (b.len + 1);
        rc = test_run(types[i % 4], body, n, &in, err);
        assert_true(rc == 0 || err[0] != '\0');
        ts_vision_input_clear(&in);
        free(body);
    }

    free(b.p);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_form_fields),
        cmocka_unit_test(test_form_syntax),
        cmocka_unit_test(test_raw_bodies),
        cmocka_unit_test(test_json_bodies),
        cmocka_unit_test(test_json_tensors),
        cmocka_unit_test(test_text_bodies),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_multipart_boundary),
        cmocka_unit_test(test_urlencoded),
        cmocka_unit_test(test_refused_multipart),
        cmocka_unit_test(test_refused_urlencoded),
        cmocka_unit_test(test_refused_bodies),
        cmocka_unit_test(test_hostile_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
