/*
 * test_value.c: dtypes, tensors and ts_value_t (cmocka).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ts_value.h"


typedef struct {
    int   calls;
    void *data;
} test_owner_t;


static void
test_release(void *owner)
{
    test_owner_t  *o = owner;

    o->calls++;
    free(o->data);
    o->data = NULL;
}


static void
test_set_string(ts_value_t *v, const char *s)
{
    v->type = TS_VAL_STRING;
    v->u.str.len = strlen(s);
    v->u.str.data = strdup(s);
    assert_non_null(v->u.str.data);
}


static void
test_set_tensor(ts_value_t *v, ts_dtype_e dtype, int ndim, int64_t d0,
    int64_t d1)
{
    memset(v, 0, sizeof(ts_value_t));
    v->type = TS_VAL_TENSOR;
    v->u.tensor.dtype = dtype;
    v->u.tensor.ndim = ndim;
    v->u.tensor.shape[0] = d0;
    v->u.tensor.shape[1] = d1;
    assert_int_equal(ts_tensor_alloc(&v->u.tensor), 0);
}


static void
test_dtype_names(void **state)
{
    int  d;

    (void) state;

    for (d = TS_FLOAT32; d <= TS_BOOL; d++) {
        assert_int_equal(ts_dtype_from_name(ts_dtype_name(d)), d);
    }

    assert_string_equal(ts_dtype_name(TS_FLOAT32), "float32");
    assert_string_equal(ts_dtype_name(TS_FLOAT64), "float64");
    assert_string_equal(ts_dtype_name(TS_FLOAT16), "float16");
    assert_string_equal(ts_dtype_name(TS_INT64), "int64");
    assert_string_equal(ts_dtype_name(TS_INT32), "int32");
    assert_string_equal(ts_dtype_name(TS_INT16), "int16");
    assert_string_equal(ts_dtype_name(TS_INT8), "int8");
    assert_string_equal(ts_dtype_name(TS_UINT8), "uint8");
    assert_string_equal(ts_dtype_name(TS_BOOL), "bool");
    assert_string_equal(ts_dtype_name((ts_dtype_e) 99), "unknown");

    /* torch's spellings */
    assert_int_equal(ts_dtype_from_name("float"), TS_FLOAT32);
    assert_int_equal(ts_dtype_from_name("double"), TS_FLOAT64);
    assert_int_equal(ts_dtype_from_name("half"), TS_FLOAT16);
    assert_int_equal(ts_dtype_from_name("long"), TS_INT64);
    assert_int_equal(ts_dtype_from_name("int"), TS_INT32);
    assert_int_equal(ts_dtype_from_name("short"), TS_INT16);
    assert_int_equal(ts_dtype_from_name("byte"), TS_UINT8);
    assert_int_equal(ts_dtype_from_name("torch.float32"), TS_FLOAT32);
    assert_int_equal(ts_dtype_from_name("torch.long"), TS_INT64);
    assert_int_equal(ts_dtype_from_name("torch.bool"), TS_BOOL);
    assert_int_equal(ts_dtype_from_name("torch.int8"), TS_INT8);

    assert_int_equal(ts_dtype_from_name("float128"), -1);
    assert_int_equal(ts_dtype_from_name("Float"), -1);
    assert_int_equal(ts_dtype_from_name("torch."), -1);
    assert_int_equal(ts_dtype_from_name(""), -1);
    assert_int_equal(ts_dtype_from_name("bfloat16"), -1);
    assert_int_equal(ts_dtype_from_name(NULL), -1);
}


static void
test_dtype_sizes(void **state)
{
    (void) state;

    assert_int_equal(ts_dtype_size(TS_FLOAT32), 4);
    assert_int_equal(ts_dtype_size(TS_FLOAT64), 8);
    assert_int_equal(ts_dtype_size(TS_FLOAT16), 2);
    assert_int_equal(ts_dtype_size(TS_INT64), 8);
    assert_int_equal(ts_dtype_size(TS_INT32), 4);
    assert_int_equal(ts_dtype_size(TS_INT16), 2);
    assert_int_equal(ts_dtype_size(TS_INT8), 1);
    assert_int_equal(ts_dtype_size(TS_UINT8), 1);
    assert_int_equal(ts_dtype_size(TS_BOOL), 1);
    assert_int_equal(ts_dtype_size((ts_dtype_e) 99), 0);
}


