/*
 * ngx_http_torchserve_batch.c: every prediction runs in a batch.
 *
 * A prediction whose body is read joins its model's per-process queue,
 * and at most `workers` batches of the model are in the thread pool at
 * once.  batch_policy adaptive (the default) flushes whatever is queued,
 * up to batch_size, as soon as a slot is free, and a batch that waits in
 * the pool for a thread keeps taking the requests that arrive, up to
 * batch_size, until a thread starts it: alone, a request runs at once;
 * under load, a batch holds what came while the threads were busy, as if
 * the thread had taken it from the queue when it became free.  And under
 * load (the last batch held several, another still runs) a free slot
 * waits up to 1 ms for as many requests as the last batch held: the
 * answers of a batch come back as new requests one by one, and the
 * first of them would otherwise leave alone.
 * batch_policy delay is TorchServe's: the queue is flushed when it holds
 * batch_size requests, or max_batch_delay after its first one (an nginx
 * timer), and a posted batch does not change.  Beyond job_queue_size
 * waiting requests the answer is 503 at once.  The runtime stacks the
 * instances, answers a bad one alone (400) and retries one by one if a
 * batch's forward fails.
 *
 * A batch owns its copies of the bodies and its results (on the heap,
 * as lua's worker threads do): a request is never blocked on it.  So a
 * request past response_timeout gets 504 while forward still runs, and
 * a client that goes away is simply detached from its slot; the late
 * result is dropped when the batch completes.
 */

#include "ngx_http_torchserve_module.h"


typedef struct {
    ngx_fd_t                       fd;         /* dup of the temp file */
    off_t                          offset;
    size_t                         len;
    size_t                         at;         /* where in the body */
} ngx_http_torchserve_file_part_t;


typedef struct ngx_http_torchserve_batch_s  ngx_http_torchserve_batch_t;


typedef struct {
    ngx_http_torchserve_infer_t     *ctx;      /* NULL: answered or gone */
    ngx_http_torchserve_batch_t     *batch;
    ngx_http_torchserve_file_part_t *files;
    ngx_uint_t                       nfiles;
    uint64_t                         run_us;
} ngx_http_torchserve_slot_t;


#define NGX_HTTP_TORCHSERVE_BATCH_LOG  60000

/* room a posted adaptive batch keeps for latecomers, at most */
#define NGX_HTTP_TORCHSERVE_BATCH_ROOM  64


/*
 * ngx_http_torchserve_batch_t.state, who may touch n and the slots: a
 * lock (ngx_spinlock's, unlocked at 0) that a thread takes for good
 */
#define NGX_HTTP_TORCHSERVE_BATCH_OPEN     0    /* the event loop may add */
#define NGX_HTTP_TORCHSERVE_BATCH_ADDING   1    /* the event loop adds */
#define NGX_HTTP_TORCHSERVE_BATCH_STARTED  2    /* a thread runs it */


struct ngx_http_torchserve_batch_s {
    ngx_http_torchserve_model_t   *model;
    ts_servable_t                 *servable;
    /*
     * armed while the task runs: a worker shutting down exits once no
     * timer is left, and its requests may all be detached by then while
     * others still wait in the queue behind this batch
     */
    ngx_event_t                    running;
    ngx_queue_t                    open;       /* in model->open */
    ngx_atomic_t                   state;      /* _BATCH_OPEN ... */
    ngx_uint_t                     n;
    ngx_uint_t                     room;       /* slots allocated */
    unsigned                       listed:1;   /* in model->open */
    ngx_http_torchserve_slot_t    *slots;
    ts_request_t                  *reqs;       /* bodies: ngx_alloc'd */
    uint64_t                       end_us;
};


static void ngx_http_torchserve_batch_flush(ngx_http_torchserve_model_t *m,
    ngx_uint_t force);
static ngx_uint_t ngx_http_torchserve_batch_share(
    ngx_http_torchserve_model_t *m, ngx_uint_t limit);
