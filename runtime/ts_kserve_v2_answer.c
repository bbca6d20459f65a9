/*
 * ts_kserve_v2_answer.c: the Open Inference Protocol's answer, from the
 * rows' values (the model's output row by row, joined back along the
 * batch dimension): outputs named output-0, output-1, ... (a tuple or
 * list) or by their keys (a dict), with datatype and shape; JSON data, or
 * binary after the JSON for those asked with parameters.binary_data, or
 * all with binary_data_output.  /explain answers the attributions
 * (ts_explain.c) the same way, as output-0.  And the model's v2 metadata.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ts_kserve_int.h"
#include "ts_json.h"


#define TS_KSERVE_V2_OUTPUTS  TS_SCHEMA_MAX_ARGS


typedef struct {
    char          name[64];
    ts_tensor_t   tensor;        /* borrowed from a row's value */
} ts_kserve_v2_output_t;


static size_t ts_kserve_v2_outputs(ts_request_t *req, ts_value_t *values,
    size_t rows, ts_kserve_v2_output_t *outs);
static json_t *ts_kserve_v2_asked(ts_kserve_v2_t *v2, const char *name);
static const ts_tensor_t *ts_kserve_v2_row_tensor(const ts_value_t *v,
    size_t k);
static int ts_kserve_v2_element(char **buf, size_t *len, size_t *cap,
    const ts_tensor_t *t, int64_t i);
static int ts_kserve_v2_write(ts_servable_t *s, ts_request_t *req,
    ts_kserve_v2_t *v2, ts_kserve_v2_output_t *outs, size_t nouts,
    ts_value_t *values, size_t rows);
static int ts_buf_add(char **buf, size_t *len, size_t *cap, const void *p,
    size_t n);
static int ts_buf_str(char **buf, size_t *len, size_t *cap, const char *s);


void
ts_kserve_v2_answer(ts_servable_t *s, ts_request_t *req, ts_kserve_v2_t *v2,
    ts_value_t *values, size_t rows)
{
    size_t                  nouts;
    ts_kserve_v2_output_t   outs[TS_KSERVE_V2_OUTPUTS];

    nouts = ts_kserve_v2_outputs(req, values, rows, outs);
    if (nouts == 0) {
        return;
    }

    if (ts_kserve_v2_write(s, req, v2, outs, nouts, values, rows) != 0) {
        ts_request_clear(req);
        req->status = TS_STATUS_NO_RESOURCES;
        snprintf(req->error, TS_ERROR_LEN, "no memory for the response");
        return;
    }

    /* else an output asked for that the model does not have: 400 */
    if (req->status == TS_STATUS_PENDING) {
        req->status = TS_STATUS_OK;
    }
}


/* the named tensors of the first row's value (every row has the same) */
static size_t
ts_kserve_v2_outputs(ts_request_t *req, ts_value_t *values, size_t rows,
    ts_kserve_v2_output_t *outs)
{
    size_t             i, n, r;
    ts_value_t        *v, *item;
    const ts_tensor_t *t;

    v = &values[0];
    n = 0;

    if (v->type == TS_VAL_TENSOR) {
        snprintf(outs[0].name, sizeof(outs[0].name), "output-0");
        outs[0].tensor = v->u.tensor;
        n = 1;

    } else if ((v->type == TS_VAL_TUPLE || v->type == TS_VAL_LIST)
               && v->u.list.n <= TS_KSERVE_V2_OUTPUTS)
    {
        for (i = 0; i < v->u.list.n; i++) {
            item = &v->u.list.items[i];
            if (item->type != TS_VAL_TENSOR) {
                goto unsupported;
            }
            snprintf(outs[i].name, sizeof(outs[i].name), "output-%zu", i);
            outs[i].tensor = item->u.tensor;
        }
        n = v->u.list.n;

    } else if (v->type == TS_VAL_DICT && v->u.dict.n <= TS_KSERVE_V2_OUTPUTS) {
        for (i = 0; i < v->u.dict.n; i++) {
            if (v->u.dict.keys[i].type != TS_VAL_STRING
                || v->u.dict.values[i].type != TS_VAL_TENSOR)
            {
                goto unsupported;
            }
            snprintf(outs[i].name, sizeof(outs[i].name), "%s",
                     v->u.dict.keys[i].u.str.data);
            outs[i].tensor = v->u.dict.values[i].u.tensor;
        }
        n = v->u.dict.n;

    } else {
        goto unsupported;
    }

    /*
     * the rows are joined back: each must match the first, in its number
     * of outputs and their types too (a list as long as the batch gives
     * each row its own item: an Optional[Tensor] may be None in one row)
     */
    for (r = 1; r < rows; r++) {
        v = &values[r];

        if (v->type != values[0].type
            || ((v->type == TS_VAL_TUPLE || v->type == TS_VAL_LIST)
                && v->u.list.n != n)
            || (v->type == TS_VAL_DICT && v->u.dict.n != n))
        {
            goto differ;
        }

        for (i = 0; i < n; i++) {
            item = v->type == TS_VAL_TENSOR ? v
                   : v->type == TS_VAL_DICT ? &v->u.dict.values[i]
                   : &v->u.list.items[i];
            t = &item->u.tensor;

            if (item->type != TS_VAL_TENSOR
                || t->dtype != outs[i].tensor.dtype
                || t->ndim != outs[i].tensor.ndim
                || memcmp(t->shape, outs[i].tensor.shape,
                          t->ndim * sizeof(int64_t)) != 0)
            {
                goto differ;
            }
        }
    }

    return n;

differ:

    snprintf(req->error, TS_ERROR_LEN,
             "the model's outputs differ in shape from row to row: they "
             "cannot be joined into one tensor");
    req->status = TS_STATUS_INTERNAL;
    return 0;

unsupported:

    snprintf(req->error, TS_ERROR_LEN,
             "the model's output is not a tensor, or a tuple, list or dict "
             "of tensors: the v2 protocol cannot carry it (/predictions "
             "can)");
    req->status = TS_STATUS_INTERNAL;
    return 0;
}


