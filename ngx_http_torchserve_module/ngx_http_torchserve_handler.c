/*
 * ngx_http_torchserve_handler.c: TorchServe's inference API in a location.
 *
 *   /ping                                  health
 *   /predictions/{model}[/{version}]       POST or PUT (curl -T), JSON out
 *
 * The request path: route and find the model (a model still loading here
 * parks the request, _wait.c), read the body, join the model's queue
 * (_batch.c); the batch runs preprocess + forward + postprocess as a task
 * in the thread pool, never on the event loop, and its completion hands
 * each request its result (infer_done below, then _reply.c).  A batch
 * owns copies of its bodies on the heap, so a request is never blocked
 * on it: it may time out (504) or go away while forward still runs.
 */

#include "ngx_http_torchserve_module.h"


static ngx_int_t ngx_http_torchserve_ping(ngx_http_request_t *r);
static ngx_int_t ngx_http_torchserve_predictions_resume(
    ngx_http_torchserve_waiter_t *w);
static ngx_int_t ngx_http_torchserve_predictions_start(ngx_http_request_t *r,
    ngx_http_torchserve_model_t *m, ngx_str_t *version,
    ts_protocol_e protocol, ngx_uint_t explain);
static void ngx_http_torchserve_body_ready(ngx_http_request_t *r);
static ngx_int_t ngx_http_torchserve_collect_body(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx);
static void ngx_http_torchserve_free_infer(void *data);


uint64_t
ngx_http_torchserve_now_us(void)
{
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    return (uint64_t) tv.tv_sec * 1000000 + tv.tv_usec;
}


ngx_int_t
ngx_http_torchserve_inference_handler(ngx_http_request_t *r)
{
    ngx_int_t   rc;
    ngx_str_t   segs[7], none = ngx_null_string;
    ngx_uint_t  n;

    rc = ngx_http_torchserve_api_description(r,
                                             NGX_HTTP_TORCHSERVE_API_INFERENCE);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    /* TorchServe's order: the descriptions, then the token, then the API */
    rc = ngx_http_torchserve_token_check(r, NGX_HTTP_TORCHSERVE_API_INFERENCE);
    if (rc != NGX_OK) {
        return rc;
    }

    n = ngx_http_torchserve_split_path(&r->uri, segs, 7);

    if (n == 0) {
        /* "/" is the API description's, for OPTIONS only */
        return ngx_http_torchserve_send_bad_method(r);
    }

    if (n == 1 && segs[0].len == 4 && ngx_strncmp(segs[0].data, "ping", 4)
                                       == 0)
    {
        return ngx_http_torchserve_ping(r);
    }

    if (n >= 2 && segs[0].len == 11
        && ngx_strncmp(segs[0].data, "predictions", 11) == 0)
    {
        return ngx_http_torchserve_predictions(r, &segs[1],
                                               n >= 3 ? &segs[2] : &none,
                                               TS_PROTOCOL_TORCHSERVE, 0);
    }

    if (n >= 2 && n <= 3 && segs[0].len == 12
        && ngx_strncmp(segs[0].data, "explanations", 12) == 0)
    {
        return ngx_http_torchserve_predictions(r, &segs[1],
                                               n == 3 ? &segs[2] : &none,
                                               TS_PROTOCOL_TORCHSERVE, 1);
    }

    if (n >= 1 && segs[0].len == 2
        && (ngx_strncmp(segs[0].data, "v1", 2) == 0
            || ngx_strncmp(segs[0].data, "v2", 2) == 0))
    {
        return ngx_http_torchserve_kserve(r, segs, n);
    }

    return ngx_http_torchserve_send_no_api(r);
}


static ngx_int_t
ngx_http_torchserve_ping(ngx_http_request_t *r)
{
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    if (!ngx_http_torchserve_healthy(tmcf, 0)) {
        return ngx_http_torchserve_send_status(r,
                   NGX_HTTP_INTERNAL_SERVER_ERROR, "Unhealthy");
    }

    return ngx_http_torchserve_send_status(r, NGX_HTTP_OK, "Healthy");
}


/*
 * /ping: no model with workers failed to load in this process; one still
 * loading counts as healthy, as TorchServe's starting workers do (a load
 * balancer must not drop a server at each reload). v2's readiness (ready)
 * also waits for the loads.
 */
ngx_uint_t
ngx_http_torchserve_healthy(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t ready)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        if (m->removed || m->workers == 0
            || m->status == NGX_HTTP_TORCHSERVE_READY
            || (m->status == NGX_HTTP_TORCHSERVE_LOADING && !ready))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


