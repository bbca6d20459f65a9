/*
 * fuzz_serve.c: the model server of fuzz_serve.h.
 */

#define _GNU_SOURCE             /* memmem */

#include "fuzz_serve.h"
#include "fuzz_util.h"


static void
fuzz_serve_arg(ts_schema_arg_t *a, const char *name, const char *type,
    ts_arg_kind_e kind, int has_default)
{
    snprintf(a->name, sizeof(a->name), "%s", name);
    snprintf(a->type_str, sizeof(a->type_str), "%s", type);
    a->kind = kind;
    a->optional = 0;
    a->has_default = has_default;
}


void
fuzz_serve_servable(ts_servable_t *s, fuzz_serve_kind_e kind)
{
    char           err[256];
    ts_schema_t   *sc;

    memset(s, 0, sizeof(ts_servable_t));
    s->kind = TS_SERVABLE_TORCHSCRIPT;
    s->handler = &ts_handler_tensor;
    s->options.input_ndim = -1;
    s->options.input_dtype = -1;
    s->options.model_name = "fuzz";
    s->options.model_version = "1.0";

    /* what forward's kind is, for fuzz_serve_forward */
    s->handler_data = (void *) (uintptr_t) kind;

    sc = &s->schema;
    fuzz_serve_arg(&sc->args[sc->nargs++], "x", "Tensor", TS_ARG_TENSOR, 0);

    switch (kind) {

    case FUZZ_SERVE_MANY:
        fuzz_serve_arg(&sc->args[sc->nargs++], "y", "Tensor", TS_ARG_TENSOR,
                       0);
        fuzz_serve_arg(&sc->args[sc->nargs++], "k", "int", TS_ARG_INT, 1);
        fuzz_serve_arg(&sc->args[sc->nargs++], "scale", "float",
                       TS_ARG_FLOAT, 1);
        fuzz_serve_arg(&sc->args[sc->nargs++], "flag", "bool", TS_ARG_BOOL,
                       1);
        fuzz_serve_arg(&sc->args[sc->nargs++], "name", "str", TS_ARG_STRING,
                       1);
        fuzz_serve_arg(&sc->args[sc->nargs++], "sizes", "List[int]",
                       TS_ARG_INT_LIST, 1);
        fuzz_serve_arg(&sc->args[sc->nargs++], "weights", "List[float]",
                       TS_ARG_FLOAT_LIST, 1);
        break;

    case FUZZ_SERVE_SHAPED:
        s->options.input_dtype = TS_INT64;
        s->options.input_ndim = 2;
        s->options.input_shape[0] = 2;
        s->options.input_shape[1] = 3;
        break;

    default:
        break;
    }

    FUZZ_CHECK(s->handler->init(s, err, sizeof(err)) == 0,
               "the tensor handler refuses the schema: %s", err);
}


/* FUZZ_SERVE_LISTED's item for row r of x: (x[r], x[r][0] or None) */
static int
fuzz_serve_row_item(const ts_tensor_t *x, int64_t r, ts_value_t *item)
{
    size_t        nbytes;
    ts_value_t   *pair;
    ts_tensor_t  *t;

    item->type = TS_VAL_TUPLE;
    item->u.list.items = calloc(3, sizeof(ts_value_t));
    if (item->u.list.items == NULL) {
        item->type = TS_VAL_NONE;
        return -1;
    }

    pair = item->u.list.items;
    item->u.list.n = 2;

    t = &pair[0].u.tensor;
    t->dtype = x->dtype;
    t->ndim = x->ndim - 1;
    memcpy(t->shape, &x->shape[1], (size_t) t->ndim * sizeof(int64_t));

    if (ts_tensor_alloc(t) != 0) {
        return -1;
    }

    pair[0].type = TS_VAL_TENSOR;
    nbytes = ts_tensor_nbytes(t);
    memcpy(t->data, (const char *) x->data + r * nbytes, nbytes);

    if (ts_tensor_numel(t) == 0 || ts_tensor_get_double(t, 0) < 0) {
        return 0;                               /* None */
    }

    pair[1].u.tensor.dtype = x->dtype;
    if (ts_tensor_alloc(&pair[1].u.tensor) != 0) {
        return -1;
    }

    pair[1].type = TS_VAL_TENSOR;
    memcpy(pair[1].u.tensor.data, t->data, ts_dtype_size(x->dtype));

    return 0;
}


