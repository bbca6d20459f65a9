/*
 * ts_handler_tensor.c: the "tensor" handler, raw JSON tensors in and out.
 *
 * TorchServe's batching contract: a request body is ONE instance without
 * the batch dimension (a nested list, {"data": ...} or {"inputs": ...}).
 * Instances of the same shape are stacked along a new first dimension,
 * forward runs once, and each request gets its own row of the output:
 *   tensor whose first dimension is the batch -> its row, other tensors
 *   whole; tuple -> each element split; list as long as the batch -> its
 *   item, other lists -> each element split; dict -> each value split;
 *   str/int/float/bool/None -> as is.
 *
 * Models with several arguments take a JSON object keyed by argument
 * name.  Tensors are float32 unless the model's input dtype is configured
 * or every value is a boolean; non-tensor arguments follow the schema
 * (int, float, bool, str, List[int], List[float]).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ts_handler.h"
#include "ts_json.h"


typedef struct {
    ts_value_t  args[TS_SCHEMA_MAX_ARGS];
    size_t      nargs;
} ts_tensor_instance_t;


static int
ts_tensor_init(ts_servable_t *s, char *err, size_t errlen)
{
    size_t            i;
    ts_schema_arg_t  *a;

    if (s->schema.nargs == 0) {
        snprintf(err, errlen,
                 "the tensor handler needs a forward() with at least one "
                 "argument");
        return -1;
    }

    for (i = 0; i < s->schema.nargs; i++) {
        a = &s->schema.args[i];

        if (a->kind == TS_ARG_TENSOR_LIST || a->kind == TS_ARG_OTHER) {
            snprintf(err, errlen,
                     "the tensor handler cannot feed forward's argument "
                     "\"%s: %s\"", a->name, a->type_str);
            return -1;
        }
    }

    return 0;
}


static int
ts_tensor_arg_from_json(ts_servable_t *s, const ts_schema_arg_t *a,
    json_t *j, ts_value_t *v, char *err, size_t errlen)
{
    int     dtype;
    size_t  i;
    char    msg[TS_ERROR_LEN];

    memset(v, 0, sizeof(*v));

    switch (a->kind) {

    case TS_ARG_TENSOR:
        dtype = s->options.input_dtype;
        if (dtype < 0) {
            dtype = ts_json_all_bool(j) ? TS_BOOL : TS_FLOAT32;
        }

        if (ts_json_to_tensor(j, (ts_dtype_e) dtype, &v->u.tensor, msg,
                              sizeof(msg))
            != 0)
        {
            snprintf(err, errlen, "argument \"%s\": %s", a->name, msg);
            return -1;
        }

        v->type = TS_VAL_TENSOR;
        return 0;

    case TS_ARG_INT:
        if (!json_is_integer(j)) {
            break;
        }
        v->type = TS_VAL_INT;
        v->u.i = json_integer_value(j);
        return 0;

    case TS_ARG_FLOAT:
        if (!json_is_number(j)) {
            break;
        }
        v->type = TS_VAL_DOUBLE;
        v->u.d = json_number_value(j);
        return 0;

    case TS_ARG_BOOL:
        if (!json_is_boolean(j)) {
            break;
        }
        v->type = TS_VAL_BOOL;
        v->u.b = json_is_true(j);
        return 0;

    case TS_ARG_STRING:
        if (!json_is_string(j)) {
            break;
        }
        v->u.str.len = json_string_length(j);
        v->u.str.data = malloc(v->u.str.len + 1);
        if (v->u.str.data == NULL) {
            snprintf(err, errlen, "no memory");
            return -1;
        }
        memcpy(v->u.str.data, json_string_value(j), v->u.str.len + 1);
        v->type = TS_VAL_STRING;
        return 0;

    case TS_ARG_INT_LIST:
    case TS_ARG_FLOAT_LIST:
        if (!json_is_array(j)) {
            break;
        }

        v->type = TS_VAL_LIST;
        v->u.list.items = calloc(json_array_size(j) + 1, sizeof(ts_value_t));
        if (v->u.list.items == NULL) {
            snprintf(err, errlen, "no memory");
            return -1;
        }

        for (i = 0; i < json_array_size(j); i++) {
            json_t  *e = json_array_get(j, i);

            if (a->kind == TS_ARG_INT_LIST ? !json_is_integer(e)
                                           : !json_is_number(e))
            {
                ts_value_clear(v);
                goto mismatch;
            }

            if (a->kind == TS_ARG_INT_LIST) {
                v->u.list.items[i].type = TS_VAL_INT;
                v->u.list.items[i].u.i = json_integer_value(e);
            } else {
                v->u.list.items[i].type = TS_VAL_DOUBLE;
                v->u.list.items[i].u.d = json_number_value(e);
            }

            v->u.list.n = i + 1;
        }

        return 0;

    default:
        break;
    }

mismatch:

    snprintf(err, errlen, "argument \"%s\" expects %s", a->name, a->type_str);
    return -1;
}


/* the instance's forward arguments, without the batch dimension */
static int
ts_tensor_instance(ts_servable_t *s, ts_request_t *req,
    ts_tensor_instance_t *inst)
{
    json_t                 *body, *j, *obj;
    size_t                  i, required;
    const ts_schema_arg_t  *a;
    int                     rc;

    memset(inst, 0, sizeof(*inst));

    if (req->args != NULL) {
        /* decoded already (a KServe v2 tensor's row) */
        for (i = 0; i < req->nargs && i < TS_SCHEMA_MAX_ARGS; i++) {
            if (ts_value_copy(&inst->args[i], &req->args[i]) != 0) {
                snprintf(req->error, TS_ERROR_LEN, "no memory");
                rc = -1;
                goto fail;
            }

            inst->nargs = i + 1;
        }

        return 0;
    }

    if (req->len == 0) {
        snprintf(req->error, TS_ERROR_LEN,
                 "the request body is empty: send one instance as JSON");
        return -1;
    }

    required = 0;
    for (i = 0; i < s->schema.nargs; i++) {
        if (!s->schema.args[i].has_default) {
            required = i + 1;
        }
    }

    /* the usual body, a float tensor, without a jansson tree */
    if ((s->schema.nargs == 1 || required <= 1)
        && s->schema.args[0].kind == TS_ARG_TENSOR
        && (s->options.input_dtype < 0
            || s->options.input_dtype == TS_FLOAT32)
        && ts_json_fast_float32(req->body, req->len,
                                &inst->args[0].u.tensor))
    {
        inst->args[0].type = TS_VAL_TENSOR;
        inst->nargs = 1;
        return 0;
    }

    body = ts_json_load(req->body, req->len, req->error, TS_ERROR_LEN);
    if (body == NULL) {
        return -1;
    }

    obj = ts_json_unwrap_instance(body);
    j = obj;
    rc = -1;

    if (s->schema.nargs == 1 || (required <= 1 && !json_is_object(j))) {
        /* the body is the first argument itself */
        if (ts_tensor_arg_from_json(s, &s->schema.args[0], j,
                                    &inst->args[0], req->error, TS_ERROR_LEN)
            != 0)
        {
            goto done;
        }

        inst->nargs = 1;
        rc = 0;
        goto done;
    }

    if (!json_is_object(j)) {
        snprintf(req->error, TS_ERROR_LEN,
                 "this model's forward takes %d arguments: send a JSON "
                 "object keyed by argument name", (int) s->schema.nargs);
        goto done;
    }

    for (i = 0; i < s->schema.nargs; i++) {
        a = &s->schema.args[i];
        j = json_object_get(obj, a->name);

        if (j == NULL) {
            if (i >= required) {
                /* trailing arguments keep their defaults */
                break;
            }

            snprintf(req->error, TS_ERROR_LEN, "missing argument \"%s\"",
                     a->name);
            goto done;
        }

        if (ts_tensor_arg_from_json(s, a, j, &inst->args[i], req->error,
                                    TS_ERROR_LEN)
            != 0)
        {
            goto done;
        }

        inst->nargs = i + 1;
    }

    rc = 0;

done:

    json_decref(body);

fail:

    if (rc != 0) {
        for (i = 0; i < inst->nargs; i++) {
            ts_value_clear(&inst->args[i]);
        }
        inst->nargs = 0;
    }

    return rc;
}


