/*
 * test_json.c: JSON bodies to tensors, values to Python's json text
 * (cmocka).  Every expected output string below was produced by Debian's
 * /usr/bin/python3 with json.dumps(x, indent=2) on tensor.tolist().
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND  0
#endif

#include "ts_json.h"


#define TEST_ERRLEN  256


/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */


static uint64_t
test_rand(uint64_t *s)
{
    /* xorshift64*: deterministic, no libc state */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;

    return *s * UINT64_C(2685821657736338717);
}


/* parses json as a body (unwrapped) into a tensor; returns the status */

static int
test_parse(const char *json, ts_dtype_e dtype, ts_tensor_t *t, char *err)
{
    int      rc;
    json_t  *j;

    memset(t, 0, sizeof(ts_tensor_t));
    err[0] = '\0';

    j = ts_json_load(json, strlen(json), err, TEST_ERRLEN);
    assert_non_null(j);

    rc = ts_json_to_tensor(ts_json_unwrap_instance(j), dtype, t, err,
                           TEST_ERRLEN);
    json_decref(j);

    return rc;
}


static void
test_parse_error(const char *json, ts_dtype_e dtype, const char *expect)
{
    char         err[TEST_ERRLEN];
    ts_tensor_t  t;

    assert_int_not_equal(test_parse(json, dtype, &t, err), 0);
    assert_string_equal(err, expect);
    assert_null(t.data);
}


/* the dump of v as a malloc'd, NUL-terminated string */

static char *
test_dump(const ts_value_t *v)
{
    char    *buf;
    size_t   len, cap;

    buf = NULL;
    len = 0;
    cap = 0;

    assert_int_equal(ts_json_dump_value(v, &buf, &len, &cap), 0);
    assert_non_null(buf);
    assert_true(len < cap);
    assert_int_equal(strlen(buf), len);

    return buf;
}


static void
test_expect_dump(const ts_value_t *v, const char *expect)
{
    char  *s;

    s = test_dump(v);
    assert_string_equal(s, expect);
    free(s);
}


static void
test_set_tensor(ts_value_t *v, ts_dtype_e dtype, int ndim,
    const int64_t *shape, const void *data)
{
    memset(v, 0, sizeof(ts_value_t));
    v->type = TS_VAL_TENSOR;
    v->u.tensor.dtype = dtype;
    v->u.tensor.ndim = ndim;

    if (ndim) {
        memcpy(v->u.tensor.shape, shape, ndim * sizeof(int64_t));
    }

    assert_int_equal(ts_tensor_alloc(&v->u.tensor), 0);

    if (data) {
        memcpy(v->u.tensor.data, data, ts_tensor_nbytes(&v->u.tensor));
    }
}


static void
test_set_string(ts_value_t *v, const char *s, size_t len)
{
    memset(v, 0, sizeof(ts_value_t));
    v->type = TS_VAL_STRING;
    v->u.str.data = malloc(len + 1);
    assert_non_null(v->u.str.data);
    memcpy(v->u.str.data, s, len);
    v->u.str.data[len] = '\0';
    v->u.str.len = len;
}


static ts_value_t *
test_set_list(ts_value_t *v, ts_value_type_e type, size_t n)
{
    memset(v, 0, sizeof(ts_value_t));
    v->type = type;
    v->u.list.n = n;

    if (n) {
        v->u.list.items = calloc(n, sizeof(ts_value_t));
        assert_non_null(v->u.list.items);
    }

    return v->u.list.items;
}


static void
test_set_dict(ts_value_t *v, size_t n)
{
    memset(v, 0, sizeof(ts_value_t));
    v->type = TS_VAL_DICT;
    v->u.dict.n = n;

    if (n) {
        v->u.dict.keys = calloc(n, sizeof(ts_value_t));
        v->u.dict.values = calloc(n, sizeof(ts_value_t));
        assert_non_null(v->u.dict.keys);
        assert_non_null(v->u.dict.values);
    }
}


static void
test_set_key(ts_value_t *dict, size_t i, const char *key)
{
    test_set_string(&dict->u.dict.keys[i], key, strlen(key));
}


/*
 * Digits and exponent of a decimal, so that "1e-05", "0.00001" and
 * "1.0000e-5" compare equal: value = 0.DIGITS 10^e, no trailing zeros.
 */

static void
test_normalize(const char *s, char *digits, int *e)
{
    int  n, point, seen;

    n = 0;
    point = -1;
    seen = 0;
    *e = 0;

    if (*s == '-') {
        s++;
    }

    for ( /* void */ ; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            point = seen;
            continue;
        }

        if (n == 0 && *s == '0') {
            /* a leading zero moves the point, it is not a digit */
            if (point >= 0) {
                (*e)--;
            }

            continue;
        }

        digits[n++] = *s;

        if (point < 0) {
            (*e)++;
        }

        seen++;
    }

    if (*s) {
        *e += atoi(s + 1);
    }

    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }

    digits[n] = '\0';
}


/*
 * The slow, obviously right shortest repr: the first precision whose
 * correctly rounded decimal reads back as d.  (It can miss a shorter
 * decimal just above a power of two, whose gap below is half the gap
 * above; callers skip those.)
 */

static void
test_reference_repr(double d, char *out, size_t size)
{
    int  p;

    for (p = 1; p <= 17; p++) {
        snprintf(out, size, "%.*e", p - 1, d);

        if (strtod(out, NULL) == d) {
            return;
        }
    }
}


static void
test_check_shortest(double d)
{
    int   e1, e2;
    char  got[40], ref[40], d1[40], d2[40];

    assert_true(ts_json_format_double(d, got) == strlen(got));
    assert_true(strtod(got, NULL) == d);
    assert_true(signbit(strtod(got, NULL)) == signbit(d));

    test_reference_repr(d, ref, sizeof(ref));
    test_normalize(got, d1, &e1);
    test_normalize(ref, d2, &e2);

    if (strcmp(d1, d2) != 0 || e1 != e2) {
        fail_msg("%a: got %s, the shortest is %s", d, got, ref);
    }
}


/* ------------------------------------------------------------------ */
/* input                                                              */
/* ------------------------------------------------------------------ */


static void
test_load(void **state)
{
    char     err[TEST_ERRLEN];
    json_t  *j;

    (void) state;

    j = ts_json_load("[1, 2]", 6, err, sizeof(err));
    assert_non_null(j);
    assert_true(json_is_array(j));
    json_decref(j);

    /* any top-level value; no NUL terminator needed */
    j = ts_json_load("3.5xyz", 3, err, sizeof(err));
    assert_non_null(j);
    assert_true(json_is_real(j));
    json_decref(j);
}


