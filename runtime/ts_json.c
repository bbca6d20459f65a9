/*
 * ts_json.c: request bodies to tensors, on jansson.  The fast path for
 * plain float lists is ts_json_fast.c; the writer of Python's
 * json.dumps text is ts_pyjson.c, its float printer ts_dtoa.c.
 */

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_json.h"


/* "[i][j]..." for TS_MAX_DIMS indices of up to 20 digits */
#define TS_JSON_POS_MAX  (TS_MAX_DIMS * 22 + 1)

#define TS_JSON_HALF_MAX  65504.0


typedef struct {
    ts_tensor_t  *tensor;
    int64_t       next;             /* flat index of the next leaf */
    size_t        idx[TS_MAX_DIMS]; /* where we are, for messages */
    char         *err;
    size_t        errlen;
} ts_json_ctx_t;


static void ts_json_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *ts_json_pos(char *buf, const size_t *idx, int depth);
static const char *ts_json_type_name(const json_t *j);
static int ts_json_check_shape(ts_json_ctx_t *ctx, const json_t *j,
    int dim);
static int ts_json_fill(ts_json_ctx_t *ctx, const json_t *j, int dim);
static int ts_json_store(ts_json_ctx_t *ctx, const json_t *j, int depth);
static int ts_json_bool_leaves(const json_t *j, int depth);


/* ------------------------------------------------------------------ */
/* input                                                              */
/* ------------------------------------------------------------------ */


json_t *
ts_json_load(const void *buf, size_t len, char *err, size_t errlen)
{
    json_t        *j;
    json_error_t   e;

    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);

    if (j == NULL) {
        ts_json_error(err, errlen, "invalid JSON at line %d, column %d: %s",
                      e.line, e.column, e.text);
    }

    return j;
}


json_t *
ts_json_unwrap_instance(json_t *body)
{
    json_t  *v;

    if (!json_is_object(body)) {
        return body;
    }

    v = json_object_get(body, "data");
    if (v) {
        return v;
    }

    v = json_object_get(body, "inputs");
    if (v) {
        return v;
    }

    return body;
}


/*
 * Two passes: the shape is taken from the first element at each level and
 * the whole structure is checked before anything is allocated, so a small
 * hostile body cannot make us allocate for a huge claimed shape.  The
 * second pass converts the leaves.  *out is written only on success.
 */

int
ts_json_to_tensor(const json_t *j, ts_dtype_e dtype, ts_tensor_t *out,
    char *err, size_t errlen)
{
    size_t          n;
    int64_t         numel;
    ts_tensor_t     t;
    const json_t   *e;
    ts_json_ctx_t   ctx;

    memset(&t, 0, sizeof(ts_tensor_t));
    t.dtype = dtype;

    if (ts_dtype_size(dtype) == 0) {
        ts_json_error(err, errlen, "unknown dtype %d", (int) dtype);
        return -1;
    }

    if (j == NULL) {
        ts_json_error(err, errlen, "empty input");
        return -1;
    }

    for (e = j; json_is_array(e); e = json_array_get(e, 0)) {

        if (t.ndim == TS_MAX_DIMS) {
            ts_json_error(err, errlen, "too many dimensions: lists nested "
                          "more than %d deep", TS_MAX_DIMS);
            return -1;
        }

        n = json_array_size(e);
        t.shape[t.ndim++] = (int64_t) n;

        if (n == 0) {
            break;
        }
    }

    if (t.ndim > 0 && t.shape[0] == 0) {
        ts_json_error(err, errlen, "empty input");
        return -1;
    }

    numel = ts_tensor_numel(&t);

    /* only a hostile first row can claim this many: refuse before walking */
    if (numel < 0 || (uint64_t) numel > SIZE_MAX / ts_dtype_size(dtype)) {
        ts_json_error(err, errlen, "too many elements");
        return -1;
    }

    memset(&ctx, 0, sizeof(ts_json_ctx_t));
    ctx.tensor = &t;
    ctx.err = err;
    ctx.errlen = errlen;

    if (ts_json_check_shape(&ctx, j, 0) != 0) {
        return -1;
    }

    if (ts_tensor_alloc(&t) != 0) {
        ts_json_error(err, errlen, "out of memory for a %s tensor of "
                      "%" PRId64 " elements", ts_dtype_name(dtype), numel);
        return -1;
    }

    if (ts_json_fill(&ctx, j, 0) != 0) {
        goto failed;
    }

    *out = t;

    return 0;

failed:

    ts_tensor_clear(&t);

    return -1;
}


