/*
 * ts_kserve_v2.c: the Open Inference Protocol (KServe v2, Triton) for the
 * tensor handler: the request's side.
 *
 * A request's "inputs" become forward's tensor arguments: by name, or the
 * only input to a one-argument forward.  "data" is flat or nested in
 * row-major order; with the binary tensor data extension an input has
 * parameters.binary_data_size instead, and its bytes follow the JSON
 * header (Inference-Header-Content-Length) in the order of the inputs.
 * Every input's first dimension is the batch: each row is an instance
 * that stacks with the other requests of the batch.  The answer is
 * ts_kserve_v2_answer.c's.
 */

#define _GNU_SOURCE  /* memmem */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ts_kserve_int.h"
#include "ts_json.h"


/* a "data" array this long is read by the fast decoder, not by jansson */
#define TS_KSERVE_V2_FAST_MIN  4096

/* what stands for a cut array in the JSON jansson reads: "\u0001ts-K" */
#define TS_KSERVE_V2_MARK      "\001ts-"



static const struct {
    const char  *name;
    int          dtype;              /* -1: torch has none */
} ts_kserve_v2_types[] = {
    { "BOOL", TS_BOOL },
    { "UINT8", TS_UINT8 },
    { "UINT16", -1 },
    { "UINT32", -1 },
    { "UINT64", -1 },
    { "INT8", TS_INT8 },
    { "INT16", TS_INT16 },
    { "INT32", TS_INT32 },
    { "INT64", TS_INT64 },
    { "FP16", TS_FLOAT16 },
    { "FP32", TS_FLOAT32 },
    { "FP64", TS_FLOAT64 },
    { "BYTES", -1 },
    { NULL, -1 }
};


static int ts_kserve_v2_input(ts_request_t *req, ts_kserve_v2_t *v2,
    json_t *in, ts_kserve_v2_input_t *input, const unsigned char **binary,
    const unsigned char *end);
static int ts_kserve_v2_fill(ts_tensor_t *t, json_t *data, int64_t *at,
    int depth, char *err);
static json_t *ts_kserve_v2_load(ts_request_t *req, ts_kserve_v2_t *v2,
    size_t jlen);
static size_t ts_kserve_v2_numbers(const unsigned char *p,
    const unsigned char *end);
static int ts_kserve_v2_fast(ts_request_t *req, ts_kserve_v2_t *v2,
    ts_kserve_v2_input_t *input, json_t *data, int64_t numel);
static int ts_kserve_v2_from_json(ts_request_t *req,
    ts_kserve_v2_input_t *input, json_t *data, int64_t numel);
static int ts_kserve_v2_map(ts_servable_t *s, ts_request_t *req,
    ts_kserve_v2_t *v2);
static int ts_kserve_v2_rows(ts_request_t *req, ts_kserve_v2_t *v2);


const char *
ts_kserve_v2_datatype(ts_dtype_e dtype)
{
    size_t  i;

    for (i = 0; ts_kserve_v2_types[i].name != NULL; i++) {
        if (ts_kserve_v2_types[i].dtype == (int) dtype) {
            return ts_kserve_v2_types[i].name;
        }
    }

    return "BYTES";
}