static void
test_load_errors(void **state)
{
    int      i;
    char     err[TEST_ERRLEN], *deep;
    json_t  *j;

    (void) state;

    j = ts_json_load("[1,\n 2,,3]", 10, err, sizeof(err));
    assert_null(j);
    assert_string_equal(err, "invalid JSON at line 2, column 4: "
                        "unexpected token near ','");

    j = ts_json_load("  \n\n   @", 9, err, sizeof(err));
    assert_null(j);
    assert_string_equal(err, "invalid JSON at line 3, column 4: "
                        "invalid token near '@'");

    j = ts_json_load("{\"a\": 1, \"a\": 2}", 16, err, sizeof(err));
    assert_null(j);
    assert_string_equal(err, "invalid JSON at line 1, column 12: "
                        "duplicate object key near '\"a\"'");

    j = ts_json_load("", 0, err, sizeof(err));
    assert_null(j);
    assert_string_equal(err, "invalid JSON at line 1, column 0: "
                        "unexpected token near end of file");

    j = ts_json_load("[1, 2", 5, err, sizeof(err));
    assert_null(j);
    assert_string_equal(err, "invalid JSON at line 1, column 5: "
                        "']' expected near end of file");

    /* jansson's depth cap protects us from a stack of brackets */
    deep = malloc(20001);
    assert_non_null(deep);

    for (i = 0; i < 10000; i++) {
        deep[i] = '[';
        deep[10000 + i] = ']';
    }

    j = ts_json_load(deep, 20000, err, sizeof(err));
    free(deep);
    assert_null(j);
    assert_non_null(strstr(err, "invalid JSON at line 1, column "));
    assert_non_null(strstr(err, "maximum parsing depth"));

    /* a short buffer truncates, a NULL one is ignored */
    j = ts_json_load("[", 1, err, 8);
    assert_null(j);
    assert_string_equal(err, "invalid");

    j = ts_json_load("[", 1, NULL, 0);
    assert_null(j);
}


static void
test_unwrap(void **state)
{
    char     err[TEST_ERRLEN];
    json_t  *j, *u;

    (void) state;

    j = ts_json_load("{\"data\": [1]}", 13, err, sizeof(err));
    u = ts_json_unwrap_instance(j);
    assert_true(json_is_array(u));
    assert_ptr_equal(u, json_object_get(j, "data"));
    json_decref(j);

    j = ts_json_load("{\"inputs\": 2}", 13, err, sizeof(err));
    u = ts_json_unwrap_instance(j);
    assert_true(json_is_integer(u));
    json_decref(j);

    /* "data" wins over "inputs" */
    j = ts_json_load("{\"inputs\": 2, \"data\": 3}", 24, err, sizeof(err));
    u = ts_json_unwrap_instance(j);
    assert_int_equal(json_integer_value(u), 3);
    json_decref(j);

    j = ts_json_load("{\"x\": 1}", 8, err, sizeof(err));
    assert_ptr_equal(ts_json_unwrap_instance(j), j);
    json_decref(j);

    j = ts_json_load("[[1]]", 5, err, sizeof(err));
    assert_ptr_equal(ts_json_unwrap_instance(j), j);
    json_decref(j);
}


static void
test_tensor_shapes(void **state)
{
    int           i;
    char          err[TEST_ERRLEN];
    float        *f;
    double       *d;
    ts_tensor_t   t;

    (void) state;

    /* 0 dims: a bare number */
    assert_int_equal(test_parse("3.5", TS_FLOAT32, &t, err), 0);
    assert_int_equal(t.ndim, 0);
    assert_int_equal(ts_tensor_numel(&t), 1);
    assert_true(((float *) t.data)[0] == 3.5f);
    ts_tensor_clear(&t);

    assert_int_equal(test_parse("{\"data\": -4}", TS_INT64, &t, err), 0);
    assert_int_equal(t.ndim, 0);
    assert_int_equal(((int64_t *) t.data)[0], -4);
    ts_tensor_clear(&t);

    /* 1 dim, ints, reals and booleans mixed */
    assert_int_equal(test_parse("[1, 2.5, true, false, -1e-3]", TS_FLOAT32,
                                &t, err), 0);
    assert_int_equal(t.ndim, 1);
    assert_int_equal(t.shape[0], 5);
    f = t.data;
    assert_true(f[0] == 1.0f);
    assert_true(f[1] == 2.5f);
    assert_true(f[2] == 1.0f);
    assert_true(f[3] == 0.0f);
    assert_true(f[4] == -1e-3f);
    ts_tensor_clear(&t);

    /* 2 dims, row-major */
    assert_int_equal(test_parse("{\"inputs\": [[1, 2, 3], [4, 5, 6]]}",
                                TS_FLOAT64, &t, err), 0);
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.shape[0], 2);
    assert_int_equal(t.shape[1], 3);
    d = t.data;
    for (i = 0; i < 6; i++) {
        assert_true(d[i] == i + 1);
    }
    ts_tensor_clear(&t);

    /* 3 dims */
    assert_int_equal(test_parse("[[[0.1, 0.2]], [[0.3, 0.4]]]", TS_FLOAT64,
                                &t, err), 0);
    assert_int_equal(t.ndim, 3);
    assert_int_equal(t.shape[0], 2);
    assert_int_equal(t.shape[1], 1);
    assert_int_equal(t.shape[2], 2);
    d = t.data;
    assert_true(d[0] == 0.1);
    assert_true(d[3] == 0.4);
    ts_tensor_clear(&t);

    /* TS_MAX_DIMS is fine */
    assert_int_equal(test_parse("[[[[[[[[7]]]]]]]]", TS_INT32, &t, err), 0);
    assert_int_equal(t.ndim, TS_MAX_DIMS);
    assert_int_equal(((int32_t *) t.data)[0], 7);
    ts_tensor_clear(&t);

    /* an empty inner list is an empty tensor, as torch.tensor([[]]) */
    assert_int_equal(test_parse("[[], []]", TS_FLOAT32, &t, err), 0);
    assert_int_equal(t.ndim, 2);
    assert_int_equal(t.shape[0], 2);
    assert_int_equal(t.shape[1], 0);
    assert_int_equal(ts_tensor_numel(&t), 0);
    ts_tensor_clear(&t);
}