static ngx_thread_task_t *ngx_http_torchserve_batch_take(
    ngx_http_torchserve_model_t *m, ngx_uint_t n);
static void ngx_http_torchserve_batch_grow(ngx_http_torchserve_model_t *m);
static void ngx_http_torchserve_batch_add(ngx_http_torchserve_batch_t *b,
    ngx_http_torchserve_infer_t *ctx);
static void ngx_http_torchserve_batch_unlist(ngx_http_torchserve_batch_t *b);
static ngx_int_t ngx_http_torchserve_batch_copy(ngx_http_torchserve_batch_t *b,
    ngx_uint_t i, ngx_http_torchserve_infer_t *ctx);
static ngx_int_t ngx_http_torchserve_batch_copy_head(ts_request_t *req,
    ngx_http_request_t *r);
static void ngx_http_torchserve_batch_free(ngx_http_torchserve_batch_t *b);
static void ngx_http_torchserve_batch_skip(ngx_http_torchserve_slot_t *slot);
static ngx_uint_t ngx_http_torchserve_batch_hold(
    ngx_http_torchserve_batch_t *b);
static void ngx_http_torchserve_batch_release(ngx_http_torchserve_batch_t *b);
static void ngx_http_torchserve_batch_timer(ngx_event_t *ev);
static void ngx_http_torchserve_batch_posted(ngx_event_t *ev);
static void ngx_http_torchserve_batch_timeout(ngx_event_t *ev);
static void ngx_http_torchserve_batch_thread(void *data, ngx_log_t *log);
static void ngx_http_torchserve_batch_done(ngx_event_t *ev);
static void ngx_http_torchserve_batch_answer(ngx_thread_task_t *task);
static void ngx_http_torchserve_batch_running(ngx_event_t *ev);


void
ngx_http_torchserve_batch_init(ngx_http_torchserve_model_t *m)
{
    ngx_queue_init(&m->waiting);
    ngx_queue_init(&m->open);

    m->batch_timer.handler = ngx_http_torchserve_batch_timer;
    m->batch_timer.data = m;
    m->batch_timer.log = ngx_cycle->log;

    m->batch_flush.handler = ngx_http_torchserve_batch_posted;
    m->batch_flush.data = m;
    m->batch_flush.log = ngx_cycle->log;
}


ngx_int_t
ngx_http_torchserve_batch_enqueue(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx)
{
    ngx_http_torchserve_model_t  *m;

    m = ctx->model;

    if (m->queued >= m->job_queue_size) {
        ngx_http_torchserve_infer_count(ctx);
        ngx_http_torchserve_counters_settle(m);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "torchserve: model \"%V\" version \"%V\": job queue "
                      "full (%ui waiting)", &m->name, &m->version, m->queued);

        /* TorchServe says "has no worker" here too; we say what it is */
        return ngx_http_torchserve_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   NULL,
                   "Model \"%V\" version \"%V\": its job queue is full "
                   "(%ui requests waiting, job_queue_size %ui in this worker "
                   "process): try again later, or raise job_queue_size",
                   &m->name, &m->version, m->queued, m->job_queue_size);
    }

    ngx_queue_insert_tail(&m->waiting, &ctx->queue);
    ctx->queued = 1;
    ctx->enqueued_us = ngx_http_torchserve_now_us();
    m->queued++;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: model \"%V\": queued, %ui waiting, %ui "
                   "batch(es) running", &m->name, m->queued, m->batches);

    /*
     * response_timeout runs from here: a request queued behind a slow
     * batch gets its 504 too.  Not cancelable: a worker process shutting
     * down waits for it.
     */
    ctx->running.handler = ngx_http_torchserve_batch_timeout;
    ctx->running.data = ctx;
    ctx->running.log = r->connection->log;
    ngx_add_timer(&ctx->running, m->response_timeout);

    /* notice a client that goes away while it waits */
    r->read_event_handler = ngx_http_test_reading;

    /* the delay runs from the first request of a batch */
    if (m->batch_policy == NGX_HTTP_TORCHSERVE_BATCH_DELAY
        && m->batch_size > 1 && m->queued == 1 && !m->batch_timer.timer_set)
    {
        ngx_add_timer(&m->batch_timer, m->max_batch_delay);
    }

    /*
     * after this iteration's other events: the requests that arrived
     * together leave together, and alone a request loses nothing
     */
    if (!m->batch_flush.posted) {
        ngx_post_event(&m->batch_flush, &ngx_posted_events);
    }

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