ngx_int_t
ngx_http_torchserve_predictions(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *version, ts_protocol_e protocol, ngx_uint_t explain)
{
    ngx_int_t                         rc;
    ngx_uint_t                        name_found;
    ngx_http_torchserve_waiter_t     *w;
    ngx_http_torchserve_model_t      *m;
    ngx_http_torchserve_main_conf_t  *tmcf;

    if (!(r->method & (NGX_HTTP_POST|NGX_HTTP_PUT))) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: model \"%V\": method %V is not allowed "
                      "for predictions (POST or PUT)", name,
                      &r->method_name);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_ALLOWED, NULL,
                   "Requested method is not allowed, please refer to API "
                   "document.");
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    r->connection->log->action = "routing a prediction";

    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

    m = ngx_http_torchserve_model_find(tmcf, name, version, &name_found);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: prediction for \"%V\" version \"%V\": "
                   "%s, status %d", name, version,
                   m ? "found" : "not found", m ? (int) m->status : -1);

    if (m == NULL) {
        if (!name_found) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "torchserve: model \"%V\" not found", name);
            return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                       "ModelNotFoundException", "Model not found: %V", name);
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: model \"%V\" has no version \"%V\"",
                      name, version);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                   "ModelVersionNotFoundException",
                   "Model version: %V does not exist for model: %V",
                   version, name);
    }

    if (m->status == NGX_HTTP_TORCHSERVE_LOADING) {
        /* scaled up or registered elsewhere: wait for our own copy */
        w = ngx_http_torchserve_waiter_create(r, tmcf);
        if (w == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        w->model = m;
        w->version = *version;
        w->protocol = protocol;
        w->explain = explain;
        w->answer = ngx_http_torchserve_predictions_resume;

        rc = ngx_http_torchserve_wait(r, w);
        if (rc == NGX_DONE) {
            r->main->count++;
        }

        return rc;
    }

    return ngx_http_torchserve_predictions_start(r, m, version, protocol,
                                                 explain);
}


/* a parked prediction: the model it waited for is settled */
static ngx_int_t
ngx_http_torchserve_predictions_resume(ngx_http_torchserve_waiter_t *w)
{
    ngx_str_t  none = ngx_null_string;

    if (w->model == NULL) {
        return ngx_http_torchserve_send_error(w->request, NGX_HTTP_NOT_FOUND,
                   "ModelNotFoundException", "Model not found");
    }

    return ngx_http_torchserve_predictions_start(w->request, w->model,
                                                 w->version.len ? &w->version
                                                                : &none,
                                                 w->protocol, w->explain);
}


static ngx_int_t
ngx_http_torchserve_predictions_start(ngx_http_request_t *r,
    ngx_http_torchserve_model_t *m, ngx_str_t *version,
    ts_protocol_e protocol, ngx_uint_t explain)
{
    ngx_int_t                         rc;
    ngx_pool_cleanup_t               *cln;
    ngx_http_torchserve_infer_t      *ctx;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    /*
     * scaled to 0: new requests are refused at once, while the ones in
     * flight keep the model loaded until they are answered
     */
    if (m->workers == 0
        || m->status == NGX_HTTP_TORCHSERVE_UNLOADED
        || m->status == NGX_HTTP_TORCHSERVE_LOADING)
    {
        ngx_http_torchserve_count_request(m, version->len > 0);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "torchserve: model \"%V\" version \"%V\" has no "
                      "worker", &m->name, &m->version);

        if (version->len) {
            return ngx_http_torchserve_send_error(r,
                       NGX_HTTP_SERVICE_UNAVAILABLE, NULL,
                       "Model \"%V\" Version %V\" has no worker to serve "
                       "inference request. Please use scale workers API to "
                       "add workers. If this is a sequence inference, please "
                       "check if it is closed, or expired; or exceeds "
                       "maxSequenceJobQueueSize", &m->name, version);
        }

        return ngx_http_torchserve_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   NULL,
                   "Model \"%V\" has no worker to serve inference request. "
                   "Please use scale workers API to add workers. If this is "
                   "a sequence inference, please check if it is closed, or "
                   "expired; or exceeds maxSequenceJobQueueSize", &m->name);
    }

    if (m->status == NGX_HTTP_TORCHSERVE_FAILED) {
        ngx_http_torchserve_count_request(m, version->len > 0);

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "torchserve: model \"%V\" version \"%V\" is not "
                      "loaded: %s", &m->name, &m->version, m->load_error);
        return ngx_http_torchserve_send_error(r,
                   NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                   "Model \"%V\" version %V failed to load: %s",
                   &m->name, &m->version, m->load_error);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_torchserve_infer_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * the model stays loaded (and its entry alive) until this request is
     * freed; the cleanup also frees what the thread malloc'd
     */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->tmcf = tmcf;
    ctx->model = m;
    ctx->servable = m->servable;
    ctx->versioned = version->len > 0;
    ctx->start_us = ngx_http_torchserve_now_us();
    ctx->protocol = protocol;
    ctx->explain = explain;

    if (protocol == TS_PROTOCOL_KSERVE_V2
        && ngx_http_torchserve_v2_header_length(r, &ctx->header_len)
           != NGX_OK)
    {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "Inference-Header-Content-Length is not a number of "
                   "bytes");
    }

    m->inflight++;
    cln->handler = ngx_http_torchserve_free_infer;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_torchserve_module);

    rc = ngx_http_read_client_request_body(r, ngx_http_torchserve_body_ready);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_torchserve_body_ready(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_torchserve_infer_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_torchserve_module);

    r->connection->log->action = "queueing a prediction";

    if (ngx_http_torchserve_collect_body(r, ctx) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: model \"%V\": body of %uz bytes in %ui "
                   "part(s)", &ctx->model->name, ctx->body_len, ctx->nparts);

    /* a Python model's interpreter busy here, idle in a sibling */
    if (ngx_http_torchserve_handoff(r, ctx) == NGX_DONE) {
        return;
    }

    /* joins the model's queue; answered when its batch is done */
    rc = ngx_http_torchserve_batch_enqueue(r, ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* where the body is: memory buffers and temp-file ranges, read in the task */
static ngx_int_t
ngx_http_torchserve_collect_body(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx)
{
    ngx_uint_t                        n;
    ngx_buf_t                        *b;
    ngx_chain_t                      *cl;
    ngx_http_torchserve_body_part_t  *part;

    if (r->request_body == NULL) {
        return NGX_OK;
    }

    n = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        n++;
    }

    if (n == 0) {
        return NGX_OK;
    }

    ctx->parts = ngx_pcalloc(r->pool,
                             n * sizeof(ngx_http_torchserve_body_part_t));
    if (ctx->parts == NULL) {
        return NGX_ERROR;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;
        part = &ctx->parts[ctx->nparts];

        if (b->in_file) {
            part->fd = b->file->fd;
            part->offset = b->file_pos;
            part->len = (size_t) (b->file_last - b->file_pos);

        } else {
            part->data = b->pos;
            part->len = b->last - b->pos;
        }

        if (part->len == 0) {
            continue;
        }

        ctx->body_len += part->len;
        ctx->nparts++;
    }

    return NGX_OK;
}