static void
test_tensor_errors(void **state)
{
    (void) state;

    test_parse_error("[]", TS_FLOAT32, "empty input");
    test_parse_error("{\"data\": []}", TS_FLOAT32, "empty input");

    test_parse_error("[[[1, 2, 3], [1, 2, 3], [1, 2]]]", TS_FLOAT32,
                     "ragged nested list at [0][2]: "
                     "expected 3 elements, got 2");
    test_parse_error("[[1, 2], [3, 4, 5]]", TS_FLOAT32,
                     "ragged nested list at [1]: "
                     "expected 2 elements, got 3");
    test_parse_error("[[1, 2], 3]", TS_FLOAT32,
                     "ragged nested list at [1]: "
                     "expected a list of 2 elements, got a number");
    test_parse_error("[[1, 2], [3, [4]]]", TS_FLOAT32,
                     "ragged nested list at [1][1]: "
                     "expected a number, got a list");
    test_parse_error("[[], [1]]", TS_FLOAT32,
                     "ragged nested list at [1]: "
                     "expected 0 elements, got 1");

    test_parse_error("[[1, \"a\"]]", TS_FLOAT32,
                     "expected a number at [0][1], got a string");
    test_parse_error("[1, null]", TS_FLOAT32,
                     "expected a number at [1], got null");
    test_parse_error("[[1], [{}]]", TS_INT64,
                     "expected a number at [1][0], got an object");
    test_parse_error("\"abc\"", TS_FLOAT32,
                     "expected a number or a nested list of numbers, "
                     "got a string");
    test_parse_error("{\"x\": [1]}", TS_FLOAT32,
                     "expected a number or a nested list of numbers, "
                     "got an object");

    test_parse_error("[[[[[[[[[1]]]]]]]]]", TS_FLOAT32,
                     "too many dimensions: lists nested more than 8 deep");
}


/*
 * A first row that claims 100^8 elements from a few hundred numbers: the
 * structure check must refuse it before anything is allocated (else this
 * would fail as "out of memory").  256^8 overflows int64 outright.
 */

static void
test_tensor_hostile_shape(void **state)
{
    int           d, i, width;
    char          err[TEST_ERRLEN];
    json_t       *top, *a, *inner;
    ts_tensor_t   t;

    (void) state;

    for (width = 100; width <= 256; width += 156) {
        inner = json_integer(0);
        top = NULL;

        for (d = 0; d < TS_MAX_DIMS; d++) {
            a = json_array();
            assert_int_equal(json_array_append_new(a, inner), 0);

            for (i = 1; i < width; i++) {
                /* only the first element of each level is a list */
                assert_int_equal(json_array_append_new(a, json_integer(0)),
                                 0);
            }

            inner = a;
            top = a;
        }

        memset(&t, 0, sizeof(t));
        assert_int_not_equal(ts_json_to_tensor(top, TS_FLOAT32, &t, err,
                                               sizeof(err)), 0);

        if (width == 100) {
            /* depth first: the first short row is the deepest one */
            assert_string_equal(err, "ragged nested list at "
                                "[0][0][0][0][0][0][1]: expected a list "
                                "of 100 elements, got a number");

        } else {
            assert_string_equal(err, "too many elements");
        }

        assert_null(t.data);
        json_decref(top);
    }
}


static void
test_tensor_int_dtypes(void **state)
{
    char          err[TEST_ERRLEN];
    ts_tensor_t   t;

    (void) state;

    assert_int_equal(test_parse("[-9223372036854775808, "
                                "9223372036854775807, true]",
                                TS_INT64, &t, err), 0);
    assert_int_equal(((int64_t *) t.data)[0], INT64_MIN);
    assert_int_equal(((int64_t *) t.data)[1], INT64_MAX);
    assert_int_equal(((int64_t *) t.data)[2], 1);
    ts_tensor_clear(&t);

    assert_int_equal(test_parse("[-2147483648, 2147483647]", TS_INT32, &t,
                                err), 0);
    assert_int_equal(((int32_t *) t.data)[0], INT32_MIN);
    assert_int_equal(((int32_t *) t.data)[1], INT32_MAX);
    ts_tensor_clear(&t);

    assert_int_equal(test_parse("[-32768, 32767]", TS_INT16, &t, err), 0);
    assert_int_equal(((int16_t *) t.data)[0], INT16_MIN);
    ts_tensor_clear(&t);

    assert_int_equal(test_parse("[-128, 127]", TS_INT8, &t, err), 0);
    assert_int_equal(((int8_t *) t.data)[0], -128);
    assert_int_equal(((int8_t *) t.data)[1], 127);
    ts_tensor_clear(&t);

    assert_int_equal(test_parse("[0, 255]", TS_UINT8, &t, err), 0);
    assert_int_equal(((uint8_t *) t.data)[1], 255);
    ts_tensor_clear(&t);

    test_parse_error("[1, 2.0]", TS_INT64, "expected an integer at [1]");
    test_parse_error("[[1, 2], [3, 0.5]]", TS_INT32,
                     "expected an integer at [1][1]");
    test_parse_error("[127, 128]", TS_INT8,
                     "integer out of range for int8 at [1]: 128");
    test_parse_error("[[0], [-1]]", TS_UINT8,
                     "integer out of range for uint8 at [1][0]: -1");
    test_parse_error("[256]", TS_UINT8,
                     "integer out of range for uint8 at [0]: 256");
    test_parse_error("[-32769]", TS_INT16,
                     "integer out of range for int16 at [0]: -32769");
    test_parse_error("[2147483648]", TS_INT32,
                     "integer out of range for int32 at [0]: 2147483648");
    test_parse_error("1.5", TS_INT64, "expected an integer at top level");
}