static void
test_numel_nbytes(void **state)
{
    int          i;
    ts_tensor_t  t;

    (void) state;

    memset(&t, 0, sizeof(t));

    /* 0-dim: a scalar */
    t.dtype = TS_FLOAT64;
    assert_int_equal(ts_tensor_numel(&t), 1);
    assert_int_equal(ts_tensor_nbytes(&t), 8);

    t.ndim = 3;
    t.shape[0] = 2;
    t.shape[1] = 3;
    t.shape[2] = 4;
    assert_int_equal(ts_tensor_numel(&t), 24);
    assert_int_equal(ts_tensor_nbytes(&t), 192);

    t.dtype = TS_FLOAT16;
    assert_int_equal(ts_tensor_nbytes(&t), 48);

    t.shape[1] = 0;
    assert_int_equal(ts_tensor_numel(&t), 0);
    assert_int_equal(ts_tensor_nbytes(&t), 0);

    t.shape[1] = -1;
    assert_int_equal(ts_tensor_numel(&t), -1);
    assert_int_equal(ts_tensor_nbytes(&t), 0);

    /* 2^63 elements: overflow */
    t.ndim = TS_MAX_DIMS;
    for (i = 0; i < TS_MAX_DIMS; i++) {
        t.shape[i] = 256;
    }

    assert_int_equal(ts_tensor_numel(&t), -1);

    /* fits int64, not in bytes */
    t.shape[0] = 127;
    t.dtype = TS_INT64;
    assert_true(ts_tensor_numel(&t) > 0);
    assert_int_equal(ts_tensor_nbytes(&t), 0);

    t.ndim = TS_MAX_DIMS + 1;
    assert_int_equal(ts_tensor_numel(&t), -1);

    t.ndim = -1;
    assert_int_equal(ts_tensor_numel(&t), -1);
}


static void
test_alloc_clear(void **state)
{
    int           i;
    ts_tensor_t   t;
    const float  *f;

    (void) state;

    memset(&t, 0, sizeof(t));
    t.dtype = TS_FLOAT32;
    t.ndim = 2;
    t.shape[0] = 3;
    t.shape[1] = 5;

    assert_int_equal(ts_tensor_alloc(&t), 0);
    assert_non_null(t.data);
    assert_null(t.owner);

    f = t.data;
    for (i = 0; i < 15; i++) {
        assert_true(f[i] == 0.0f);
    }

    ts_tensor_clear(&t);
    assert_null(t.data);
    assert_int_equal(t.ndim, 0);

    /* an empty tensor still gets a pointer */
    t.dtype = TS_INT64;
    t.ndim = 1;
    t.shape[0] = 0;
    assert_int_equal(ts_tensor_alloc(&t), 0);
    assert_non_null(t.data);
    ts_tensor_clear(&t);

    /* 0-dim */
    t.dtype = TS_BOOL;
    assert_int_equal(ts_tensor_alloc(&t), 0);
    assert_int_equal(((uint8_t *) t.data)[0], 0);
    ts_tensor_clear(&t);

    t.ndim = 1;
    t.shape[0] = -3;
    assert_int_equal(ts_tensor_alloc(&t), -1);
    assert_null(t.data);

    t.shape[0] = 4;
    t.dtype = (ts_dtype_e) 42;
    assert_int_equal(ts_tensor_alloc(&t), -1);

    /* clearing twice is harmless */
    ts_tensor_clear(&t);
    ts_tensor_clear(&t);
}


static void
test_clear_owner(void **state)
{
    ts_tensor_t   t;
    test_owner_t  owner;

    (void) state;

    memset(&t, 0, sizeof(t));
    owner.calls = 0;
    owner.data = malloc(16);
    assert_non_null(owner.data);

    t.dtype = TS_INT32;
    t.ndim = 1;
    t.shape[0] = 4;
    t.data = owner.data;
    t.owner = &owner;
    t.release = test_release;

    /* the owner frees the data, not ts_tensor_clear() */
    ts_tensor_clear(&t);

    assert_int_equal(owner.calls, 1);
    assert_null(owner.data);
    assert_null(t.data);
    assert_null(t.owner);
    assert_null(t.release);
}


