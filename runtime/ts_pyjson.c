/*
 * ts_pyjson.c: values to the text Python's json.dumps(x, indent=2)
 * writes (our own writer: no jansson objects per element, one growable
 * buffer).  Floats are printed by ts_dtoa.c, as Python's repr().
 */

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_json.h"


typedef struct {
    char         *buf;
    size_t        len;
    size_t        cap;
    unsigned      pretty:1;         /* indent=2; 0: Python's compact form */
} ts_json_out_t;


static int ts_json_reserve(ts_json_out_t *o, size_t n);
static int ts_json_put(ts_json_out_t *o, const char *s, size_t n);
static int ts_json_break(ts_json_out_t *o, size_t level);
static int ts_json_sep(ts_json_out_t *o);
static int ts_json_write_value(ts_json_out_t *o, const ts_value_t *v,
    size_t level);
static int ts_json_write_key(ts_json_out_t *o, const ts_value_t *key);
static int ts_json_write_string(ts_json_out_t *o, const char *s,
    size_t len);
static char *ts_json_escape(char *p, uint32_t cp);
static int ts_json_write_tensor(ts_json_out_t *o, const ts_tensor_t *t,
    size_t level);
static int ts_json_write_dim(ts_json_out_t *o, const ts_tensor_t *t,
    int dim, int64_t *flat, size_t level);
static size_t ts_json_format_elem(const ts_tensor_t *t, int64_t i,
    char *out);


#define ts_json_put_lit(o, s)  ts_json_put(o, s, sizeof(s) - 1)


/* ------------------------------------------------------------------ */
/* output                                                             */
/* ------------------------------------------------------------------ */


/*
 * On success the text is also NUL-terminated (the NUL is not counted in
 * *len).  On failure *len is restored, and *buf, possibly reallocated,
 * is still the caller's to free.
 */

int
ts_json_dump_value(const ts_value_t *v, char **buf, size_t *len,
    size_t *cap)
{
    int            rc;
    ts_json_out_t  o;

    o.buf = *buf;
    o.len = *buf ? *len : 0;
    o.cap = *buf ? *cap : 0;
    o.pretty = 1;

    rc = ts_json_write_value(&o, v, 0);

    if (rc == 0) {
        rc = ts_json_reserve(&o, 1);
    }

    if (rc == 0) {
        o.buf[o.len] = '\0';
        *len = o.len;

    } else {
        *len = *buf ? *len : 0;

        if (o.cap > *len) {
            o.buf[*len] = '\0';
        }
    }

    *buf = o.buf;
    *cap = o.cap;

    return rc;
}


static int
ts_json_reserve(ts_json_out_t *o, size_t n)
{
    char    *p;
    size_t   need, cap;

    if (o->cap - o->len > n) {
        return 0;
    }

    /* one spare byte, so the final NUL always fits where we stopped */
    if (n > SIZE_MAX - o->len - 1) {
        return -1;
    }

    need = o->len + n + 1;
    cap = o->cap ? o->cap : 256;

    while (cap < need) {
        cap = (cap > SIZE_MAX / 2) ? need : cap * 2;
    }

    p = realloc(o->buf, cap);
    if (p == NULL) {
        return -1;
    }

    o->buf = p;
    o->cap = cap;

    return 0;
}


static int
ts_json_put(ts_json_out_t *o, const char *s, size_t n)
{
    if (ts_json_reserve(o, n) != 0) {
        return -1;
    }

    memcpy(o->buf + o->len, s, n);
    o->len += n;

    return 0;
}


/* the line break and indentation before an item or a closing bracket */

static int
ts_json_break(ts_json_out_t *o, size_t level)
{
    char  *p;

    if (!o->pretty) {
        return 0;
    }

    if (ts_json_reserve(o, 1 + 2 * level) != 0) {
        return -1;
    }

    p = o->buf + o->len;
    *p++ = '\n';
    memset(p, ' ', 2 * level);
    o->len += 1 + 2 * level;

    return 0;
}


/* with indent Python separates items by ",", else by ", " */

static int
ts_json_sep(ts_json_out_t *o)
{
    return o->pretty ? ts_json_put_lit(o, ",") : ts_json_put_lit(o, ", ");
}


