/*
 * ngx_http_torchserve_handoff.c: a Python prediction that would wait for
 * its worker process's interpreter goes to a sibling process whose
 * interpreter is idle.
 *
 * An interpreter runs one handler call at a time (the GIL), and nginx
 * gives connections to worker processes without knowing which one is
 * busy: two connections in one process wait on each other while another
 * process idles.  So each worker process also listens on a unix socket
 * per HTTP listening socket, in its own folder (0700) of
 * torchserve_temp_path, and the registry's zone holds, per process, how
 * many Python batches it has in its thread pool.  A process that has one
 * there and gets a Python prediction (its body in memory) sends it, as
 * HTTP/1.0 with the client's method, URI and headers, to a process that
 * has none and has the model loaded.  That process serves it as any
 * prediction, never hands it on, and answers in a frame of its own
 * (_handoff_wrap): the module's status, reason, type, headers and body,
 * past its header filters; the first process relays it and is the one
 * that logs and counts the request.  A connect or a send that fails (the
 * sibling exits) runs the prediction here after all.  The sockets and the
 * slots are _handoff_listen.c's, the frame _handoff_frame.c's.
 */

#include "ngx_http_torchserve_module.h"

#include <sys/un.h>


/* an answer relayed, at most: as large as a body nginx would buffer */
#define NGX_HTTP_TORCHSERVE_HANDOFF_MAX    (256 * 1024 * 1024)

/* past response_timeout, the sibling's own 504 should have come */
#define NGX_HTTP_TORCHSERVE_HANDOFF_GRACE  5000


typedef struct {
    ngx_http_request_t              *request;
    ngx_http_torchserve_infer_t     *ctx;
    ngx_http_torchserve_peer_t      *peer;
    ngx_pid_t                        pid;
    ngx_peer_connection_t            pc;
    struct sockaddr_un               sun;
    ngx_str_t                        name;
    ngx_buf_t                       *out;
    ngx_buf_t                       *in;
    ngx_msec_t                       timeout;
    unsigned                         reserved:1;
} ngx_http_torchserve_handoff_t;


static ngx_int_t ngx_http_torchserve_handoff_pick(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m,
    ngx_pid_t *pid);
static ngx_buf_t *ngx_http_torchserve_handoff_request(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx);
static u_char *ngx_http_torchserve_handoff_put_request_headers(
    ngx_http_request_t *r, u_char *p, size_t *size);
static void ngx_http_torchserve_handoff_write(ngx_event_t *wev);
static void ngx_http_torchserve_handoff_read(ngx_event_t *rev);
static void ngx_http_torchserve_handoff_relay(
    ngx_http_torchserve_handoff_t *h);
static void ngx_http_torchserve_handoff_here(ngx_http_torchserve_handoff_t *h);
static void ngx_http_torchserve_handoff_fail(ngx_http_torchserve_handoff_t *h,
    ngx_uint_t status, const char *what);
static void ngx_http_torchserve_handoff_end(ngx_http_torchserve_handoff_t *h);
static void ngx_http_torchserve_handoff_cleanup(void *data);
static void ngx_http_torchserve_handoff_idle(ngx_event_t *ev);


/* --- handing a prediction over ------------------------------------------- */

/*
 * NGX_DONE: a sibling answers r (it is finalized then); NGX_DECLINED: it
 * runs here.
 */
