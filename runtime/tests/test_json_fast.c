/*
 * test_json_fast.c: the float32 fast path gives exactly the tensor the
 * general path (jansson + ts_json_to_tensor) gives, and declines every
 * body it does not fully understand (cmocka).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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


static uint64_t  test_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
test_next(void)
{
    test_rng ^= test_rng << 13;
    test_rng ^= test_rng >> 7;
    test_rng ^= test_rng << 17;
    return test_rng;
}


/* 1 and *out on success of jansson + ts_json_to_tensor as float32 */
static int
test_general(const char *body, ts_tensor_t *out)
{
    json_t  *j;
    char     err[TEST_ERRLEN];
    int      rc;

    j = ts_json_load(body, strlen(body), err, sizeof(err));
    if (j == NULL) {
        return 0;
    }

    rc = ts_json_to_tensor(ts_json_unwrap_instance(j), TS_FLOAT32, out, err,
                           sizeof(err));
    json_decref(j);

    return rc == 0;
}


/* the fast path takes body and agrees with the general path bit for bit */
static void
test_same(const char *body)
{
    ts_tensor_t  fast, general;
    int          i;
    int64_t      k;

    if (!ts_json_fast_float32(body, strlen(body), &fast)) {
        fail_msg("fast path declined %.200s", body);
    }

    assert_true(test_general(body, &general));
    assert_int_equal(fast.dtype, TS_FLOAT32);
    assert_int_equal(fast.ndim, general.ndim);

    for (i = 0; i < fast.ndim; i++) {
        assert_int_equal(fast.shape[i], general.shape[i]);
    }

    for (k = 0; k < ts_tensor_numel(&fast); k++) {
        uint32_t  a, b;

        memcpy(&a, (float *) fast.data + k, 4);
        memcpy(&b, (float *) general.data + k, 4);

        if (a != b) {
            fail_msg("element %" PRId64 " of %.200s: fast %.9g (%08x), "
                     "general %.9g (%08x)", k, body,
                     ((float *) fast.data)[k], a,
                     ((float *) general.data)[k], b);
        }
    }

    ts_tensor_clear(&fast);
    ts_tensor_clear(&general);
}


static void
test_declines(const char *body)
{
    ts_tensor_t  t;

    if (ts_json_fast_float32(body, strlen(body), &t)) {
        ts_tensor_clear(&t);
        fail_msg("fast path took %s", body);
    }
}


static void
test_accepted_bodies(void **state)
{
    static const char  *bodies[] = {
        "[0]", "[-0]", "[-0.0]", "[0e5]", "[-0e5]", "[0.0]",
        "[1]", "[-1]", "[1.5]", "[1e-05]", "[1E+5]", "[2.5e-3]",
        "[0.10000000149011612]", "[1.0070387901350841e-07]",
        "[0.9996820688247681]", "[0.00012860074639320374]",
        "[123456789012345678]", "[9007199254740993]",
        "[9007199254740993.0]", "[1234567890123456789.0]",
        "[3.4028234663852886e+38]", "[-3.4028234663852886e+38]",
        "[1e-45]", "[7e-46]", "[1.5e-300]", "[1e-400]",
        "[0.1000000000000000000000000001]",
        "[16777217]", "[16777217.000000001]", "[0.000000000000000000001]",
        "[1.00000005960464477539062500]", "[1.0000000596046448]",
        " [ 1 , 2 ] ", "[[1, 2], [3, 4]]", "\n[[[1]],\t[[2]]]\r\n",
        "[[[0.6142578125, 0.380859375], [0.63671875, 0.474609375]]]",
        "{\"data\": [1, 2, 3]}", " { \"inputs\" : [[1.5], [2.5]] } ",
        "[[[[[[[[1]]]]]]]]",
    };
    size_t  i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        test_same(bodies[i]);
    }
}


static void
test_declined_bodies(void **state)
{
    static const char  *bodies[] = {
        "", " ", "1", "1.5", "\"x\"", "null", "{}", "[]", "[[]]", "[[], []]",
        "[[1], [2, 3]]", "[[1, 2], [3]]", "[[1], 2]", "[1, [2]]",
        "[[[1]], [2]]", "[true]", "[1, false]", "[null]", "[\"1\"]",
        "[1,]", "[,1]", "[1 2]", "[01]", "[-01]", "[1.]", "[.5]", "[+1]",
        "[-]", "[NaN]", "[Infinity]", "[1e]", "[1e+]", "[0x10]", "[1] x",
        "[1]]", "[1", "[[1, 2], [3, 4]", "[[1, 2],, [3, 4]]",
        "{\"data\": [1], \"x\": 2}", "{\"other\": [1]}", "{\"data\": 1}",
        "{\"data\": [1]", "{\"data\": [1]}}", "{\"data\" [1]}",
        "[3.5e38]", "[-3.5e38]", "[1e39]", "[1e99999]",
        "[12345678901234567890]", "[9999999999999999999]",
        "[[[[[[[[[1]]]]]]]]]",
    };
    size_t  i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        test_declines(bodies[i]);
    }
}


