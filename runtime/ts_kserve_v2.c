/*
 * ts_kserve_v2.c: the Open Inference Protocol (KServe v2, Triton) for the
 * tensor handler.
 *
 * A request's "inputs" become forward's tensor arguments: by name, or the
 * only input to a one-argument forward.  "data" is flat or nested in
 * row-major order; with the binary tensor data extension an input has
 * parameters.binary_data_size instead, and its bytes follow the JSON
 * header (Inference-Header-Content-Length) in the order of the inputs.
 * Every input's first dimension is the batch: each row is an instance
 * that stacks with the other requests of the batch.  The answer names
 * the outputs output-0, output-1, ... (a tuple or list) or by their keys
 * (a dict), and writes as binary those asked for with
 * parameters.binary_data or every one with binary_data_output.  /explain
 * answers the attributions (ts_explain.c) the same way, as output-0, for
 * the class in parameters.target (0 without one).
 */

#define _GNU_SOURCE  /* memmem */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <jansson.h>

#include "ts_kserve_int.h"
#include "ts_json.h"


#define TS_KSERVE_V2_OUTPUTS  TS_SCHEMA_MAX_ARGS


typedef struct {
    const char   *name;          /* in the request's JSON */
    ts_tensor_t   tensor;        /* the whole input, rows first */
} ts_kserve_v2_input_t;


typedef struct {
    char          name[64];
    ts_tensor_t   tensor;        /* borrowed from a row's value */
} ts_kserve_v2_output_t;


struct ts_kserve_v2_s {
    json_t                 *json;
    const char             *id;          /* in json, or NULL */
    int                     binary_all;  /* binary_data_output */
    int64_t                 target;      /* parameters.target: explain */
    json_t                 *outputs;     /* requested, or NULL: all */
    size_t                  ninputs;
    ts_kserve_v2_input_t    inputs[TS_SCHEMA_MAX_ARGS];
    size_t                  nargs;
    int                     input_of[TS_SCHEMA_MAX_ARGS];
    int64_t                 rows;
    ts_value_t             *row_args;    /* rows x nargs */

    /* big numeric "data" arrays, cut out of the JSON before jansson */
    size_t                  nslices;
    const unsigned char    *slice[TS_SCHEMA_MAX_ARGS];
    size_t                  slice_len[TS_SCHEMA_MAX_ARGS];
};


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
static size_t ts_kserve_v2_outputs(ts_request_t *req, ts_value_t *values,
    size_t rows, ts_kserve_v2_output_t *outs);
static int ts_kserve_v2_binary(ts_kserve_v2_t *v2, const char *name);
static int ts_kserve_v2_write(ts_servable_t *s, ts_request_t *req,
    ts_kserve_v2_t *v2, ts_kserve_v2_output_t *outs, size_t nouts,
    ts_value_t *values, size_t rows);
static int ts_buf_add(char **buf, size_t *len, size_t *cap, const void *p,
    size_t n);
static int ts_buf_str(char **buf, size_t *len, size_t *cap, const char *s);
static uint16_t ts_half_from_float(float f);
static float ts_half_to_float(uint16_t h);


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

    /* the rows are joined back: each must match the first */
    for (r = 1; r < rows; r++) {
        for (i = 0; i < n; i++) {
            v = &values[r];
            t = v->type == TS_VAL_TENSOR ? &v->u.tensor
                : v->type == TS_VAL_DICT ? &v->u.dict.values[i].u.tensor
                : &v->u.list.items[i].u.tensor;

            if (v->type != values[0].type || t->dtype != outs[i].tensor.dtype
                || t->ndim != outs[i].tensor.ndim
                || memcmp(t->shape, outs[i].tensor.shape,
                          t->ndim * sizeof(int64_t)) != 0)
            {
                snprintf(req->error, TS_ERROR_LEN,
                         "the model's outputs differ in shape from row to "
                         "row: they cannot be joined into one tensor");
                req->status = TS_STATUS_INTERNAL;
                return 0;
            }
        }
    }

    return n;