/* the request is answered or gone: its slot's result will be dropped */
void
ngx_http_torchserve_batch_detach(ngx_http_torchserve_infer_t *ctx)
{
    ngx_http_torchserve_slot_t  *slot;

    ngx_http_torchserve_batch_dequeue(ctx);

    slot = ctx->slot;
    if (slot != NULL) {
        ngx_http_torchserve_batch_skip(slot);
        slot->ctx = NULL;
        ctx->slot = NULL;
    }

    if (ctx->running.timer_set) {
        ngx_del_timer(&ctx->running);
    }
}


/*
 * A request that leaves a batch no thread has started yet is not run:
 * no forward for a client that is gone or was answered 504 already.
 */
static void
ngx_http_torchserve_batch_skip(ngx_http_torchserve_slot_t *slot)
{
    ts_request_t                 *req;
    ngx_http_torchserve_batch_t  *b;

    b = slot->batch;

    if (!ngx_http_torchserve_batch_hold(b)) {
        return;                     /* it runs, or ran: the result is dropped */
    }

    req = &b->reqs[slot - b->slots];

    if (req->status == TS_STATUS_PENDING) {
        req->status = TS_STATUS_UNAVAILABLE;
        ngx_cpystrn((u_char *) req->error,
                    (u_char *) "the request left before its batch ran",
                    TS_ERROR_LEN);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "torchserve: model \"%V\": request %ui of a waiting "
                   "batch skipped", &b->model->name, slot - b->slots);

    ngx_http_torchserve_batch_release(b);
}


/*
 * The event loop's hold on a batch no thread has started: 0 when a
 * thread has it (then the batch is no longer the event loop's to change)
 */
static ngx_uint_t
ngx_http_torchserve_batch_hold(ngx_http_torchserve_batch_t *b)
{
    return ngx_atomic_cmp_set(&b->state, NGX_HTTP_TORCHSERVE_BATCH_OPEN,
                              NGX_HTTP_TORCHSERVE_BATCH_ADDING);
}


static void
ngx_http_torchserve_batch_release(ngx_http_torchserve_batch_t *b)
{
    /* the slots are written before a thread may see them */
    ngx_memory_barrier();
    b->state = NGX_HTTP_TORCHSERVE_BATCH_OPEN;
}


static void
ngx_http_torchserve_batch_timer(ngx_event_t *ev)
{
    ngx_http_torchserve_batch_flush(ev->data, 1);
}


static void
ngx_http_torchserve_batch_posted(ngx_event_t *ev)
{
    ngx_http_torchserve_batch_flush(ev->data, 0);
}


/*
 * How many of the queued requests the next batch takes.  delay: up to
 * batch_size.  adaptive: an equal share over the free slots, so that
 * requests that arrive together while threads are idle run side by side
 * rather than in one batch on one thread (a batch that then waits for a
 * thread grows by itself).
 */
static ngx_uint_t
ngx_http_torchserve_batch_share(ngx_http_torchserve_model_t *m,
    ngx_uint_t limit)
{
    ngx_uint_t  n, free;

    n = m->queued;

    if (m->batch_policy == NGX_HTTP_TORCHSERVE_BATCH_ADAPTIVE) {
        free = ngx_min(limit - m->batches, n);
        n = (n + free - 1) / free;
    }

    return ngx_min(n, m->batch_size);
}