/* pass 1: every list at depth dim has shape[dim] items, leaves are leaves */

static int
ts_json_check_shape(ts_json_ctx_t *ctx, const json_t *j, int dim)
{
    char           pos[TS_JSON_POS_MAX];
    size_t         i, n, want;
    const json_t  *e;

    if (dim == ctx->tensor->ndim) {
        if (json_is_array(j)) {
            ts_json_error(ctx->err, ctx->errlen, "ragged nested list at %s: "
                          "expected a number, got a list",
                          ts_json_pos(pos, ctx->idx, dim));
            return -1;
        }

        /* leaf types are checked while converting */
        return 0;
    }

    want = (size_t) ctx->tensor->shape[dim];

    if (!json_is_array(j)) {
        ts_json_error(ctx->err, ctx->errlen, "ragged nested list at %s: "
                      "expected a list of %zu elements, got %s",
                      ts_json_pos(pos, ctx->idx, dim), want,
                      ts_json_type_name(j));
        return -1;
    }

    n = json_array_size(j);

    if (n != want) {
        ts_json_error(ctx->err, ctx->errlen, "ragged nested list at %s: "
                      "expected %zu elements, got %zu",
                      ts_json_pos(pos, ctx->idx, dim), want, n);
        return -1;
    }

    for (i = 0; i < n; i++) {
        ctx->idx[dim] = i;
        e = json_array_get(j, i);

        /* the innermost level is most of the work: no call per leaf */
        if (dim + 1 == ctx->tensor->ndim && !json_is_array(e)) {
            continue;
        }

        if (ts_json_check_shape(ctx, e, dim + 1) != 0) {
            return -1;
        }
    }

    return 0;
}


/* pass 2: the structure is known to be rectangular */

static int
ts_json_fill(ts_json_ctx_t *ctx, const json_t *j, int dim)
{
    size_t  i, n;

    if (dim == ctx->tensor->ndim) {
        return ts_json_store(ctx, j, dim);
    }

    n = json_array_size(j);

    for (i = 0; i < n; i++) {
        ctx->idx[dim] = i;

        if (ts_json_fill(ctx, json_array_get(j, i), dim + 1) != 0) {
            return -1;
        }
    }

    return 0;
}


/* a number into a float tensor; one too large for the dtype is refused */
static int
ts_json_store_real(ts_json_ctx_t *ctx, int64_t i, const json_t *j,
    int depth)
{
    char          pos[TS_JSON_POS_MAX], num[TS_JSON_NUM_MAX];
    double        dv;
    ts_tensor_t  *t;

    t = ctx->tensor;

    /* booleans are the integers 0 and 1 */
    dv = json_is_real(j) ? json_real_value(j)
                         : (double) (json_is_integer(j)
                                     ? json_integer_value(j)
                                     : json_is_true(j));

    switch (t->dtype) {

    case TS_FLOAT64:
        ((double *) t->data)[i] = dv;
        return 0;

    case TS_FLOAT32:
        if (fabs(dv) > FLT_MAX) {
            break;
        }

        ((float *) t->data)[i] = (float) dv;
        return 0;

    default: /* TS_FLOAT16 */
        if (fabs(dv) > TS_JSON_HALF_MAX) {
            break;
        }

        /* through float, as torch converts a Python float to half */
        ((uint16_t *) t->data)[i] = ts_half_from_float((float) dv);
        return 0;
    }

    if (json_is_integer(j)) {
        ts_json_format_int(json_integer_value(j), num);

    } else {
        ts_json_format_double(dv, num);
    }

    ts_json_error(ctx->err, ctx->errlen,
                  "number out of range for %s at %s: %s",
                  ts_dtype_name(t->dtype), ts_json_pos(pos, ctx->idx, depth),
                  num);
    return -1;
}


