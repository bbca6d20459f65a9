/*
 * ts_handler.c: the handler table, loading a servable, and the batch loop
 * (preprocess, forward, postprocess) shared by every handler.
 */

#define _GNU_SOURCE           /* memrchr */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ts_handler.h"
#include "ts_kserve.h"
#include "ts_kserve_int.h"
#include "ts_python.h"


static const ts_handler_t  *ts_handlers[] = {
    &ts_handler_tensor,
    &ts_handler_image_classifier,
    &ts_handler_image_segmenter,
    &ts_handler_object_detector,
    NULL
};


/* TorchServe's built-ins that archives may name: our Python classes */
static const char  *ts_python_builtins[] = {
    "base_handler", "image_classifier", "image_segmenter",
    "object_detector", "text_classifier", NULL
};


static const ts_handler_t *ts_handler_find(const char *name);
static int ts_handler_is_python(const char *name);
static int ts_handler_in_python(const char *name);
static int ts_servable_check_python(const ts_archive_t *a,
    const char *handler, char *err, size_t errlen);
static ts_servable_t *ts_servable_load_torchscript(const ts_archive_t *a,
    const ts_handler_t *handler, const ts_load_options_t *options,
    char *err, size_t errlen);
static ts_status_e ts_forward_model(ts_servable_t *s,
    const ts_batch_t *batch, ts_value_t *out, char *err, size_t errlen);
static ts_servable_t *ts_servable_load_python(const ts_archive_t *a,
    const char *handler, const ts_load_options_t *options, char **detail,
    char *err, size_t errlen);


const char *
ts_handler_names(void)
{
    return "tensor, image_classifier, image_segmenter, object_detector";
}


static const ts_handler_t *
ts_handler_find(const char *name)
{
    size_t  i;

    for (i = 0; ts_handlers[i] != NULL; i++) {
        if (strcmp(ts_handlers[i]->name, name) == 0) {
            return ts_handlers[i];
        }
    }

    return NULL;
}