size_t
ts_kserve_v2_parse(ts_servable_t *s, ts_request_t *req, ts_kserve_v2_t **out)
{
    size_t                jlen, i;
    json_t               *inputs, *params, *j;
    ts_kserve_v2_t       *v2;
    const unsigned char  *binary, *end;

    *out = NULL;

    jlen = req->header_len ? req->header_len : req->len;

    if (jlen > req->len) {
        snprintf(req->error, TS_ERROR_LEN,
                 "Inference-Header-Content-Length %zu is past the body's "
                 "end (%zu bytes)", req->header_len, req->len);
        goto bad;
    }

    v2 = calloc(1, sizeof(ts_kserve_v2_t));
    if (v2 == NULL) {
        snprintf(req->error, TS_ERROR_LEN, "no memory");
        req->status = TS_STATUS_NO_RESOURCES;
        return 0;
    }

    *out = v2;

    v2->json = ts_kserve_v2_load(req, v2, jlen);
    if (v2->json == NULL) {
        goto bad;
    }

    if (!json_is_object(v2->json)) {
        snprintf(req->error, TS_ERROR_LEN,
                 "a v2 inference request is a JSON object");
        goto bad;
    }

    j = json_object_get(v2->json, "id");
    if (j != NULL) {
        if (!json_is_string(j)) {
            snprintf(req->error, TS_ERROR_LEN, "\"id\" must be a string");
            goto bad;
        }
        v2->id = json_string_value(j);
    }

    params = json_object_get(v2->json, "parameters");
    if (params != NULL) {
        v2->binary_all = json_is_true(json_object_get(params,
                                                      "binary_data_output"));

        /* /explain's class, as /explanations takes "target" */
        j = json_object_get(params, "target");
        if (j != NULL && !json_is_integer(j)) {
            snprintf(req->error, TS_ERROR_LEN,
                     "parameters.target is not a class number");
            goto bad;
        }
        v2->target = j ? json_integer_value(j) : 0;
    }

    v2->outputs = json_object_get(v2->json, "outputs");
    if (v2->outputs != NULL && !json_is_array(v2->outputs)) {
        snprintf(req->error, TS_ERROR_LEN, "\"outputs\" must be an array");
        goto bad;
    }

    inputs = json_object_get(v2->json, "inputs");
    if (!json_is_array(inputs) || json_array_size(inputs) == 0) {
        snprintf(req->error, TS_ERROR_LEN,
                 "a v2 inference request needs a non-empty \"inputs\" "
                 "array");
        goto bad;
    }

    if (json_array_size(inputs) > TS_SCHEMA_MAX_ARGS) {
        snprintf(req->error, TS_ERROR_LEN, "%zu inputs: at most %d",
                 json_array_size(inputs), TS_SCHEMA_MAX_ARGS);
        goto bad;
    }

    binary = req->body + jlen;
    end = req->body + req->len;

    for (i = 0; i < json_array_size(inputs); i++) {
        v2->ninputs = i + 1;

        if (ts_kserve_v2_input(req, v2, json_array_get(inputs, i),
                               &v2->inputs[i], &binary, end)
            != 0)
        {
            goto bad;
        }
    }

    if (binary != end) {
        snprintf(req->error, TS_ERROR_LEN,
                 "%zu bytes of binary data after the inputs' "
                 "binary_data_size", (size_t) (end - binary));
        goto bad;
    }

    if (ts_kserve_v2_map(s, req, v2) != 0 || ts_kserve_v2_rows(req, v2) != 0)
    {
        goto bad;
    }

    return (size_t) v2->rows;

bad:

    req->status = TS_STATUS_BAD_INPUT;
    return 0;
}