/* an integer into an integer or bool tensor, within the dtype's range */
static int
ts_json_store_int(ts_json_ctx_t *ctx, int64_t i, json_int_t iv, int depth)
{
    char          pos[TS_JSON_POS_MAX];
    int64_t       lo, hi;
    ts_tensor_t  *t;

    t = ctx->tensor;

    switch (t->dtype) {

    case TS_INT64:
        ((int64_t *) t->data)[i] = iv;
        return 0;

    case TS_INT32:
        lo = INT32_MIN;
        hi = INT32_MAX;
        break;

    case TS_INT16:
        lo = INT16_MIN;
        hi = INT16_MAX;
        break;

    case TS_INT8:
        lo = INT8_MIN;
        hi = INT8_MAX;
        break;

    case TS_UINT8:
        lo = 0;
        hi = UINT8_MAX;
        break;

    default: /* TS_BOOL */
        lo = 0;
        hi = 1;
        break;
    }

    if (iv < lo || iv > hi) {
        ts_json_error(ctx->err, ctx->errlen,
                      "integer out of range for %s at %s: %" PRId64,
                      ts_dtype_name(t->dtype),
                      ts_json_pos(pos, ctx->idx, depth), (int64_t) iv);
        return -1;
    }

    switch (t->dtype) {

    case TS_INT32:
        ((int32_t *) t->data)[i] = (int32_t) iv;
        break;

    case TS_INT16:
        ((int16_t *) t->data)[i] = (int16_t) iv;
        break;

    case TS_INT8:
        ((int8_t *) t->data)[i] = (int8_t) iv;
        break;

    default: /* TS_UINT8, TS_BOOL */
        ((uint8_t *) t->data)[i] = (uint8_t) iv;
        break;
    }

    return 0;
}


/*
 * Booleans count as the integers 0 and 1, as in torch.tensor().  Reals
 * must fit the float dtype (we refuse rather than store an infinity);
 * integers must fit the integer dtype; reals never go into one.
 */
static int
ts_json_store(ts_json_ctx_t *ctx, const json_t *j, int depth)
{
    int           is_int;
    char          pos[TS_JSON_POS_MAX];
    int64_t       i;
    ts_tensor_t  *t;

    t = ctx->tensor;
    i = ctx->next++;

    switch (json_typeof(j)) {

    case JSON_INTEGER:
    case JSON_TRUE:
    case JSON_FALSE:
        is_int = 1;
        break;

    case JSON_REAL:
        is_int = 0;
        break;

    default:
        if (depth == 0) {
            ts_json_error(ctx->err, ctx->errlen, "expected a number or a "
                          "nested list of numbers, got %s",
                          ts_json_type_name(j));

        } else {
            ts_json_error(ctx->err, ctx->errlen,
                          "expected a number at %s, got %s",
                          ts_json_pos(pos, ctx->idx, depth),
                          ts_json_type_name(j));
        }

        return -1;
    }

    if (t->dtype == TS_FLOAT64 || t->dtype == TS_FLOAT32
        || t->dtype == TS_FLOAT16)
    {
        return ts_json_store_real(ctx, i, j, depth);
    }

    if (!is_int) {
        ts_json_error(ctx->err, ctx->errlen, "expected %s at %s",
                      t->dtype == TS_BOOL ? "a boolean" : "an integer",
                      ts_json_pos(pos, ctx->idx, depth));
        return -1;
    }

    return ts_json_store_int(ctx, i, json_is_integer(j)
                                     ? json_integer_value(j)
                                     : json_is_true(j), depth);
}




int
ts_json_all_bool(const json_t *j)
{
    return ts_json_bool_leaves(j, 0) > 0;
}


/* 1: booleans only, 0: no leaf at all, -1: anything else or too deep */

static int
ts_json_bool_leaves(const json_t *j, int depth)
{
    int     rc, found;
    size_t  i, n;

    if (json_is_boolean(j)) {
        return 1;
    }

    if (!json_is_array(j) || depth == TS_MAX_DIMS) {
        return -1;
    }

    found = 0;
    n = json_array_size(j);

    for (i = 0; i < n; i++) {
        rc = ts_json_bool_leaves(json_array_get(j, i), depth + 1);
        if (rc < 0) {
            return -1;
        }

        found |= rc;
    }

    return found;
}


static void
ts_json_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err == NULL || errlen == 0) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(err, errlen, fmt, args);
    va_end(args);
}


/* "[1][0]" for the first depth indices of idx */

static const char *
ts_json_pos(char *buf, const size_t *idx, int depth)
{
    int    i;
    char  *p;

    if (depth == 0) {
        return "top level";
    }

    p = buf;

    for (i = 0; i < depth; i++) {
        p += sprintf(p, "[%zu]", idx[i]);
    }

    return buf;
}


static const char *
ts_json_type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}