static int
ts_tensor_shape_matches(const ts_tensor_t *t, int ndim, const int64_t *shape)
{
    return t->ndim == ndim
           && memcmp(t->shape, shape, ndim * sizeof(int64_t)) == 0;
}


static void
ts_tensor_shape_str(int ndim, const int64_t *shape, char *buf, size_t len)
{
    size_t  off;
    int     i;

    off = snprintf(buf, len, "[");
    for (i = 0; i < ndim && off < len; i++) {
        off += snprintf(buf + off, len - off, "%s%lld", i ? ", " : "",
                        (long long) shape[i]);
    }
    if (off < len) {
        snprintf(buf + off, len - off, "]");
    }
}


static int
ts_value_equal(const ts_value_t *a, const ts_value_t *b)
{
    size_t  i;

    if (a->type != b->type) {
        return 0;
    }

    switch (a->type) {
    case TS_VAL_TENSOR:
        return a->u.tensor.dtype == b->u.tensor.dtype
               && ts_tensor_shape_matches(&a->u.tensor, b->u.tensor.ndim,
                                          b->u.tensor.shape);
    case TS_VAL_INT:
        return a->u.i == b->u.i;
    case TS_VAL_DOUBLE:
        return a->u.d == b->u.d;
    case TS_VAL_BOOL:
        return a->u.b == b->u.b;
    case TS_VAL_STRING:
        return a->u.str.len == b->u.str.len
               && memcmp(a->u.str.data, b->u.str.data, a->u.str.len) == 0;
    case TS_VAL_LIST:
        if (a->u.list.n != b->u.list.n) {
            return 0;
        }
        for (i = 0; i < a->u.list.n; i++) {
            if (!ts_value_equal(&a->u.list.items[i], &b->u.list.items[i])) {
                return 0;
            }
        }
        return 1;
    default:
        return 1;
    }
}