ngx_int_t
ngx_http_torchserve_handoff(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx)
{
    ngx_int_t                         rc, peer;
    ngx_pid_t                         pid;
    ngx_uint_t                        i, index;
    ngx_connection_t                 *c;
    ngx_pool_cleanup_t               *cln;
    ngx_http_torchserve_handoff_t    *h;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ctx->tmcf;

    if (ngx_http_torchserve_handed_over(r)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: model \"%V\": a prediction handed over "
                      "by a sibling worker process", &ctx->model->name);
        return NGX_DECLINED;
    }

    if (tmcf->twin_index == NULL || ngx_exiting
        || ctx->servable == NULL || ctx->servable->kind != TS_SERVABLE_PYTHON)
    {
        return NGX_DECLINED;
    }

    /*
     * its interpreter is free: nothing runs, nothing waits (requests that
     * arrive together are queued before the first batch leaves)
     */
    if (tmcf->sh->peers[ngx_worker].busy == 0 && ctx->model->queued == 0)
    {
        return NGX_DECLINED;
    }

    i = r->connection->listening - tmcf->listening;

    if (i >= tmcf->nlistening || tmcf->twin_index[i] < 0) {
        return NGX_DECLINED;
    }

    index = tmcf->twin_index[i];

    for (i = 0; i < ctx->nparts; i++) {
        if (ctx->parts[i].data == NULL) {
            /* in a temp file: reading it here would block the loop */
            return NGX_DECLINED;
        }
    }

    peer = ngx_http_torchserve_handoff_pick(tmcf, ctx->model, &pid);
    if (peer < 0) {
        return NGX_DECLINED;
    }

    h = ngx_pcalloc(r->pool, sizeof(ngx_http_torchserve_handoff_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (h == NULL || cln == NULL) {
        return NGX_DECLINED;
    }

    h->request = r;
    h->ctx = ctx;
    h->peer = &tmcf->sh->peers[peer];
    h->pid = pid;
    h->timeout = ctx->model->response_timeout
                 + NGX_HTTP_TORCHSERVE_HANDOFF_GRACE;

    (void) ngx_atomic_fetch_add(&h->peer->reserved, 1);
    h->reserved = 1;

    cln->handler = ngx_http_torchserve_handoff_cleanup;
    cln->data = h;

    h->out = ngx_http_torchserve_handoff_request(r, ctx);
    if (h->out == NULL) {
        ngx_http_torchserve_handoff_end(h);
        return NGX_DECLINED;
    }

    h->sun.sun_family = AF_UNIX;
    ngx_sprintf((u_char *) h->sun.sun_path, "%s/%ui.sock%Z", h->peer->dir,
                index);

    h->name.data = ngx_pnalloc(r->pool, NGX_UNIX_ADDRSTRLEN);
    if (h->name.data == NULL) {
        ngx_http_torchserve_handoff_end(h);
        return NGX_DECLINED;
    }

    h->name.len = ngx_sprintf(h->name.data, "unix:%s", h->sun.sun_path)
                  - h->name.data;

    h->pc.sockaddr = (struct sockaddr *) &h->sun;
    h->pc.socklen = sizeof(struct sockaddr_un);
    h->pc.name = &h->name;
    h->pc.get = ngx_event_get_peer;
    h->pc.log = r->connection->log;
    h->pc.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&h->pc);

    if (rc != NGX_OK && rc != NGX_AGAIN) {
        /* it exits, or its backlog is full: the connect error is logged */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: model \"%V\": worker process %P did not "
                      "take the prediction, it runs here",
                      &ctx->model->name, h->pid);
        ngx_http_torchserve_handoff_end(h);
        return NGX_DECLINED;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: model \"%V\": prediction handed to worker "
                   "process %P through \"%V\"", &ctx->model->name, h->pid,
                   &h->name);

    ctx->handed = 1;

    c = h->pc.connection;
    c->data = h;
    c->log = r->connection->log;
    c->read->log = c->log;
    c->write->log = c->log;
    c->read->handler = ngx_http_torchserve_handoff_read;
    c->write->handler = ngx_http_torchserve_handoff_write;

    /* notice a client that goes away meanwhile */
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, h->timeout);
        return NGX_DONE;
    }

    ngx_http_torchserve_handoff_write(c->write);

    return NGX_DONE;
}


/*
 * A sibling whose interpreter is idle (no Python batch, none handed to
 * it) and that has the model loaded; the next one after this process
 * first, so that several busy processes spread over the idle ones.
 */