/* forward's stand-in: its arguments back, as the servable's kind says */
static int
fuzz_serve_forward(ts_servable_t *s, const ts_batch_t *batch,
    ts_value_t *out)
{
    size_t  i, n;

    memset(out, 0, sizeof(ts_value_t));

    switch ((fuzz_serve_kind_e) (uintptr_t) s->handler_data) {

    case FUZZ_SERVE_MANY:
        /* (x, y), and the client's name when it sent one: text to escape */
        n = batch->nargs < 2 ? batch->nargs : 2;

        out->type = TS_VAL_TUPLE;
        out->u.list.items = calloc(n + 2, sizeof(ts_value_t));
        if (out->u.list.items == NULL) {
            out->type = TS_VAL_NONE;
            return -1;
        }

        for (i = 0; i < n; i++) {
            if (ts_value_copy(&out->u.list.items[i], &batch->args[i]) != 0) {
                return -1;
            }
            out->u.list.n = i + 1;
        }

        if (batch->nargs > FUZZ_SERVE_NAME_ARG
            && batch->args[FUZZ_SERVE_NAME_ARG].type == TS_VAL_STRING)
        {
            if (ts_value_copy(&out->u.list.items[n],
                              &batch->args[FUZZ_SERVE_NAME_ARG])
                != 0)
            {
                return -1;
            }
            out->u.list.n = n + 1;
        }

        return 0;

    case FUZZ_SERVE_SHAPED:
        out->type = TS_VAL_DICT;
        out->u.dict.keys = calloc(1, sizeof(ts_value_t));
        out->u.dict.values = calloc(1, sizeof(ts_value_t));
        if (out->u.dict.keys == NULL || out->u.dict.values == NULL) {
            return -1;
        }

        out->u.dict.keys[0].type = TS_VAL_STRING;
        out->u.dict.keys[0].u.str.data = strdup("ids");
        if (out->u.dict.keys[0].u.str.data == NULL) {
            out->u.dict.keys[0].type = TS_VAL_NONE;
            return -1;
        }
        out->u.dict.keys[0].u.str.len = 3;
        out->u.dict.n = 1;

        return ts_value_copy(&out->u.dict.values[0], &batch->args[0]);

    case FUZZ_SERVE_LISTED:
        if (batch->args[0].type != TS_VAL_TENSOR
            || batch->args[0].u.tensor.ndim < 1)
        {
            return ts_value_copy(out, &batch->args[0]);
        }

        n = (size_t) batch->args[0].u.tensor.shape[0];

        out->type = TS_VAL_LIST;
        out->u.list.items = calloc(n + 1, sizeof(ts_value_t));
        if (out->u.list.items == NULL) {
            out->type = TS_VAL_NONE;
            return -1;
        }

        for (i = 0; i < n; i++) {
            out->u.list.n = i + 1;

            if (fuzz_serve_row_item(&batch->args[0].u.tensor, (int64_t) i,
                                    &out->u.list.items[i])
                != 0)
            {
                return -1;
            }
        }

        return 0;

    default:
        return ts_value_copy(out, &batch->args[0]);
    }
}


/* ts_servable_infer_batches' forward: the stand-in, failing as libtorch */
static ts_status_e
fuzz_serve_forward_batch(ts_servable_t *s, const ts_batch_t *batch,
    ts_value_t *out, char *err, size_t errlen)
{
    FUZZ_CHECK(batch->nargs >= 1 && batch->nrows >= 1,
               "a batch of %zu rows, %zu arguments", batch->nrows,
               batch->nargs);

    if (fuzz_serve_forward(s, batch, out) != 0) {
        ts_value_clear(out);
        snprintf(err, errlen, "no memory");
        return TS_STATUS_NO_RESOURCES;
    }

    return TS_STATUS_OK;
}


void
fuzz_serve_infer(ts_servable_t *s, ts_request_t *reqs, size_t n)
{
    ts_servable_infer_batches(s, reqs, n, fuzz_serve_forward_batch);
}