/* stacks tensors along a new first dimension; other arguments as is */
static int
ts_tensor_stack(ts_tensor_instance_t *insts, ts_batch_t *batch, char *err,
    size_t errlen)
{
    size_t        a, r, nbytes;
    ts_tensor_t  *first, *t;

    batch->nargs = insts[0].nargs;

    for (a = 0; a < batch->nargs; a++) {
        if (insts[0].args[a].type != TS_VAL_TENSOR) {
            if (ts_value_copy(&batch->args[a], &insts[0].args[a]) != 0) {
                snprintf(err, errlen, "no memory");
                return -1;
            }
            continue;
        }

        first = &insts[0].args[a].u.tensor;

        if (first->ndim + 1 > TS_MAX_DIMS) {
            snprintf(err, errlen, "input has too many dimensions");
            return -1;
        }

        batch->args[a].type = TS_VAL_TENSOR;
        t = &batch->args[a].u.tensor;
        t->dtype = first->dtype;
        t->ndim = first->ndim + 1;
        t->shape[0] = (int64_t) batch->nrows;
        memcpy(&t->shape[1], first->shape, first->ndim * sizeof(int64_t));

        if (ts_tensor_alloc(t) != 0) {
            snprintf(err, errlen, "no memory for a batch of %d",
                     (int) batch->nrows);
            return -1;
        }

        nbytes = ts_tensor_nbytes(first);

        for (r = 0; r < batch->nrows; r++) {
            memcpy((char *) t->data + r * nbytes,
                   insts[r].args[a].u.tensor.data, nbytes);
        }
    }

    return 0;
}


static int
ts_tensor_preprocess(ts_servable_t *s, ts_request_t *reqs, size_t n,
    ts_batch_t *batch, char *err, size_t errlen)
{
    size_t                 i, a, k, count;
    ts_tensor_instance_t  *insts, inst;
    ts_tensor_t           *t;
    char                   got[96], want[96];
    int                    compatible, rc, stackable;

    insts = calloc(n, sizeof(ts_tensor_instance_t));
    if (insts == NULL) {
        snprintf(err, errlen, "no memory");
        return -1;
    }

    stackable = 0;
    for (a = 0; a < s->schema.nargs; a++) {
        stackable |= (s->schema.args[a].kind == TS_ARG_TENSOR);
    }

    count = 0;

    for (i = 0; i < n; i++) {
        if (reqs[i].status != TS_STATUS_PENDING) {
            continue;
        }

        if (count > 0 && !stackable) {
            /* nothing to stack: one request per forward */
            break;
        }

        if (ts_tensor_instance(s, &reqs[i], &inst) != 0) {
            reqs[i].status = TS_STATUS_BAD_INPUT;
            continue;
        }

        t = &inst.args[0].u.tensor;

        if (s->options.input_ndim >= 0
            && inst.args[0].type == TS_VAL_TENSOR
            && !ts_tensor_shape_matches(t, s->options.input_ndim,
                                        s->options.input_shape))
        {
            ts_tensor_shape_str(t->ndim, t->shape, got, sizeof(got));
            ts_tensor_shape_str(s->options.input_ndim,
                                s->options.input_shape, want, sizeof(want));
            snprintf(reqs[i].error, TS_ERROR_LEN,
                     "input of shape %s does not match the model's input "
                     "shape %s (one instance, without the batch dimension)",
                     got, want);
            reqs[i].status = TS_STATUS_BAD_INPUT;
            goto next;
        }

        if (count > 0) {
            compatible = inst.nargs == insts[0].nargs;

            for (a = 0; compatible && a < inst.nargs; a++) {
                compatible = ts_value_equal(&inst.args[a],
                                            &insts[0].args[a]);
            }

            if (!compatible) {
                /* left pending for a batch of its own shape */
                goto next;
            }
        }

        insts[count] = inst;
        batch->rows[count++] = i;
        continue;

    next:

        for (k = 0; k < inst.nargs; k++) {
            ts_value_clear(&inst.args[k]);
        }
    }

    batch->nrows = count;
    rc = count > 0 ? ts_tensor_stack(insts, batch, err, errlen) : 0;

    for (i = 0; i < count; i++) {
        for (k = 0; k < insts[i].nargs; k++) {
            ts_value_clear(&insts[i].args[k]);
        }
    }

    free(insts);
    return rc;
}