/* one random number in one of several spellings clients use */
static void
test_random_number(char *out, size_t len)
{
    double    d;
    float     f;
    uint64_t  r;
    int       k;

    r = test_next();

    switch (r % 8) {

    case 0:     /* a float32 value as Python's repr of its double */
        f = (float) ((double) (test_next() >> 11) / 9007199254740992.0);
        ts_json_format_double((double) f, out);
        break;

    case 1:     /* any double, 17 digits */
        d = ((double) (test_next() >> 11) / 9007199254740992.0 - 0.5)
            * pow(10.0, (double) ((int) (test_next() % 77) - 40));
        snprintf(out, len, "%.17g", d);
        break;

    case 2:     /* float32's 9 digits */
        d = ((double) (test_next() >> 11) / 9007199254740992.0) * 255.0;
        snprintf(out, len, "%.9g", d);
        break;

    case 3:     /* short decimals, as written by hand or %g */
        d = (double) (int64_t) (test_next() % 2000001) / 1000.0 - 1000.0;
        snprintf(out, len, "%g", d);
        break;

    case 4:     /* integers */
        snprintf(out, len, "%" PRId64,
                 (int64_t) (test_next() % 2000000000000000001ULL)
                 - (int64_t) 1000000000000000000);
        break;

    case 5:     /* 19-digit mantissas with an exponent */
        k = (int) (test_next() % 80) - 60;
        snprintf(out, len, "%" PRIu64 "e%d",
                 (uint64_t) 1000000000000000000
                 + test_next() % (uint64_t) 8999999999999999999, k);
        break;

    case 6:     /* a float32 rounding boundary, exactly or nearly */
        f = (float) ((double) (test_next() >> 40) / 16777216.0);
        d = ((double) f + (double) nextafterf(f, INFINITY)) / 2;
        snprintf(out, len, "%.*g", 17 + (int) (test_next() % 4), d);
        break;

    default:    /* subnormal and tiny floats */
        d = (double) (test_next() % 100000) * 1e-50;
        snprintf(out, len, "%.12g", d);
        break;
    }

    if (strcmp(out, "-0") == 0) {
        /* "%g" of -0.0: a real in JSON terms, spelled as such */
        snprintf(out, len, "-0.0");
    }
}


static void
test_random_numbers(void **state)
{
    enum { ROWS = 200, PER_ROW = 500 };
    char    *body, num[64];
    size_t   len, cap;
    int      row, i;

    cap = (size_t) PER_ROW * 64 + 16;
    body = malloc(cap);
    assert_non_null(body);

    for (row = 0; row < ROWS; row++) {
        len = 0;
        body[len++] = '[';

        for (i = 0; i < PER_ROW; i++) {
            test_random_number(num, sizeof(num));
            len += (size_t) snprintf(body + len, cap - len, "%s%s",
                                     i ? ", " : "", num);
        }

        body[len++] = ']';
        body[len] = '\0';

        test_same(body);
    }

    free(body);
}


/* a numeric body exactly at a float32 midpoint: ties go to even */
static void
test_ties(void **state)
{
    test_same("[16777217, 16777219, 1.00000005960464477539062500]");
    test_same("[0.500000029802322387695312500, 3.0000001192092896]");
    test_same("[1.000000059604644775390625000000000001]");
}


/*
 * Hostile bodies: valid ones with a few bytes replaced, inserted or
 * deleted.  Each is handed over in an exact-size heap block (valgrind and
 * ASan see any read past it); whatever the fast path takes, the general
 * path must take with the same shape and bits.
 */
static void
test_mutated_bodies(void **state)
{
    static const char  *seeds[] = {
        "[[1.5, 2, -3e-2], [4, 5.25, 6]]",
        "{\"data\": [0.10000000149011612, 1e-05]}",
        "[[[0.6142578125, 0.380859375]], [[0.63671875, 0.474609375]]]",
        "[123456789012345678, -0.0, 0e5]",
        " { \"inputs\" : [[1.5], [2.5]] } ",
        "[1.0000000596046448, 16777217, 3.4028234663852886e+38]",
    };
    static const char   alphabet[] = "[]{},.-+eE0123456789 \t\n\":adtinpusx";
    char                buf[256], *body;
    size_t              len, pos;
    long                i, iters, taken;
    int                 k;
    ts_tensor_t         fast;

    iters = RUNNING_ON_VALGRIND ? 2000 : 50000;
    taken = 0;

    for (i = 0; i < iters; i++) {
        const char  *seed = seeds[test_next() % 6];

        len = strlen(seed);
        memcpy(buf, seed, len);

        for (k = 1 + (int) (test_next() % 4); k > 0; k--) {
            char  c = alphabet[test_next() % (sizeof(alphabet) - 1)];

            pos = test_next() % len;

            switch (test_next() % 3) {
            case 0:
                buf[pos] = c;
                break;
            case 1:
                if (len < sizeof(buf) - 1) {
                    memmove(buf + pos + 1, buf + pos, len - pos);
                    buf[pos] = c;
                    len++;
                }
                break;
            default:
                if (len > 1) {
                    memmove(buf + pos, buf + pos + 1, len - pos - 1);
                    len--;
                }
                break;
            }
        }

        body = malloc(len + 1);
        assert_non_null(body);
        memcpy(body, buf, len);
        body[len] = '\0';

        /* test_same() wants a C string: the fast path got only len bytes */
        if (ts_json_fast_float32(body, len, &fast)) {
            ts_tensor_clear(&fast);
            test_same(body);
            taken++;
        }

        free(body);
    }

    /* the mutations leave a good share of the bodies valid */
    assert_true(taken > iters / 20);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_accepted_bodies),
        cmocka_unit_test(test_declined_bodies),
        cmocka_unit_test(test_random_numbers),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_mutated_bodies),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
