/*
 * ngx_http_torchserve_batch.c: dynamic batching, per model and process.
 *
 * With batch_size > 1, a prediction whose body is read joins its model's
 * queue.  The queue is flushed into one thread task when it holds
 * batch_size requests, or max_batch_delay after its first request
 * arrived (an nginx timer), with at most `workers` batches of the model
 * in the thread pool at once; beyond job_queue_size waiting requests the
 * answer is 503 at once.  The runtime stacks the instances that fit,
 * answers a bad one alone (400) and retries one by one if a batch's
 * forward fails, so one bad instance never fails the others.
 *
 * A queued request is not blocked: a client that goes away is noticed
 * (ngx_http_test_reading) and its request leaves the queue in its pool
 * cleanup.  Once in a batch, the request is blocked as a single
 * prediction is, until the batch's completion resumes it.
 */

#include "ngx_http_torchserve_module.h"


typedef struct {
    ngx_http_torchserve_model_t   *model;
    ts_servable_t                 *servable;
    ngx_uint_t                     n;
    ngx_http_torchserve_infer_t  **ctxs;
    ts_request_t                  *reqs;
} ngx_http_torchserve_batch_t;


static void ngx_http_torchserve_batch_flush(ngx_http_torchserve_model_t *m,
    ngx_uint_t force);
static void ngx_http_torchserve_batch_timer(ngx_event_t *ev);
static void ngx_http_torchserve_batch_thread(void *data, ngx_log_t *log);
static void ngx_http_torchserve_batch_done(ngx_event_t *ev);


void
ngx_http_torchserve_batch_init(ngx_http_torchserve_model_t *m)
{
    ngx_queue_init(&m->waiting);

    m->batch_timer.handler = ngx_http_torchserve_batch_timer;
    m->batch_timer.data = m;
    m->batch_timer.log = ngx_cycle->log;
}


ngx_int_t
ngx_http_torchserve_batch_enqueue(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx)
{
    ngx_http_torchserve_model_t  *m;

    m = ctx->model;

    if (m->queued >= m->job_queue_size) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "torchserve: model \"%V\" version \"%V\": job queue "
                      "full (%ui waiting)", &m->name, &m->version, m->queued);

        return ngx_http_torchserve_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   NULL,
                   "Model \"%V\" has no worker to serve inference request. "
                   "Please use scale workers API to add workers. If this is "
                   "a sequence inference, please check if it is closed, or "
                   "expired; or exceeds maxSequenceJobQueueSize", &m->name);
    }

    ngx_queue_insert_tail(&m->waiting, &ctx->queue);
    ctx->queued = 1;
    ctx->enqueued_us = ngx_http_torchserve_now_us();
    m->queued++;

    /* notice a client that goes away while it waits in the queue */
    r->read_event_handler = ngx_http_test_reading;

    /* the delay runs from the first request of a batch */
    if (m->queued == 1 && !m->batch_timer.timer_set) {
        ngx_add_timer(&m->batch_timer, m->max_batch_delay);
    }

    ngx_http_torchserve_batch_flush(m, 0);

    return NGX_DONE;
}


void
ngx_http_torchserve_batch_dequeue(ngx_http_torchserve_infer_t *ctx)
{
    ngx_http_torchserve_model_t  *m;

    if (!ctx->queued) {
        return;
    }

    m = ctx->model;

    ngx_queue_remove(&ctx->queue);
    ctx->queued = 0;
    m->queued--;

    if (m->queued == 0 && m->batch_timer.timer_set) {
        ngx_del_timer(&m->batch_timer);
    }
}


static void
ngx_http_torchserve_batch_timer(ngx_event_t *ev)
{
    ngx_http_torchserve_batch_flush(ev->data, 1);
}