static void
test_tensor_float_dtypes(void **state)
{
    char          err[TEST_ERRLEN];
    uint16_t     *h;
    ts_tensor_t   t;

    (void) state;

    /* bit patterns from torch.tensor([...], dtype=torch.half) */
    assert_int_equal(test_parse("[0.1, 65504, 6e-8, -2.5, 1e-4, 0.5, 2049]",
                                TS_FLOAT16, &t, err), 0);
    h = t.data;
    assert_int_equal(h[0], 11878);
    assert_int_equal(h[1], 31743);
    assert_int_equal(h[2], 1);
    assert_int_equal(h[3], (uint16_t) -16128);
    assert_int_equal(h[4], 1678);
    assert_int_equal(h[5], 14336);
    assert_int_equal(h[6], 26624);
    ts_tensor_clear(&t);

    assert_int_equal(test_parse("[0.1, 1e-300]", TS_FLOAT64, &t, err), 0);
    assert_true(((double *) t.data)[0] == 0.1);
    assert_true(((double *) t.data)[1] == 1e-300);
    ts_tensor_clear(&t);

    assert_int_equal(test_parse("[3.4028234663852886e+38, 1e-50]",
                                TS_FLOAT32, &t, err), 0);
    assert_true(((float *) t.data)[0] == FLT_MAX);
    assert_true(((float *) t.data)[1] == 0.0f);
    ts_tensor_clear(&t);

    test_parse_error("[1, 1e39]", TS_FLOAT32,
                     "number out of range for float32 at [1]: 1e+39");
    test_parse_error("[[-70000]]", TS_FLOAT16,
                     "number out of range for float16 at [0][0]: -70000");
    test_parse_error("65504.5", TS_FLOAT16,
                     "number out of range for float16 at top level: "
                     "65504.5");
}


static void
test_tensor_bool(void **state)
{
    char          err[TEST_ERRLEN];
    json_t       *j;
    uint8_t      *b;
    ts_tensor_t   t;

    (void) state;

    assert_int_equal(test_parse("[[true, false], [1, 0]]", TS_BOOL, &t, err),
                     0);
    assert_int_equal(t.ndim, 2);
    b = t.data;
    assert_int_equal(b[0], 1);
    assert_int_equal(b[1], 0);
    assert_int_equal(b[2], 1);
    assert_int_equal(b[3], 0);
    ts_tensor_clear(&t);

    assert_int_equal(test_parse("true", TS_BOOL, &t, err), 0);
    assert_int_equal(t.ndim, 0);
    assert_int_equal(((uint8_t *) t.data)[0], 1);
    ts_tensor_clear(&t);

    test_parse_error("[true, 2]", TS_BOOL,
                     "integer out of range for bool at [1]: 2");
    test_parse_error("[0.5]", TS_BOOL, "expected a boolean at [0]");

    j = json_loads("[[true, false], [false, true]]", 0, NULL);
    assert_true(ts_json_all_bool(j));
    json_decref(j);

    j = json_loads("true", JSON_DECODE_ANY, NULL);
    assert_true(ts_json_all_bool(j));
    json_decref(j);

    j = json_loads("[[true, false], [false, 1]]", 0, NULL);
    assert_false(ts_json_all_bool(j));
    json_decref(j);

    j = json_loads("[true, \"true\"]", 0, NULL);
    assert_false(ts_json_all_bool(j));
    json_decref(j);

    /* no leaf at all: not a bool tensor */
    j = json_loads("[[], []]", 0, NULL);
    assert_false(ts_json_all_bool(j));
    json_decref(j);

    j = json_loads("[[[[[[[[[true]]]]]]]]]", 0, NULL);
    assert_false(ts_json_all_bool(j));
    json_decref(j);

    j = json_loads("[[[[[[[[true]]]]]]]]", 0, NULL);
    assert_true(ts_json_all_bool(j));
    json_decref(j);
}


/* ------------------------------------------------------------------ */
/* output: numbers                                                    */
/* ------------------------------------------------------------------ */


typedef struct {
    double       d;
    const char  *text;
} test_double_t;


static void
test_format_double(void **state)
{
    char            out[32];
    size_t          i, n;
    test_double_t  *c;

    static test_double_t  cases[] = {
        { 0.1, "0.1" },
        { (double) 0.1f, "0.10000000149011612" },
        { 1e-5, "1e-05" },
        { (double) 1e-5f, "9.999999747378752e-06" },
        { 1e16, "1e+16" },
        { 1.5e-7, "1.5e-07" },
        { 1.0, "1.0" },
        { -0.0, "-0.0" },
        { 0.0, "0.0" },
        { NAN, "NaN" },
        { -NAN, "NaN" },
        { INFINITY, "Infinity" },
        { -INFINITY, "-Infinity" },
        { 123456789012345680.0, "1.2345678901234568e+17" },
        { 1e15, "1000000000000000.0" },
        { 0.0001, "0.0001" },
        { 0.000123, "0.000123" },
        { 0.000999, "0.000999" },
        { 5e-324, "5e-324" },
        { 1e-323, "1e-323" },
        { 1.7976931348623157e308, "1.7976931348623157e+308" },
        { 2.2250738585072014e-308, "2.2250738585072014e-308" },
        { 1125899906842624.25, "1125899906842624.2" },
        { 1125899906842624.75, "1125899906842624.8" },
        { 100.0, "100.0" },
        { 1234.5, "1234.5" },
        { 9007199254740993.0, "9007199254740992.0" },
        { 9999999999999998.0, "9999999999999998.0" },
        { 1e22, "1e+22" },
        { 1e23, "1e+23" },
        { 0.3, "0.3" },
        { 2.0 / 3.0, "0.6666666666666666" },
        { (double) (1.0f / 3.0f), "0.3333333432674408" },
        { (double) FLT_MAX, "3.4028234663852886e+38" },
        { (double) FLT_MIN, "1.1754943508222875e-38" },
        { 0x1p-149, "1.401298464324817e-45" },
        { (double) 1.5e-7f, "1.500000053056283e-07" },
        { 16777216.0, "16777216.0" },
        { 1e10, "10000000000.0" },
        { -1.5, "-1.5" },
        { 2.5e-5, "2.5e-05" },
        { 123.456, "123.456" },
        { 4.35, "4.35" },
        { 1e100, "1e+100" },
        { 1e-100, "1e-100" },
        { 9223372036854775808.0, "9.223372036854776e+18" },
        { 0.0999755859375, "0.0999755859375" },
        { 5.960464477539063e-08, "5.960464477539063e-08" },
    };

    (void) state;

    n = sizeof(cases) / sizeof(cases[0]);

    for (i = 0; i < n; i++) {
        c = &cases[i];
        assert_int_equal(ts_json_format_double(c->d, out), strlen(c->text));
        assert_string_equal(out, c->text);
    }
}


/* every power of two: the only doubles with an uneven rounding interval */

