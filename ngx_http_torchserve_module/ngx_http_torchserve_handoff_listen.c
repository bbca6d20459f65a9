/*
 * ngx_http_torchserve_handoff_listen.c: each worker process's sockets for
 * the Python predictions its siblings hand to it (_handoff.c), and its
 * slot in the zone.
 *
 * A worker process listens, besides nginx's own sockets, on a unix socket
 * for each plain HTTP/1 listening socket, a twin that nginx's HTTP serves
 * with the same servers, in its own folder (0700) of torchserve_temp_path;
 * its slot in the zone holds that folder and how many Python batches it
 * has in its thread pool.  A request that comes through a twin is a
 * handed-over prediction: its client's address is restored before any
 * access check, and its answer goes back in a frame (_handoff_frame.c).
 */

#include "ngx_http_torchserve_module.h"

#include <sys/un.h>


static ngx_int_t ngx_http_torchserve_handoff_listen(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_uint_t i);
static ngx_uint_t ngx_http_torchserve_handoff_can_twin(ngx_listening_t *ls);
static ngx_http_addr_conf_t *ngx_http_torchserve_handoff_addr_conf(
    ngx_listening_t *ls);
static ngx_int_t ngx_http_torchserve_handoff_twin_servers(ngx_cycle_t *cycle,
    ngx_listening_t *ls, ngx_listening_t *twin);


/* --- this process's sockets, at its start and end ------------------------ */

void
ngx_http_torchserve_handoff_init(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    size_t                       len;
    ngx_uint_t                   i, n;
    ngx_core_conf_t             *ccf;
    ngx_http_torchserve_peer_t  *self;

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (!tmcf->handoff || ngx_process != NGX_PROCESS_WORKER
        || ccf->worker_processes < 2
        || ngx_worker >= NGX_HTTP_TORCHSERVE_MAX_PROCESSES)
    {
        return;
    }

    len = tmcf->python_temp.len + sizeof("/torchserve-handoff-") - 1
          + NGX_INT64_LEN + sizeof("/65535.sock");

    if (len > sizeof(((struct sockaddr_un *) 0)->sun_path)
        || len > NGX_HTTP_TORCHSERVE_PEER_DIR_LEN)
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "torchserve: torchserve_temp_path \"%V\" is too long "
                      "for a unix socket: Python predictions stay in the "
                      "worker process that receives them",
                      &tmcf->python_temp);
        return;
    }

    tmcf->handoff_dir = ngx_pnalloc(cycle->pool,
                                    NGX_HTTP_TORCHSERVE_PEER_DIR_LEN);
    if (tmcf->handoff_dir == NULL) {
        return;
    }

    ngx_sprintf(tmcf->handoff_dir, "%V/%s%P%Z", &tmcf->python_temp,
                NGX_HTTP_TORCHSERVE_HANDOFF_PREFIX, ngx_pid);

    /* those of processes that crashed (a reused pid's too) */
    (void) ts_archive_remove_stale((char *) tmcf->python_temp.data,
                                   NGX_HTTP_TORCHSERVE_HANDOFF_PREFIX);
    ts_archive_remove_tree((char *) tmcf->handoff_dir);

    if (mkdir((char *) tmcf->handoff_dir, 0700) == -1) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      "torchserve: mkdir(\"%s\") failed: Python predictions "
                      "stay in the worker process that receives them",
                      tmcf->handoff_dir);
        tmcf->handoff_dir = NULL;
        return;
    }

    n = cycle->listening.nelts;

    tmcf->twins = ngx_pcalloc(cycle->pool, n * sizeof(ngx_listening_t));
    tmcf->twin_index = ngx_palloc(cycle->pool, n * sizeof(ngx_int_t));
    if (tmcf->twins == NULL || tmcf->twin_index == NULL) {
        ngx_http_torchserve_handoff_close(tmcf, 0);
        return;
    }

    tmcf->listening = cycle->listening.elts;
    tmcf->nlistening = n;

    for (i = 0; i < n; i++) {
        tmcf->twin_index[i] = -1;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_torchserve_handoff_listen(cycle, tmcf, i) != NGX_OK) {
            ngx_http_torchserve_handoff_close(tmcf, 0);
            return;
        }
    }

    if (ngx_http_torchserve_move_init(cycle, tmcf) != NGX_OK) {
        ngx_http_torchserve_handoff_close(tmcf, 0);
        return;
    }

    self = &tmcf->sh->peers[ngx_worker];

    ngx_memcpy(self->dir, tmcf->handoff_dir,
               ngx_strlen(tmcf->handoff_dir) + 1);
    self->busy = 0;
    self->reserved = 0;
    ngx_memory_barrier();
    self->pid = ngx_pid;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "torchserve: worker %ui takes Python predictions in "
                   "\"%s\"", ngx_worker, tmcf->handoff_dir);
}