/* posts batches while there is room; force: the delay has run out */
static void
ngx_http_torchserve_batch_flush(ngx_http_torchserve_model_t *m,
    ngx_uint_t force)
{
    uint64_t                       waited_us;
    ngx_uint_t                     i, n, limit;
    ngx_queue_t                   *q;
    ngx_thread_task_t             *task;
    ngx_http_torchserve_batch_t   *b;
    ngx_http_torchserve_infer_t   *ctx;

    limit = m->workers > 0 ? m->workers : 1;

    /*
     * A batch the pool refuses is answered here at once, and its
     * requests may be freed with it: hold the model, which may have been
     * unregistered meanwhile, until the loop is done with it.
     */
    m->inflight++;

    while (m->queued > 0 && m->batches < limit
           && m->status == NGX_HTTP_TORCHSERVE_READY)
    {
        q = ngx_queue_head(&m->waiting);
        ctx = ngx_queue_data(q, ngx_http_torchserve_infer_t, queue);

        waited_us = ngx_http_torchserve_now_us() - ctx->enqueued_us;

        /* adaptive: a free slot takes what is there */
        if (m->batch_policy == NGX_HTTP_TORCHSERVE_BATCH_DELAY
            && m->queued < m->batch_size && !force
            && waited_us < (uint64_t) m->max_batch_delay * 1000)
        {
            break;
        }

        /*
         * adaptive under load (the last batch held several and another
         * still runs): wait, up to 1 ms, for as many as the last one held
         */
        if (m->batch_policy == NGX_HTTP_TORCHSERVE_BATCH_ADAPTIVE
            && !force && m->batches > 0 && m->queued < m->last_batch
            && m->queued < m->batch_size
            && waited_us < ngx_min(m->max_batch_delay, 1) * 1000)
        {
            if (!m->batch_timer.timer_set) {
                ngx_add_timer(&m->batch_timer, 1);
            }
            break;
        }

        n = ngx_http_torchserve_batch_share(m, limit);

        task = ngx_http_torchserve_batch_take(m, n);
        if (task == NULL) {
            /* the timer tries again: never leave the queue stuck */
            if (!m->batch_timer.timer_set) {
                ngx_add_timer(&m->batch_timer,
                              ngx_max(m->max_batch_delay, 100));
            }
            break;
        }

        b = task->ctx;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "torchserve: model \"%V\": batch of %ui, %ui queued",
                       &m->name, n, m->queued);

        /* the batch keeps the model loaded until it is done */
        m->inflight++;
        m->batches++;

        if (b->servable->kind == TS_SERVABLE_PYTHON) {
            ngx_http_torchserve_handoff_busy(m->tmcf, 1);
        }

        b->running.handler = ngx_http_torchserve_batch_running;
        b->running.data = b;
        b->running.log = ngx_cycle->log;
        ngx_add_timer(&b->running, NGX_HTTP_TORCHSERVE_BATCH_LOG);

        if (ngx_thread_task_post(m->tmcf->thread_pool, task) != NGX_OK) {
            for (i = 0; i < n; i++) {
                if (b->reqs[i].status == TS_STATUS_PENDING) {
                    b->reqs[i].status = TS_STATUS_UNAVAILABLE;
                    ngx_cpystrn((u_char *) b->reqs[i].error,
                                (u_char *) "the thread pool's queue is full",
                                TS_ERROR_LEN);
                }
            }

            /* answered at once, as if the batch had run */
            ngx_http_torchserve_batch_answer(task);

            /* the batch's hold; ours keeps the model alive */
            m->inflight--;
            continue;
        }

        if (b->n < b->room) {
            ngx_queue_insert_tail(&m->open, &b->open);
            b->listed = 1;
        }
    }

    /* every slot is taken: what is left joins a batch not yet started */
    ngx_http_torchserve_batch_grow(m);

    /* adaptive: a finished batch flushes what waits, no timer needed */
    if (m->batch_policy == NGX_HTTP_TORCHSERVE_BATCH_DELAY
        && m->batch_size > 1 && m->queued > 0 && !m->batch_timer.timer_set)
    {
        ngx_add_timer(&m->batch_timer, m->max_batch_delay);
    }

    ngx_http_torchserve_model_release(m->tmcf, m);
}