static void
test_get_double(void **state)
{
    ts_tensor_t      t;
    static float     f32[] = { 0.1f, -2.5f };
    static double    f64[] = { 0.1, -1e300 };
    static uint16_t  f16[] = { 0x3c00, 0xc000, 0x7c00, 0xfc00, 0x0001,
                               0x7bff, 0x2e66, 0x7e00, 0x8000 };
    static int64_t   i64[] = { INT64_MAX, -3 };
    static int32_t   i32[] = { INT32_MIN, 7 };
    static int16_t   i16[] = { -300, 300 };
    static int8_t    i8[] = { -128, 127 };
    static uint8_t   u8[] = { 255, 0 };
    static uint8_t   b[] = { 0, 1, 2 };

    (void) state;

    memset(&t, 0, sizeof(t));
    t.ndim = 1;

    t.dtype = TS_FLOAT32;
    t.data = f32;
    assert_true(ts_tensor_get_double(&t, 0) == (double) 0.1f);
    assert_true(ts_tensor_get_double(&t, 1) == -2.5);

    t.dtype = TS_FLOAT64;
    t.data = f64;
    assert_true(ts_tensor_get_double(&t, 0) == 0.1);
    assert_true(ts_tensor_get_double(&t, 1) == -1e300);

    t.dtype = TS_FLOAT16;
    t.data = f16;
    assert_true(ts_tensor_get_double(&t, 0) == 1.0);
    assert_true(ts_tensor_get_double(&t, 1) == -2.0);
    assert_true(isinf(ts_tensor_get_double(&t, 2)));
    assert_true(ts_tensor_get_double(&t, 2) > 0);
    assert_true(isinf(ts_tensor_get_double(&t, 3)));
    assert_true(ts_tensor_get_double(&t, 3) < 0);
    assert_true(ts_tensor_get_double(&t, 4) == ldexp(1.0, -24));
    assert_true(ts_tensor_get_double(&t, 5) == 65504.0);
    assert_true(ts_tensor_get_double(&t, 6) == 0.0999755859375);
    assert_true(isnan(ts_tensor_get_double(&t, 7)));
    assert_true(ts_tensor_get_double(&t, 8) == 0.0);
    assert_true(signbit(ts_tensor_get_double(&t, 8)));

    t.dtype = TS_INT64;
    t.data = i64;
    assert_true(ts_tensor_get_double(&t, 0) == 9223372036854775807.0);
    assert_true(ts_tensor_get_double(&t, 1) == -3.0);

    t.dtype = TS_INT32;
    t.data = i32;
    assert_true(ts_tensor_get_double(&t, 0) == -2147483648.0);
    assert_true(ts_tensor_get_double(&t, 1) == 7.0);

    t.dtype = TS_INT16;
    t.data = i16;
    assert_true(ts_tensor_get_double(&t, 0) == -300.0);

    t.dtype = TS_INT8;
    t.data = i8;
    assert_true(ts_tensor_get_double(&t, 0) == -128.0);
    assert_true(ts_tensor_get_double(&t, 1) == 127.0);

    t.dtype = TS_UINT8;
    t.data = u8;
    assert_true(ts_tensor_get_double(&t, 0) == 255.0);

    t.dtype = TS_BOOL;
    t.data = b;
    assert_true(ts_tensor_get_double(&t, 0) == 0.0);
    assert_true(ts_tensor_get_double(&t, 1) == 1.0);
    assert_true(ts_tensor_get_double(&t, 2) == 1.0);
}


/*
 * {"name": "x", "items": [1, 2.5, None, (True, tensor[2,3])], "empty": []}
 * with the tensor's data optionally owned by test_owner_t.
 */

