/*
 * ts_value.c: dtypes, plain C tensors and the ts_value_t tree.
 * No nginx, no C++, no globals.
 */

#include <stdlib.h>
#include <string.h>

#include "ts_value.h"


static int ts_value_copy_items(ts_value_t **dst, const ts_value_t *src,
    size_t n);
static void ts_value_free_items(ts_value_t *items, size_t n);


typedef struct {
    const char  *name;
    ts_dtype_e   dtype;
} ts_dtype_name_t;


/* canonical names first: ts_dtype_name() uses the first match */
static const ts_dtype_name_t  ts_dtype_names[] = {
    { "float32", TS_FLOAT32 },
    { "float64", TS_FLOAT64 },
    { "float16", TS_FLOAT16 },
    { "int64",   TS_INT64 },
    { "int32",   TS_INT32 },
    { "int16",   TS_INT16 },
    { "int8",    TS_INT8 },
    { "uint8",   TS_UINT8 },
    { "bool",    TS_BOOL },

    /* torch's aliases: torch.float, torch.double, torch.long, ... */
    { "float",   TS_FLOAT32 },
    { "double",  TS_FLOAT64 },
    { "half",    TS_FLOAT16 },
    { "long",    TS_INT64 },
    { "int",     TS_INT32 },
    { "short",   TS_INT16 },
    { "byte",    TS_UINT8 },
    { NULL,      0 }
};


size_t
ts_dtype_size(ts_dtype_e dtype)
{
    switch (dtype) {
    case TS_FLOAT64:
    case TS_INT64:
        return 8;
    case TS_FLOAT32:
    case TS_INT32:
        return 4;
    case TS_FLOAT16:
    case TS_INT16:
        return 2;
    case TS_INT8:
    case TS_UINT8:
    case TS_BOOL:
        return 1;
    }

    return 0;
}


const char *
ts_dtype_name(ts_dtype_e dtype)
{
    const ts_dtype_name_t  *n;

    for (n = ts_dtype_names; n->name; n++) {
        if (n->dtype == dtype) {
            return n->name;
        }
    }

    return "unknown";
}


int
ts_dtype_from_name(const char *name)
{
    const ts_dtype_name_t  *n;

    if (name == NULL) {
        return -1;
    }

    /* "torch.float32" as str(tensor.dtype) prints it */
    if (strncmp(name, "torch.", 6) == 0) {
        name += 6;
    }

    for (n = ts_dtype_names; n->name; n++) {
        if (strcmp(n->name, name) == 0) {
            return (int) n->dtype;
        }
    }

    return -1;
}


/* -1 for a malformed tensor: bad ndim, negative dimension or overflow */

int64_t
ts_tensor_numel(const ts_tensor_t *t)
{
    int      i;
    int64_t  n;

    if (t->ndim < 0 || t->ndim > TS_MAX_DIMS) {
        return -1;
    }

    n = 1;

    for (i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0
            || __builtin_mul_overflow(n, t->shape[i], &n))
        {
            return -1;
        }
    }

    return n;
}


/* 0 for a malformed tensor or one too big to address */

size_t
ts_tensor_nbytes(const ts_tensor_t *t)
{
    size_t   size, nbytes;
    int64_t  n;

    n = ts_tensor_numel(t);
    size = ts_dtype_size(t->dtype);

    if (n < 0 || size == 0 || (uint64_t) n > SIZE_MAX
        || __builtin_mul_overflow((size_t) n, size, &nbytes))
    {
        return 0;
    }

    return nbytes;
}


int
ts_tensor_alloc(ts_tensor_t *t)
{
    size_t   size;
    int64_t  n;

    n = ts_tensor_numel(t);
    size = ts_dtype_size(t->dtype);

    if (n < 0 || size == 0 || (uint64_t) n > SIZE_MAX / size) {
        return -1;
    }

    /* never NULL, even for an empty tensor: NULL means "no data" */
    t->data = calloc(n ? (size_t) n : 1, size);
    if (t->data == NULL) {
        return -1;
    }

    t->owner = NULL;
    t->release = NULL;

    return 0;
}