static int
ts_json_write_value(ts_json_out_t *o, const ts_value_t *v, size_t level)
{
    char    num[TS_JSON_NUM_MAX];
    size_t  i, n;

    switch (v->type) {

    case TS_VAL_NONE:
        return ts_json_put_lit(o, "null");

    case TS_VAL_BOOL:
        return v->u.b ? ts_json_put_lit(o, "true")
                      : ts_json_put_lit(o, "false");

    case TS_VAL_INT:
        return ts_json_put(o, num, ts_json_format_int(v->u.i, num));

    case TS_VAL_DOUBLE:
        return ts_json_put(o, num, ts_json_format_double(v->u.d, num));

    case TS_VAL_STRING:
        return ts_json_write_string(o, v->u.str.data, v->u.str.len);

    case TS_VAL_TENSOR:
        return ts_json_write_tensor(o, &v->u.tensor, level);

    case TS_VAL_LIST:
    case TS_VAL_TUPLE:
        n = v->u.list.n;

        if (n == 0) {
            return ts_json_put_lit(o, "[]");
        }

        if (ts_json_put_lit(o, "[") != 0) {
            return -1;
        }

        for (i = 0; i < n; i++) {
            if ((i && ts_json_sep(o) != 0)
                || ts_json_break(o, level + 1) != 0
                || ts_json_write_value(o, &v->u.list.items[i], level + 1)
                   != 0)
            {
                return -1;
            }
        }

        if (ts_json_break(o, level) != 0) {
            return -1;
        }

        return ts_json_put_lit(o, "]");

    case TS_VAL_DICT:
        n = v->u.dict.n;

        if (n == 0) {
            return ts_json_put_lit(o, "{}");
        }

        if (ts_json_put_lit(o, "{") != 0) {
            return -1;
        }

        for (i = 0; i < n; i++) {
            if ((i && ts_json_sep(o) != 0)
                || ts_json_break(o, level + 1) != 0
                || ts_json_write_key(o, &v->u.dict.keys[i]) != 0
                || ts_json_put_lit(o, ": ") != 0
                || ts_json_write_value(o, &v->u.dict.values[i], level + 1)
                   != 0)
            {
                return -1;
            }
        }

        if (ts_json_break(o, level) != 0) {
            return -1;
        }

        return ts_json_put_lit(o, "}");
    }

    return -1;
}


/*
 * Python's json turns None, bool, int and float keys into the text they
 * have as values ("null", "true", "1", "1.5", "NaN"); a 0-dim tensor is a
 * scalar after tolist(), so it goes the same way.  Python refuses other
 * keys (TypeError); we write their compact JSON text as the key instead
 * of failing the whole answer.
 */

static int
ts_json_write_key(ts_json_out_t *o, const ts_value_t *key)
{
    int            rc;
    ts_json_out_t  k;

    if (key->type == TS_VAL_STRING) {
        return ts_json_write_string(o, key->u.str.data, key->u.str.len);
    }

    memset(&k, 0, sizeof(ts_json_out_t));
    k.pretty = 0;

    rc = ts_json_write_value(&k, key, 0);

    if (rc == 0) {
        rc = ts_json_write_string(o, k.buf, k.len);
    }

    free(k.buf);

    return rc;
}


/*
 * As json.dumps(ensure_ascii=True): the short escapes, \u00XX for other
 * controls and DEL, \uXXXX (lower-case hex) for everything past ASCII,
 * surrogate pairs past U+FFFF.  Bytes that are not valid UTF-8 (stray or
 * truncated sequences, overlongs, surrogates, past U+10FFFF) are written
 * one by one as \u00XX, i.e. read as Latin-1, so nothing is lost and the
 * output is always valid JSON (a lone \udcXX, Python's surrogateescape,
 * would not be: jansson, for one, refuses it).
 */

static int
ts_json_write_string(ts_json_out_t *o, const char *s, size_t len)
{
    char                 *p;
    size_t                i, n;
    uint32_t              cp;
    const unsigned char  *b;

    /* 6 output bytes per input byte at worst (\u00XX) */
    if (len > (SIZE_MAX - 2) / 6 || ts_json_reserve(o, 2 + 6 * len) != 0) {
        return -1;
    }

    p = o->buf + o->len;
    b = (const unsigned char *) s;

    *p++ = '"';

    for (i = 0; i < len; i += n) {
        cp = b[i];
        n = 1;

        if (cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\') {
            *p++ = (char) cp;
            continue;
        }

        if (cp >= 0x80) {
            n = ts_json_utf8_decode(b + i, len - i, &cp);

            if (n == 0) {
                /* not valid UTF-8: this one byte as \u00XX */
                cp = b[i];
                n = 1;
            }
        }

        p = ts_json_escape(p, cp);
    }

    *p++ = '"';

    o->len = (size_t) (p - o->buf);

    return 0;
}


/* cp, which is not printed as itself, escaped; returns the end */