static ngx_int_t
ngx_http_torchserve_handoff_pick(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m, ngx_pid_t *found_pid)
{
    ngx_int_t                      found;
    ngx_uint_t                     k, i;
    ngx_atomic_uint_t              pid;
    ngx_http_torchserve_peer_t    *peer;
    ngx_http_torchserve_record_t  *rec;

    found = -1;

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_by_id_locked(tmcf, m->id);

    for (k = 1; rec != NULL && k < NGX_HTTP_TORCHSERVE_MAX_PROCESSES; k++) {
        i = (ngx_worker + k) % NGX_HTTP_TORCHSERVE_MAX_PROCESSES;
        peer = &tmcf->sh->peers[i];
        pid = peer->pid;

        if (pid == 0 || peer->busy != 0 || peer->reserved != 0
            || rec->procs[i].pid != (ngx_pid_t) pid
            || rec->procs[i].status != NGX_HTTP_TORCHSERVE_READY)
        {
            continue;
        }

        found = i;
        *found_pid = (ngx_pid_t) pid;
        break;
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    return found;
}


/* the client's request as HTTP/1.0, without what only its hop means */
static ngx_buf_t *
ngx_http_torchserve_handoff_request(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx)
{
    size_t      len;
    u_char      text[NGX_SOCKADDR_STRLEN];
    ngx_str_t   id, client;
    ngx_buf_t  *b;
    ngx_uint_t  i;

    ngx_http_torchserve_request_id(r, &id);

    client.len = 0;
    client.data = text;

    if (r->connection->sockaddr->sa_family != AF_UNIX) {
        client.len = ngx_sock_ntop(r->connection->sockaddr,
                                   r->connection->socklen, text,
                                   NGX_SOCKADDR_STRLEN, 1);
    }

    len = r->method_name.len + 1 + r->unparsed_uri.len
          + sizeof(" HTTP/1.0" CRLF) - 1
          + sizeof("X-Request-Id: " CRLF) - 1 + id.len
          + sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_CLIENT ": " CRLF) - 1
          + client.len
          + sizeof("Content-Length: " CRLF CRLF) - 1 + NGX_SIZE_T_LEN
          + ctx->body_len;

    (void) ngx_http_torchserve_handoff_put_request_headers(r, NULL, &len);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NULL;
    }

    b->last = ngx_sprintf(b->last, "%V %V HTTP/1.0" CRLF, &r->method_name,
                          &r->unparsed_uri);

    b->last = ngx_http_torchserve_handoff_put_request_headers(r, b->last,
                                                               NULL);

    b->last = ngx_sprintf(b->last, "X-Request-Id: %V" CRLF, &id);

    if (client.len) {
        b->last = ngx_sprintf(b->last,
                              NGX_HTTP_TORCHSERVE_HANDOFF_CLIENT ": %V" CRLF,
                              &client);
    }

    b->last = ngx_sprintf(b->last, "Content-Length: %uz" CRLF CRLF,
                          ctx->body_len);

    for (i = 0; i < ctx->nparts; i++) {
        b->last = ngx_cpymem(b->last, ctx->parts[i].data, ctx->parts[i].len);
    }

    return b;
}


/*
 * the client's headers but those only its hop means (and ours, which the
 * request gets anew): written at p, or with p == NULL their size added to
 * *size, so that the two passes cannot disagree
 */
static u_char *
ngx_http_torchserve_handoff_put_request_headers(ngx_http_request_t *r,
    u_char *p, size_t *size)
{
    ngx_uint_t        i, k;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  skip[] = {
        ngx_string("Connection"),
        ngx_string("Keep-Alive"),
        ngx_string("Proxy-Connection"),
        ngx_string("Content-Length"),
        ngx_string("Transfer-Encoding"),
        ngx_string("TE"),
        ngx_string("Upgrade"),
        ngx_string("Expect"),
        /* the sibling's filters must leave its frame as it is */
        ngx_string("Accept-Encoding"),
        ngx_string("Range"),
        ngx_string("If-Range"),
        /* ours, written by the caller */
        ngx_string("X-Request-Id"),
        ngx_string(NGX_HTTP_TORCHSERVE_HANDOFF_CLIENT),
        ngx_null_string
    };

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {

            for (k = 0; skip[k].len; k++) {
                if (h[i].key.len == skip[k].len
                    && ngx_strncasecmp(h[i].key.data, skip[k].data,
                                       skip[k].len)
                       == 0)
                {
                    break;
                }
            }

            if (skip[k].len) {
                continue;
            }

            if (p == NULL) {
                *size += h[i].key.len + sizeof(": " CRLF) - 1
                         + h[i].value.len;
                continue;
            }

            p = ngx_sprintf(p, "%V: %V" CRLF, &h[i].key, &h[i].value);
        }
    }

    return p;
}


