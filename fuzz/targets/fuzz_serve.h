/*
 * fuzz_serve.h: the request targets' model server without a model
 * (fuzz_tensor.c, fuzz_kserve.c): servables of the "tensor" handler with
 * a few forward() schemas, served by ts_servable_infer's own batch loop
 * for TorchScript (ts_servable_infer_batches, runtime/ts_handler.c) with
 * forward played by the harness: it returns its own arguments (a tensor, a tuple, a dict, or a
 * list of a row each, as TorchScript types allow), so that postprocess
 * and the KServe answers get values to split and join.
 */

#ifndef FUZZ_SERVE_H
#define FUZZ_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "ts_handler.h"


typedef enum {
    FUZZ_SERVE_ONE = 0,     /* forward(x: Tensor) -> x */
    FUZZ_SERVE_MANY,        /* forward(x, y: Tensor, k: int = .., scale:
                               float, flag: bool, name: str, sizes:
                               List[int], weights: List[float]) -> (x, y)
                               or (x, y, name) when name is given */
    FUZZ_SERVE_SHAPED,      /* forward(x: Tensor) -> {"ids": x}; input
                               int64 of shape [2, 3] */
    FUZZ_SERVE_LISTED,      /* forward(x: Tensor) -> List[Tuple[Tensor,
                               Optional[Tensor]]], an item a row: (x[r],
                               x[r]'s first element, None if negative) */
    FUZZ_SERVE_KINDS
} fuzz_serve_kind_e;


/* FUZZ_SERVE_MANY's "name" argument */
#define FUZZ_SERVE_NAME_ARG      5

#define FUZZ_SERVE_MAX_REQUESTS  4

/* between the requests of one input: not in JSON text, seldom in binary */
#define FUZZ_SERVE_SEPARATOR     "\n---\n"


/* a servable of that kind, its handler's init run */
void fuzz_serve_servable(ts_servable_t *s, fuzz_serve_kind_e kind);

/* ts_servable_infer_batches with the harness's forward (see above) */
void fuzz_serve_infer(ts_servable_t *s, ts_request_t *reqs, size_t n);

/*
 * data[0..size) cut at each FUZZ_SERVE_SEPARATOR into at most
 * FUZZ_SERVE_MAX_REQUESTS pieces (the last takes the rest), each an
 * exact-size malloc'd copy in pieces[], its length in lens[]: the number
 * of pieces (0: no memory).
 */
size_t fuzz_serve_split(const uint8_t *data, size_t size, uint8_t **pieces,
    size_t *lens);

/* every request answered, an answer where OK; then ts_request_clear'ed */
void fuzz_serve_check(ts_request_t *reqs, size_t n);


/* what a request target does with one input, in the order called */
typedef void (*fuzz_serve_fill_pt)(ts_request_t *req, const uint8_t *body,
    size_t len);
typedef void (*fuzz_serve_batch_pt)(ts_servable_t *s, ts_request_t *reqs,
    size_t n);
typedef void (*fuzz_serve_answer_pt)(const ts_request_t *req,
    fuzz_serve_kind_e kind);

/*
 * A request target's LLVMFuzzerTestOneInput: data split into the
 * requests of one batch (fuzz_serve_split), then for each servable kind:
 * the requests filled from their pieces, the batch served, each answer
 * checked by the target, then by fuzz_serve_check.
 */
int fuzz_serve_run(const uint8_t *data, size_t size, fuzz_serve_fill_pt fill,
    fuzz_serve_batch_pt batch, fuzz_serve_answer_pt answer);

#endif /* FUZZ_SERVE_H */