static void
test_format_powers_of_two(void **state)
{
    int     e;
    char    out[32];
    double  d;

    (void) state;

    for (e = -1074; e <= 1023; e++) {
        d = ldexp(1.0, e);
        ts_json_format_double(d, out);
        assert_true(strtod(out, NULL) == d);
    }

    /* two that need the shorter decimal above, not the nearest below */
    ts_json_format_double(0x1p-1017, out);
    assert_string_equal(out, "7.120236347223045e-307");
    ts_json_format_double(0x1p89, out);
    assert_string_equal(out, "6.189700196426902e+26");
    ts_json_format_double(0x1p976, out);
    assert_string_equal(out, "6.386688990511104e+293");
}


static void
test_format_random_float32(void **state)
{
    int       i, n;
    char      out[32];
    float     f;
    double    d;
    uint32_t  bits;
    uint64_t  seed;

    (void) state;

    seed = 0x9e3779b97f4a7c15;
    n = RUNNING_ON_VALGRIND ? 20000 : 200000;

    /* every one must read back exactly */
    for (i = 0; i < n; i++) {
        bits = (uint32_t) test_rand(&seed);
        memcpy(&f, &bits, sizeof(float));

        if (isnan(f)) {
            continue;
        }

        d = f;
        assert_true(ts_json_format_double(d, out) < sizeof(out));

        if (isinf(d)) {
            assert_string_equal(out, d > 0 ? "Infinity" : "-Infinity");
            continue;
        }

        assert_true(strtod(out, NULL) == d);
        assert_true((float) strtod(out, NULL) == f);
    }

    /* and be the shortest, the closest of the shortest */
    for (i = 0; i < 5000; i++) {
        bits = (uint32_t) test_rand(&seed);
        memcpy(&f, &bits, sizeof(float));

        if (!isfinite(f) || (bits & 0x7fffff) == 0) {
            continue;
        }

        test_check_shortest(f);
    }
}


static void
test_format_random_float64(void **state)
{
    int       i;
    double    d;
    uint64_t  bits, seed;

    (void) state;

    seed = 0x2545f4914f6cdd1d;

    for (i = 0; i < 5000; i++) {
        bits = test_rand(&seed);
        memcpy(&d, &bits, sizeof(double));

        if (!isfinite(d) || (bits & ((UINT64_C(1) << 52) - 1)) == 0) {
            continue;
        }

        test_check_shortest(d);
    }

    /* subnormals, small ones first */
    for (bits = 1; bits < 2000; bits++) {
        memcpy(&d, &bits, sizeof(double));
        test_check_shortest(d);
    }
}


/* ------------------------------------------------------------------ */
/* output: values                                                     */
/* ------------------------------------------------------------------ */


static void
test_dump_floats(void **state)
{
    ts_value_t  v;

    static const float     f32[] = { 0.1f, 1e-5f };
    static const uint16_t  f16[] = { 0x2e66, 0x7bff, 0x0001, 0xc100 };
    static const double    f64[] = { 0.1, 1e-5, 1e16, -0.0, 1.0 };
    static const int64_t   s12[] = { 1, 2 };
    static const int64_t   s4[] = { 4 };
    static const int64_t   s5[] = { 5 };

    (void) state;

    /* torch.tensor([[0.1, 1e-5]]) */
    test_set_tensor(&v, TS_FLOAT32, 2, s12, f32);
    test_expect_dump(&v,
        "[\n"
        "  [\n"
        "    0.10000000149011612,\n"
        "    9.999999747378752e-06\n"
        "  ]\n"
        "]");
    ts_value_clear(&v);

    /* torch.tensor([0.1, 65504, 6e-8, -2.5], dtype=torch.half) */
    test_set_tensor(&v, TS_FLOAT16, 1, s4, f16);
    test_expect_dump(&v,
        "[\n"
        "  0.0999755859375,\n"
        "  65504.0,\n"
        "  5.960464477539063e-08,\n"
        "  -2.5\n"
        "]");
    ts_value_clear(&v);

    test_set_tensor(&v, TS_FLOAT64, 1, s5, f64);
    test_expect_dump(&v,
        "[\n"
        "  0.1,\n"
        "  1e-05,\n"
        "  1e+16,\n"
        "  -0.0,\n"
        "  1.0\n"
        "]");
    ts_value_clear(&v);

    v.type = TS_VAL_DOUBLE;
    v.u.d = NAN;
    test_expect_dump(&v, "NaN");
    v.u.d = -INFINITY;
    test_expect_dump(&v, "-Infinity");
    v.u.d = 2.5;
    test_expect_dump(&v, "2.5");
}


static void
test_dump_ints_bools(void **state)
{
    ts_value_t  v, *items;

    static const int64_t   i64[] = { INT64_MIN, INT64_MAX, 0 };
    static const int32_t   i32[] = { INT32_MIN, INT32_MAX };
    static const int16_t   i16[] = { INT16_MIN, INT16_MAX };
    static const int8_t    i8[] = { INT8_MIN, INT8_MAX };
    static const uint8_t   u8[] = { 0, UINT8_MAX };
    static const uint8_t   b[] = { 1, 0 };
    static const int64_t   s2[] = { 2 };
    static const int64_t   s3[] = { 3 };

    (void) state;

    test_set_tensor(&v, TS_INT64, 1, s3, i64);
    test_expect_dump(&v,
        "[\n"
        "  -9223372036854775808,\n"
        "  9223372036854775807,\n"
        "  0\n"
        "]");
    ts_value_clear(&v);

    /* [int8, uint8, int16, int32 tensors] */
    items = test_set_list(&v, TS_VAL_LIST, 4);
    test_set_tensor(&items[0], TS_INT8, 1, s2, i8);
    test_set_tensor(&items[1], TS_UINT8, 1, s2, u8);
    test_set_tensor(&items[2], TS_INT16, 1, s2, i16);
    test_set_tensor(&items[3], TS_INT32, 1, s2, i32);
    test_expect_dump(&v,
        "[\n"
        "  [\n"
        "    -128,\n"
        "    127\n"
        "  ],\n"
        "  [\n"
        "    0,\n"
        "    255\n"
        "  ],\n"
        "  [\n"
        "    -32768,\n"
        "    32767\n"
        "  ],\n"
        "  [\n"
        "    -2147483648,\n"
        "    2147483647\n"
        "  ]\n"
        "]");
    ts_value_clear(&v);

    test_set_tensor(&v, TS_BOOL, 1, s2, b);
    test_expect_dump(&v,
        "[\n"
        "  true,\n"
        "  false\n"
        "]");
    ts_value_clear(&v);

    v.type = TS_VAL_INT;
    v.u.i = -42;
    test_expect_dump(&v, "-42");

    v.type = TS_VAL_BOOL;
    v.u.b = 0;
    test_expect_dump(&v, "false");

    v.type = TS_VAL_NONE;
    test_expect_dump(&v, "null");
}