static void
ngx_http_torchserve_handoff_write(ngx_event_t *wev)
{
    ssize_t                         n;
    ngx_buf_t                      *b;
    ngx_connection_t               *c;
    ngx_http_torchserve_handoff_t  *h;

    c = wev->data;
    h = c->data;
    b = h->out;

    if (wev->timedout) {
        ngx_http_torchserve_handoff_fail(h, NGX_HTTP_GATEWAY_TIME_OUT,
                                         "did not take it in time");
        return;
    }

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            ngx_add_timer(wev, h->timeout);

            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_torchserve_handoff_here(h);
            }

            return;
        }

        if (n == NGX_ERROR) {
            /* a request it did not read whole, it cannot have run */
            ngx_http_torchserve_handoff_here(h);
            return;
        }

        b->pos += n;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    wev->handler = ngx_http_torchserve_handoff_idle;

    h->in = ngx_create_temp_buf(h->request->pool, 4096);
    if (h->in == NULL) {
        ngx_http_torchserve_handoff_fail(h, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         NULL);
        return;
    }

    ngx_http_torchserve_handoff_read(c->read);
}


static void
ngx_http_torchserve_handoff_read(ngx_event_t *rev)
{
    size_t                          size;
    ssize_t                         n;
    ngx_buf_t                      *b, *grown;
    ngx_connection_t               *c;
    ngx_http_torchserve_handoff_t  *h;

    c = rev->data;
    h = c->data;
    b = h->in;

    if (b == NULL) {
        /* a reset before the request was sent: the write sees it */
        return;
    }

    if (rev->timedout) {
        ngx_http_torchserve_handoff_fail(h, NGX_HTTP_GATEWAY_TIME_OUT,
                                         "did not answer in time");
        return;
    }

    for ( ;; ) {
        if (b->last == b->end) {
            size = 2 * (b->end - b->start);

            if (size > NGX_HTTP_TORCHSERVE_HANDOFF_MAX) {
                ngx_http_torchserve_handoff_fail(h,
                    NGX_HTTP_INTERNAL_SERVER_ERROR,
                    "answered more than 256 MB");
                return;
            }

            grown = ngx_create_temp_buf(h->request->pool, size);
            if (grown == NULL) {
                ngx_http_torchserve_handoff_fail(h,
                    NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
                return;
            }

            grown->last = ngx_cpymem(grown->pos, b->pos, b->last - b->pos);
            ngx_pfree(h->request->pool, b->start);
            h->in = b = grown;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            ngx_add_timer(rev, h->timeout);

            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_http_torchserve_handoff_fail(h,
                    NGX_HTTP_INTERNAL_SERVER_ERROR, NULL);
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            break;
        }

        b->last += n;
    }

    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    /* HTTP/1.0: the answer ends where the sibling closes */
    ngx_http_torchserve_handoff_relay(h);
}


/* the sibling's answer (HTTP/1.0, Content-Length) to the client */
static void
ngx_http_torchserve_handoff_relay(ngx_http_torchserve_handoff_t *h)
{
    off_t                length;
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_uint_t           framed;
    ngx_http_status_t    st;
    ngx_http_request_t  *r;

    r = h->request;
    b = h->in;
    length = -1;
    framed = 0;

    ngx_memzero(&st, sizeof(ngx_http_status_t));

    r->state = 0;

    if (ngx_http_parse_status_line(r, b, &st) != NGX_OK) {
        ngx_http_torchserve_handoff_fail(h, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "ended before answering");
        return;
    }

    for ( ;; ) {
        rc = ngx_http_parse_header_line(r, b, 1);

        if (rc == NGX_HTTP_PARSE_HEADER_DONE) {
            break;
        }

        if (rc != NGX_OK) {
            ngx_http_torchserve_handoff_fail(h, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             "ended before answering");
            return;
        }

        if (r->header_name_end - r->header_name_start
                == sizeof("Content-Length") - 1
            && ngx_strncasecmp(r->header_name_start,
                               (u_char *) "Content-Length",
                               sizeof("Content-Length") - 1)
               == 0)
        {
            length = ngx_atoof(r->header_start,
                               r->header_end - r->header_start);

        } else if (r->header_name_end - r->header_name_start
                       == sizeof("Content-Type") - 1
                   && ngx_strncasecmp(r->header_name_start,
                                      (u_char *) "Content-Type",
                                      sizeof("Content-Type") - 1)
                      == 0)
        {
            framed = (size_t) (r->header_end - r->header_start)
                         == sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_TYPE) - 1
                     && ngx_strncmp(r->header_start,
                                    NGX_HTTP_TORCHSERVE_HANDOFF_TYPE,
                                    sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_TYPE)
                                    - 1)
                        == 0;
        }
    }

    if (length < 0 || length != b->last - b->pos) {
        ngx_http_torchserve_handoff_fail(h, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "ended before answering");
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: worker process %P answered %ui, %O bytes",
                   h->pid, st.code, length);

    ngx_http_torchserve_handoff_end(h);

    r->connection->log->action = "answering a prediction";

    if (!framed || st.code != NGX_HTTP_OK) {
        /* nginx's own answer there (a 400, a 500): the same one here */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: worker process %P answered %ui to a "
                      "prediction handed to it", h->pid, st.code);

        ngx_http_finalize_request(r, st.code >= NGX_HTTP_SPECIAL_RESPONSE
                                     ? (ngx_int_t) st.code
                                     : NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_torchserve_handoff_unwrap(r, b->pos, b->last);

    if (rc == NGX_OK || rc == NGX_AGAIN) {
        /* the client's next predictions go there without a hop */
        ngx_http_torchserve_move_later(r, h->ctx->tmcf,
                                       h->peer - h->ctx->tmcf->sh->peers,
                                       h->pid);
    }

    ngx_http_finalize_request(r, rc);
}