/* a task holding the queue's first n requests, or NULL (no memory) */
static ngx_thread_task_t *
ngx_http_torchserve_batch_take(ngx_http_torchserve_model_t *m, ngx_uint_t n)
{
    size_t                         size;
    ngx_uint_t                     i, room;
    ngx_queue_t                   *q;
    ngx_thread_task_t             *task;
    ngx_http_torchserve_batch_t   *b;
    ngx_http_torchserve_infer_t   *ctx;

    /* adaptive: room for the requests that come before a thread starts it */
    room = n;

    if (m->batch_policy == NGX_HTTP_TORCHSERVE_BATCH_ADAPTIVE) {
        room = ngx_max(n, ngx_min(m->batch_size,
                                  NGX_HTTP_TORCHSERVE_BATCH_ROOM));
    }

    size = sizeof(ngx_thread_task_t) + sizeof(ngx_http_torchserve_batch_t)
           + room * (sizeof(ngx_http_torchserve_slot_t) + sizeof(ts_request_t));

    task = ngx_calloc(size, ngx_cycle->log);
    if (task == NULL) {
        return NULL;
    }

    b = (ngx_http_torchserve_batch_t *) (task + 1);
    b->slots = (ngx_http_torchserve_slot_t *) (b + 1);
    b->reqs = (ts_request_t *) (b->slots + room);
    b->model = m;
    b->servable = m->servable;
    b->room = room;
    b->state = NGX_HTTP_TORCHSERVE_BATCH_OPEN;

    task->ctx = b;
    task->handler = ngx_http_torchserve_batch_thread;
    task->event.handler = ngx_http_torchserve_batch_done;
    task->event.data = task;

    for (i = 0; i < n; i++) {
        q = ngx_queue_head(&m->waiting);
        ctx = ngx_queue_data(q, ngx_http_torchserve_infer_t, queue);

        ngx_http_torchserve_batch_add(b, ctx);
    }

    return task;
}


/*
 * adaptive: the queue's requests join the posted batches no thread has
 * started yet, the oldest first (the pool starts them in that order)
 */
static void
ngx_http_torchserve_batch_grow(ngx_http_torchserve_model_t *m)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_batch_t  *b;
    ngx_http_torchserve_infer_t  *ctx;

    while (m->queued > 0 && !ngx_queue_empty(&m->open)) {
        b = ngx_queue_data(ngx_queue_head(&m->open),
                           ngx_http_torchserve_batch_t, open);

        /* a thread may start it now: then it is no longer ours to grow */
        if (!ngx_http_torchserve_batch_hold(b)) {
            ngx_http_torchserve_batch_unlist(b);
            continue;
        }

        while (m->queued > 0 && b->n < b->room) {
            q = ngx_queue_head(&m->waiting);
            ctx = ngx_queue_data(q, ngx_http_torchserve_infer_t, queue);

            ngx_http_torchserve_batch_add(b, ctx);
        }

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "torchserve: model \"%V\": a waiting batch grew to %ui",
                       &m->name, b->n);

        ngx_http_torchserve_batch_release(b);

        if (b->n == b->room) {
            ngx_http_torchserve_batch_unlist(b);
        }
    }
}


static void
ngx_http_torchserve_batch_unlist(ngx_http_torchserve_batch_t *b)
{
    if (b->listed) {
        ngx_queue_remove(&b->open);
        b->listed = 0;
    }
}