static void
test_dump_tensor_shapes(void **state)
{
    int         i;
    double      d[24];
    ts_value_t  v, *items;

    static const int64_t  s234[] = { 2, 3, 4 };
    static const int64_t  s22[] = { 2, 2 };
    static const int64_t  s20[] = { 2, 0 };
    static const int64_t  s03[] = { 0, 3 };
    static const int64_t  i22[] = { 1, -2, 3, 4 };
    static const uint8_t  b[] = { 1, 0 };
    static const float    f = 2.5f;
    static const int64_t  seven = 7;
    static const uint8_t  yes = 1;

    (void) state;

    /* torch.arange(24, dtype=torch.float64).reshape(2, 3, 4).div(8) */
    for (i = 0; i < 24; i++) {
        d[i] = i / 8.0;
    }

    test_set_tensor(&v, TS_FLOAT64, 3, s234, d);
    test_expect_dump(&v,
        "[\n"
        "  [\n"
        "    [\n"
        "      0.0,\n"
        "      0.125,\n"
        "      0.25,\n"
        "      0.375\n"
        "    ],\n"
        "    [\n"
        "      0.5,\n"
        "      0.625,\n"
        "      0.75,\n"
        "      0.875\n"
        "    ],\n"
        "    [\n"
        "      1.0,\n"
        "      1.125,\n"
        "      1.25,\n"
        "      1.375\n"
        "    ]\n"
        "  ],\n"
        "  [\n"
        "    [\n"
        "      1.5,\n"
        "      1.625,\n"
        "      1.75,\n"
        "      1.875\n"
        "    ],\n"
        "    [\n"
        "      2.0,\n"
        "      2.125,\n"
        "      2.25,\n"
        "      2.375\n"
        "    ],\n"
        "    [\n"
        "      2.5,\n"
        "      2.625,\n"
        "      2.75,\n"
        "      2.875\n"
        "    ]\n"
        "  ]\n"
        "]");
    ts_value_clear(&v);

    /* 0-dim tensors are scalars */
    test_set_tensor(&v, TS_FLOAT32, 0, NULL, &f);
    test_expect_dump(&v, "2.5");
    ts_value_clear(&v);

    test_set_tensor(&v, TS_INT64, 0, NULL, &seven);
    test_expect_dump(&v, "7");
    ts_value_clear(&v);

    test_set_tensor(&v, TS_BOOL, 0, NULL, &yes);
    test_expect_dump(&v, "true");
    ts_value_clear(&v);

    /*
     * [tensor([[1, -2], [3, 4]]), tensor([True, False]), zeros(2, 0),
     *  zeros(0, 3), tensor(2.5), [(), {}]]
     */
    items = test_set_list(&v, TS_VAL_LIST, 6);
    test_set_tensor(&items[0], TS_INT64, 2, s22, i22);
    test_set_tensor(&items[1], TS_BOOL, 1, s22, b);
    test_set_tensor(&items[2], TS_FLOAT32, 2, s20, NULL);
    test_set_tensor(&items[3], TS_FLOAT32, 2, s03, NULL);
    test_set_tensor(&items[4], TS_FLOAT32, 0, NULL, &f);
    items = test_set_list(&items[5], TS_VAL_LIST, 2);
    test_set_list(&items[0], TS_VAL_TUPLE, 0);
    test_set_dict(&items[1], 0);

    test_expect_dump(&v,
        "[\n"
        "  [\n"
        "    [\n"
        "      1,\n"
        "      -2\n"
        "    ],\n"
        "    [\n"
        "      3,\n"
        "      4\n"
        "    ]\n"
        "  ],\n"
        "  [\n"
        "    true,\n"
        "    false\n"
        "  ],\n"
        "  [\n"
        "    [],\n"
        "    []\n"
        "  ],\n"
        "  [],\n"
        "  2.5,\n"
        "  [\n"
        "    [],\n"
        "    {}\n"
        "  ]\n"
        "]");
    ts_value_clear(&v);
}


/*
 * {"scores": tensor([[0.5, 0.25, 0.1]]), "label": "cat", "ids": (1, -2),
 *  "none": None, "nested": [{"a": []}, {}, torch.zeros(1, 0)],
 *  "flag": True, "pi": 3.14159,
 *  "half": tensor([0.1, 65504], dtype=torch.half), "count": tensor(7)}
 */

static void
test_dump_nested(void **state)
{
    ts_value_t  v, *vals, *items;

    static const float     scores[] = { 0.5f, 0.25f, 0.1f };
    static const uint16_t  half[] = { 0x2e66, 0x7bff };
    static const int64_t   count = 7;
    static const int64_t   s13[] = { 1, 3 };
    static const int64_t   s10[] = { 1, 0 };
    static const int64_t   s2[] = { 2 };

    (void) state;

    test_set_dict(&v, 9);
    vals = v.u.dict.values;

    test_set_key(&v, 0, "scores");
    test_set_tensor(&vals[0], TS_FLOAT32, 2, s13, scores);

    test_set_key(&v, 1, "label");
    test_set_string(&vals[1], "cat", 3);

    test_set_key(&v, 2, "ids");
    items = test_set_list(&vals[2], TS_VAL_TUPLE, 2);
    items[0].type = TS_VAL_INT;
    items[0].u.i = 1;
    items[1].type = TS_VAL_INT;
    items[1].u.i = -2;

    test_set_key(&v, 3, "none");

    test_set_key(&v, 4, "nested");
    items = test_set_list(&vals[4], TS_VAL_LIST, 3);
    test_set_dict(&items[0], 1);
    test_set_key(&items[0], 0, "a");
    test_set_list(&items[0].u.dict.values[0], TS_VAL_LIST, 0);
    test_set_dict(&items[1], 0);
    test_set_tensor(&items[2], TS_FLOAT32, 2, s10, NULL);

    test_set_key(&v, 5, "flag");
    vals[5].type = TS_VAL_BOOL;
    vals[5].u.b = 1;

    test_set_key(&v, 6, "pi");
    vals[6].type = TS_VAL_DOUBLE;
    vals[6].u.d = 3.14159;

    test_set_key(&v, 7, "half");
    test_set_tensor(&vals[7], TS_FLOAT16, 1, s2, half);

    test_set_key(&v, 8, "count");
    test_set_tensor(&vals[8], TS_INT64, 0, NULL, &count);

    test_expect_dump(&v,
        "{\n"
        "  \"scores\": [\n"
        "    [\n"
        "      0.5,\n"
        "      0.25,\n"
        "      0.10000000149011612\n"
        "    ]\n"
        "  ],\n"
        "  \"label\": \"cat\",\n"
        "  \"ids\": [\n"
        "    1,\n"
        "    -2\n"
        "  ],\n"
        "  \"none\": null,\n"
        "  \"nested\": [\n"
        "    {\n"
        "      \"a\": []\n"
        "    },\n"
        "    {},\n"
        "    [\n"
        "      []\n"
        "    ]\n"
        "  ],\n"
        "  \"flag\": true,\n"
        "  \"pi\": 3.14159,\n"
        "  \"half\": [\n"
        "    0.0999755859375,\n"
        "    65504.0\n"
        "  ],\n"
        "  \"count\": 7\n"
        "}");

    ts_value_clear(&v);

    /* empty containers at the top */
    test_set_list(&v, TS_VAL_LIST, 0);
    test_expect_dump(&v, "[]");
    test_set_dict(&v, 0);
    test_expect_dump(&v, "{}");
}


