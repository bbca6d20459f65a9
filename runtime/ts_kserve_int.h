/*
 * ts_kserve_int.h: between ts_kserve.c (the batch path) and ts_kserve_v2.c
 * (the Open Inference Protocol's tensors).
 */

#ifndef TS_KSERVE_INT_H
#define TS_KSERVE_INT_H

#include <jansson.h>

#include "ts_kserve.h"


/*
 * Instances (v1) or rows (v2) one request may carry: each becomes a request
 * of the batch, so a body of many empty instances must not make millions
 */
#define TS_KSERVE_MAX_INSTANCES  4096


typedef struct ts_kserve_v2_s  ts_kserve_v2_t;


/* a decoded v2 request (ts_kserve_v2.c), answered by ts_kserve_v2_answer.c */
typedef struct {
    const char   *name;          /* in the request's JSON */
    ts_tensor_t   tensor;        /* the whole input, rows first */
} ts_kserve_v2_input_t;


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


/*
 * Decodes a v2 request (JSON, or JSON then binary tensors) into *out: the
 * number of rows (instances) it holds, or 0 with the request answered
 * (400 and why).
 */
size_t ts_kserve_v2_parse(ts_servable_t *s, ts_request_t *req,
    ts_kserve_v2_t **out);

/* points each of the rows' requests at its decoded instance and value */
void ts_kserve_v2_expand(ts_kserve_v2_t *v2, ts_request_t *subs,
    ts_value_t *values);

/* the v2 answer from the rows' values (the model's output, row by row) */
void ts_kserve_v2_answer(ts_servable_t *s, ts_request_t *req,
    ts_kserve_v2_t *v2, ts_value_t *values, size_t rows);

void ts_kserve_v2_free(ts_kserve_v2_t *v2);

/* the warm-up's output as the v2 metadata's "outputs" (a json_t *) */
void *ts_kserve_v2_describe_outputs(const ts_value_t *out);

#endif /* TS_KSERVE_INT_H */
