/*
 * ngx_http_torchserve_wait.c: requests parked until this process has
 * loaded (or failed to load) a model, and the timers that keep an
 * exiting worker process alive while something waits.
 *
 * A prediction for a model still loading here, and a synchronous
 * registration or scale, park a waiter on the model; the load's
 * completion (or the model's removal) wakes them.
 */

#include "ngx_http_torchserve_module.h"


static void ngx_http_torchserve_keep_handler(ngx_event_t *ev);


/* a waiter in r's pool, taken off its model's queue when r is freed */
ngx_http_torchserve_waiter_t *
ngx_http_torchserve_waiter_create(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_pool_cleanup_t            *cln;
    ngx_http_torchserve_waiter_t  *w;

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_torchserve_waiter_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (w == NULL || cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_torchserve_waiter_cleanup;
    cln->data = w;

    w->request = r;
    w->tmcf = tmcf;

    return w;
}


ngx_int_t
ngx_http_torchserve_answer_waiter(ngx_http_torchserve_waiter_t *w)
{
    u_char                            msg[NGX_MAX_ERROR_STR];
    ngx_uint_t                        found;
    ngx_http_request_t               *r;
    ngx_http_torchserve_model_t      *m;
    ngx_http_torchserve_record_t     *rec;
    ngx_http_torchserve_main_conf_t  *tmcf;

    r = w->request;
    m = w->model;
    tmcf = w->tmcf;

    if (m != NULL
        && (m->status == NGX_HTTP_TORCHSERVE_READY
            || (w->scaling && w->workers == 0)))
    {
        if (w->registering) {
            ngx_snprintf(msg, sizeof(msg) - 1, "Model \"%V\" Version: %V "
                         "registered with %ui initial workers%Z", &m->name,
                         &m->version, w->workers);
        } else if (w->version.len) {
            ngx_snprintf(msg, sizeof(msg) - 1, "Workers scaled to %ui for "
                         "model: %V, version: %V%Z", w->workers, &m->name,
                         &w->version);
        } else {
            ngx_snprintf(msg, sizeof(msg) - 1, "Workers scaled to %ui for "
                         "model: %V%Z", w->workers, &m->name);
        }

        return ngx_http_torchserve_send_status(r, NGX_HTTP_OK, (char *) msg);
    }

    if (m == NULL) {
        return ngx_http_torchserve_send_error(r,
                   NGX_HTTP_INTERNAL_SERVER_ERROR, NULL,
                   "Failed to start workers: the model was unregistered");
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "torchserve: model \"%V\" version \"%V\" failed to start: "
                  "%s", &m->name, &m->version, m->load_error);

    if (w->registering) {
        /* TorchServe unregisters a model whose workers fail to start */
        ngx_shmtx_lock(&tmcf->shpool->mutex);

        rec = ngx_http_torchserve_record_find_locked(tmcf, &m->name,
                                                     &m->version, &found);
        if (rec != NULL && rec->id == m->id) {
            ngx_http_torchserve_record_remove_locked(tmcf, rec);
            ngx_http_torchserve_registry_changed_locked(tmcf);
        }

        ngx_shmtx_unlock(&tmcf->shpool->mutex);

        ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    }

    return ngx_http_torchserve_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
               NULL, "Failed to start workers for model %V version: %V (%s)",
               &m->name, &m->version, m->load_error);
}


/* answers now if the model is settled, else parks r on it (NGX_DONE) */
ngx_int_t
ngx_http_torchserve_wait(ngx_http_request_t *r,
    ngx_http_torchserve_waiter_t *w)
{
    /* a synchronous scale also waits for a Python model's new instances */
    if (w->model == NULL
        || (w->model->status != NGX_HTTP_TORCHSERVE_LOADING
            && !(w->scaling && w->model->resizing))
        || (w->scaling && w->workers == 0))
    {
        return w->answer(w);
    }

    ngx_queue_insert_tail(&w->model->waiters, &w->queue);
    w->waiting = 1;

    ngx_http_torchserve_keep(&w->keep, r->connection->log,
                             "a load this request waits for");

    /* notice a client that goes away while it waits */
    r->read_event_handler = ngx_http_test_reading;

    return NGX_DONE;
}


void
ngx_http_torchserve_wake_waiters(ngx_http_torchserve_model_t *m)
{
    ngx_int_t                      rc;
    ngx_queue_t                   *q;
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_torchserve_waiter_t  *w;

    if ((m->status == NGX_HTTP_TORCHSERVE_LOADING || m->resizing)
        && !m->removed)
    {
        return;
    }

    while (!ngx_queue_empty(&m->waiters)) {
        q = ngx_queue_head(&m->waiters);
        w = ngx_queue_data(q, ngx_http_torchserve_waiter_t, queue);

        ngx_queue_remove(q);
        w->waiting = 0;
        ngx_http_torchserve_unkeep(&w->keep);

        if (m->removed) {
            w->model = NULL;
        }

        r = w->request;
        c = r->connection;

        rc = w->answer(w);
        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }
}


void
ngx_http_torchserve_waiter_cleanup(void *data)
{
    ngx_http_torchserve_waiter_t  *w = data;

    if (w->waiting) {
        ngx_queue_remove(&w->queue);
        w->waiting = 0;
    }

    ngx_http_torchserve_unkeep(&w->keep);
}


/*
 * Non-cancelable timers keep an exiting worker process alive: each wait
 * that no other timer covers (a parked request, a thread task a request
 * is blocked on) arms one; every minute it logs that it still waits.
 */
static void
ngx_http_torchserve_keep_handler(ngx_event_t *ev)
{
    ngx_http_torchserve_keep_t  *keep = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "torchserve: still waiting for %s after %M ms",
                  keep->what, (ngx_msec_t) NGX_HTTP_TORCHSERVE_KEEP_LOG);

    ngx_add_timer(ev, NGX_HTTP_TORCHSERVE_KEEP_LOG);
}


void
ngx_http_torchserve_keep(ngx_http_torchserve_keep_t *keep, ngx_log_t *log,
    const char *what)
{
    keep->what = what;
    keep->event.handler = ngx_http_torchserve_keep_handler;
    keep->event.data = keep;
    keep->event.log = log;
    keep->event.cancelable = 0;

    ngx_add_timer(&keep->event, NGX_HTTP_TORCHSERVE_KEEP_LOG);
}


void
ngx_http_torchserve_unkeep(ngx_http_torchserve_keep_t *keep)
{
    if (keep->event.timer_set) {
        ngx_del_timer(&keep->event);
    }
}