void
ts_tensor_clear(ts_tensor_t *t)
{
    if (t->owner) {
        if (t->release) {
            t->release(t->owner);
        }

    } else {
        free(t->data);
    }

    memset(t, 0, sizeof(ts_tensor_t));
}


double
ts_tensor_get_double(const ts_tensor_t *t, int64_t i)
{
    switch (t->dtype) {
    case TS_FLOAT32:
        return ((const float *) t->data)[i];
    case TS_FLOAT64:
        return ((const double *) t->data)[i];
    case TS_FLOAT16:
        return ts_half_to_float(((const uint16_t *) t->data)[i]);
    case TS_INT64:
        return (double) ((const int64_t *) t->data)[i];
    case TS_INT32:
        return ((const int32_t *) t->data)[i];
    case TS_INT16:
        return ((const int16_t *) t->data)[i];
    case TS_INT8:
        return ((const int8_t *) t->data)[i];
    case TS_UINT8:
        return ((const uint8_t *) t->data)[i];
    case TS_BOOL:
        return ((const uint8_t *) t->data)[i] != 0;
    }

    return 0.0;
}


/* IEEE 754 binary16 to binary32; exact, every half is a float */

float
ts_half_to_float(uint16_t h)
{
    float     f;
    uint32_t  sign, exp, mant, x;

    sign = (uint32_t) (h & 0x8000) << 16;
    exp = (h >> 10) & 0x1f;
    mant = h & 0x3ff;

    if (exp == 0x1f) {
        /* infinity or NaN, keeping the payload */
        x = sign | 0x7f800000 | (mant << 13);

    } else if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in a float */
        f = (float) mant * 0x1p-24f;
        return sign ? -f : f;

    } else {
        x = sign | ((exp + 112) << 23) | (mant << 13);
    }

    memcpy(&f, &x, sizeof(float));

    return f;
}


void
ts_value_clear(ts_value_t *v)
{
    switch (v->type) {

    case TS_VAL_STRING:
        free(v->u.str.data);
        break;

    case TS_VAL_TENSOR:
        ts_tensor_clear(&v->u.tensor);
        break;

    case TS_VAL_LIST:
    case TS_VAL_TUPLE:
        ts_value_free_items(v->u.list.items, v->u.list.n);
        break;

    case TS_VAL_DICT:
        ts_value_free_items(v->u.dict.keys, v->u.dict.n);
        ts_value_free_items(v->u.dict.values, v->u.dict.n);
        break;

    default:
        break;
    }

    memset(v, 0, sizeof(ts_value_t));
    v->type = TS_VAL_NONE;
}


/*
 * dst is overwritten, not cleared first.  On failure dst is TS_VAL_NONE
 * and nothing is leaked.  The copy of a tensor always owns malloc'd data,
 * whoever owned the original.
 */