/* the twin of listening socket i, if nginx's HTTP would serve it alike */
static ngx_int_t
ngx_http_torchserve_handoff_listen(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_uint_t i)
{
    ngx_uint_t           j;
    ngx_socket_t         s;
    ngx_listening_t     *ls, *twin;
    ngx_connection_t    *c;
    struct sockaddr_un  *sun;

    ls = &tmcf->listening[i];

    if (!ngx_http_torchserve_handoff_can_twin(ls)) {
        return NGX_OK;
    }

    /* reuseport: every process's copy of a socket has the first's index */
    for (j = 0; j < i; j++) {
        if (ngx_cmp_sockaddr(tmcf->listening[j].sockaddr,
                             tmcf->listening[j].socklen,
                             ls->sockaddr, ls->socklen, 1)
            == NGX_OK)
        {
            break;
        }
    }

    if (ls->reuseport && ls->worker != ngx_worker) {
        return NGX_OK;
    }

    tmcf->twin_index[i] = j;
    twin = &tmcf->twins[i];
    *twin = *ls;
    twin->fd = (ngx_socket_t) -1;
    twin->open = 0;

    sun = ngx_pcalloc(cycle->pool, sizeof(struct sockaddr_un));
    twin->addr_text.data = ngx_pnalloc(cycle->pool, NGX_UNIX_ADDRSTRLEN);
    if (sun == NULL || twin->addr_text.data == NULL) {
        return NGX_ERROR;
    }

    sun->sun_family = AF_UNIX;
    ngx_sprintf((u_char *) sun->sun_path, "%s/%ui.sock%Z",
                tmcf->handoff_dir, j);

    twin->addr_text.len = ngx_sprintf(twin->addr_text.data, "unix:%s",
                                      sun->sun_path)
                          - twin->addr_text.data;
    twin->sockaddr = (struct sockaddr *) sun;
    twin->socklen = sizeof(struct sockaddr_un);
    twin->addr_text_max_len = NGX_UNIX_ADDRSTRLEN;
    twin->log.data = &twin->addr_text;
    twin->previous = NULL;
    twin->connection = NULL;
    twin->reuseport = 0;
    twin->inherited = 0;
#if (NGX_HAVE_DEFERRED_ACCEPT)
    twin->deferred_accept = 0;
#endif

    if (ngx_http_torchserve_handoff_twin_servers(cycle, ls, twin) != NGX_OK) {
        return NGX_ERROR;
    }

    s = ngx_socket(AF_UNIX, SOCK_STREAM, 0);
    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "torchserve: socket() for \"%V\" failed",
                      &twin->addr_text);
        return NGX_ERROR;
    }

    twin->fd = s;
    twin->open = 1;

    if (ngx_nonblocking(s) == -1
        || bind(s, twin->sockaddr, twin->socklen) == -1
        || listen(s, ls->backlog) == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "torchserve: listening on \"%V\" failed",
                      &twin->addr_text);
        return NGX_ERROR;
    }

    /* what ngx_event_process_init does for nginx's own sockets */
    c = ngx_get_connection(s, cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->type = SOCK_STREAM;
    c->log = &twin->log;
    c->listening = twin;
    twin->connection = c;

    c->read->log = c->log;
    c->read->accept = 1;
    c->read->handler = ngx_event_accept;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) == NGX_ERROR) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Only a plain HTTP/1 socket whose port has one address: nginx then takes
 * the server from the port alone, whatever the address (TLS and PROXY
 * need what the client sent).
 */
static ngx_uint_t
ngx_http_torchserve_handoff_can_twin(ngx_listening_t *ls)
{
    ngx_http_addr_conf_t  *conf;

    if (ls->handler != ngx_http_init_connection || ls->type != SOCK_STREAM
        || ls->fd == (ngx_socket_t) -1)
    {
        return 0;
    }

    conf = ngx_http_torchserve_handoff_addr_conf(ls);

    return conf != NULL && !conf->ssl && !conf->http2
           && !conf->proxy_protocol;
}


/* the conf of ls's port's one address, read in the layout of its family */
static ngx_http_addr_conf_t *
ngx_http_torchserve_handoff_addr_conf(ngx_listening_t *ls)
{
    ngx_http_port_t  *port;

    port = ls->servers;

    if (port == NULL || port->naddrs != 1) {
        return NULL;
    }

    switch (ls->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        return &((ngx_http_in6_addr_t *) port->addrs)[0].conf;
#endif

    case AF_INET:
        return &((ngx_http_in_addr_t *) port->addrs)[0].conf;

    default:
        return NULL;
    }
}


/*
 * ngx_http_init_connection reads a unix socket's port in AF_INET's
 * layout: the twin gets a port of its own in that layout, with the one
 * address's conf of the socket it twins (an IPv6 one's too)
 */
static ngx_int_t
ngx_http_torchserve_handoff_twin_servers(ngx_cycle_t *cycle,
    ngx_listening_t *ls, ngx_listening_t *twin)
{
    ngx_http_port_t     *port;
    ngx_http_in_addr_t  *addr;

    port = ngx_pcalloc(cycle->pool, sizeof(ngx_http_port_t));
    addr = ngx_pcalloc(cycle->pool, sizeof(ngx_http_in_addr_t));
    if (port == NULL || addr == NULL) {
        return NGX_ERROR;
    }

    addr->conf = *ngx_http_torchserve_handoff_addr_conf(ls);
    port->addrs = addr;
    port->naddrs = 1;
    twin->servers = port;

    return NGX_OK;
}


