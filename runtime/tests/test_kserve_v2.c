/*
 * test_kserve_v2.c: the KServe v2 answer joins the rows' values back into
 * the protocol's outputs (ts_kserve_v2_answer, cmocka).
 *
 * A model whose output is a list as long as the batch gives each row its
 * own item, and TorchScript's List[Tuple[Tensor, Optional[Tensor]]] may
 * hold None in one row where the first row has a tensor.  The join used
 * to read that None as a tensor (a NULL data pointer: the worker crashed,
 * found by fuzz/targets/fuzz_kserve.c); it is refused as rows that differ.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ts_kserve_int.h"


/* (a float32 tensor [v], a 0-dim float32 v or None when v < 0) */
static void
test_row(ts_value_t *row, float v)
{
    ts_value_t  *pair;

    memset(row, 0, sizeof(ts_value_t));
    row->type = TS_VAL_TUPLE;
    row->u.list.items = calloc(2, sizeof(ts_value_t));
    assert_non_null(row->u.list.items);
    row->u.list.n = 2;

    pair = row->u.list.items;

    pair[0].type = TS_VAL_TENSOR;
    pair[0].u.tensor.dtype = TS_FLOAT32;
    pair[0].u.tensor.ndim = 1;
    pair[0].u.tensor.shape[0] = 1;
    assert_int_equal(ts_tensor_alloc(&pair[0].u.tensor), 0);
    ((float *) pair[0].u.tensor.data)[0] = v;

    if (v < 0) {
        return;                                 /* None */
    }

    pair[1].type = TS_VAL_TENSOR;
    pair[1].u.tensor.dtype = TS_FLOAT32;
    assert_int_equal(ts_tensor_alloc(&pair[1].u.tensor), 0);
    ((float *) pair[1].u.tensor.data)[0] = v;
}


static void
test_answer(float second, ts_request_t *req)
{
    ts_value_t       values[2];
    ts_servable_t    s;
    ts_kserve_v2_t   v2;

    memset(&s, 0, sizeof(ts_servable_t));
    s.options.model_name = "m";
    s.options.model_version = "1.0";

    memset(&v2, 0, sizeof(ts_kserve_v2_t));
    memset(req, 0, sizeof(ts_request_t));

    test_row(&values[0], 1.5f);
    test_row(&values[1], second);

    ts_kserve_v2_answer(&s, req, &v2, values, 2);

    ts_value_clear(&values[0]);
    ts_value_clear(&values[1]);
}


static void
test_rows_join(void **state)
{
    ts_request_t  req;

    (void) state;

    test_answer(2.5f, &req);

    assert_int_equal(req.status, TS_STATUS_OK);
    assert_non_null(req.response);
    assert_non_null(strstr(req.response,
                           "{\"name\":\"output-1\",\"datatype\":\"FP32\","
                           "\"shape\":[2],\"data\":[1.5,2.5]}"));

    free(req.response);
    free(req.response_type);
}


static void
test_none_in_a_later_row(void **state)
{
    ts_request_t  req;

    (void) state;

    test_answer(-1.0f, &req);

    assert_int_equal(req.status, TS_STATUS_INTERNAL);
    assert_null(req.response);
    assert_non_null(strstr(req.error, "differ in shape from row to row"));
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_join),
        cmocka_unit_test(test_none_in_a_later_row),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