/* one of "inputs": its tensor, from "data" or from the binary part */
static int
ts_kserve_v2_input(ts_request_t *req, ts_kserve_v2_t *v2, json_t *in,
    ts_kserve_v2_input_t *input, const unsigned char **binary,
    const unsigned char *end)
{
    int          dtype;
    size_t       i, nbytes;
    int64_t      numel, d;
    json_t      *shape, *data, *size;
    const char  *datatype;

    input->name = json_string_value(json_object_get(in, "name"));
    datatype = json_string_value(json_object_get(in, "datatype"));
    shape = json_object_get(in, "shape");

    if (input->name == NULL || datatype == NULL || !json_is_array(shape)) {
        snprintf(req->error, TS_ERROR_LEN,
                 "each input needs a \"name\", a \"datatype\" and a "
                 "\"shape\"");
        return -1;
    }

    dtype = -2;
    for (i = 0; ts_kserve_v2_types[i].name != NULL; i++) {
        if (strcmp(ts_kserve_v2_types[i].name, datatype) == 0) {
            dtype = ts_kserve_v2_types[i].dtype;
        }
    }

    if (dtype == -2) {
        snprintf(req->error, TS_ERROR_LEN,
                 "input \"%.64s\": unknown datatype \"%.32s\"", input->name,
                 datatype);
        return -1;
    }

    if (dtype == -1) {
        snprintf(req->error, TS_ERROR_LEN,
                 "input \"%.64s\": datatype %s has no torch tensor type "
                 "(a Python handler can take it)", input->name, datatype);
        return -1;
    }

    if (json_array_size(shape) < 1 || json_array_size(shape) > TS_MAX_DIMS) {
        snprintf(req->error, TS_ERROR_LEN,
                 "input \"%.64s\": a shape of 1 to %d dimensions, the "
                 "first one the batch", input->name, TS_MAX_DIMS);
        return -1;
    }

    input->tensor.dtype = (ts_dtype_e) dtype;
    input->tensor.ndim = (int) json_array_size(shape);
    numel = 1;

    for (i = 0; i < json_array_size(shape); i++) {
        d = json_is_integer(json_array_get(shape, i))
            ? json_integer_value(json_array_get(shape, i)) : -1;

        /*
         * the body bounds what is real: an element takes a byte at least,
         * in JSON or binary, so no shape may claim more than that
         */
        if (d < 0 || (d > 0 && numel > (int64_t) req->len / d)) {
            snprintf(req->error, TS_ERROR_LEN,
                     "input \"%.64s\": dimension %zu of the shape is not a "
                     "size this body can hold", input->name, i);
            return -1;
        }

        input->tensor.shape[i] = d;
        numel *= d;
    }

    data = json_object_get(in, "data");
    size = json_object_get(json_object_get(in, "parameters"),
                           "binary_data_size");
    nbytes = (size_t) numel * ts_dtype_size(input->tensor.dtype);

    if (size != NULL) {
        if (!json_is_integer(size) || json_integer_value(size) < 0
            || (size_t) json_integer_value(size) != nbytes)
        {
            snprintf(req->error, TS_ERROR_LEN,
                     "input \"%.64s\": binary_data_size must be %zu "
                     "(shape x %s)", input->name, nbytes, datatype);
            return -1;
        }

        if ((size_t) (end - *binary) < nbytes) {
            snprintf(req->error, TS_ERROR_LEN,
                     "input \"%.64s\": %zu bytes of binary data, %zu left "
                     "in the body", input->name, nbytes,
                     (size_t) (end - *binary));
            return -1;
        }

    } else if (data == NULL) {
        snprintf(req->error, TS_ERROR_LEN,
                 "input \"%.64s\" has neither \"data\" nor "
                 "parameters.binary_data_size", input->name);
        return -1;
    }

    if (size == NULL && json_is_string(data)
        && strncmp(json_string_value(data), TS_KSERVE_V2_MARK,
                   sizeof(TS_KSERVE_V2_MARK) - 1) == 0)
    {
        /* an array cut out before jansson: the fast decoder, or jansson */
        return ts_kserve_v2_fast(req, v2, input, data, numel);
    }

    if (ts_tensor_alloc(&input->tensor) != 0) {
        snprintf(req->error, TS_ERROR_LEN, "no memory for input \"%.64s\"",
                 input->name);
        return -1;
    }

    if (size != NULL) {
        memcpy(input->tensor.data, *binary, nbytes);
        *binary += nbytes;
        return 0;
    }

    return ts_kserve_v2_from_json(req, input, data, numel);
}


/* "data" (jansson's) into the allocated tensor: exactly numel values */
static int
ts_kserve_v2_from_json(ts_request_t *req, ts_kserve_v2_input_t *input,
    json_t *data, int64_t numel)
{
    int64_t  at;

    at = 0;

    if (ts_kserve_v2_fill(&input->tensor, data, &at, 0, req->error) != 0) {
        return -1;
    }

    if (at != numel) {
        snprintf(req->error, TS_ERROR_LEN,
                 "input \"%.64s\": %lld values for a shape of %lld",
                 input->name, (long long) at, (long long) numel);
        return -1;
    }

    return 0;
}


/*
 * The request's JSON, with each big array of plain numbers that follows a
 * "data" key cut out and replaced by a mark ("\u0001ts-K"): jansson makes
 * a node per number (150,528 for a 3x224x224 image, tens of ms), the fast
 * decoder reads them straight into a tensor (ts_kserve_v2_fast).
 */