/*
 * at exit, or once the process shuts down (serve_moved: its event loop
 * goes on): siblings then run their own
 */
void
ngx_http_torchserve_handoff_close(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t serve_moved)
{
    ngx_uint_t                   i;
    ngx_listening_t             *twin;
    ngx_http_torchserve_peer_t  *self;

    if (tmcf->handoff_dir == NULL) {
        return;
    }

    if (ngx_worker < NGX_HTTP_TORCHSERVE_MAX_PROCESSES && tmcf->sh != NULL) {
        self = &tmcf->sh->peers[ngx_worker];

        /* a new process may hold this slot already (reload) */
        (void) ngx_atomic_cmp_set(&self->pid, ngx_pid, 0);
    }

    ngx_http_torchserve_move_close(tmcf, serve_moved);

    for (i = 0; tmcf->twins != NULL && i < tmcf->nlistening; i++) {
        twin = &tmcf->twins[i];

        if (twin->connection != NULL) {
            ngx_close_connection(twin->connection);
            twin->connection = NULL;

        } else if (twin->fd != (ngx_socket_t) -1 && twin->open) {
            (void) ngx_close_socket(twin->fd);
        }

        twin->open = 0;
        twin->fd = (ngx_socket_t) -1;
    }

    ts_archive_remove_tree((char *) tmcf->handoff_dir);

    tmcf->handoff_dir = NULL;
    tmcf->twin_index = NULL;
}


/* this process's Python batches in the thread pool, as siblings see them */
void
ngx_http_torchserve_handoff_busy(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_int_t delta)
{
    ngx_http_torchserve_peer_t  *self;

    if (tmcf->handoff_dir == NULL) {
        return;
    }

    self = &tmcf->sh->peers[ngx_worker];

    if (delta > 0) {
        if (self->pid == (ngx_atomic_uint_t) ngx_pid) {
            (void) ngx_atomic_fetch_add(&self->busy, 1);
        }

        return;
    }

    ngx_http_torchserve_handoff_decrement(self, ngx_pid, &self->busy);
}


/*
 * A count of slot's down by one, unless a new process holds the slot by
 * now (a reload: it started from 0) or it is 0 already
 */
void
ngx_http_torchserve_handoff_decrement(ngx_http_torchserve_peer_t *slot,
    ngx_pid_t pid, ngx_atomic_t *count)
{
    ngx_atomic_uint_t  n;

    do {
        n = *count;

        if (n == 0 || slot->pid != (ngx_atomic_uint_t) pid) {
            return;
        }

    } while (!ngx_atomic_cmp_set(count, n, n - 1));
}


/* the request came from a sibling, through one of our sockets */
ngx_uint_t
ngx_http_torchserve_handed_over(ngx_http_request_t *r)
{
    ngx_listening_t                  *ls;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    if (tmcf == NULL || tmcf->twins == NULL) {
        return 0;
    }

    ls = r->connection->listening;

    return ls >= tmcf->twins && ls < tmcf->twins + tmcf->nlistening;
}


/*
 * POST_READ, in the sibling: the first process's client becomes this
 * request's (its connection serves this one request), so that allow and
 * deny, limits and logs see the client, not the unix socket; the header
 * is then hidden from the handler.  Only a connection to our own sockets
 * (0700) is believed.
 */
ngx_int_t
ngx_http_torchserve_handoff_client(ngx_http_request_t *r)
{
    u_char            *p;
    ngx_uint_t         i;
    ngx_addr_t         addr;
    ngx_list_part_t   *part;
    ngx_table_elt_t   *h;
    ngx_connection_t  *c;

    if (r != r->main || !ngx_http_torchserve_handed_over(r)) {
        return NGX_DECLINED;
    }

    c = r->connection;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len != sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_CLIENT) - 1
                || ngx_strncasecmp(h[i].key.data,
                                   (u_char *) NGX_HTTP_TORCHSERVE_HANDOFF_CLIENT,
                                   h[i].key.len)
                   != 0)
            {
                continue;
            }

            h[i].hash = 0;

            if (ngx_parse_addr_port(c->pool, &addr, h[i].value.data,
                                    h[i].value.len)
                != NGX_OK)
            {
                ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                              "torchserve: a handed-over prediction's "
                              "client \"%V\" is not an address",
                              &h[i].value);
                continue;
            }

            /* ngx_inet6_ntop writes nothing into less than it may need */
            p = ngx_pnalloc(c->pool, NGX_SOCKADDR_STRLEN);
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            c->sockaddr = addr.sockaddr;
            c->socklen = addr.socklen;
            c->addr_text.len = ngx_sock_ntop(addr.sockaddr, addr.socklen, p,
                                             NGX_SOCKADDR_STRLEN, 0);
            c->addr_text.data = p;
        }
    }

    return NGX_DECLINED;
}