/* output k of one row's value */
static const ts_tensor_t *
ts_kserve_v2_row_tensor(const ts_value_t *v, size_t k)
{
    switch (v->type) {
    case TS_VAL_TENSOR:
        return &v->u.tensor;
    case TS_VAL_DICT:
        return &v->u.dict.values[k].u.tensor;
    default:
        return &v->u.list.items[k].u.tensor;
    }
}


/* the request's "outputs" entry of that name, or NULL */
static json_t *
ts_kserve_v2_asked(ts_kserve_v2_t *v2, const char *name)
{
    size_t   i;
    json_t  *o, *n;

    for (i = 0; i < json_array_size(v2->outputs); i++) {
        o = json_array_get(v2->outputs, i);
        n = json_object_get(o, "name");

        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0) {
            return o;
        }
    }

    return NULL;
}


static int
ts_kserve_v2_element(char **buf, size_t *len, size_t *cap,
    const ts_tensor_t *t, int64_t i)
{
    char    num[TS_JSON_NUM_MAX];
    size_t  n;

    switch (t->dtype) {
    case TS_BOOL:
        return ((uint8_t *) t->data)[i]
               ? ts_buf_add(buf, len, cap, "true", 4)
               : ts_buf_add(buf, len, cap, "false", 5);
    case TS_FLOAT32:
        n = ts_json_format_double(((float *) t->data)[i], num);
        break;
    case TS_FLOAT64:
        n = ts_json_format_double(((double *) t->data)[i], num);
        break;
    case TS_FLOAT16:
        n = ts_json_format_double(ts_tensor_get_double(t, i), num);
        break;
    case TS_INT64:
        n = ts_json_format_int(((int64_t *) t->data)[i], num);
        break;
    case TS_INT32:
        n = ts_json_format_int(((int32_t *) t->data)[i], num);
        break;
    case TS_INT16:
        n = ts_json_format_int(((int16_t *) t->data)[i], num);
        break;
    case TS_INT8:
        n = ts_json_format_int(((int8_t *) t->data)[i], num);
        break;
    default:
        n = ts_json_format_int(((uint8_t *) t->data)[i], num);
    }

    return ts_buf_add(buf, len, cap, num, n);
}


