/*
 * ts_json_fast.c: the common request body, a nested list of JSON numbers,
 * decoded straight into a float32 buffer without building a jansson tree.
 *
 * It is an accelerator, not a second parser: it accepts a strict subset of
 * JSON (numbers, lists, an optional {"data": ...} or {"inputs": ...}
 * wrapper with that one member) and answers "not mine" for anything else,
 * including every malformed or ragged body, so that ts_json_to_tensor()
 * keeps producing the values and the error messages.  Every number gets
 * the float the general path gives: the correctly rounded double (what
 * jansson's strtod returns, or (double) of the integer) converted to
 * float.
 *
 * Numbers: up to 19 significant digits are gathered into an integer.  With
 * a mantissa below 2^53 and a power of ten up to 22 the double is one
 * exact IEEE operation (Clinger's fast path).  Otherwise the value is
 * computed in long double (64-bit mantissa, one rounding) and kept only
 * when it is clearly away from a float rounding boundary, where double
 * rounding cannot change the float; strtod decides the rest.
 */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ts_json.h"


#define TS_FAST_NUM_MAX  64


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} ts_fast_cursor_t;


static const double  ts_fast_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* 10^n is exact in long double up to 10^27 (5^27 < 2^64) */
static const long double  ts_fast_pow10l[] = {
    1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L,
    1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
    1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L
};


static void
ts_fast_skip_ws(ts_fast_cursor_t *c)
{
    while (c->p < c->end
           && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r'
               || *c->p == '\t'))
    {
        c->p++;
    }
}


static int
ts_fast_literal(ts_fast_cursor_t *c, const char *s)
{
    size_t  n = strlen(s);

    if ((size_t) (c->end - c->p) < n || memcmp(c->p, s, n) != 0) {
        return 0;
    }

    c->p += n;
    return 1;
}


/* the float of a token strtod reads whole; 0: leave it to the general path */
static int
ts_fast_strtod(const unsigned char *start, size_t len, float *out)
{
    char    num[TS_FAST_NUM_MAX];
    char   *last;
    double  d;

    if (len >= sizeof(num)) {
        return 0;
    }

    memcpy(num, start, len);
    num[len] = '\0';

    d = strtod(num, &last);

    if (last != num + len || !isfinite(d) || fabs(d) > FLT_MAX) {
        return 0;
    }

    *out = (float) d;
    return 1;
}


/* float(v) equals float(double(x)) when v (within 2^-64 of x) is far from
 * the two rounding boundaries around float(v) */
static int
ts_fast_round_safely(long double v, float *out)
{
    float        f, up, down;
    long double  margin, mid;

    f = (float) v;

    if (!isfinite(f) || fabsl(v) > (long double) FLT_MAX) {
        return 0;
    }

    up = nextafterf(f, INFINITY);
    down = nextafterf(f, -INFINITY);
    margin = fabsl(v) * 0x1p-50L;

    mid = ((long double) f + (long double) up) / 2;
    if (fabsl(v - mid) <= margin) {
        return 0;
    }

    mid = ((long double) f + (long double) down) / 2;
    if (fabsl(v - mid) <= margin) {
        return 0;
    }

    *out = f;
    return 1;
}