/* the queue's first request takes the batch's next slot */
static void
ngx_http_torchserve_batch_add(ngx_http_torchserve_batch_t *b,
    ngx_http_torchserve_infer_t *ctx)
{
    ngx_uint_t  i;

    i = b->n++;

    ngx_http_torchserve_batch_dequeue(ctx);

    if (ngx_http_torchserve_batch_copy(b, i, ctx) != NGX_OK) {
        /* answered without running, as the runtime would */
        b->reqs[i].status = TS_STATUS_INTERNAL;
        ngx_cpystrn((u_char *) b->reqs[i].error,
                    (u_char *) "no memory for the request body",
                    TS_ERROR_LEN);
    }

    b->slots[i].ctx = ctx;
    b->slots[i].batch = b;
    ctx->slot = &b->slots[i];
}


/* the batch's own copy of a body: memory now, temp-file parts in the task */
static ngx_int_t
ngx_http_torchserve_batch_copy(ngx_http_torchserve_batch_t *b, ngx_uint_t i,
    ngx_http_torchserve_infer_t *ctx)
{
    u_char                           *body, *p;
    size_t                            at, len;
    ngx_str_t                         id;
    ngx_uint_t                        k, nfiles;
    ngx_table_elt_t                  *type;
    ngx_http_torchserve_slot_t       *slot;
    ngx_http_torchserve_body_part_t  *part;

    slot = &b->slots[i];
    type = ctx->request->headers_in.content_type;

    /* C handlers read the content type only: it follows the body */
    body = ngx_alloc(ctx->body_len + 1 + (type ? type->value.len + 1 : 0),
                     ngx_cycle->log);
    if (body == NULL) {
        return NGX_ERROR;
    }

    nfiles = 0;
    for (k = 0; k < ctx->nparts; k++) {
        nfiles += (ctx->parts[k].data == NULL);
    }

    if (nfiles) {
        slot->files = ngx_calloc(nfiles
                                 * sizeof(ngx_http_torchserve_file_part_t),
                                 ngx_cycle->log);
        if (slot->files == NULL) {
            ngx_free(body);
            return NGX_ERROR;
        }
    }

    at = 0;

    for (k = 0; k < ctx->nparts; k++) {
        part = &ctx->parts[k];

        if (part->data != NULL) {
            ngx_memcpy(body + at, part->data, part->len);

        } else {
            /* a dup: the request may close its temp file before we read */
            slot->files[slot->nfiles].fd = dup(part->fd);
            slot->files[slot->nfiles].offset = part->offset;
            slot->files[slot->nfiles].len = part->len;
            slot->files[slot->nfiles].at = at;
            slot->nfiles++;
        }

        at += part->len;
    }

    body[ctx->body_len] = '\0';
    b->reqs[i].body = body;
    b->reqs[i].len = ctx->body_len;
    b->reqs[i].protocol = ctx->protocol;
    b->reqs[i].header_len = ctx->header_len;
    b->reqs[i].explain = ctx->explain;

    /* the answer's x-request-id: context.get_request_id, v2's "id" */
    ngx_http_torchserve_request_id(ctx->request, &id);
    len = ngx_min(id.len, sizeof(b->reqs[i].request_id) - 1);
    ngx_memcpy(b->reqs[i].request_id, id.data, len);
    b->reqs[i].request_id[len] = '\0';

    /* only Python handlers read the rest of the request */
    if (b->servable->kind != TS_SERVABLE_PYTHON) {
        if (type != NULL) {
            p = ngx_cpymem(body + ctx->body_len + 1, type->value.data,
                           type->value.len);
            *p = '\0';
            b->reqs[i].content_type = (char *) body + ctx->body_len + 1;
        }

        return NGX_OK;
    }

    return ngx_http_torchserve_batch_copy_head(&b->reqs[i], ctx->request);
}


/*
 * The batch's own copy of the request's headers ("name\0value\0" pairs)
 * and path, for the handlers that read them (Python's context).
 */
