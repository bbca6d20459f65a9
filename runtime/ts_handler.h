/*
 * ts_handler.h: built-in handlers (TorchServe's pre/post-processing) behind
 * one small vtable, and the servable that ties an archive, a loaded model
 * and a handler together.
 *
 * A handler works on a batch: preprocess turns the pending requests it can
 * stack together into forward's arguments (a bad instance is answered
 * TS_STATUS_BAD_INPUT and stays out of the batch), postprocess gives each
 * request of the batch its answer from forward's output.  Adding a handler is one file
 * and one entry in ts_handler.c's table.
 */

#ifndef TS_HANDLER_H
#define TS_HANDLER_H

#include <stddef.h>

#include "ts_status.h"
#include "ts_value.h"
#include "ts_torch.h"
#include "ts_archive.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TS_ERROR_LEN  512


/* one inference request, as the server hands it over */
typedef struct {
    const unsigned char  *body;
    size_t                len;
    const char           *content_type;    /* NULL if none */
    int                   explain;

    /* filled by the runtime: pending, then OK or why not */
    ts_status_e           status;
    char                 *response;        /* malloc'd JSON, when OK */
    size_t                response_len;
    char                  error[TS_ERROR_LEN];
} ts_request_t;


/* forward's arguments for the requests in rows[0..nrows) */
typedef struct {
    ts_value_t   args[TS_SCHEMA_MAX_ARGS];
    size_t       nargs;
    size_t      *rows;          /* indexes into the request array */
    size_t       nrows;
} ts_batch_t;


typedef struct {
    const char  *device;        /* NULL: cpu */
    int          warmup;        /* forward calls at load (when shape known) */
    int          input_ndim;    /* -1: instance shape unknown */
    int64_t      input_shape[TS_MAX_DIMS];
    int          input_dtype;   /* -1: by the handler's rule */
} ts_load_options_t;


typedef struct ts_handler_s  ts_handler_t;
typedef struct ts_servable_s ts_servable_t;

struct ts_handler_s {
    const char  *name;
    /* per loaded model; may set servable->handler_data */
    int        (*init)(ts_servable_t *s, char *err, size_t errlen);
    /*
     * picks pending requests that stack together, answers bad ones
     * TS_STATUS_BAD_INPUT; leaves the others pending for a later batch
     */
    int        (*preprocess)(ts_servable_t *s, ts_request_t *reqs, size_t n,
                             ts_batch_t *batch, char *err, size_t errlen);
    /* answers every request of batch->rows from output */
    int        (*postprocess)(ts_servable_t *s, const ts_value_t *output,
                              ts_request_t *reqs, const ts_batch_t *batch,
                              char *err, size_t errlen);
    void       (*free)(ts_servable_t *s);
};


struct ts_servable_s {
    const ts_handler_t  *handler;
    ts_model_t          *model;
    ts_schema_t          schema;
    ts_load_options_t    options;
    const ts_archive_t  *archive;     /* valid during init only */
    void                *handler_data;
};


/*
 * Finds a built-in handler by the name a manifest or a directive gives.
 * Python handlers ("x.py", "x.py:fn") and TorchServe handlers we do not
 * have are refused with a message that says what to use instead.
 */
const ts_handler_t *ts_handler_find(const char *name, char *err,
    size_t errlen);

/* comma-separated names of the built-in handlers */
const char *ts_handler_names(void);

/*
 * Loads the archive's serialized file (the archive must hold its data),
 * runs the handler's init and the warm-up.  Returns NULL with a message.
 */
ts_servable_t *ts_servable_load(const ts_archive_t *a,
    const ts_handler_t *handler, const ts_load_options_t *options,
    char *err, size_t errlen);

void ts_servable_free(ts_servable_t *s);

/*
 * Runs inference for n requests: batches what stacks, forward, answers.
 * On return every request is answered (TS_STATUS_OK with response, or
 * another status with error).  Safe to call from several threads at once.
 */
void ts_servable_infer(ts_servable_t *s, ts_request_t *reqs, size_t n);

void ts_request_clear(ts_request_t *req);
void ts_batch_clear(ts_batch_t *batch);


/* built-in handlers */
extern const ts_handler_t  ts_handler_tensor;

#ifdef __cplusplus
}
#endif

#endif /* TS_HANDLER_H */