/*
 * A prediction's latencies into the metrics, once, whatever answers it
 * (its batch, response_timeout, a full queue); a request that never ran
 * has no queue or inference time.
 */
void
ngx_http_torchserve_infer_count(ngx_http_torchserve_infer_t *ctx)
{
    if (ctx->done_us != 0) {
        return;
    }

    ctx->done_us = ngx_http_torchserve_now_us();

    if (ctx->end_us == 0) {
        ngx_http_torchserve_count_inference(ctx->model,
            ctx->versioned, ctx->done_us - ctx->start_us,
            NGX_HTTP_TORCHSERVE_NOT_RUN, 0, 0);
        return;
    }

    ngx_http_torchserve_count_inference(ctx->model,
        ctx->versioned, ctx->done_us - ctx->start_us,
        ctx->run_us > ctx->enqueued_us ? ctx->run_us - ctx->enqueued_us : 0,
        ctx->end_us > ctx->run_us ? ctx->end_us - ctx->run_us : 0,
        ctx->batch_size);
}


/* a batch answered this request (ctx->req holds the result) */
void
ngx_http_torchserve_infer_done(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_uint_t                    status, level;
    ngx_http_torchserve_infer_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_torchserve_module);

    ngx_http_torchserve_infer_count(ctx);

    r->connection->log->action = "answering a prediction";

    status = ngx_http_torchserve_http_status(ctx->req.status);

    /* a Python handler's own code: its answer's, or its failure's */
    if (ctx->req.http_code >= 100 && ctx->req.http_code <= 599) {
        status = ctx->req.http_code;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: model \"%V\": answer %ui after %uL us "
                   "(batch of %ui)", &ctx->model->name, status,
                   ctx->done_us - ctx->start_us, ctx->batch_size);

    if (ctx->req.detail != NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "torchserve: model \"%V\" version \"%V\": %s",
                      &ctx->model->name, &ctx->model->version,
                      ctx->req.detail);
    }

    if (ctx->req.status == TS_STATUS_OK) {
        rc = ngx_http_torchserve_send_answer(r, status, &ctx->req);
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* client faults at info, as nginx logs them; ours at error */
    level = status >= NGX_HTTP_INTERNAL_SERVER_ERROR ? NGX_LOG_ERR
                                                     : NGX_LOG_INFO;

    ngx_log_error(level, r->connection->log, 0,
                  "torchserve: model \"%V\" version \"%V\": %d: %s",
                  &ctx->model->name, &ctx->model->version, (int) status,
                  ctx->req.error);

    /* a handler's failure is TorchServe's InternalServerException */
    rc = ngx_http_torchserve_send_error(r, status,
             ctx->req.http_code >= 500 ? "InternalServerException" : NULL,
             "%s", ctx->req.error);

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_torchserve_free_infer(void *data)
{
    ngx_http_torchserve_infer_t  *ctx = data;

    /* out of the queue, and a batch still running drops its result */
    ngx_http_torchserve_batch_detach(ctx);

    /*
     * never answered (the client left, or reading its body failed); one
     * a sibling ran is counted there
     */
    if (ctx->done_us == 0 && !ctx->handed) {
        ngx_http_torchserve_count_request(ctx->model,
                                          ctx->versioned);
    }

    ts_request_clear(&ctx->req);

    ngx_http_torchserve_model_release(ctx->tmcf, ctx->model);
}