/* posts batches while there is room; force: the delay has run out */
static void
ngx_http_torchserve_batch_flush(ngx_http_torchserve_model_t *m,
    ngx_uint_t force)
{
    size_t                         size;
    uint64_t                       waited_us;
    ngx_uint_t                     i, n, limit;
    ngx_queue_t                   *q;
    ngx_thread_task_t             *task;
    ngx_http_torchserve_batch_t   *batch;
    ngx_http_torchserve_infer_t   *ctx;

    limit = m->workers > 0 ? m->workers : 1;

    while (m->queued > 0 && m->batches < limit
           && m->status == NGX_HTTP_TORCHSERVE_READY)
    {
        q = ngx_queue_head(&m->waiting);
        ctx = ngx_queue_data(q, ngx_http_torchserve_infer_t, queue);

        waited_us = ngx_http_torchserve_now_us() - ctx->enqueued_us;

        if (m->queued < m->batch_size && !force
            && waited_us < (uint64_t) m->max_batch_delay * 1000)
        {
            break;
        }

        n = ngx_min(m->queued, m->batch_size);

        /* the batch outlives none of its requests, but the queue order */
        size = sizeof(ngx_thread_task_t) + sizeof(ngx_http_torchserve_batch_t)
               + n * (sizeof(void *) + sizeof(ts_request_t));

        task = ngx_calloc(size, ngx_cycle->log);
        if (task == NULL) {
            return;
        }

        batch = (ngx_http_torchserve_batch_t *) (task + 1);
        batch->ctxs = (ngx_http_torchserve_infer_t **) (batch + 1);
        batch->reqs = (ts_request_t *) (batch->ctxs + n);
        batch->model = m;
        batch->servable = m->servable;
        batch->n = n;

        task->ctx = batch;
        task->handler = ngx_http_torchserve_batch_thread;
        task->event.handler = ngx_http_torchserve_batch_done;
        task->event.data = task;

        for (i = 0; i < n; i++) {
            q = ngx_queue_head(&m->waiting);
            ctx = ngx_queue_data(q, ngx_http_torchserve_infer_t, queue);

            ngx_http_torchserve_batch_dequeue(ctx);

            ctx->batch_size = n;
            ctx->posted_us = ngx_http_torchserve_now_us();
            batch->ctxs[i] = ctx;
        }

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "torchserve: model \"%V\": batch of %ui, %ui queued",
                       &m->name, n, m->queued);

        if (ngx_thread_task_post(m->tmcf->thread_pool, task) != NGX_OK) {
            for (i = 0; i < n; i++) {
                ctx = batch->ctxs[i];
                ctx->req.status = NGX_HTTP_SERVICE_UNAVAILABLE;
                ngx_cpystrn((u_char *) ctx->req.error,
                            (u_char *) "the thread pool's queue is full",
                            TS_ERROR_LEN);
                ngx_http_torchserve_infer_block(ctx->request, ctx);
                ngx_http_torchserve_infer_resume(ctx);
            }

            ngx_free(task);
            continue;
        }

        for (i = 0; i < n; i++) {
            ctx = batch->ctxs[i];
            ngx_http_torchserve_infer_block(ctx->request, ctx);
        }

        m->batches++;
    }

    if (m->queued > 0 && !m->batch_timer.timer_set) {
        ngx_add_timer(&m->batch_timer, m->max_batch_delay);
    }
}


/* in a pool thread: one forward for the whole batch */
static void
ngx_http_torchserve_batch_thread(void *data, ngx_log_t *log)
{
    ngx_http_torchserve_batch_t  *batch = data;

    uint64_t                      end;
    ngx_uint_t                    i;
    ngx_http_torchserve_infer_t  *ctx;

    for (i = 0; i < batch->n; i++) {
        ctx = batch->ctxs[i];

        (void) ngx_http_torchserve_read_body(ctx);
        batch->reqs[i] = ctx->req;
    }

    ts_servable_infer(batch->servable, batch->reqs, batch->n);

    end = ngx_http_torchserve_now_us();

    for (i = 0; i < batch->n; i++) {
        ctx = batch->ctxs[i];
        ctx->req = batch->reqs[i];
        ctx->end_us = end;
    }
}


static void
ngx_http_torchserve_batch_done(ngx_event_t *ev)
{
    ngx_thread_task_t            *task = ev->data;
    ngx_http_torchserve_batch_t  *batch = task->ctx;

    ngx_uint_t                    i;
    ngx_http_torchserve_model_t  *m;

    m = batch->model;
    m->batches--;

    /* each request may be freed by its resume: the model is kept by
     * the requests still in the queue or in flight elsewhere */
    m->inflight++;

    for (i = 0; i < batch->n; i++) {
        ngx_http_torchserve_infer_resume(batch->ctxs[i]);
    }

    ngx_free(task);

    ngx_http_torchserve_batch_flush(m, 0);

    ngx_http_torchserve_model_release(m->tmcf, m);
}
