/*
 * ts_value.h: plain C tensors and values exchanged with the libtorch shim
 * and the handlers.  No nginx, no C++.
 *
 * Ownership: every pointer inside a ts_value_t is owned by that value and
 * released by ts_value_clear().  Buffers are malloc'd, unless a tensor
 * carries a release callback (then data belongs to its owner).
 */

#ifndef TS_VALUE_H
#define TS_VALUE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TS_MAX_DIMS  8


typedef enum {
    TS_FLOAT32 = 0,
    TS_FLOAT64,
    TS_FLOAT16,
    TS_INT64,
    TS_INT32,
    TS_INT16,
    TS_INT8,
    TS_UINT8,
    TS_BOOL
} ts_dtype_e;


typedef struct {
    ts_dtype_e   dtype;
    int          ndim;
    int64_t      shape[TS_MAX_DIMS];
    void        *data;        /* contiguous, row-major */
    void        *owner;       /* NULL: data is malloc'd */
    void       (*release)(void *owner);
} ts_tensor_t;


typedef enum {
    TS_VAL_NONE = 0,
    TS_VAL_BOOL,
    TS_VAL_INT,
    TS_VAL_DOUBLE,
    TS_VAL_STRING,
    TS_VAL_TENSOR,
    TS_VAL_LIST,
    TS_VAL_TUPLE,
    TS_VAL_DICT
} ts_value_type_e;


typedef struct ts_value_s  ts_value_t;

struct ts_value_s {
    ts_value_type_e  type;
    union {
        int          b;
        int64_t      i;
        double       d;
        struct {
            char    *data;       /* NUL-terminated, len excludes the NUL */
            size_t   len;
        } str;
        ts_tensor_t  tensor;
        struct {                 /* TS_VAL_LIST and TS_VAL_TUPLE */
            ts_value_t  *items;
            size_t       n;
        } list;
        struct {
            ts_value_t  *keys;
            ts_value_t  *values;
            size_t       n;
        } dict;
    } u;
};


size_t ts_dtype_size(ts_dtype_e dtype);
const char *ts_dtype_name(ts_dtype_e dtype);
/* "float32", "float", "int64", "long", ... ; returns -1 when unknown */
int ts_dtype_from_name(const char *name);

int64_t ts_tensor_numel(const ts_tensor_t *t);
size_t ts_tensor_nbytes(const ts_tensor_t *t);
/* allocates zeroed data for t->dtype and t->shape; 0 on success */
int ts_tensor_alloc(ts_tensor_t *t);
void ts_tensor_clear(ts_tensor_t *t);
/* element at flat index i, converted to double */
double ts_tensor_get_double(const ts_tensor_t *t, int64_t i);

/* float16 (IEEE 754 binary16, as torch stores it) to and from float:
 * exact one way, rounded to nearest even the other, as torch converts */
uint16_t ts_half_from_float(float f);
float ts_half_to_float(uint16_t h);

/* releases everything the value owns and leaves it TS_VAL_NONE */
void ts_value_clear(ts_value_t *v);
/* deep copy; 0 on success */
int ts_value_copy(ts_value_t *dst, const ts_value_t *src);

#ifdef __cplusplus
}
#endif

#endif /* TS_VALUE_H */
