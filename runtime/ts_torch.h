/*
 * ts_torch.h: the C ABI over libtorch (runtime/ts_torch.cpp).
 *
 * Contract (after leveldb's c.h):
 *   - handles are opaque; every create has its destroy;
 *   - no C++ type and no C++ exception crosses this header: on failure a
 *     function returns NULL, non-zero or (ts_model_run) a status other
 *     than TS_STATUS_OK, and writes a message into the caller's err
 *     buffer (errlen bytes, always NUL-terminated);
 *   - tensors and values in and out are ts_value.h's plain structs; values
 *     handed back are the caller's, released with ts_value_clear().
 *
 * Every libtorch detail stays behind this header, so that another backend
 * (torch.export / AOTInductor) can slot in here.
 */

#ifndef TS_TORCH_H
#define TS_TORCH_H

#include <stddef.h>

#include "ts_status.h"
#include "ts_value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* the shim's definitions are noexcept: no exception crosses the ABI */
#ifdef __cplusplus
#define TS_NOEXCEPT  noexcept
#else
#define TS_NOEXCEPT
#endif

typedef struct ts_model_s  ts_model_t;


#define TS_SCHEMA_MAX_ARGS  16

typedef enum {
    TS_ARG_TENSOR = 0,     /* Tensor */
    TS_ARG_INT,            /* int */
    TS_ARG_FLOAT,          /* float */
    TS_ARG_BOOL,           /* bool */
    TS_ARG_STRING,         /* str */
    TS_ARG_INT_LIST,       /* List[int] */
    TS_ARG_FLOAT_LIST,     /* List[float] */
    TS_ARG_TENSOR_LIST,    /* List[Tensor] */
    TS_ARG_OTHER           /* anything else: see type_str */
} ts_arg_kind_e;


typedef struct {
    char           name[64];
    char           type_str[64];    /* as TorchScript prints it */
    ts_arg_kind_e  kind;
    int            optional;        /* Optional[...] */
    int            has_default;
} ts_schema_arg_t;


typedef struct {
    size_t           nargs;          /* without self */
    ts_schema_arg_t  args[TS_SCHEMA_MAX_ARGS];
    char             returns[128];   /* return type as printed */
} ts_schema_t;


/* libtorch's version string, e.g. "1.13.0" */
const char *ts_torch_version(void) TS_NOEXCEPT;

/*
 * Intra-op threads for the calling process.  OpenMP keeps this per
 * thread, so ts_model_run() re-applies it in each thread that runs
 * forward; this call records it (and applies it to the caller).
 */
int ts_torch_set_intra_op_threads(int n, char *err, size_t errlen)
    TS_NOEXCEPT;

/*
 * Apply the recorded count to the calling thread if it has not been yet:
 * for pool threads that run torch through Python (its ops share our
 * libtorch and OpenMP runtime, and would otherwise use every core).
 */
void ts_torch_apply_intra_op_threads(void) TS_NOEXCEPT;

/*
 * TorchScript executor knobs (process-wide): profiling executor on/off,
 * graph optimisation on/off.  Call before the first forward.
 */
void ts_torch_set_executor(int profiling, int optimize) TS_NOEXCEPT;

#define TS_DEVICE_RULE  "use cpu, cuda or cuda:N"

/* 1 if dev (len bytes) names a device as TS_DEVICE_RULE says */
int ts_device_valid(const char *dev, size_t len) TS_NOEXCEPT;

/* 1 when libtorch can use CUDA here (built with it and a device found) */
int ts_torch_cuda_available(void) TS_NOEXCEPT;

/*
 * Loads a TorchScript module from a memory buffer (a torch.jit.save
 * file) onto device: NULL or "cpu", "cuda" or "cuda:N".  The module is
 * put in eval mode.  Asking for CUDA where it is not available is an
 * error that names the device.
 */
ts_model_t *ts_model_load(const void *buf, size_t len, const char *device,
    char *err, size_t errlen) TS_NOEXCEPT;

void ts_model_free(ts_model_t *m) TS_NOEXCEPT;

/* "cpu", "cuda:0", ... */
const char *ts_model_device(const ts_model_t *m) TS_NOEXCEPT;

/* 1 if the module has this method */
int ts_model_has_method(ts_model_t *m, const char *method) TS_NOEXCEPT;

/* the schema of method (e.g. "forward") */
int ts_model_schema(ts_model_t *m, const char *method, ts_schema_t *out,
    char *err, size_t errlen) TS_NOEXCEPT;

/*
 * Runs method under torch::InferenceMode with args (tensors, ints,
 * floats, bools, strings, lists).  Input tensors are moved to the
 * model's device; output tensors come back on the CPU, contiguous and
 * malloc'd, in *out (tensor, tuple, list, dict, str, int, float, bool,
 * None).  Thread-safe for one model from several threads.  Returns
 * TS_STATUS_OK, or what kind of failure it was (bad input, out of
 * memory, internal) with a message.
 */
ts_status_e ts_model_run(ts_model_t *m, const char *method, const ts_value_t *args,
    size_t nargs, ts_value_t *out, char *err, size_t errlen) TS_NOEXCEPT;


/*
 * Integrated Gradients (ts_torch_explain.cpp), as Captum computes them for
 * TorchServe's handlers: forward's output[:, target] (or the output itself
 * when it has one value per row) differentiated with respect to forward's
 * one tensor argument x [N, ...], along the straight path from a zero
 * baseline, with `steps` points of Gauss-Legendre quadrature; the
 * attributions, in x's shape, into *out (the caller's).  Autograd is on
 * for this call only (predictions keep InferenceMode).  TS_STATUS_OK, or
 * TS_STATUS_BAD_INPUT for what cannot be explained (an integer input, an
 * output without a gradient, a target out of range) with a message.
 */
ts_status_e ts_model_integrated_gradients(ts_model_t *m, const ts_tensor_t *x,
    int64_t target, int steps, ts_tensor_t *out, char *err, size_t errlen)
    TS_NOEXCEPT;


/*
 * The vision handlers' post-processing (ts_torch_vision.cpp), on CPU
 * tensors; each result is the caller's (ts_tensor_clear).  0, or -1 with
 * a message.
 */

/* softmax over dim 1 of [N, K], then the top k (1 <= k <= K) of each row:
 * probs float [N, k] and classes int64 [N, k], in torch.topk's order */
int ts_torch_softmax_topk(const ts_tensor_t *scores, int k,
    ts_tensor_t *probs, ts_tensor_t *classes, char *err, size_t errlen)
    TS_NOEXCEPT;

/* softmax over dim 1 */
int ts_torch_softmax(const ts_tensor_t *scores, ts_tensor_t *out,
    char *err, size_t errlen) TS_NOEXCEPT;

/* argmax over dim 1: int64 */
int ts_torch_argmax(const ts_tensor_t *scores, ts_tensor_t *out,
    char *err, size_t errlen) TS_NOEXCEPT;

/* TorchServe's segmenter: softmax over dim 1 of [N, K, H, W], the best
 * class of each pixel: [N, H, W, 2] of (class as a float, probability) */
int ts_torch_segment(const ts_tensor_t *scores, ts_tensor_t *out,
    char *err, size_t errlen) TS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* TS_TORCH_H */