static ngx_int_t
ngx_http_torchserve_batch_copy_head(ts_request_t *req, ngx_http_request_t *r)
{
    u_char           *buf, *p;
    size_t            size;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    size = r->uri.len + 1;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            size += h[i].key.len + h[i].value.len + 2;
        }
    }

    buf = ngx_alloc(size, ngx_cycle->log);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    p = buf;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0) {
                continue;           /* deleted */
            }

            if (h[i].key.len == sizeof("Content-Type") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "Content-Type",
                                   h[i].key.len) == 0)
            {
                req->content_type = (char *) p + h[i].key.len + 1;
            }

            p = ngx_cpymem(p, h[i].key.data, h[i].key.len);
            *p++ = '\0';
            p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
            *p++ = '\0';
        }
    }

    req->headers = (char *) buf;
    req->headers_len = p - buf;

    req->url_path = (char *) p;
    p = ngx_cpymem(p, r->uri.data, r->uri.len);
    *p = '\0';

    return NGX_OK;
}


/* in a pool thread: one forward for the whole batch */
static void
ngx_http_torchserve_batch_thread(void *data, ngx_log_t *log)
{
    ngx_http_torchserve_batch_t  *b = data;

    size_t                            done;
    ssize_t                           n;
    ngx_uint_t                        i, k;
    ngx_http_torchserve_slot_t       *slot;
    ngx_http_torchserve_file_part_t  *f;

    /*
     * From here the batch is ours: the event loop adds no more to it.  It
     * holds the batch only while it copies the bodies it adds.
     */
    ngx_spinlock(&b->state, NGX_HTTP_TORCHSERVE_BATCH_STARTED, 1024);

    for (i = 0; i < b->n; i++) {
        slot = &b->slots[i];
        slot->run_us = ngx_http_torchserve_now_us();

        for (k = 0; k < slot->nfiles; k++) {
            f = &slot->files[k];

            for (done = 0; done < f->len; done += n) {
                n = (f->fd == NGX_INVALID_FILE) ? -1
                    : pread(f->fd, (u_char *) b->reqs[i].body + f->at + done,
                            f->len - done, f->offset + done);

                if (n <= 0) {
                    b->reqs[i].status = TS_STATUS_INTERNAL;
                    ngx_cpystrn((u_char *) b->reqs[i].error,
                                (u_char *) "reading the request body's temp "
                                "file failed", TS_ERROR_LEN);
                    break;
                }
            }

            if (f->fd != NGX_INVALID_FILE) {
                close(f->fd);
                f->fd = NGX_INVALID_FILE;
            }
        }
    }

    ts_servable_infer(b->servable, b->reqs, b->n);

    b->end_us = ngx_http_torchserve_now_us();
}


/* on the event loop: the batch's forward is done */
static void
ngx_http_torchserve_batch_done(ngx_event_t *ev)
{
    ngx_thread_task_t            *task = ev->data;
    ngx_http_torchserve_batch_t  *b = task->ctx;

    ngx_http_torchserve_model_t  *m;

    m = b->model;

    ngx_http_torchserve_batch_answer(task);

    ngx_http_torchserve_batch_flush(m, 0);

    /* last: this may free an unregistered model */
    ngx_http_torchserve_model_release(m->tmcf, m);
}