size_t
fuzz_serve_split(const uint8_t *data, size_t size, uint8_t **pieces,
    size_t *lens)
{
    size_t          n, len;
    const uint8_t  *p, *end, *sep;

    p = data;
    end = data + size;

    for (n = 0; n < FUZZ_SERVE_MAX_REQUESTS; n++) {
        sep = (n + 1 < FUZZ_SERVE_MAX_REQUESTS && p < end)
              ? memmem(p, (size_t) (end - p), FUZZ_SERVE_SEPARATOR,
                       sizeof(FUZZ_SERVE_SEPARATOR) - 1)
              : NULL;
        len = sep ? (size_t) (sep - p) : (size_t) (end - p);

        pieces[n] = fuzz_copy(p, len);
        lens[n] = len;

        if (pieces[n] == NULL) {
            while (n > 0) {
                free(pieces[--n]);
            }
            return 0;
        }

        if (sep == NULL) {
            return n + 1;
        }

        p = sep + sizeof(FUZZ_SERVE_SEPARATOR) - 1;
    }

    return n;
}


void
fuzz_serve_check(ts_request_t *reqs, size_t n)
{
    size_t       i, k, jlen;
    const char  *h, *end;

    static int   verbose = -1;

    /* FUZZ_VERBOSE=1: each answer, to see what a corpus reaches */
    if (verbose < 0) {
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    }

    for (i = 0; i < n; i++) {
        if (verbose) {
            fprintf(stderr, "request %zu: status %d: %.*s%s\n", i,
                    (int) reqs[i].status,
                    reqs[i].status == TS_STATUS_OK
                    ? (int) (reqs[i].response_len < 200
                             ? reqs[i].response_len : 200) : 200,
                    reqs[i].status == TS_STATUS_OK ? reqs[i].response
                                                   : reqs[i].error,
                    reqs[i].status == TS_STATUS_OK
                    && reqs[i].response_len > 200 ? "..." : "");
        }

        FUZZ_CHECK(reqs[i].status != TS_STATUS_PENDING,
                   "request %zu not answered", i);

        if (reqs[i].status == TS_STATUS_OK) {
            FUZZ_CHECK(reqs[i].response != NULL && reqs[i].response_len > 0,
                       "request %zu answered OK without a response", i);

        } else {
            FUZZ_CHECK(reqs[i].error[0] != '\0',
                       "request %zu refused (%d) without a message", i,
                       (int) reqs[i].status);

            /* the loop's guard against a preprocess that loops forever */
            FUZZ_CHECK(strcmp(reqs[i].error, TS_NO_PROGRESS) != 0,
                       "request %zu: the tensor handler made no progress", i);
        }

        /* v2 binary: the JSON part's length, within the response */
        h = reqs[i].response_headers;
        end = h ? h + reqs[i].response_headers_len : NULL;

        for (k = 0; h != NULL && h < end; k++) {
            if (k % 2 == 0
                && strcmp(h, "Inference-Header-Content-Length") == 0)
            {
                jlen = strtoul(h + strlen(h) + 1, NULL, 10);
                FUZZ_CHECK(jlen <= reqs[i].response_len,
                           "Inference-Header-Content-Length %zu of %zu",
                           jlen, reqs[i].response_len);
            }

            h += strlen(h) + 1;
        }

        ts_request_clear(&reqs[i]);
    }
}


int
fuzz_serve_run(const uint8_t *data, size_t size, fuzz_serve_fill_pt fill,
    fuzz_serve_batch_pt batch, fuzz_serve_answer_pt answer)
{
    int             kind;
    size_t          i, n, lens[FUZZ_SERVE_MAX_REQUESTS];
    uint8_t        *pieces[FUZZ_SERVE_MAX_REQUESTS];
    ts_request_t    reqs[FUZZ_SERVE_MAX_REQUESTS];
    ts_servable_t   s;

    n = fuzz_serve_split(data, size, pieces, lens);

    for (kind = 0; kind < FUZZ_SERVE_KINDS; kind++) {
        fuzz_serve_servable(&s, (fuzz_serve_kind_e) kind);

        memset(reqs, 0, sizeof(reqs));

        for (i = 0; i < n; i++) {
            fill(&reqs[i], pieces[i], lens[i]);
        }

        batch(&s, reqs, n);

        for (i = 0; i < n; i++) {
            answer(&reqs[i], (fuzz_serve_kind_e) kind);
        }

        fuzz_serve_check(reqs, n);
    }

    for (i = 0; i < n; i++) {
        free(pieces[i]);
    }

    return 0;
}