int
ts_value_copy(ts_value_t *dst, const ts_value_t *src)
{
    size_t        nbytes;
    ts_value_t    v, *keys;
    ts_tensor_t  *t;

    memset(&v, 0, sizeof(ts_value_t));
    v.type = src->type;

    /* v owns nothing until a case succeeds, so "failed" frees nothing */

    switch (src->type) {

    case TS_VAL_NONE:
        break;

    case TS_VAL_BOOL:
        v.u.b = src->u.b;
        break;

    case TS_VAL_INT:
        v.u.i = src->u.i;
        break;

    case TS_VAL_DOUBLE:
        v.u.d = src->u.d;
        break;

    case TS_VAL_STRING:
        v.u.str.data = malloc(src->u.str.len + 1);
        if (v.u.str.data == NULL) {
            goto failed;
        }

        if (src->u.str.len) {
            memcpy(v.u.str.data, src->u.str.data, src->u.str.len);
        }

        v.u.str.data[src->u.str.len] = '\0';
        v.u.str.len = src->u.str.len;
        break;

    case TS_VAL_TENSOR:
        t = &v.u.tensor;
        t->dtype = src->u.tensor.dtype;
        t->ndim = src->u.tensor.ndim;
        memcpy(t->shape, src->u.tensor.shape, sizeof(t->shape));

        if (ts_tensor_alloc(t) != 0) {
            goto failed;
        }

        nbytes = ts_tensor_nbytes(t);

        if (nbytes && src->u.tensor.data) {
            memcpy(t->data, src->u.tensor.data, nbytes);
        }

        break;

    case TS_VAL_LIST:
    case TS_VAL_TUPLE:
        if (ts_value_copy_items(&v.u.list.items, src->u.list.items,
                                src->u.list.n)
            != 0)
        {
            goto failed;
        }

        v.u.list.n = src->u.list.n;
        break;

    case TS_VAL_DICT:
        if (ts_value_copy_items(&keys, src->u.dict.keys, src->u.dict.n)
            != 0)
        {
            goto failed;
        }

        if (ts_value_copy_items(&v.u.dict.values, src->u.dict.values,
                                src->u.dict.n)
            != 0)
        {
            ts_value_free_items(keys, src->u.dict.n);
            goto failed;
        }

        v.u.dict.keys = keys;
        v.u.dict.n = src->u.dict.n;
        break;

    default:
        goto failed;
    }

    *dst = v;

    return 0;

failed:

    memset(dst, 0, sizeof(ts_value_t));
    dst->type = TS_VAL_NONE;

    return -1;
}


/* *dst gets n deep copies of src[], or NULL when n is 0 */

static int
ts_value_copy_items(ts_value_t **dst, const ts_value_t *src, size_t n)
{
    size_t       i;
    ts_value_t  *items;

    *dst = NULL;

    if (n == 0) {
        return 0;
    }

    items = calloc(n, sizeof(ts_value_t));
    if (items == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (ts_value_copy(&items[i], &src[i]) != 0) {
            ts_value_free_items(items, i);
            return -1;
        }
    }

    *dst = items;

    return 0;
}


/* clears n items and frees the array; a NULL array is tolerated */

static void
ts_value_free_items(ts_value_t *items, size_t n)
{
    size_t  i;

    if (items == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        ts_value_clear(&items[i]);
    }

    free(items);
}


/* IEEE 754 binary32 to binary16, round to nearest even */

uint16_t
ts_half_from_float(float f)
{
    int32_t   exp;
    uint32_t  x, sign, mant, half, rem, halfway, shift;

    memcpy(&x, &f, sizeof(float));

    sign = (x >> 16) & 0x8000;
    exp = (int32_t) ((x >> 23) & 0xff);
    mant = x & 0x7fffff;

    if (exp == 0xff) {
        /* infinity, or a quiet NaN */
        return (uint16_t) (sign | 0x7c00 | (mant ? 0x200 : 0));
    }

    exp = exp - 127 + 15;

    if (exp >= 0x1f) {
        return (uint16_t) (sign | 0x7c00);
    }

    if (exp <= 0) {
        /* a half subnormal, or zero when below half of the smallest one */
        if (exp < -10) {
            return (uint16_t) sign;
        }

        mant |= 0x800000;
        shift = (uint32_t) (14 - exp);
        half = mant >> shift;
        rem = mant & ((1u << shift) - 1);
        halfway = 1u << (shift - 1);

        /* a carry into the exponent field gives the right normal half */
        if (rem > halfway || (rem == halfway && (half & 1))) {
            half++;
        }

        return (uint16_t) (sign | half);
    }

    half = sign | ((uint32_t) exp << 10) | (mant >> 13);
    rem = mant & 0x1fff;

    /* a carry may reach the infinity encoding, which is right */
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) {
        half++;
    }

    return (uint16_t) half;
}