static void
test_build(ts_value_t *v, test_owner_t *owner)
{
    ts_value_t   *items, *tuple;
    ts_tensor_t  *t;

    memset(v, 0, sizeof(ts_value_t));
    v->type = TS_VAL_DICT;
    v->u.dict.n = 3;
    v->u.dict.keys = calloc(3, sizeof(ts_value_t));
    v->u.dict.values = calloc(3, sizeof(ts_value_t));
    assert_non_null(v->u.dict.keys);
    assert_non_null(v->u.dict.values);

    test_set_string(&v->u.dict.keys[0], "name");
    test_set_string(&v->u.dict.values[0], "x");
    test_set_string(&v->u.dict.keys[1], "items");
    test_set_string(&v->u.dict.keys[2], "empty");
    v->u.dict.values[2].type = TS_VAL_LIST;

    items = calloc(4, sizeof(ts_value_t));
    assert_non_null(items);
    v->u.dict.values[1].type = TS_VAL_LIST;
    v->u.dict.values[1].u.list.items = items;
    v->u.dict.values[1].u.list.n = 4;

    items[0].type = TS_VAL_INT;
    items[0].u.i = 1;
    items[1].type = TS_VAL_DOUBLE;
    items[1].u.d = 2.5;
    items[2].type = TS_VAL_NONE;

    tuple = calloc(2, sizeof(ts_value_t));
    assert_non_null(tuple);
    items[3].type = TS_VAL_TUPLE;
    items[3].u.list.items = tuple;
    items[3].u.list.n = 2;

    tuple[0].type = TS_VAL_BOOL;
    tuple[0].u.b = 1;

    if (owner == NULL) {
        test_set_tensor(&tuple[1], TS_FLOAT32, 2, 2, 3);
        ((float *) tuple[1].u.tensor.data)[5] = 6.5f;
        return;
    }

    tuple[1].type = TS_VAL_TENSOR;
    t = &tuple[1].u.tensor;
    t->dtype = TS_FLOAT32;
    t->ndim = 2;
    t->shape[0] = 2;
    t->shape[1] = 3;
    owner->calls = 0;
    owner->data = calloc(6, sizeof(float));
    assert_non_null(owner->data);
    ((float *) owner->data)[5] = 6.5f;
    t->data = owner->data;
    t->owner = owner;
    t->release = test_release;
}


static void
test_value_clear(void **state)
{
    ts_value_t    v;
    test_owner_t  owner;

    (void) state;

    /* valgrind proves every level is freed */
    test_build(&v, NULL);
    ts_value_clear(&v);
    assert_int_equal(v.type, TS_VAL_NONE);

    test_build(&v, &owner);
    ts_value_clear(&v);
    assert_int_equal(v.type, TS_VAL_NONE);
    assert_int_equal(owner.calls, 1);

    /* scalars and an empty string */
    v.type = TS_VAL_INT;
    v.u.i = 5;
    ts_value_clear(&v);
    assert_int_equal(v.type, TS_VAL_NONE);

    test_set_string(&v, "");
    ts_value_clear(&v);
    ts_value_clear(&v);
    assert_int_equal(v.type, TS_VAL_NONE);
}


static void
test_value_copy(void **state)
{
    ts_value_t    src, dst, *items, *tuple;
    test_owner_t  owner;
    ts_tensor_t  *t;

    (void) state;

    test_build(&src, &owner);

    assert_int_equal(ts_value_copy(&dst, &src), 0);

    assert_int_equal(dst.type, TS_VAL_DICT);
    assert_int_equal(dst.u.dict.n, 3);
    assert_ptr_not_equal(dst.u.dict.keys, src.u.dict.keys);
    assert_string_equal(dst.u.dict.keys[0].u.str.data, "name");
    assert_int_equal(dst.u.dict.keys[0].u.str.len, 4);
    assert_ptr_not_equal(dst.u.dict.keys[0].u.str.data,
                         src.u.dict.keys[0].u.str.data);
    assert_string_equal(dst.u.dict.values[0].u.str.data, "x");
    assert_int_equal(dst.u.dict.values[2].type, TS_VAL_LIST);
    assert_int_equal(dst.u.dict.values[2].u.list.n, 0);

    items = dst.u.dict.values[1].u.list.items;
    assert_int_equal(dst.u.dict.values[1].u.list.n, 4);
    assert_int_equal(items[0].type, TS_VAL_INT);
    assert_int_equal(items[0].u.i, 1);
    assert_true(items[1].u.d == 2.5);
    assert_int_equal(items[2].type, TS_VAL_NONE);
    assert_int_equal(items[3].type, TS_VAL_TUPLE);

    tuple = items[3].u.list.items;
    assert_int_equal(tuple[0].type, TS_VAL_BOOL);
    assert_int_equal(tuple[0].u.b, 1);

    /* the copy owns malloc'd data, whoever owned the original */
    t = &tuple[1].u.tensor;
    assert_int_equal(t->dtype, TS_FLOAT32);
    assert_int_equal(t->ndim, 2);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[1], 3);
    assert_null(t->owner);
    assert_null(t->release);
    assert_ptr_not_equal(t->data, owner.data);
    assert_true(((float *) t->data)[5] == 6.5f);

    /* independent: changing the original leaves the copy alone */
    ((float *) owner.data)[5] = 1.0f;
    src.u.dict.keys[0].u.str.data[0] = 'N';
    assert_true(((float *) t->data)[5] == 6.5f);
    assert_string_equal(dst.u.dict.keys[0].u.str.data, "name");

    ts_value_clear(&src);
    assert_int_equal(owner.calls, 1);

    ts_value_clear(&dst);
    assert_int_equal(owner.calls, 1);
    assert_int_equal(dst.type, TS_VAL_NONE);
}