/* answers the requests still waiting, drops the rest, frees the batch */
static void
ngx_http_torchserve_batch_answer(ngx_thread_task_t *task)
{
    ngx_http_torchserve_batch_t  *b = task->ctx;

    ngx_uint_t                    i;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_torchserve_model_t  *m;
    ngx_http_torchserve_infer_t  *ctx;

    m = b->model;
    m->batches--;
    m->last_batch = b->n;

    if (b->servable->kind == TS_SERVABLE_PYTHON) {
        ngx_http_torchserve_handoff_busy(m->tmcf, -1);
    }

    ngx_http_torchserve_batch_unlist(b);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "torchserve: model \"%V\": a batch (%ui) is done, %ui "
                   "queued", &m->name, b->n, m->queued);

    if (b->running.timer_set) {
        ngx_del_timer(&b->running);
    }

    for (i = 0; i < b->n; i++) {
        ctx = b->slots[i].ctx;

        if (ctx == NULL) {
            /* answered (504) or gone meanwhile: the result is dropped */
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                           "torchserve: model \"%V\": result %ui of the "
                           "batch dropped", &m->name, i);
            continue;
        }

        /* the result moves to the request, which frees it */
        ngx_free((void *) b->reqs[i].body);
        ngx_free((void *) b->reqs[i].headers);
        b->reqs[i].body = NULL;
        b->reqs[i].headers = NULL;
        b->reqs[i].content_type = NULL;
        b->reqs[i].url_path = NULL;
        ctx->req = b->reqs[i];
        ngx_memzero(&b->reqs[i], sizeof(ts_request_t));
        ctx->run_us = b->slots[i].run_us;
        ctx->end_us = b->end_us;
        ctx->batch_size = b->n;

        ngx_http_torchserve_infer_count(ctx);
    }

    /*
     * counted in the registry before any answer leaves, under one lock: a
     * client that scrapes /metrics from another process right after its
     * answer sees its prediction (the posted fold would come after the
     * answers are written)
     */
    ngx_http_torchserve_counters_settle(m);

    for (i = 0; i < b->n; i++) {
        ctx = b->slots[i].ctx;

        if (ctx == NULL) {
            /* a request answered just before in this loop ended it */
            continue;
        }

        r = ctx->request;
        c = r->connection;

        ngx_http_set_log_request(c->log, r);

        ngx_http_torchserve_batch_detach(ctx);

        ngx_http_torchserve_infer_done(r);
        ngx_http_run_posted_requests(c);
    }

    ngx_http_torchserve_batch_free(b);
    ngx_free(task);
}


static void
ngx_http_torchserve_batch_free(ngx_http_torchserve_batch_t *b)
{
    ngx_uint_t  i, k;

    for (i = 0; i < b->n; i++) {
        ngx_free((void *) b->reqs[i].body);
        ngx_free((void *) b->reqs[i].headers);
        ts_request_clear(&b->reqs[i]);

        for (k = 0; k < b->slots[i].nfiles; k++) {
            if (b->slots[i].files[k].fd != NGX_INVALID_FILE) {
                close(b->slots[i].files[k].fd);
            }
        }

        if (b->slots[i].files != NULL) {
            ngx_free(b->slots[i].files);
        }
    }
}


/* a task cannot be cancelled: say that it is slow, and keep waiting */
static void
ngx_http_torchserve_batch_running(ngx_event_t *ev)
{
    ngx_http_torchserve_batch_t  *b = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "torchserve: model \"%V\": a batch of %ui still runs "
                  "after %M ms", &b->model->name, b->n,
                  (ngx_msec_t) NGX_HTTP_TORCHSERVE_BATCH_LOG);

    ngx_add_timer(ev, NGX_HTTP_TORCHSERVE_BATCH_LOG);
}


/* response_timeout: 504 now; the batch's late result will be dropped */
static void
ngx_http_torchserve_batch_timeout(ngx_event_t *ev)
{
    ngx_int_t                     rc;
    ngx_connection_t             *c;
    ngx_http_request_t           *r;
    ngx_http_torchserve_infer_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    ngx_http_torchserve_batch_detach(ctx);

    /* its batch, if any, still runs: no thread times to count */
    ngx_http_torchserve_infer_count(ctx);
    ngx_http_torchserve_counters_settle(ctx->model);

    ngx_log_error(NGX_LOG_ERR, c->log, 0,
                  "torchserve: model \"%V\" version \"%V\": no answer within "
                  "response_timeout (%M ms)", &ctx->model->name,
                  &ctx->model->version, ctx->model->response_timeout);

    rc = ngx_http_torchserve_send_error(r, NGX_HTTP_GATEWAY_TIME_OUT,
             "InternalServerException",
             "Model \"%V\" did not answer within response_timeout (%M s)",
             &ctx->model->name, ctx->model->response_timeout / 1000);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}