/* one of TorchServe's handlers, which our ts package has */
static int
ts_handler_in_python(const char *name)
{
    size_t  i;

    for (i = 0; ts_python_builtins[i] != NULL; i++) {
        if (strcmp(ts_python_builtins[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


/* "x.py" or "x.py:fn" */
static int
ts_handler_is_python(const char *name)
{
    size_t  len;

    len = strcspn(name, ":");

    return len >= 3 && strncmp(name + len - 3, ".py", 3) == 0;
}


int
ts_servable_check(const ts_archive_t *a, const char *handler,
    ts_servable_kind_e *kind, char *err, size_t errlen)
{
    if (handler == NULL || *handler == '\0') {
        snprintf(err, errlen, "no handler given: use handler=%s or a "
                 "handler.py", ts_handler_names());
        return -1;
    }

    /* an eager model (a modelFile) with one of TorchServe's handlers is
     * for our Python class of that name; ours alone ("tensor") take
     * TorchScript only, and say so */
    if (ts_handler_find(handler) != NULL
        && (a->manifest.model_file == NULL || !ts_handler_in_python(handler)))
    {
        *kind = TS_SERVABLE_TORCHSCRIPT;
        return ts_archive_check_torchscript(a, err, errlen);
    }

    if (!ts_handler_in_python(handler) && !ts_handler_is_python(handler)) {
        snprintf(err, errlen, "unknown handler \"%s\": use a handler.py, "
                 "a C handler (%s) or one of TorchServe's: base_handler, "
                 "image_classifier, image_segmenter, object_detector, "
                 "text_classifier", handler, ts_handler_names());
        return -1;
    }

    *kind = TS_SERVABLE_PYTHON;
    return ts_servable_check_python(a, handler, err, errlen);
}


/* the files a Python handler imports and loads are in the archive */
static int
ts_servable_check_python(const ts_archive_t *a, const char *handler,
    char *err, size_t errlen)
{
    char         file[1024];
    size_t       len;
    const char  *base;

    if (ts_handler_is_python(handler)) {
        /* the directory part goes, as TorchServe's model_loader does */
        len = strcspn(handler, ":");
        base = memrchr(handler, '/', len);
        base = base ? base + 1 : handler;
        len -= (size_t) (base - handler);

        snprintf(file, sizeof(file), "%.*s", (int) len, base);

        if (ts_archive_find(a, file) == NULL) {
            snprintf(err, errlen, "the handler file \"%s\" is not in the "
                     "archive", file);
            return -1;
        }
    }

    if (a->manifest.model_file != NULL
        && ts_archive_find(a, a->manifest.model_file) == NULL)
    {
        snprintf(err, errlen, "the manifest's modelFile \"%s\" is not in "
                 "the archive", a->manifest.model_file);
        return -1;
    }

    if (a->manifest.serialized_file != NULL
        && ts_archive_find(a, a->manifest.serialized_file) == NULL)
    {
        snprintf(err, errlen, "the manifest's serializedFile \"%s\" is not "
                 "in the archive", a->manifest.serialized_file);
        return -1;
    }

    return 0;
}


static int
ts_servable_warmup(ts_servable_t *s, char *err, size_t errlen)
{
    ts_value_t  arg, out;
    char        shape[128], msg[TS_ERROR_LEN];
    size_t      off;
    int         i, rc;

    if (s->options.warmup <= 0 || s->options.input_ndim < 0) {
        return 0;
    }

    memset(&arg, 0, sizeof(arg));
    arg.type = TS_VAL_TENSOR;
    arg.u.tensor.dtype = s->options.input_dtype >= 0
                         ? (ts_dtype_e) s->options.input_dtype : TS_FLOAT32;
    arg.u.tensor.ndim = s->options.input_ndim + 1;
    arg.u.tensor.shape[0] = 1;
    memcpy(&arg.u.tensor.shape[1], s->options.input_shape,
           s->options.input_ndim * sizeof(int64_t));

    off = snprintf(shape, sizeof(shape), "[1");
    for (i = 0; i < s->options.input_ndim && off < sizeof(shape); i++) {
        off += snprintf(shape + off, sizeof(shape) - off, ", %lld",
                        (long long) s->options.input_shape[i]);
    }
    if (off < sizeof(shape)) {
        snprintf(shape + off, sizeof(shape) - off, "]");
    }

    if (ts_tensor_alloc(&arg.u.tensor) != 0) {
        snprintf(err, errlen, "no memory for the warm-up input %s", shape);
        return -1;
    }

    rc = 0;

    for (i = 0; i < s->options.warmup; i++) {
        if (ts_model_run(s->model, "forward", &arg, 1, &out, msg,
                         sizeof(msg))
            != TS_STATUS_OK)
        {
            snprintf(err, errlen,
                     "warm-up forward on a zero input of shape %s (%s) "
                     "failed: %s", shape,
                     ts_dtype_name(arg.u.tensor.dtype), msg);
            rc = -1;
            break;
        }

        if (s->v2_outputs == NULL) {
            s->v2_outputs = ts_kserve_v2_describe_outputs(&out);
        }

        ts_value_clear(&out);
    }

    ts_value_clear(&arg);
    return rc;
}


ts_servable_t *
ts_servable_load(const ts_archive_t *a, const char *handler,
    const ts_load_options_t *options, char **detail, char *err,
    size_t errlen)
{
    ts_servable_kind_e  kind;

    *detail = NULL;

    if (ts_servable_check(a, handler, &kind, err, errlen) != 0) {
        return NULL;
    }

    if (kind == TS_SERVABLE_PYTHON) {
        return ts_servable_load_python(a, handler, options, detail, err,
                                       errlen);
    }

    return ts_servable_load_torchscript(a, ts_handler_find(handler),
                                        options, err, errlen);
}


static ts_servable_t *
ts_servable_load_torchscript(const ts_archive_t *a,
    const ts_handler_t *handler, const ts_load_options_t *options,
    char *err, size_t errlen)
{
    ts_servable_t            *s;
    const ts_archive_file_t  *file;
    char                      msg[TS_ERROR_LEN];

    file = ts_archive_find(a, a->manifest.serialized_file);

    if (file == NULL || file->data == NULL) {
        snprintf(err, errlen, "serialized file \"%s\" was not read",
                 a->manifest.serialized_file);
        return NULL;
    }

    s = calloc(1, sizeof(ts_servable_t));
    if (s == NULL) {
        snprintf(err, errlen, "no memory");
        return NULL;
    }

    s->handler = handler;
    s->options = *options;
    s->archive = a;

    s->model = ts_model_load(file->data, file->size, options->device, msg,
                             sizeof(msg));
    if (s->model == NULL) {
        snprintf(err, errlen, "loading TorchScript \"%s\" failed: %s",
                 a->manifest.serialized_file, msg);
        goto failed;
    }

    if (ts_model_schema(s->model, "forward", &s->schema, msg, sizeof(msg))
        != 0)
    {
        snprintf(err, errlen, "%s", msg);
        goto failed;
    }

    if (handler->init != NULL && handler->init(s, err, errlen) != 0) {
        goto failed;
    }

    if (ts_servable_warmup(s, err, errlen) != 0) {
        goto failed;
    }

    s->archive = NULL;
    return s;

failed:

    ts_servable_free(s);
    return NULL;
}


/* the archive unpacked into its private folder, its handler imported */
static ts_servable_t *
ts_servable_load_python(const ts_archive_t *a, const char *handler,
    const ts_load_options_t *options, char **detail, char *err,
    size_t errlen)
{
    char                  dir[4096], prefix[64];
    ts_servable_t        *s;
    ts_python_options_t   po;

    /* the pid tells a killed process's folders (ts_archive_remove_stale) */
    snprintf(prefix, sizeof(prefix), TS_UNPACK_PREFIX "%ld", (long) getpid());

    if (ts_archive_unpack(a, options->temp_dir ? options->temp_dir : "/tmp",
                          prefix, dir, sizeof(dir), err, errlen)
        != 0)
    {
        return NULL;
    }

    s = calloc(1, sizeof(ts_servable_t));
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        free(s);
        ts_archive_remove_tree(dir);
        snprintf(err, errlen, "no memory");
        return NULL;
    }

    s->kind = TS_SERVABLE_PYTHON;
    s->options = *options;

    memset(&po, 0, sizeof(po));
    po.model_dir = dir;
    po.handler = handler;
    po.model_name = options->model_name ? options->model_name : "";
    po.model_version = options->model_version ? options->model_version : "";
    po.instances = options->instances > 0 ? options->instances : 1;
    po.batch_size = options->batch_size > 0 ? options->batch_size : 1;
    po.gpu_id = -1;
    po.python_path = options->python_path;

    if (options->device != NULL && strncmp(options->device, "cuda", 4) == 0)
    {
        po.gpu_id = options->device[4] == ':' ? atoi(options->device + 5)
                                              : 0;
    }

    s->python = ts_python_load(&po, detail, err, errlen);

    if (s->python == NULL) {
        ts_servable_free(s);
        return NULL;
    }

    return s;
}


int
ts_servable_resize(ts_servable_t *s, int n, char **detail, char *err,
    size_t errlen)
{
    *detail = NULL;

    if (s->kind != TS_SERVABLE_PYTHON) {
        return 0;
    }

    return ts_python_resize(s->python, n, detail, err, errlen);
}


const char *
ts_servable_device(ts_servable_t *s)
{
    return s->kind == TS_SERVABLE_PYTHON ? "python" : ts_model_device(s->model);
}


const char *
ts_servable_requirements(ts_servable_t *s)
{
    return s->python ? ts_python_requirements(s->python) : NULL;
}


void
ts_servable_free(ts_servable_t *s)
{
    if (s == NULL) {
        return;
    }

    if (s->handler != NULL && s->handler->free != NULL) {
        s->handler->free(s);
    }

    if (s->model != NULL) {
        ts_model_free(s->model);
    }

    if (s->python != NULL) {
        ts_python_free(s->python);
    }

    if (s->dir != NULL) {
        ts_archive_remove_tree(s->dir);
        free(s->dir);
    }

    json_decref((json_t *) s->v2_outputs);
    free(s);
}


static void
ts_batch_fail(ts_request_t *reqs, const ts_batch_t *batch,
    ts_status_e status, const char *msg)
{
    size_t  i;

    for (i = 0; i < batch->nrows; i++) {
        reqs[batch->rows[i]].status = status;
        snprintf(reqs[batch->rows[i]].error, TS_ERROR_LEN, "%s", msg);
    }
}


static size_t
ts_infer_pending(ts_request_t *reqs, size_t n)
{
    size_t  i, pending;

    pending = 0;

    for (i = 0; i < n; i++) {
        pending += (reqs[i].status == TS_STATUS_PENDING);
    }

    return pending;
}


static void
ts_infer_fail_pending(ts_request_t *reqs, size_t n, ts_status_e status,
    const char *msg)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (reqs[i].status == TS_STATUS_PENDING) {
            reqs[i].status = status;
            snprintf(reqs[i].error, TS_ERROR_LEN, "%s", msg);
        }
    }
}


/*
 * Some were answered already (no memory for a body, the client left):
 * handle() gets the others as one batch, in their order.
 */
static void
ts_infer_python_pending(ts_servable_t *s, ts_request_t *reqs, size_t n)
{
    size_t         i, k;
    ts_request_t  *run;

    run = malloc(n * sizeof(ts_request_t));

    if (run == NULL) {
        for (i = 0; i < n; i++) {
            if (reqs[i].status == TS_STATUS_PENDING) {
                ts_python_infer(s->python, &reqs[i], 1);
            }
        }

        return;
    }

    for (i = 0, k = 0; i < n; i++) {
        if (reqs[i].status == TS_STATUS_PENDING) {
            run[k++] = reqs[i];
        }
    }

    if (k > 0) {
        ts_python_infer(s->python, run, k);
    }

    for (i = 0, k = 0; i < n; i++) {
        if (reqs[i].status == TS_STATUS_PENDING) {
            reqs[i] = run[k++];
        }
    }

    free(run);
}


void
ts_servable_infer(ts_servable_t *s, ts_request_t *reqs, size_t n)
{
    if (s->kind == TS_SERVABLE_TORCHSCRIPT && ts_kserve_any(reqs, n)) {
        ts_kserve_infer(s, reqs, n, ts_servable_infer);
        return;
    }

    if (s->kind == TS_SERVABLE_PYTHON) {
        if (ts_infer_pending(reqs, n) == n) {
            ts_python_infer(s->python, reqs, n);
            return;
        }

        ts_infer_python_pending(s, reqs, n);
        return;
    }

    /* explanations first, each alone; the predictions then batch */
    if (ts_explain_any(reqs, n)) {
        ts_explain_infer(s, reqs, n);
    }

    ts_servable_infer_batches(s, reqs, n, ts_forward_model);
}


static ts_status_e
ts_forward_model(ts_servable_t *s, const ts_batch_t *batch, ts_value_t *out,
    char *err, size_t errlen)
{
    return ts_model_run(s->model, "forward", batch->args, batch->nargs, out,
                        err, errlen);
}


void
ts_servable_infer_batches(ts_servable_t *s, ts_request_t *reqs, size_t n,
    ts_forward_pt forward)
{
    size_t       i, pending;
    ts_batch_t   batch;
    ts_value_t   out;
    ts_status_e  status;
    char         msg[TS_ERROR_LEN];

    for ( ;; ) {
        pending = ts_infer_pending(reqs, n);

        if (pending == 0) {
            return;
        }

        memset(&batch, 0, sizeof(batch));
        batch.rows = calloc(n, sizeof(size_t));

        if (batch.rows == NULL) {
            ts_infer_fail_pending(reqs, n, TS_STATUS_NO_RESOURCES, "no memory");
            return;
        }

        msg[0] = '\0';

        if (s->handler->preprocess(s, reqs, n, &batch, msg, sizeof(msg))
            != 0)
        {
            ts_infer_fail_pending(reqs, n, TS_STATUS_INTERNAL, msg);
            ts_batch_clear(&batch);
            return;
        }

        if (batch.nrows == 0) {
            ts_batch_clear(&batch);

            /* preprocess must answer or batch something each round */
            if (ts_infer_pending(reqs, n) == pending) {
                ts_infer_fail_pending(reqs, n, TS_STATUS_INTERNAL,
                                      TS_NO_PROGRESS);
                return;
            }

            continue;
        }

        status = forward(s, &batch, &out, msg, sizeof(msg));

        if (status != TS_STATUS_OK) {
            if (batch.nrows > 1) {
                /* one instance may be at fault: retry them one by one */
                for (i = 0; i < batch.nrows; i++) {
                    ts_request_t  *r = &reqs[batch.rows[i]];

                    r->status = TS_STATUS_PENDING;
                    ts_servable_infer_batches(s, r, 1, forward);
                }

            } else {
                ts_batch_fail(reqs, &batch, status, msg);
            }

            ts_batch_clear(&batch);
            continue;
        }

        if (s->handler->postprocess(s, &out, reqs, &batch, msg, sizeof(msg))
            != 0)
        {
            ts_batch_fail(reqs, &batch, TS_STATUS_INTERNAL, msg);
        }

        ts_value_clear(&out);
        ts_batch_clear(&batch);
    }
}


void
ts_request_clear(ts_request_t *req)
{
    free(req->response);
    free(req->response_phrase);
    free(req->response_type);
    free(req->response_headers);
    free(req->detail);
    req->response = NULL;
    req->response_len = 0;
    req->response_phrase = NULL;
    req->response_type = NULL;
    req->response_headers = NULL;
    req->response_headers_len = 0;
    req->detail = NULL;
}


void
ts_batch_clear(ts_batch_t *batch)
{
    size_t  i;

    for (i = 0; i < batch->nargs; i++) {
        ts_value_clear(&batch->args[i]);
    }

    free(batch->rows);
    memset(batch, 0, sizeof(*batch));
}
