/*
 * ts_explain.c: explanations (/explanations, KServe's :explain) of the C
 * handlers' models: each request alone through its handler's preprocess,
 * then Integrated Gradients over forward's input (ts_torch_explain.cpp),
 * answered as nested lists in the input's shape (one instance, without
 * the batch dimension), as TorchServe's handlers answer with Captum.
 *
 * The target class is the request's "target": a member of its JSON body,
 * or a form field; 0 without one (TorchServe's default).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ts_handler.h"
#include "ts_json.h"
#include "ts_multipart.h"


/* Captum's n_steps in TorchServe's handlers */
#define TS_EXPLAIN_STEPS  15


static int ts_explain_target(ts_request_t *req, int64_t *target);
static void ts_explain_one(ts_servable_t *s, ts_request_t *req);


int
ts_explain_any(const ts_request_t *reqs, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (reqs[i].status == TS_STATUS_PENDING && reqs[i].explain) {
            return 1;
        }
    }

    return 0;
}


/* answers every pending explanation of reqs; the predictions stay pending */
void
ts_explain_infer(ts_servable_t *s, ts_request_t *reqs, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (reqs[i].status == TS_STATUS_PENDING && reqs[i].explain) {
            ts_explain_one(s, &reqs[i]);
        }
    }
}


static void
ts_explain_one(ts_servable_t *s, ts_request_t *req)
{
    size_t       cap;
    int64_t      target;
    ts_batch_t   batch;
    ts_value_t   row;
    ts_tensor_t  attr;
    ts_status_e  status;
    char         msg[TS_ERROR_LEN];

    if (req->args != NULL) {
        /* decoded already (a v2 row): the class came with the request */
        target = req->target;

    } else if (ts_explain_target(req, &target) != 0) {
        req->status = TS_STATUS_BAD_INPUT;
        return;
    }

    memset(&batch, 0, sizeof(batch));
    batch.rows = calloc(1, sizeof(size_t));
    if (batch.rows == NULL) {
        req->status = TS_STATUS_NO_RESOURCES;
        snprintf(req->error, TS_ERROR_LEN, "no memory");
        return;
    }

    msg[0] = '\0';

    if (s->handler->preprocess(s, req, 1, &batch, msg, sizeof(msg)) != 0) {
        req->status = TS_STATUS_INTERNAL;
        snprintf(req->error, TS_ERROR_LEN, "%s", msg);
        goto done;
    }

    if (batch.nrows == 0) {
        /* answered by preprocess: a bad input */
        if (req->status == TS_STATUS_PENDING) {
            req->status = TS_STATUS_INTERNAL;
            snprintf(req->error, TS_ERROR_LEN, "the handler made no input "
                     "of this request");
        }
        goto done;
    }

    if (batch.nargs != 1 || batch.args[0].type != TS_VAL_TENSOR) {
        req->status = TS_STATUS_BAD_INPUT;
        snprintf(req->error, TS_ERROR_LEN, "explanations need a forward "
                 "with one tensor argument");
        goto done;
    }

    status = ts_model_integrated_gradients(s->model, &batch.args[0].u.tensor,
                                           target, TS_EXPLAIN_STEPS, &attr,
                                           msg, sizeof(msg));
    if (status != TS_STATUS_OK) {
        req->status = status;
        snprintf(req->error, TS_ERROR_LEN, "explanation: %s", msg);
        goto done;
    }

    /* the one instance: the attributions without the batch dimension */
    memset(&row, 0, sizeof(row));
    row.type = TS_VAL_TENSOR;
    row.u.tensor = attr;
    row.u.tensor.ndim = attr.ndim - 1;
    memmove(row.u.tensor.shape, &attr.shape[1],
            (attr.ndim - 1) * sizeof(int64_t));

    if (req->value != NULL) {
        /* a v2 row: its answer is made of the rows' values */
        *req->value = row;
        req->status = TS_STATUS_OK;
        goto done;
    }

    cap = 0;
    req->response = NULL;
    req->response_len = 0;

    if (ts_json_dump_value(&row, &req->response, &req->response_len, &cap)
        != 0)
    {
        free(req->response);
        req->response = NULL;
        req->response_len = 0;
        req->status = TS_STATUS_NO_RESOURCES;
        snprintf(req->error, TS_ERROR_LEN, "no memory for the response");

    } else {
        req->status = TS_STATUS_OK;
    }

    ts_value_clear(&row);

done:

    ts_batch_clear(&batch);
}


/* the request's "target": a JSON member or a form field; 0 without one */
static int
ts_explain_target(ts_request_t *req, int64_t *target)
{
    int               rc;
    char              num[32];
    json_t           *body, *t;
    ts_form_t         form;
    ts_form_field_t   f;
    char             *end;
    const char       *mime;
    size_t            len;

    *target = 0;

    len = ts_content_mime(req->content_type, &mime);

    if ((len == sizeof("multipart/form-data") - 1
         && strncasecmp(mime, "multipart/form-data", len) == 0)
        || (len == sizeof("application/x-www-form-urlencoded") - 1
            && strncasecmp(mime, "application/x-www-form-urlencoded", len)
               == 0))
    {
        if (ts_form_init(&form, req->body, req->len, req->content_type,
                         req->error, TS_ERROR_LEN) < 0)
        {
            return -1;
        }

        while ((rc = ts_form_next(&form, &f, req->error, TS_ERROR_LEN)) == 1) {
            if (!ts_form_name_is(&f, "target")) {
                continue;
            }

            if (f.value_len == 0 || f.value_len >= sizeof(num)) {
                break;
            }

            memcpy(num, f.value, f.value_len);
            num[f.value_len] = '\0';
            *target = strtoll(num, &end, 10);

            if (*end == '\0') {
                return 0;
            }

            break;
        }

        if (rc < 0) {
            return -1;
        }

        if (rc == 1) {
            snprintf(req->error, TS_ERROR_LEN,
                     "the \"target\" field is not a class number");
            return -1;
        }

        return 0;
    }

    if (req->len == 0 || req->body[0] != '{') {
        return 0;
    }

    body = json_loadb((const char *) req->body, req->len, 0, NULL);
    if (body == NULL) {
        return 0;       /* the handler says what is wrong with it */
    }

    t = json_object_get(body, "target");
    rc = 0;

    if (t != NULL && !json_is_null(t)) {
        if (json_is_integer(t)) {
            *target = json_integer_value(t);

        } else {
            snprintf(req->error, TS_ERROR_LEN,
                     "\"target\" is not a class number");
            rc = -1;
        }
    }

    json_decref(body);
    return rc;
}