/* the answer: JSON, then the binary outputs' bytes in order */
static int
ts_kserve_v2_write(ts_servable_t *s, ts_request_t *req, ts_kserve_v2_t *v2,
    ts_kserve_v2_output_t *outs, size_t nouts, ts_value_t *values,
    size_t rows)
{
    char               num[TS_JSON_NUM_MAX], *buf;
    size_t             i, k, r, len, cap, json_len, n, wrote;
    int64_t            e, numel;
    json_t            *o, *asked;
    int                binary[TS_KSERVE_V2_OUTPUTS], any_binary;
    const ts_tensor_t *t;

    /* every output asked for must exist */
    for (i = 0; i < json_array_size(v2->outputs); i++) {
        o = json_object_get(json_array_get(v2->outputs, i), "name");

        for (k = 0; k < nouts; k++) {
            if (ts_kserve_v2_asked(v2, outs[k].name)
                == json_array_get(v2->outputs, i))
            {
                break;
            }
        }

        if (k == nouts) {
            snprintf(req->error, TS_ERROR_LEN,
                     "no output named \"%.64s\": this model's are %s%s",
                     json_is_string(o) ? json_string_value(o) : "",
                     outs[0].name, nouts > 1 ? ", ..." : "");
            req->status = TS_STATUS_BAD_INPUT;
            return 0;
        }
    }

    buf = NULL;
    len = 0;
    cap = 0;
    any_binary = 0;
    wrote = 0;

    if (ts_buf_add(&buf, &len, &cap, "{\"model_name\":", 14) != 0
        || ts_buf_str(&buf, &len, &cap, s->options.model_name) != 0
        || ts_buf_add(&buf, &len, &cap, ",\"model_version\":", 17) != 0
        || ts_buf_str(&buf, &len, &cap, s->options.model_version) != 0
        || ts_buf_add(&buf, &len, &cap, ",\"id\":", 6) != 0
        || ts_buf_str(&buf, &len, &cap, v2->id ? v2->id : req->request_id)
           != 0
        || ts_buf_add(&buf, &len, &cap, ",\"outputs\":[", 12) != 0)
    {
        goto nomem;
    }

    for (k = 0; k < nouts; k++) {
        /* all of them, or those asked for; binary when asked so */
        asked = ts_kserve_v2_asked(v2, outs[k].name);

        if (json_array_size(v2->outputs) > 0 && asked == NULL) {
            binary[k] = -1;
            continue;
        }

        binary[k] = v2->binary_all
                    || json_is_true(json_object_get(json_object_get(asked,
                                                      "parameters"),
                                                    "binary_data"));
        any_binary |= binary[k];
        t = &outs[k].tensor;

        if ((wrote++ > 0 && ts_buf_add(&buf, &len, &cap, ",", 1) != 0)
            || ts_buf_add(&buf, &len, &cap, "{\"name\":", 8) != 0
            || ts_buf_str(&buf, &len, &cap, outs[k].name) != 0
            || ts_buf_add(&buf, &len, &cap, ",\"datatype\":", 12) != 0
            || ts_buf_str(&buf, &len, &cap, ts_kserve_v2_datatype(t->dtype))
               != 0
            || ts_buf_add(&buf, &len, &cap, ",\"shape\":[", 10) != 0)
        {
            goto nomem;
        }

        /* the rows joined: the batch dimension first */
        n = ts_json_format_int((int64_t) rows, num);
        if (ts_buf_add(&buf, &len, &cap, num, n) != 0) {
            goto nomem;
        }

        for (i = 0; i < (size_t) t->ndim; i++) {
            n = ts_json_format_int(t->shape[i], num);
            if (ts_buf_add(&buf, &len, &cap, ",", 1) != 0
                || ts_buf_add(&buf, &len, &cap, num, n) != 0)
            {
                goto nomem;
            }
        }

        if (binary[k]) {
            n = ts_json_format_int((int64_t) (rows * ts_tensor_nbytes(t)),
                                   num);
            if (ts_buf_add(&buf, &len, &cap,
                           "],\"parameters\":{\"binary_data_size\":", 35) != 0
                || ts_buf_add(&buf, &len, &cap, num, n) != 0
                || ts_buf_add(&buf, &len, &cap, "}}", 2) != 0)
            {
                goto nomem;
            }
            continue;
        }

        if (ts_buf_add(&buf, &len, &cap, "],\"data\":[", 10) != 0) {
            goto nomem;
        }

        numel = ts_tensor_numel(t);

        for (r = 0; r < rows; r++) {
            t = ts_kserve_v2_row_tensor(&values[r], k);

            for (e = 0; e < numel; e++) {
                if (((r > 0 || e > 0)
                     && ts_buf_add(&buf, &len, &cap, ",", 1) != 0)
                    || ts_kserve_v2_element(&buf, &len, &cap, t, e) != 0)
                {
                    goto nomem;
                }
            }
        }

        if (ts_buf_add(&buf, &len, &cap, "]}", 2) != 0) {
            goto nomem;
        }
    }

    if (ts_buf_add(&buf, &len, &cap, "]}", 2) != 0) {
        goto nomem;
    }

    json_len = len;

    for (k = 0; any_binary && k < nouts; k++) {
        if (binary[k] != 1) {
            continue;
        }

        for (r = 0; r < rows; r++) {
            t = ts_kserve_v2_row_tensor(&values[r], k);

            if (ts_buf_add(&buf, &len, &cap, t->data, ts_tensor_nbytes(t))
                != 0)
            {
                goto nomem;
            }
        }
    }

    req->response = buf;
    req->response_len = len;

    req->response_type = strdup(any_binary ? "application/octet-stream"
                                           : "application/json");
    if (req->response_type == NULL) {
        return -1;
    }

    if (any_binary) {
        n = ts_json_format_int((int64_t) json_len, num);
        req->response_headers_len = sizeof("Inference-Header-Content-Length")
                                    + n + 1;
        req->response_headers = malloc(req->response_headers_len);
        if (req->response_headers == NULL) {
            req->response_headers_len = 0;
            return -1;
        }

        memcpy(req->response_headers, "Inference-Header-Content-Length",
               sizeof("Inference-Header-Content-Length"));
        memcpy(req->response_headers + sizeof("Inference-Header-Content-Length"),
               num, n);
        req->response_headers[req->response_headers_len - 1] = '\0';
    }

    return 0;

nomem:

    free(buf);
    return -1;
}


