/*
 * ts_kserve_int.h: between ts_kserve.c (the batch path) and ts_kserve_v2.c
 * (the Open Inference Protocol's tensors).
 */

#ifndef TS_KSERVE_INT_H
#define TS_KSERVE_INT_H

#include "ts_kserve.h"


/*
 * Instances (v1) or rows (v2) one request may carry: each becomes a request
 * of the batch, so a body of many empty instances must not make millions
 */
#define TS_KSERVE_MAX_INSTANCES  4096


typedef struct ts_kserve_v2_s  ts_kserve_v2_t;

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