/* {2: .., False: .., 1.5: .., None: .., nan: .., -inf: .., tensor(3): ..} */

static void
test_dump_keys(void **state)
{
    ts_value_t  v, *keys, *items;

    static const int64_t  three = 3;

    (void) state;

    test_set_dict(&v, 7);
    keys = v.u.dict.keys;

    keys[0].type = TS_VAL_INT;
    keys[0].u.i = 2;
    test_set_string(&v.u.dict.values[0], "int", 3);

    keys[1].type = TS_VAL_BOOL;
    keys[1].u.b = 0;
    test_set_string(&v.u.dict.values[1], "bool", 4);

    keys[2].type = TS_VAL_DOUBLE;
    keys[2].u.d = 1.5;
    test_set_string(&v.u.dict.values[2], "float", 5);

    keys[3].type = TS_VAL_NONE;
    test_set_string(&v.u.dict.values[3], "none", 4);

    keys[4].type = TS_VAL_DOUBLE;
    keys[4].u.d = NAN;
    test_set_string(&v.u.dict.values[4], "nan", 3);

    keys[5].type = TS_VAL_DOUBLE;
    keys[5].u.d = -INFINITY;
    test_set_string(&v.u.dict.values[5], "ninf", 4);

    test_set_tensor(&keys[6], TS_INT64, 0, NULL, &three);
    test_set_string(&v.u.dict.values[6], "t0", 2);

    test_expect_dump(&v,
        "{\n"
        "  \"2\": \"int\",\n"
        "  \"false\": \"bool\",\n"
        "  \"1.5\": \"float\",\n"
        "  \"null\": \"none\",\n"
        "  \"NaN\": \"nan\",\n"
        "  \"-Infinity\": \"ninf\",\n"
        "  \"3\": \"t0\"\n"
        "}");

    ts_value_clear(&v);

    /*
     * Not Python (it raises TypeError for a list key): we write the key's
     * compact JSON text, ", " separators and all, as a string.
     */
    test_set_dict(&v, 1);
    items = test_set_list(&v.u.dict.keys[0], TS_VAL_TUPLE, 2);
    items[0].type = TS_VAL_INT;
    items[0].u.i = 1;
    test_set_string(&items[1], "x", 1);
    v.u.dict.values[0].type = TS_VAL_NONE;

    test_expect_dump(&v,
        "{\n"
        "  \"[1, \\\"x\\\"]\": null\n"
        "}");

    ts_value_clear(&v);
}


typedef struct {
    const char  *in;
    size_t       len;
    const char  *out;
} test_string_t;


#define test_str(s)  s, sizeof(s) - 1


