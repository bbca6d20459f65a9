/*
 * ts_kserve.h: the KServe protocols in front of the C handlers.
 *
 * v1 ({"instances": [...]} -> {"predictions": [...]}): each instance is
 * run as one request of the batch, as KServe's TorchServe wrapper sends
 * them, and the answers are gathered in order.  v2 (the Open Inference
 * Protocol): the request's tensors are decoded here (JSON or the binary
 * tensor extension), split along their first dimension into instances
 * that stack with the batch's other requests, and the rows' outputs are
 * joined back into the protocol's answer.
 *
 * Python servables get the same requests marked with their protocol and
 * apply TorchServe's own envelopes (runtime/python/ts/_embed.py).
 */

#ifndef TS_KSERVE_H
#define TS_KSERVE_H

#include <stddef.h>

#include <jansson.h>

#include "ts_handler.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Runs n requests of a TorchScript servable when some of them speak a
 * KServe protocol: expands them, runs everything through infer (the
 * plain path), answers each request in its own protocol.
 */
void ts_kserve_infer(ts_servable_t *s, ts_request_t *reqs, size_t n,
    void (*infer)(ts_servable_t *s, ts_request_t *reqs, size_t n));

/* 1 if some pending request of reqs[0..n) speaks KServe v1 or v2 */
int ts_kserve_any(const ts_request_t *reqs, size_t n);

/* "BOOL", "UINT8", ..., "FP32", ...: the v2 datatype of a dtype */
const char *ts_kserve_v2_datatype(ts_dtype_e dtype);

/*
 * The v2 model metadata's "inputs" and "outputs" of a TorchScript
 * servable ({"name", "datatype", "shape"}; -1 for the batch dimension),
 * from its forward's schema, input_shape and the warm-up's output; a
 * Python servable's are empty.  Returns a new jansson reference, or NULL.
 */
json_t *ts_kserve_v2_signature(const ts_servable_t *s);

#ifdef __cplusplus
}
#endif

#endif /* TS_KSERVE_H */