/* 8 ASCII digits in a little-endian word: all digits? (SWAR) */
static int
ts_fast_eight_digits(uint64_t w)
{
    return ((w & UINT64_C(0xF0F0F0F0F0F0F0F0))
            | (((w + UINT64_C(0x0606060606060606))
                & UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4))
           == UINT64_C(0x3333333333333333);
}


/* their value, first byte most significant */
static uint32_t
ts_fast_eight_value(uint64_t w)
{
    w = ((w & UINT64_C(0x0F0F0F0F0F0F0F0F)) * 2561) >> 8;
    w = ((w & UINT64_C(0x00FF00FF00FF00FF)) * 6553601) >> 16;
    return (uint32_t) (((w & UINT64_C(0x0000FFFF0000FFFF))
                        * UINT64_C(42949672960001)) >> 32);
}


/* a number as scanned: neg * m * 10^exp10 */
typedef struct {
    uint64_t              m;
    int                   exp10;
    int                   neg;
    int                   is_int;
} ts_fast_num_t;

#define TS_FAST_NOT_OURS   0    /* not JSON, or jansson's verdict needed */
#define TS_FAST_SCANNED    1
#define TS_FAST_STRTOD     2    /* too many digits: strtod rounds it */


/* the sign, integer and fraction digits; m keeps 19 digits at most */
static int
ts_fast_scan_digits(const unsigned char **pp, const unsigned char *end,
    ts_fast_num_t *n)
{
    uint64_t              w;
    const unsigned char  *p;

    p = *pp;

    if (p < end && *p == '-') {
        n->neg = 1;
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        return TS_FAST_NOT_OURS;
    }

    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') {
            return TS_FAST_NOT_OURS;        /* leading zero: not JSON */
        }

    } else {
        /* m below 10^19 < 2^64 */
        while (p < end && *p >= '0' && *p <= '9') {
            if (n->m >= UINT64_C(1000000000000000000)) {
                return TS_FAST_NOT_OURS;    /* the general path decides */
            }
            n->m = n->m * 10 + (uint64_t) (*p - '0');
            p++;
        }
    }

    *pp = p;

    if (p == end || *p != '.') {
        return TS_FAST_SCANNED;
    }

    n->is_int = 0;
    p++;

    if (p == end || *p < '0' || *p > '9') {
        return TS_FAST_NOT_OURS;
    }

    /* eight digits at a time while m has room for them */
    while (end - p >= 8 && n->m < UINT64_C(100000000000)) {
        memcpy(&w, p, 8);
        if (!ts_fast_eight_digits(w)) {
            break;
        }
        n->m = n->m * 100000000 + ts_fast_eight_value(w);
        n->exp10 -= 8;
        p += 8;
    }

    while (p < end && *p >= '0' && *p <= '9') {
        if (n->m >= UINT64_C(1000000000000000000)) {
            *pp = p;
            return TS_FAST_STRTOD;          /* a 20th significant digit */
        }
        n->m = n->m * 10 + (uint64_t) (*p - '0');
        n->exp10--;
        p++;
    }

    *pp = p;
    return TS_FAST_SCANNED;
}


/* an exponent of at most four digits */
static int
ts_fast_scan_exponent(const unsigned char **pp, const unsigned char *end,
    ts_fast_num_t *n)
{
    int                   e, eneg, edigits;
    const unsigned char  *p;

    p = *pp;

    if (p == end || (*p != 'e' && *p != 'E')) {
        return TS_FAST_SCANNED;
    }

    n->is_int = 0;
    p++;
    eneg = 0;

    if (p < end && (*p == '+' || *p == '-')) {
        eneg = (*p == '-');
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        return TS_FAST_NOT_OURS;
    }

    e = 0;
    edigits = 0;

    while (p < end && *p >= '0' && *p <= '9') {
        if (++edigits > 4) {
            *pp = p;
            return TS_FAST_STRTOD;
        }
        e = e * 10 + (*p - '0');
        p++;
    }

    n->exp10 += eneg ? -e : e;
    *pp = p;
    return TS_FAST_SCANNED;
}


/* the float nearest to n, when exact arithmetic decides it */
static int
ts_fast_convert(const ts_fast_num_t *n, float *out)
{
    double       d;
    long double  v;

    if (n->m <= (UINT64_C(1) << 53) && n->exp10 >= -22 && n->exp10 <= 22) {
        d = (double) n->m;
        d = n->exp10 < 0 ? d / ts_fast_pow10[-n->exp10]
                         : d * ts_fast_pow10[n->exp10];

        if (fabs(d) > FLT_MAX) {
            return 0;
        }

        *out = (float) (n->neg ? -d : d);
        return 1;
    }

    if (n->exp10 >= -27 && n->exp10 <= 27) {
        v = (long double) n->m;
        v = n->exp10 < 0 ? v / ts_fast_pow10l[-n->exp10]
                         : v * ts_fast_pow10l[n->exp10];

        return ts_fast_round_safely(n->neg ? -v : v, out);
    }

    return 0;
}


/* one JSON number at c->p; 0: not a number we decide (or not JSON) */
static int
ts_fast_number(ts_fast_cursor_t *c, float *out)
{
    int                   rc;
    ts_fast_num_t         n;
    const unsigned char  *p, *start;

    p = c->p;
    start = p;
    n.m = 0;
    n.exp10 = 0;
    n.neg = 0;
    n.is_int = 1;

    rc = ts_fast_scan_digits(&p, c->end, &n);

    if (rc == TS_FAST_SCANNED) {
        rc = ts_fast_scan_exponent(&p, c->end, &n);
    }

    if (rc == TS_FAST_NOT_OURS) {
        return 0;
    }

    if (rc == TS_FAST_SCANNED) {
        if (n.m == 0) {
            /* jansson reads "-0" as the integer 0, "-0.0" as the real -0.0 */
            *out = (n.neg && !n.is_int) ? -0.0f : 0.0f;
            c->p = p;
            return 1;
        }

        if (n.is_int && n.m >= UINT64_C(1000000000000000000)) {
            /* may not fit json_int_t: jansson's own verdict */
            return 0;
        }

        if (ts_fast_convert(&n, out)) {
            c->p = p;
            return 1;
        }
    }

    /* strtod's: the rest of the number's characters */
    while (p < c->end
           && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e'
               || *p == 'E' || *p == '+' || *p == '-'))
    {
        p++;
    }

    if (!ts_fast_strtod(start, (size_t) (p - start), out)) {
        return 0;
    }

    c->p = p;
    return 1;
}