static void
test_dump_strings(void **state)
{
    size_t          i, n;
    ts_value_t      v;
    test_string_t  *c;

    static test_string_t  cases[] = {

        /* json.dumps("é😀\"\\\n\t\x01\x7f/\r\b\f\x00€") */
        { test_str("\xc3\xa9\xf0\x9f\x98\x80\"\\\n\t\x01\x7f/\r\b\f\0"
                   "\xe2\x82\xac"),
          "\"\\u00e9\\ud83d\\ude00\\\"\\\\\\n\\t\\u0001\\u007f/\\r\\b\\f"
          "\\u0000\\u20ac\"" },

        { test_str(""), "\"\"" },
        { test_str("cat"), "\"cat\"" },

        /* "\U0010ffff\uffff\x80\ud7ff\ue000\u07ff\u0800" */
        { test_str("\xf4\x8f\xbf\xbf"), "\"\\udbff\\udfff\"" },
        { test_str("\xef\xbf\xbf"), "\"\\uffff\"" },
        { test_str("\xc2\x80"), "\"\\u0080\"" },
        { test_str("\xed\x9f\xbf"), "\"\\ud7ff\"" },
        { test_str("\xee\x80\x80"), "\"\\ue000\"" },
        { test_str("\xdf\xbf"), "\"\\u07ff\"" },
        { test_str("\xe0\xa0\x80"), "\"\\u0800\"" },

        /* not UTF-8: each offending byte as \u00XX (our choice) */
        { test_str("\xff"), "\"\\u00ff\"" },
        { test_str("\x80"), "\"\\u0080\"" },
        { test_str("a\xc3"), "\"a\\u00c3\"" },
        { test_str("\xc3("), "\"\\u00c3(\"" },
        { test_str("\xc0\x80"), "\"\\u00c0\\u0080\"" },
        { test_str("\xe0\x80\x80"), "\"\\u00e0\\u0080\\u0080\"" },
        { test_str("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"" },
        { test_str("\xf4\x90\x80\x80"),
          "\"\\u00f4\\u0090\\u0080\\u0080\"" },
        { test_str("\xf0\x9f\x98!"), "\"\\u00f0\\u009f\\u0098!\"" },
        { test_str("\xf8\x88\x80\x80\x80"),
          "\"\\u00f8\\u0088\\u0080\\u0080\\u0080\"" },
    };

    (void) state;

    n = sizeof(cases) / sizeof(cases[0]);

    for (i = 0; i < n; i++) {
        c = &cases[i];
        test_set_string(&v, c->in, c->len);
        test_expect_dump(&v, c->out);
        ts_value_clear(&v);
    }

    /* a string value with no buffer at all */
    memset(&v, 0, sizeof(v));
    v.type = TS_VAL_STRING;
    test_expect_dump(&v, "\"\"");
}


/* the one decoder: the strings above, and the archive writer's names */

static void
test_utf8_decode(void **state)
{
    size_t    i;
    uint32_t  cp;

    static const struct {
        const char  *in;
        size_t       len;           /* of the sequence; 0: refused */
        uint32_t     cp;
    } cases[] = {
        { "a", 1, 'a' },
        { "\x7f", 1, 0x7f },
        { "\xc2\x80", 2, 0x80 },
        { "\xdf\xbf", 2, 0x7ff },
        { "\xe0\xa0\x80", 3, 0x800 },
        { "\xed\x9f\xbf", 3, 0xd7ff },
        { "\xee\x80\x80", 3, 0xe000 },
        { "\xef\xbf\xbf", 3, 0xffff },
        { "\xf0\x90\x80\x80", 4, 0x10000 },
        { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
        { "\xc3\xa9x", 2, 0xe9 },   /* stops after the sequence */
        { "\x80", 0, 0 },
        { "\xc0\x80", 0, 0 },       /* overlong */
        { "\xc1\xbf", 0, 0 },
        { "\xe0\x9f\xbf", 0, 0 },
        { "\xed\xa0\x80", 0, 0 },   /* surrogate */
        { "\xf0\x8f\xbf\xbf", 0, 0 },
        { "\xf4\x90\x80\x80", 0, 0 },   /* past U+10FFFF */
        { "\xf5\x80\x80\x80", 0, 0 },
        { "\xc3", 0, 0 },           /* truncated */
        { "\xe2\x82", 0, 0 },
        { "\xe2(\xac", 0, 0 },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cp = 0xffffffff;

        if (ts_json_utf8_decode((const unsigned char *) cases[i].in,
                                strlen(cases[i].in), &cp)
            != cases[i].len)
        {
            fail_msg("case %zu: wrong length", i);
        }

        if (cases[i].len != 0 && cp != cases[i].cp) {
            fail_msg("case %zu: U+%04X, not U+%04X", i, (unsigned) cp,
                     (unsigned) cases[i].cp);
        }
    }

    assert_int_equal(ts_json_utf8_decode((const unsigned char *) "a", 0,
                                         &cp), 0);
}


static void
test_dump_append(void **state)
{
    char        *buf;
    size_t       len, cap;
    ts_value_t   v, *items;

    (void) state;

    buf = malloc(4);
    assert_non_null(buf);
    memcpy(buf, "ab", 3);
    len = 2;
    cap = 4;

    items = test_set_list(&v, TS_VAL_LIST, 1);
    items[0].type = TS_VAL_INT;
    items[0].u.i = 5;

    /* appends after what is there, growing the caller's buffer */
    assert_int_equal(ts_json_dump_value(&v, &buf, &len, &cap), 0);
    assert_int_equal(len, 9);
    assert_true(cap > len);
    assert_string_equal(buf, "ab[\n  5\n]");

    assert_int_equal(ts_json_dump_value(&v, &buf, &len, &cap), 0);
    assert_string_equal(buf, "ab[\n  5\n][\n  5\n]");

    /* a malformed value fails and leaves the text as it was */
    items[0].type = (ts_value_type_e) 99;
    assert_int_not_equal(ts_json_dump_value(&v, &buf, &len, &cap), 0);
    assert_int_equal(len, 16);
    assert_string_equal(buf, "ab[\n  5\n][\n  5\n]");

    items[0].type = TS_VAL_NONE;
    ts_value_clear(&v);
    free(buf);
}


/* 1000 x 1000 float32: the whole answer well under a second */

static void
test_dump_big(void **state)
{
    char             *s, *p, *end;
    float            *f;
    double            secs;
    int64_t           i;
    uint32_t          bits;
    uint64_t          seed;
    ts_value_t        v;
    struct timespec   t0, t1;

    static const int64_t  shape[] = { 1000, 1000 };

    (void) state;

    test_set_tensor(&v, TS_FLOAT32, 2, shape, NULL);
    f = v.u.tensor.data;
    seed = 42;

    for (i = 0; i < 1000000; i++) {
        /* random values in [-1, 1), full float32 precision */
        bits = (uint32_t) (test_rand(&seed) >> 40);
        f[i] = (float) bits / (1 << 23) - 1.0f;
    }

    clock_gettime(CLOCK_MONOTONIC, &t0);
    s = test_dump(&v);
    clock_gettime(CLOCK_MONOTONIC, &t1);

    secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("    1e6 float32 elements: %zu bytes in %.3f s\n",
                  strlen(s), secs);

    if (!RUNNING_ON_VALGRIND) {
        assert_true(secs < 1.0);
    }

    /* the layout, and every element reads back */
    assert_memory_equal(s, "[\n  [\n    ", 10);
    p = s;

    for (i = 0; i < 1000000; i++) {
        if (i % 1000 == 0) {
            p = strstr(p, "[\n    ");
            assert_non_null(p);
            p += 6;

        } else {
            assert_memory_equal(p, ",\n    ", 6);
            p += 6;
        }

        assert_true(strtod(p, &end) == f[i]);
        p = end;

        if (i % 1000 == 999) {
            assert_memory_equal(p, i == 999999 ? "\n  ]\n]" : "\n  ],",
                                i == 999999 ? 7 : 5);
        }
    }

    free(s);
    ts_value_clear(&v);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_unwrap),
        cmocka_unit_test(test_tensor_shapes),
        cmocka_unit_test(test_tensor_errors),
        cmocka_unit_test(test_tensor_hostile_shape),
        cmocka_unit_test(test_tensor_int_dtypes),
        cmocka_unit_test(test_tensor_float_dtypes),
        cmocka_unit_test(test_tensor_bool),
        cmocka_unit_test(test_format_double),
        cmocka_unit_test(test_format_powers_of_two),
        cmocka_unit_test(test_format_random_float32),
        cmocka_unit_test(test_format_random_float64),
        cmocka_unit_test(test_dump_floats),
        cmocka_unit_test(test_dump_ints_bools),
        cmocka_unit_test(test_dump_tensor_shapes),
        cmocka_unit_test(test_dump_nested),
        cmocka_unit_test(test_dump_keys),
        cmocka_unit_test(test_dump_strings),
        cmocka_unit_test(test_utf8_decode),
        cmocka_unit_test(test_dump_append),
        cmocka_unit_test(test_dump_big),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
