/*
 * ts_handler.c: the handler table, loading a servable, and the batch loop
 * (preprocess, forward, postprocess) shared by every handler.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_handler.h"


static const ts_handler_t  *ts_handlers[] = {
    &ts_handler_tensor,
    NULL
};


/* TorchServe's built-ins that archives may name; not (yet) ours */
static const char  *ts_torchserve_builtins[] = {
    "base_handler", "image_classifier", "image_segmenter",
    "object_detector", "text_classifier", "dali_image_classifier",
    "vllm_handler", "trt_llm_handler", NULL
};


const char *
ts_handler_names(void)
{
    return "tensor";
}


const ts_handler_t *
ts_handler_find(const char *name, char *err, size_t errlen)
{
    size_t  i, len;

    if (name == NULL || *name == '\0') {
        snprintf(err, errlen, "no handler given: use handler=%s",
                 ts_handler_names());
        return NULL;
    }

    for (i = 0; ts_handlers[i] != NULL; i++) {
        if (strcmp(ts_handlers[i]->name, name) == 0) {
            return ts_handlers[i];
        }
    }

    len = strcspn(name, ":");

    if (len >= 3 && strncmp(name + len - 3, ".py", 3) == 0) {
        snprintf(err, errlen,
                 "handler \"%s\" is a Python handler, and Python handlers "
                 "cannot run here: use a built-in handler (%s) with "
                 "handler=NAME, or move the pre/post-processing into the "
                 "TorchScript model", name, ts_handler_names());
        return NULL;
    }

    for (i = 0; ts_torchserve_builtins[i] != NULL; i++) {
        if (strcmp(ts_torchserve_builtins[i], name) == 0) {
            snprintf(err, errlen,
                     "TorchServe's handler \"%s\" is not available yet; "
                     "built-in handlers: %s", name, ts_handler_names());
            return NULL;
        }
    }

    snprintf(err, errlen, "unknown handler \"%s\"; built-in handlers: %s",
             name, ts_handler_names());
    return NULL;
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

        ts_value_clear(&out);
    }

    ts_value_clear(&arg);
    return rc;
}


ts_servable_t *
ts_servable_load(const ts_archive_t *a, const ts_handler_t *handler,
    const ts_load_options_t *options, char *err, size_t errlen)
{
    ts_servable_t            *s;
    const ts_archive_file_t  *file;
    char                      msg[TS_ERROR_LEN];

    if (ts_archive_check_torchscript(a, err, errlen) != 0) {
        return NULL;
    }

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


void
ts_servable_infer(ts_servable_t *s, ts_request_t *reqs, size_t n)
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
                                      "the handler made no progress");
                return;
            }

            continue;
        }

        status = ts_model_run(s->model, "forward", batch.args, batch.nargs,
                              &out, msg, sizeof(msg));

        if (status != TS_STATUS_OK) {
            if (batch.nrows > 1) {
                /* one instance may be at fault: retry them one by one */
                for (i = 0; i < batch.nrows; i++) {
                    ts_request_t  *r = &reqs[batch.rows[i]];

                    r->status = TS_STATUS_PENDING;
                    ts_servable_infer(s, r, 1);
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
    req->response = NULL;
    req->response_len = 0;
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