/*
 * The v2 metadata of forward's output on a batch of one (the warm-up's):
 * [{"name", "datatype", "shape": [-1, ...]}], or NULL.
 */
void *
ts_kserve_v2_describe_outputs(const ts_value_t *out)
{
    size_t                 i, k, n;
    json_t                *list, *o, *shape;
    ts_kserve_v2_output_t  outs[TS_KSERVE_V2_OUTPUTS];
    ts_request_t           scratch;

    memset(&scratch, 0, sizeof(scratch));

    n = ts_kserve_v2_outputs(&scratch, (ts_value_t *) out, 1, outs);

    list = json_array();
    if (list == NULL) {
        return NULL;
    }

    for (k = 0; k < n; k++) {
        shape = json_array();
        json_array_append_new(shape, json_integer(-1));

        for (i = 1; i < (size_t) outs[k].tensor.ndim; i++) {
            json_array_append_new(shape, json_integer(outs[k].tensor.shape[i]));
        }

        o = json_pack("{s:s, s:s, s:o}", "name", outs[k].name, "datatype",
                      ts_kserve_v2_datatype(outs[k].tensor.dtype), "shape",
                      shape);
        json_array_append_new(list, o);
    }

    return list;
}


json_t *
ts_kserve_v2_signature(const ts_servable_t *s)
{
    int                     dtype;
    size_t                  i, k;
    json_t                 *inputs, *shape;
    const ts_schema_arg_t  *a;

    inputs = json_array();

    for (i = 0; s->kind == TS_SERVABLE_TORCHSCRIPT && i < s->schema.nargs;
         i++)
    {
        a = &s->schema.args[i];
        if (a->kind != TS_ARG_TENSOR) {
            continue;
        }

        shape = json_array();
        json_array_append_new(shape, json_integer(-1));

        for (k = 0; i == 0 && s->options.input_ndim > 0
                    && k < (size_t) s->options.input_ndim; k++)
        {
            json_array_append_new(shape,
                                  json_integer(s->options.input_shape[k]));
        }

        dtype = s->options.input_dtype >= 0 ? s->options.input_dtype
                                            : TS_FLOAT32;

        json_array_append_new(inputs,
            json_pack("{s:s, s:s, s:o}", "name", a->name, "datatype",
                      ts_kserve_v2_datatype((ts_dtype_e) dtype), "shape",
                      shape));
    }

    return json_pack("{s:o, s:O}", "inputs", inputs, "outputs",
                     s->v2_outputs ? (json_t *) s->v2_outputs
                                   : json_array());
}


static int
ts_buf_add(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    char    *nb;
    size_t   ncap;

    if (*len + n > *cap) {
        ncap = *cap ? *cap : 4096;
        while (ncap < *len + n) {
            ncap *= 2;
        }

        nb = realloc(*buf, ncap);
        if (nb == NULL) {
            return -1;
        }

        *buf = nb;
        *cap = ncap;
    }

    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}


/* s as a JSON string (NULL as ""); the bytes are UTF-8 already */
static int
ts_buf_str(char **buf, size_t *len, size_t *cap, const char *s)
{
    char                  esc[8];
    const unsigned char  *p;

    if (ts_buf_add(buf, len, cap, "\"", 1) != 0) {
        return -1;
    }

    for (p = (const unsigned char *) (s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char) *p;
            if (ts_buf_add(buf, len, cap, esc, 2) != 0) {
                return -1;
            }

        } else if (*p < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            if (ts_buf_add(buf, len, cap, esc, 6) != 0) {
                return -1;
            }

        } else if (ts_buf_add(buf, len, cap, p, 1) != 0) {
            return -1;
        }
    }

    return ts_buf_add(buf, len, cap, "\"", 1);
}