unsupported:

    snprintf(req->error, TS_ERROR_LEN,
             "the model's output is not a tensor, or a tuple, list or dict "
             "of tensors: the v2 protocol cannot carry it (/predictions "
             "can)");
    req->status = TS_STATUS_INTERNAL;
    return 0;
}


/* 1 if the client asked for this output as binary data */
static int
ts_kserve_v2_binary(ts_kserve_v2_t *v2, const char *name)
{
    size_t   i;
    json_t  *o;

    for (i = 0; i < json_array_size(v2->outputs); i++) {
        o = json_array_get(v2->outputs, i);

        if (json_is_string(json_object_get(o, "name"))
            && strcmp(json_string_value(json_object_get(o, "name")), name)
               == 0)
        {
            return json_is_true(json_object_get(json_object_get(o,
                                                  "parameters"),
                                                "binary_data"))
                   || v2->binary_all;
        }
    }

    return v2->binary_all;
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


/* 1 if output `name` is in the answer: all of them, or those asked for */
static int
ts_kserve_v2_selected(ts_kserve_v2_t *v2, const char *name)
{
    size_t   i;
    json_t  *o;

    if (json_array_size(v2->outputs) == 0) {
        return 1;
    }

    for (i = 0; i < json_array_size(v2->outputs); i++) {
        o = json_object_get(json_array_get(v2->outputs, i), "name");

        if (json_is_string(o) && strcmp(json_string_value(o), name) == 0) {
            return 1;
        }
    }

    return 0;
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
        n = ts_json_format_double(ts_half_to_float(((uint16_t *) t->data)[i]),
                                  num);
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
    json_t            *o;
    int                binary[TS_KSERVE_V2_OUTPUTS], any_binary;
    const ts_tensor_t *t;

    /* every output asked for must exist */
    for (i = 0; i < json_array_size(v2->outputs); i++) {
        o = json_object_get(json_array_get(v2->outputs, i), "name");

        for (k = 0; k < nouts; k++) {
            if (json_is_string(o)
                && strcmp(json_string_value(o), outs[k].name) == 0)
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
        binary[k] = 0;

        if (!ts_kserve_v2_selected(v2, outs[k].name)) {
            binary[k] = -1;
            continue;
        }

        binary[k] = ts_kserve_v2_binary(v2, outs[k].name);
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


/* IEEE 754 binary16, rounded to nearest even, as torch converts */
static uint16_t
ts_half_from_float(float f)
{
    uint32_t  x, sign, mant;
    int32_t   exp;

    memcpy(&x, &f, sizeof(x));
    sign = (x >> 16) & 0x8000;
    exp = (int32_t) ((x >> 23) & 0xff) - 127 + 15;
    mant = x & 0x7fffff;

    if (((x >> 23) & 0xff) == 0xff) {               /* inf, nan */
        return (uint16_t) (sign | 0x7c00 | (mant ? 0x200 : 0));
    }

    if (exp >= 31) {
        return (uint16_t) (sign | 0x7c00);
    }

    if (exp <= 0) {
        /* a subnormal half: units of 2^-24, rounded to nearest even */
        return (uint16_t) (sign | (uint32_t) nearbyintf(fabsf(f)
                                                       * 16777216.0f));
    }

    x = (uint32_t) (exp << 10) | (mant >> 13);
    if ((mant & 0x1000) && ((mant & 0xfff) || (x & 1))) {
        x++;                                 /* may carry into inf: right */
    }

    return (uint16_t) (sign | x);
}


static float
ts_half_to_float(uint16_t h)
{
    uint32_t  sign, exp, mant, x;
    float     f;

    sign = (uint32_t) (h & 0x8000) << 16;
    exp = (h >> 10) & 0x1f;
    mant = h & 0x3ff;

    if (exp == 0) {
        /* zero or subnormal: exact in float */
        f = ldexpf((float) mant, -24);
        return sign ? -f : f;
    }

    if (exp == 31) {
        x = sign | 0x7f800000 | (mant << 13);

    } else {
        x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }

    memcpy(&f, &x, sizeof(f));
    return f;
}