/* --- ends ---------------------------------------------------------------- */

/* nothing was run there: the prediction joins this process's queue */
static void
ngx_http_torchserve_handoff_here(ngx_http_torchserve_handoff_t *h)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = h->request;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, ngx_socket_errno,
                  "torchserve: model \"%V\": sending the prediction to "
                  "worker process %P failed, it runs here",
                  &h->ctx->model->name, h->pid);

    ngx_http_torchserve_handoff_end(h);
    h->ctx->handed = 0;

    r->connection->log->action = "queueing a prediction";

    rc = ngx_http_torchserve_batch_enqueue(r, h->ctx);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


static void
ngx_http_torchserve_handoff_fail(ngx_http_torchserve_handoff_t *h,
    ngx_uint_t status, const char *what)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = h->request;

    ngx_http_torchserve_handoff_end(h);

    if (what == NULL) {
        ngx_http_finalize_request(r, status);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "torchserve: model \"%V\": worker process %P, handed the "
                  "prediction, %s", &h->ctx->model->name, h->pid, what);

    rc = ngx_http_torchserve_send_error(r, status,
             status == NGX_HTTP_GATEWAY_TIME_OUT ? NULL
                                                 : "InternalServerException",
             "Worker process %P, which took the prediction from this one, "
             "%s", h->pid, what);

    ngx_http_finalize_request(r, rc);
}


/* the connection closed and the reservation given back, once */
static void
ngx_http_torchserve_handoff_end(ngx_http_torchserve_handoff_t *h)
{
    if (h->pc.connection != NULL) {
        ngx_close_connection(h->pc.connection);
        h->pc.connection = NULL;
    }

    if (h->reserved) {
        ngx_http_torchserve_handoff_decrement(h->peer, h->pid,
                                              &h->peer->reserved);
        h->reserved = 0;
    }
}


/* the client went away, or the request ends otherwise */
static void
ngx_http_torchserve_handoff_cleanup(void *data)
{
    ngx_http_torchserve_handoff_end(data);
}


static void
ngx_http_torchserve_handoff_idle(ngx_event_t *ev)
{
}