static void
test_value_copy_scalars(void **state)
{
    ts_value_t  src, dst;

    (void) state;

    memset(&src, 0, sizeof(src));

    assert_int_equal(ts_value_copy(&dst, &src), 0);
    assert_int_equal(dst.type, TS_VAL_NONE);

    src.type = TS_VAL_DOUBLE;
    src.u.d = -0.5;
    assert_int_equal(ts_value_copy(&dst, &src), 0);
    assert_int_equal(dst.type, TS_VAL_DOUBLE);
    assert_true(dst.u.d == -0.5);

    /* a string with a NUL inside keeps its length */
    src.type = TS_VAL_STRING;
    src.u.str.data = malloc(4);
    assert_non_null(src.u.str.data);
    memcpy(src.u.str.data, "a\0b", 4);
    src.u.str.len = 3;
    assert_int_equal(ts_value_copy(&dst, &src), 0);
    assert_int_equal(dst.u.str.len, 3);
    assert_memory_equal(dst.u.str.data, "a\0b", 4);
    ts_value_clear(&dst);
    ts_value_clear(&src);

    /* 0-dim and empty tensors */
    test_set_tensor(&src, TS_INT64, 0, 0, 0);
    ((int64_t *) src.u.tensor.data)[0] = -7;
    assert_int_equal(ts_value_copy(&dst, &src), 0);
    assert_int_equal(dst.u.tensor.ndim, 0);
    assert_int_equal(((int64_t *) dst.u.tensor.data)[0], -7);
    ts_value_clear(&dst);
    ts_value_clear(&src);

    test_set_tensor(&src, TS_FLOAT32, 2, 4, 0);
    assert_int_equal(ts_value_copy(&dst, &src), 0);
    assert_int_equal(dst.u.tensor.shape[0], 4);
    assert_int_equal(dst.u.tensor.shape[1], 0);
    assert_non_null(dst.u.tensor.data);
    ts_value_clear(&dst);
    ts_value_clear(&src);

    /* an empty dict */
    src.type = TS_VAL_DICT;
    assert_int_equal(ts_value_copy(&dst, &src), 0);
    assert_int_equal(dst.type, TS_VAL_DICT);
    assert_int_equal(dst.u.dict.n, 0);
    ts_value_clear(&dst);

    /* garbage type: refused, dst left NONE */
    src.type = (ts_value_type_e) 77;
    dst.type = TS_VAL_INT;
    assert_int_equal(ts_value_copy(&dst, &src), -1);
    assert_int_equal(dst.type, TS_VAL_NONE);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_dtype_names),
        cmocka_unit_test(test_dtype_sizes),
        cmocka_unit_test(test_numel_nbytes),
        cmocka_unit_test(test_alloc_clear),
        cmocka_unit_test(test_clear_owner),
        cmocka_unit_test(test_get_double),
        cmocka_unit_test(test_value_clear),
        cmocka_unit_test(test_value_copy),
        cmocka_unit_test(test_value_copy_scalars),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
