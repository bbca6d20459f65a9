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

/* a Python model's private folder: temp_dir/torchserve-model-<pid>-XXXXXX */
#define TS_UNPACK_PREFIX  "torchserve-model-"


/* how the request's body and answer are framed */
typedef enum {
    TS_PROTOCOL_TORCHSERVE = 0,   /* the handler's own: /predictions */
    TS_PROTOCOL_KSERVE_V1,        /* {"instances": [...]} (ts_kserve.h) */
    TS_PROTOCOL_KSERVE_V2         /* the Open Inference Protocol */
} ts_protocol_e;


/* one inference request, as the server hands it over */
typedef struct ts_request_s {
    const unsigned char  *body;
    size_t                len;
    const char           *content_type;    /* NULL if none */
    int                   explain;
    ts_protocol_e         protocol;
    size_t                header_len;      /* v2: the JSON part of a binary
                                              body; 0: all JSON */

    /* a request the runtime made of a KServe one (ts_kserve.c) */
    const ts_value_t     *args;            /* its decoded instance, or NULL */
    size_t                nargs;
    ts_value_t           *value;           /* non-NULL: the answer's value
                                              goes here, not as JSON */
    int64_t               target;          /* explaining args: the class */

    /* the rest of the HTTP request, for Python handlers */
    const char           *headers;         /* "name\0value\0" pairs */
    size_t                headers_len;
    const char           *url_path;        /* NULL: none */
    char                  request_id[129];  /* x-request-id */

    /* filled by the runtime: pending, then OK or why not */
    ts_status_e           status;
    char                 *response;        /* malloc'd, when OK */
    size_t                response_len;
    char                  error[TS_ERROR_LEN];

    /* a Python handler's own answer: malloc'd, or 0/NULL */
    int                   http_code;       /* its set_response_status */
    char                 *response_phrase; /* and its reason phrase */
    char                 *response_type;   /* its content type */
    char                 *response_headers;    /* "name\0value\0" */
    size_t                response_headers_len;
    char                 *detail;          /* a traceback, for the log */
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

    /* the Python servable's */
    int          instances;     /* handler instances (TorchServe's workers) */
    int          batch_size;
    const char  *model_name;
    const char  *model_version;
    const char  *temp_dir;      /* where archives are unpacked; NULL: /tmp */
    const char  *python_path;   /* ':'-separated, before sys.path; NULL */
} ts_load_options_t;


typedef enum {
    TS_SERVABLE_TORCHSCRIPT = 0,  /* a TorchScript file, a C handler */
    TS_SERVABLE_PYTHON            /* an interpreter runs the handler */
} ts_servable_kind_e;


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
    ts_servable_kind_e   kind;
    struct ts_python_s  *python;      /* TS_SERVABLE_PYTHON */
    char                *dir;         /* its unpacked archive */
    const ts_handler_t  *handler;     /* TS_SERVABLE_TORCHSCRIPT */
    ts_model_t          *model;
    ts_schema_t          schema;
    ts_load_options_t    options;
    const ts_archive_t  *archive;     /* valid during init only */
    void                *handler_data;
    void                *v2_outputs;  /* json_t: forward's, at warm-up */
};


/* comma-separated names of the built-in C handlers */
const char *ts_handler_names(void);

/*
 * Which servable serves archive a with handler (the manifest's, or the
 * directive's), checked as far as it can be without loading anything (a
 * may be opened without data):
 *   - "x.py" or "x.py:fn", or an eager model (a modelFile): Python, the
 *     handler file and the model file must be in the archive;
 *   - a C handler's name ("tensor", "image_classifier", ...) without a
 *     modelFile: TorchScript, its serializedFile checked
 *     (ts_archive_check_torchscript);
 *   - a TorchServe handler we have only in Python ("image_classifier",
 *     "base_handler", ...): Python, our class of that name.
 * Returns 0, or -1 with a message.
 */
int ts_servable_check(const ts_archive_t *a, const char *handler,
    ts_servable_kind_e *kind, char *err, size_t errlen);

/*
 * Loads what ts_servable_check chose (the archive must hold its data):
 * TorchScript with its handler's init and the warm-up, or the archive
 * unpacked and its Python handler imported and initialized.  NULL with
 * a message; a Python failure's traceback in *detail (malloc'd).
 */
ts_servable_t *ts_servable_load(const ts_archive_t *a, const char *handler,
    const ts_load_options_t *options, char **detail, char *err,
    size_t errlen);

void ts_servable_free(ts_servable_t *s);

/*
 * A Python servable's handler instances to n (from a pool thread: new
 * ones are initialized); TorchScript servables have none.  Returns the
 * count (0 for TorchScript), or -1 with a message.
 */
int ts_servable_resize(ts_servable_t *s, int n, char **detail, char *err,
    size_t errlen);

/* "cpu", "cuda:0", ... for TorchScript; "python" for the interpreter's */
const char *ts_servable_device(ts_servable_t *s);

/* a Python servable's requirementsFile, which is not installed; or NULL */
const char *ts_servable_requirements(ts_servable_t *s);

/*
 * Runs inference for n requests: batches what stacks, forward, answers.
 * On return every request is answered (TS_STATUS_OK with response, or
 * another status with error).  Safe to call from several threads at once.
 */
void ts_servable_infer(ts_servable_t *s, ts_request_t *reqs, size_t n);

/* the error of requests a handler's preprocess neither answered nor batched */
#define TS_NO_PROGRESS  "the handler made no progress"

/* a TorchScript servable's forward over a batch's arguments */
typedef ts_status_e (*ts_forward_pt)(ts_servable_t *s,
    const ts_batch_t *batch, ts_value_t *out, char *err, size_t errlen);

/*
 * ts_servable_infer's predictions loop for TorchScript: the handler's
 * preprocess batches what stacks, forward runs it (a failed batch of
 * several rows is retried one row at a time), postprocess answers, until
 * no request is pending.  forward is ts_model_run's "forward" in the
 * server; the fuzz targets pass their own, to run this loop without
 * libtorch.
 */
void ts_servable_infer_batches(ts_servable_t *s, ts_request_t *reqs,
    size_t n, ts_forward_pt forward);

/*
 * Explanations (ts_explain.c): 1 if a pending request of reqs asks for
 * one; answers each such request of a TorchScript servable (Integrated
 * Gradients over its preprocessed input), the others stay pending.
 */
int ts_explain_any(const ts_request_t *reqs, size_t n);
void ts_explain_infer(ts_servable_t *s, ts_request_t *reqs, size_t n);

void ts_request_clear(ts_request_t *req);
void ts_batch_clear(ts_batch_t *batch);


/* built-in handlers */
extern const ts_handler_t  ts_handler_tensor;
extern const ts_handler_t  ts_handler_image_classifier;
extern const ts_handler_t  ts_handler_image_segmenter;
extern const ts_handler_t  ts_handler_object_detector;

#ifdef __cplusplus
}
#endif

#endif /* TS_HANDLER_H */