static json_t *
ts_kserve_v2_load(ts_request_t *req, ts_kserve_v2_t *v2, size_t jlen)
{
    char                 *copy, *q;
    size_t                n;
    json_t               *j;
    const unsigned char  *p, *end, *last, *a;

    if (jlen < TS_KSERVE_V2_FAST_MIN) {
        return ts_json_load(req->body, jlen, req->error, TS_ERROR_LEN);
    }

    /* a mark is never longer than the array it stands for */
    copy = malloc(jlen + 1);
    if (copy == NULL) {
        snprintf(req->error, TS_ERROR_LEN, "no memory");
        return NULL;
    }

    p = req->body;
    end = req->body + jlen;
    last = p;
    q = copy;

    while (v2->nslices < TS_SCHEMA_MAX_ARGS
           && (p = memmem(p, end - p, "\"data\"", 6)) != NULL)
    {
        a = p + 6;

        /* a key (not inside a string), then ':' and '[' */
        if (p > req->body && p[-1] == '\\') {
            p = a;
            continue;
        }

        while (a < end && (*a == ' ' || *a == '\t' || *a == '\r'
                           || *a == '\n'))
        {
            a++;
        }

        if (a == end || *a != ':') {
            p = a;
            continue;
        }

        for (a++; a < end && (*a == ' ' || *a == '\t' || *a == '\r'
                              || *a == '\n'); a++) { /* void */ }

        n = (a < end && *a == '[') ? ts_kserve_v2_numbers(a, end) : 0;

        if (n < TS_KSERVE_V2_FAST_MIN) {
            p = a;
            continue;
        }

        memcpy(q, last, a - last);
        q += a - last;
        q += sprintf(q, "\"\\u0001ts-%zu\"", v2->nslices);

        v2->slice[v2->nslices] = a;
        v2->slice_len[v2->nslices] = n;
        v2->nslices++;

        last = a + n;
        p = last;
    }

    memcpy(q, last, end - last);
    q += end - last;

    j = ts_json_load(copy, q - copy, req->error, TS_ERROR_LEN);

    free(copy);
    return j;
}


/* the length of the array at p ('[') if it holds numbers only, else 0 */
static size_t
ts_kserve_v2_numbers(const unsigned char *p, const unsigned char *end)
{
    int                   depth;
    const unsigned char  *s;

    depth = 0;

    for (s = p; s < end; s++) {
        switch (*s) {

        case '[':
            if (++depth > TS_MAX_DIMS + 1) {
                return 0;
            }
            break;

        case ']':
            if (--depth == 0) {
                return s - p + 1;
            }
            break;

        case '0': case '1': case '2': case '3': case '4': case '5': case '6':
        case '7': case '8': case '9': case '-': case '+': case '.': case 'e':
        case 'E': case ',': case ' ': case '\t': case '\r': case '\n':
            break;

        default:
            return 0;
        }
    }

    return 0;
}


/* an input whose "data" was cut out: FP32 straight, the rest by jansson */
static int
ts_kserve_v2_fast(ts_request_t *req, ts_kserve_v2_t *v2,
    ts_kserve_v2_input_t *input, json_t *data, int64_t numel)
{
    int           rc;
    char         *end;
    size_t        k;
    json_t       *array;
    ts_tensor_t   t;

    k = strtoul(json_string_value(data) + sizeof(TS_KSERVE_V2_MARK) - 1,
                &end, 10);

    if (*end != '\0' || k >= v2->nslices) {
        snprintf(req->error, TS_ERROR_LEN,
                 "input \"%.64s\": \"data\" is not an array", input->name);
        return -1;
    }

    if (input->tensor.dtype == TS_FLOAT32
        && ts_json_fast_float32(v2->slice[k], v2->slice_len[k], &t))
    {
        if (ts_tensor_numel(&t) != numel) {
            snprintf(req->error, TS_ERROR_LEN,
                     "input \"%.64s\": %lld values for a shape of %lld",
                     input->name, (long long) ts_tensor_numel(&t),
                     (long long) numel);
            ts_tensor_clear(&t);
            return -1;
        }

        /* the values, in the declared shape (the array may be flat) */
        input->tensor.data = t.data;
        return 0;
    }

    array = ts_json_load(v2->slice[k], v2->slice_len[k], req->error,
                         TS_ERROR_LEN);
    if (array == NULL) {
        return -1;
    }

    rc = -1;

    if (ts_tensor_alloc(&input->tensor) != 0) {
        snprintf(req->error, TS_ERROR_LEN, "no memory for input \"%.64s\"",
                 input->name);

    } else {
        rc = ts_kserve_v2_from_json(req, input, array, numel);
    }

    json_decref(array);
    return rc;
}