/* the part of a batched output that belongs to one row */
static int
ts_value_row(const ts_value_t *out, size_t row, size_t nrows,
    ts_value_t *dst)
{
    size_t              i, nbytes;
    const ts_tensor_t  *t;

    memset(dst, 0, sizeof(*dst));

    switch (out->type) {

    case TS_VAL_TENSOR:
        t = &out->u.tensor;

        if (t->ndim < 1 || t->shape[0] != (int64_t) nrows) {
            return ts_value_copy(dst, out);
        }

        dst->type = TS_VAL_TENSOR;
        dst->u.tensor.dtype = t->dtype;
        dst->u.tensor.ndim = t->ndim - 1;
        memcpy(dst->u.tensor.shape, &t->shape[1],
               (t->ndim - 1) * sizeof(int64_t));

        if (ts_tensor_alloc(&dst->u.tensor) != 0) {
            dst->type = TS_VAL_NONE;
            return -1;
        }

        nbytes = ts_tensor_nbytes(&dst->u.tensor);
        memcpy(dst->u.tensor.data, (const char *) t->data + row * nbytes,
               nbytes);
        return 0;

    case TS_VAL_LIST:
        if (out->u.list.n == nrows) {
            return ts_value_copy(dst, &out->u.list.items[row]);
        }

        /* fall through */

    case TS_VAL_TUPLE:
        dst->type = out->type;
        dst->u.list.items = calloc(out->u.list.n + 1, sizeof(ts_value_t));
        if (dst->u.list.items == NULL) {
            dst->type = TS_VAL_NONE;
            return -1;
        }

        for (i = 0; i < out->u.list.n; i++) {
            dst->u.list.n = i + 1;
            if (ts_value_row(&out->u.list.items[i], row, nrows,
                             &dst->u.list.items[i])
                != 0)
            {
                return -1;
            }
        }

        return 0;

    case TS_VAL_DICT:
        dst->type = TS_VAL_DICT;
        dst->u.dict.keys = calloc(out->u.dict.n + 1, sizeof(ts_value_t));
        dst->u.dict.values = calloc(out->u.dict.n + 1, sizeof(ts_value_t));
        if (dst->u.dict.keys == NULL || dst->u.dict.values == NULL) {
            return -1;
        }

        for (i = 0; i < out->u.dict.n; i++) {
            dst->u.dict.n = i + 1;
            if (ts_value_copy(&dst->u.dict.keys[i], &out->u.dict.keys[i])
                != 0
                || ts_value_row(&out->u.dict.values[i], row, nrows,
                                &dst->u.dict.values[i])
                   != 0)
            {
                return -1;
            }
        }

        return 0;

    default:
        return ts_value_copy(dst, out);
    }
}


static int
ts_tensor_postprocess(ts_servable_t *s, const ts_value_t *output,
    ts_request_t *reqs, const ts_batch_t *batch, char *err, size_t errlen)
{
    size_t         i, cap;
    ts_value_t     row;
    ts_request_t  *r;
    int            stacked;

    stacked = 0;

    for (i = 0; i < batch->nargs; i++) {
        stacked |= (batch->args[i].type == TS_VAL_TENSOR);
    }

    for (i = 0; i < batch->nrows; i++) {
        r = &reqs[batch->rows[i]];

        if (stacked) {
            if (ts_value_row(output, i, batch->nrows, &row) != 0) {
                ts_value_clear(&row);
                goto nomem;
            }

        } else if (ts_value_copy(&row, output) != 0) {
            goto nomem;
        }

        if (r->value != NULL) {
            /* the KServe v2 answer is made of the rows' values */
            *r->value = row;
            r->status = TS_STATUS_OK;
            continue;
        }

        cap = 0;
        r->response = NULL;
        r->response_len = 0;

        if (ts_json_dump_value(&row, &r->response, &r->response_len, &cap)
            != 0)
        {
            ts_value_clear(&row);
            goto nomem;
        }

        ts_value_clear(&row);
        r->status = TS_STATUS_OK;
    }

    return 0;

nomem:

    snprintf(err, errlen, "no memory for the response");
    return -1;
}


const ts_handler_t  ts_handler_tensor = {
    "tensor",
    ts_tensor_init,
    ts_tensor_preprocess,
    ts_tensor_postprocess,
    NULL
};