static char *
ts_json_escape(char *p, uint32_t cp)
{
    uint32_t           hi;

    static const char  hex[] = "0123456789abcdef";

    *p++ = '\\';

    switch (cp) {
    case '"':
        *p++ = '"';
        return p;
    case '\\':
        *p++ = '\\';
        return p;
    case '\n':
        *p++ = 'n';
        return p;
    case '\r':
        *p++ = 'r';
        return p;
    case '\t':
        *p++ = 't';
        return p;
    case '\b':
        *p++ = 'b';
        return p;
    case '\f':
        *p++ = 'f';
        return p;
    }

    if (cp >= 0x10000) {
        cp -= 0x10000;
        hi = 0xd800 | (cp >> 10);
        cp = 0xdc00 | (cp & 0x3ff);

        *p++ = 'u';
        *p++ = hex[hi >> 12];
        *p++ = hex[(hi >> 8) & 0xf];
        *p++ = hex[(hi >> 4) & 0xf];
        *p++ = hex[hi & 0xf];
        *p++ = '\\';
    }

    *p++ = 'u';
    *p++ = hex[cp >> 12];
    *p++ = hex[(cp >> 8) & 0xf];
    *p++ = hex[(cp >> 4) & 0xf];
    *p++ = hex[cp & 0xf];

    return p;
}


size_t
ts_json_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t    len, i;
    uint32_t  c, lo, hi;

    if (n == 0) {
        return 0;
    }

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    /* the valid ranges of RFC 3629, table 3-7 of Unicode */
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        c &= 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = (c == 0xe0) ? 0xa0 : 0x80;     /* no overlong form */
        hi = (c == 0xed) ? 0x9f : 0xbf;     /* no surrogate */
        c &= 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = (c == 0xf0) ? 0x90 : 0x80;     /* no overlong form */
        hi = (c == 0xf4) ? 0x8f : 0xbf;     /* nothing past U+10FFFF */
        c &= 0x07;

    } else {
        return 0;
    }

    if (n < len || p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    *cp = c;

    return len;
}


/* a tensor is written as its tolist(): nested lists, or a scalar */

static int
ts_json_write_tensor(ts_json_out_t *o, const ts_tensor_t *t, size_t level)
{
    int64_t  flat, numel;

    numel = ts_tensor_numel(t);

    if (numel < 0 || ts_dtype_size(t->dtype) == 0
        || (numel > 0 && t->data == NULL))
    {
        return -1;
    }

    flat = 0;

    if (t->ndim == 0) {
        if (ts_json_reserve(o, TS_JSON_NUM_MAX) != 0) {
            return -1;
        }

        o->len += ts_json_format_elem(t, 0, o->buf + o->len);
        return 0;
    }

    return ts_json_write_dim(o, t, 0, &flat, level);
}


static int
ts_json_write_dim(ts_json_out_t *o, const ts_tensor_t *t, int dim,
    int64_t *flat, size_t level)
{
    char     *p;
    size_t    pad;
    int64_t   i, n;

    n = t->shape[dim];

    if (n == 0) {
        return ts_json_put_lit(o, "[]");
    }

    if (ts_json_put_lit(o, "[") != 0) {
        return -1;
    }

    if (dim + 1 < t->ndim) {
        for (i = 0; i < n; i++) {
            if ((i && ts_json_sep(o) != 0)
                || ts_json_break(o, level + 1) != 0
                || ts_json_write_dim(o, t, dim + 1, flat, level + 1) != 0)
            {
                return -1;
            }
        }

    } else {
        /* the innermost level is most of the output: one reserve each */
        pad = o->pretty ? 2 * (level + 1) : 0;

        for (i = 0; i < n; i++) {
            if (ts_json_reserve(o, 3 + pad + TS_JSON_NUM_MAX) != 0) {
                return -1;
            }

            p = o->buf + o->len;

            if (i) {
                *p++ = ',';

                if (!o->pretty) {
                    *p++ = ' ';
                }
            }

            if (o->pretty) {
                *p++ = '\n';
                memset(p, ' ', pad);
                p += pad;
            }

            p += ts_json_format_elem(t, (*flat)++, p);
            o->len = (size_t) (p - o->buf);
        }
    }

    if (ts_json_break(o, level) != 0) {
        return -1;
    }

    return ts_json_put_lit(o, "]");
}


static size_t
ts_json_format_elem(const ts_tensor_t *t, int64_t i, char *out)
{
    switch (t->dtype) {

    case TS_FLOAT32:
        return ts_json_format_double(((const float *) t->data)[i], out);

    case TS_FLOAT64:
        return ts_json_format_double(((const double *) t->data)[i], out);

    case TS_FLOAT16:
        return ts_json_format_double(ts_tensor_get_double(t, i), out);

    case TS_INT64:
        return ts_json_format_int(((const int64_t *) t->data)[i], out);

    case TS_INT32:
        return ts_json_format_int(((const int32_t *) t->data)[i], out);

    case TS_INT16:
        return ts_json_format_int(((const int16_t *) t->data)[i], out);

    case TS_INT8:
        return ts_json_format_int(((const int8_t *) t->data)[i], out);

    case TS_UINT8:
        return ts_json_format_int(((const uint8_t *) t->data)[i], out);

    default: /* TS_BOOL */
        if (((const uint8_t *) t->data)[i]) {
            memcpy(out, "true", 5);
            return 4;
        }

        memcpy(out, "false", 6);
        return 5;
    }
}