/* "data", flat or nested, into t in row-major order */
static int
ts_kserve_v2_fill(ts_tensor_t *t, json_t *data, int64_t *at, int depth,
    char *err)
{
    size_t   i;
    double   d;
    int64_t  v, numel;

    if (json_is_array(data)) {
        if (depth > TS_MAX_DIMS) {
            snprintf(err, TS_ERROR_LEN, "\"data\" nests deeper than the "
                     "shape");
            return -1;
        }

        for (i = 0; i < json_array_size(data); i++) {
            if (ts_kserve_v2_fill(t, json_array_get(data, i), at, depth + 1,
                                  err)
                != 0)
            {
                return -1;
            }
        }

        return 0;
    }

    numel = ts_tensor_numel(t);

    if (*at >= numel) {
        snprintf(err, TS_ERROR_LEN, "more values in \"data\" than the shape "
                 "holds (%lld)", (long long) numel);
        return -1;
    }

    if (t->dtype == TS_BOOL) {
        if (!json_is_boolean(data)) {
            snprintf(err, TS_ERROR_LEN, "BOOL data must be true or false");
            return -1;
        }

        ((uint8_t *) t->data)[(*at)++] = json_is_true(data);
        return 0;
    }

    if (t->dtype == TS_FLOAT32 || t->dtype == TS_FLOAT64
        || t->dtype == TS_FLOAT16)
    {
        if (!json_is_number(data)) {
            snprintf(err, TS_ERROR_LEN, "%s data must be numbers",
                     ts_kserve_v2_datatype(t->dtype));
            return -1;
        }

        d = json_number_value(data);

        switch (t->dtype) {
        case TS_FLOAT64:
            ((double *) t->data)[(*at)++] = d;
            break;
        case TS_FLOAT32:
            ((float *) t->data)[(*at)++] = (float) d;
            break;
        default:
            ((uint16_t *) t->data)[(*at)++] = ts_half_from_float((float) d);
        }

        return 0;
    }

    if (!json_is_integer(data)) {
        snprintf(err, TS_ERROR_LEN, "%s data must be integers",
                 ts_kserve_v2_datatype(t->dtype));
        return -1;
    }

    v = json_integer_value(data);

    switch (t->dtype) {
    case TS_INT64:
        ((int64_t *) t->data)[(*at)++] = v;
        return 0;
    case TS_INT32:
        if (v >= INT32_MIN && v <= INT32_MAX) {
            ((int32_t *) t->data)[(*at)++] = (int32_t) v;
            return 0;
        }
        break;
    case TS_INT16:
        if (v >= INT16_MIN && v <= INT16_MAX) {
            ((int16_t *) t->data)[(*at)++] = (int16_t) v;
            return 0;
        }
        break;
    case TS_INT8:
        if (v >= INT8_MIN && v <= INT8_MAX) {
            ((int8_t *) t->data)[(*at)++] = (int8_t) v;
            return 0;
        }
        break;
    default:
        if (v >= 0 && v <= UINT8_MAX) {
            ((uint8_t *) t->data)[(*at)++] = (uint8_t) v;
            return 0;
        }
    }

    snprintf(err, TS_ERROR_LEN, "%lld is out of range for %s", (long long) v,
             ts_kserve_v2_datatype(t->dtype));
    return -1;
}


/* which input feeds which of forward's arguments */
static int
ts_kserve_v2_map(ts_servable_t *s, ts_request_t *req, ts_kserve_v2_t *v2)
{
    size_t                  i, k, required, used;
    const ts_schema_arg_t  *a;

    required = 0;
    for (i = 0; i < s->schema.nargs; i++) {
        if (!s->schema.args[i].has_default) {
            required = i + 1;
        }
    }

    if (s->schema.nargs == 0 || s->schema.args[0].kind != TS_ARG_TENSOR) {
        snprintf(req->error, TS_ERROR_LEN,
                 "this model's forward does not take a tensor first");
        return -1;
    }

    /* one input to the first argument, whatever the client named it */
    if (v2->ninputs == 1 && required <= 1) {
        v2->nargs = 1;
        v2->input_of[0] = 0;
        return 0;
    }

    used = 0;

    for (i = 0; i < s->schema.nargs; i++) {
        a = &s->schema.args[i];

        for (k = 0; k < v2->ninputs; k++) {
            if (strcmp(v2->inputs[k].name, a->name) == 0) {
                break;
            }
        }

        if (k == v2->ninputs) {
            if (i >= required) {
                break;
            }

            snprintf(req->error, TS_ERROR_LEN,
                     "no input named \"%s\" (forward's argument %zu)",
                     a->name, i);
            return -1;
        }

        if (a->kind != TS_ARG_TENSOR) {
            snprintf(req->error, TS_ERROR_LEN,
                     "forward's argument \"%s\" is a %s, not a tensor",
                     a->name, a->type_str);
            return -1;
        }

        v2->input_of[i] = (int) k;
        v2->nargs = i + 1;
        used++;
    }

    if (used != v2->ninputs) {
        snprintf(req->error, TS_ERROR_LEN,
                 "%zu inputs, %zu of them named after forward's arguments",
                 v2->ninputs, used);
        return -1;
    }

    return 0;
}