/*
 * The nested lists at c->p.  The first leaf fixes the number of dimensions,
 * the first list closed at each depth its length; any other shape is
 * ragged and left to the general path, which names the position.
 */
static int
ts_fast_lists(ts_fast_cursor_t *c, ts_tensor_t *t, float *data, size_t cap)
{
    int      depth, ndim, d;
    int64_t  count[TS_MAX_DIMS];
    size_t   n;

    depth = 0;
    ndim = -1;
    n = 0;

    for (d = 0; d < TS_MAX_DIMS; d++) {
        t->shape[d] = -1;
        count[d] = 0;
    }

    if (c->p == c->end || *c->p != '[') {
        return 0;
    }

    for ( ;; ) {

        /* a value: a list or a number */
        ts_fast_skip_ws(c);

        if (c->p == c->end) {
            return 0;
        }

        if (*c->p == '[') {
            if (depth == TS_MAX_DIMS || (ndim >= 0 && depth >= ndim)) {
                return 0;
            }

            c->p++;
            depth++;
            continue;

        }

        if (ndim < 0) {
            ndim = depth;

        } else if (depth != ndim) {
            return 0;
        }

        if (ndim == 0 || n == cap || ts_fast_number(c, &data[n]) == 0) {
            return 0;
        }

        n++;
        count[depth - 1]++;

        /* after a value: ',' for the next one, or ']' closing lists */
        for ( ;; ) {
            ts_fast_skip_ws(c);

            if (c->p == c->end) {
                return 0;
            }

            if (*c->p == ',') {
                c->p++;
                break;
            }

            if (*c->p != ']') {
                return 0;
            }

            c->p++;
            d = depth - 1;

            if (t->shape[d] < 0) {
                t->shape[d] = count[d];

            } else if (t->shape[d] != count[d]) {
                return 0;
            }

            count[d] = 0;
            depth--;

            if (depth == 0) {
                t->ndim = ndim;
                return n == (size_t) ts_tensor_numel(t);
            }

            count[depth - 1]++;
        }
    }
}


int
ts_json_fast_float32(const void *buf, size_t len, ts_tensor_t *out)
{
    ts_fast_cursor_t  c;
    ts_tensor_t       t;
    float            *data, *shrunk;
    size_t            cap;
    int               wrapped;

    c.p = buf;
    c.end = c.p + len;

    ts_fast_skip_ws(&c);

    wrapped = (c.p < c.end && *c.p == '{');

    if (wrapped) {
        c.p++;
        ts_fast_skip_ws(&c);

        if (!ts_fast_literal(&c, "\"data\"")
            && !ts_fast_literal(&c, "\"inputs\""))
        {
            return 0;
        }

        ts_fast_skip_ws(&c);

        if (!ts_fast_literal(&c, ":")) {
            return 0;
        }

        ts_fast_skip_ws(&c);
    }

    if (c.p == c.end || *c.p != '[') {
        return 0;
    }

    /* every number takes at least two bytes ("0,"): an upper bound */
    cap = len / 2 + 1;

    data = malloc(cap * sizeof(float));
    if (data == NULL) {
        return 0;
    }

    memset(&t, 0, sizeof(ts_tensor_t));
    t.dtype = TS_FLOAT32;

    if (!ts_fast_lists(&c, &t, data, cap)) {
        goto fallback;
    }

    ts_fast_skip_ws(&c);

    if (wrapped) {
        if (c.p == c.end || *c.p != '}') {
            goto fallback;
        }

        c.p++;
        ts_fast_skip_ws(&c);
    }

    if (c.p != c.end) {
        goto fallback;
    }

    shrunk = realloc(data, (size_t) ts_tensor_numel(&t) * sizeof(float));
    t.data = shrunk ? shrunk : data;

    *out = t;
    return 1;

fallback:

    free(data);
    return 0;
}