/* each row of the inputs as an instance of its own */
static int
ts_kserve_v2_rows(ts_request_t *req, ts_kserve_v2_t *v2)
{
    size_t        a, nbytes;
    int64_t       r;
    ts_value_t   *v;
    ts_tensor_t  *in;

    v2->rows = v2->inputs[v2->input_of[0]].tensor.shape[0];

    for (a = 0; a < v2->nargs; a++) {
        if (v2->inputs[v2->input_of[a]].tensor.shape[0] != v2->rows) {
            snprintf(req->error, TS_ERROR_LEN,
                     "the inputs' first dimensions (the batch) differ");
            return -1;
        }
    }

    if (v2->rows < 1) {
        snprintf(req->error, TS_ERROR_LEN,
                 "the inputs' first dimension (the batch) is 0");
        return -1;
    }

    if (v2->rows > TS_KSERVE_MAX_INSTANCES) {
        snprintf(req->error, TS_ERROR_LEN,
                 "the inputs' first dimension (the batch) is %lld: at most "
                 "%d rows in one request", (long long) v2->rows,
                 TS_KSERVE_MAX_INSTANCES);
        return -1;
    }

    v2->row_args = calloc((size_t) v2->rows * v2->nargs, sizeof(ts_value_t));
    if (v2->row_args == NULL) {
        snprintf(req->error, TS_ERROR_LEN, "no memory");
        return -1;
    }

    for (r = 0; r < v2->rows; r++) {
        for (a = 0; a < v2->nargs; a++) {
            in = &v2->inputs[v2->input_of[a]].tensor;
            v = &v2->row_args[r * v2->nargs + a];

            v->type = TS_VAL_TENSOR;
            v->u.tensor.dtype = in->dtype;
            v->u.tensor.ndim = in->ndim - 1;
            memcpy(v->u.tensor.shape, &in->shape[1],
                   (in->ndim - 1) * sizeof(int64_t));

            if (ts_tensor_alloc(&v->u.tensor) != 0) {
                v->type = TS_VAL_NONE;
                snprintf(req->error, TS_ERROR_LEN, "no memory");
                return -1;
            }

            nbytes = ts_tensor_nbytes(&v->u.tensor);
            memcpy(v->u.tensor.data, (char *) in->data + r * nbytes, nbytes);
        }
    }

    return 0;
}


void
ts_kserve_v2_expand(ts_kserve_v2_t *v2, ts_request_t *subs, ts_value_t *values)
{
    int64_t  r;

    for (r = 0; r < v2->rows; r++) {
        subs[r].args = &v2->row_args[r * v2->nargs];
        subs[r].nargs = v2->nargs;
        subs[r].value = &values[r];
        subs[r].target = v2->target;
    }
}


void
ts_kserve_v2_free(ts_kserve_v2_t *v2)
{
    size_t   i;
    int64_t  r;

    if (v2 == NULL) {
        return;
    }

    for (i = 0; i < v2->ninputs; i++) {
        ts_tensor_clear(&v2->inputs[i].tensor);
    }

    for (r = 0; v2->row_args != NULL && r < v2->rows; r++) {
        for (i = 0; i < v2->nargs; i++) {
            ts_value_clear(&v2->row_args[r * v2->nargs + i]);
        }
    }

    free(v2->row_args);
    json_decref(v2->json);
    free(v2);
}

