/*
 * ngx_http_torchserve_handoff_move.c: a keepalive connection whose Python
 * prediction was handed to a sibling moves there, socket and all.
 *
 * Handing a prediction over (_handoff.c) costs a hop each time, and a
 * client that keeps its connection open sends the next one to the same
 * busy process: two keepalive clients that nginx gave to one process pay
 * that hop on every other prediction, forever.  So once a handed-over
 * answer has gone out and the connection waits idle for the next request
 * (nothing of it read yet), the socket itself goes to the sibling that
 * answered, over a unix datagram socket in its folder (SCM_RIGHTS), and
 * is closed here; the sibling makes a connection of it as nginx's accept
 * would, and serves what the client sends next.  The client sees nothing:
 * the kernel holds what it sends meanwhile.  A send that fails (the
 * sibling exits, its queue is full) keeps the connection here.
 */

#include "ngx_http_torchserve_module.h"

#include <sys/un.h>


#define NGX_HTTP_TORCHSERVE_MOVE_MAGIC  0x7473766d      /* "tsvm" */
#define NGX_HTTP_TORCHSERVE_MOVE_SOCK   "/m.sock"


/* what goes with the socket */
typedef struct {
    uint32_t                         magic;
    uint32_t                         index;    /* the first listening's */
    ngx_pid_t                        pid;      /* who sends it */
} ngx_http_torchserve_move_msg_t;


/* a connection that may move, in its own pool */
typedef struct {
    ngx_event_t                      event;    /* posted once it is idle */
    ngx_connection_t                *connection;
    ngx_http_torchserve_main_conf_t *tmcf;
    ngx_uint_t                       slot;
    ngx_pid_t                        pid;
} ngx_http_torchserve_move_t;


static void ngx_http_torchserve_move_request_done(void *data);
static void ngx_http_torchserve_move_connection_done(void *data);
static void ngx_http_torchserve_move_send(ngx_event_t *ev);
static void ngx_http_torchserve_move_receive(ngx_event_t *rev);
static void ngx_http_torchserve_move_accept(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_socket_t s,
    ngx_http_torchserve_move_msg_t *msg, ngx_log_t *log);
static ngx_listening_t *ngx_http_torchserve_move_listening(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_uint_t index);


/* --- this process's socket for connections, at its start and end -------- */

ngx_int_t
ngx_http_torchserve_move_init(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_socket_t         s;
    ngx_connection_t    *c;
    struct sockaddr_un   sun;

    ngx_memzero(&sun, sizeof(struct sockaddr_un));
    sun.sun_family = AF_UNIX;
    ngx_sprintf((u_char *) sun.sun_path, "%s" NGX_HTTP_TORCHSERVE_MOVE_SOCK
                "%Z", tmcf->handoff_dir);

    s = ngx_socket(AF_UNIX, SOCK_DGRAM, 0);
    if (s == (ngx_socket_t) -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "torchserve: socket() for \"%s\" failed", sun.sun_path);
        return NGX_ERROR;
    }

    if (ngx_nonblocking(s) == -1
        || bind(s, (struct sockaddr *) &sun, sizeof(struct sockaddr_un))
           == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      "torchserve: binding \"%s\" failed", sun.sun_path);
        (void) ngx_close_socket(s);
        return NGX_ERROR;
    }

    c = ngx_get_connection(s, cycle->log);
    if (c == NULL) {
        (void) ngx_close_socket(s);
        return NGX_ERROR;
    }

    c->type = SOCK_DGRAM;
    c->data = tmcf;
    c->read->log = c->log;
    c->read->handler = ngx_http_torchserve_move_receive;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_CLEAR_EVENT) == NGX_ERROR)
    {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    tmcf->move = c;

    return NGX_OK;
}


/*
 * serve: the event loop goes on (a graceful shutdown's start), and what
 * siblings sent before they saw this process's slot given back is served
 */
void
ngx_http_torchserve_move_close(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t serve)
{
    ngx_connection_t  *c;

    c = tmcf->move;

    if (c == NULL) {
        return;
    }

    if (serve) {
        ngx_http_torchserve_move_receive(c->read);
    }

    tmcf->move = NULL;

    ngx_close_connection(c);
}


/* --- sending a connection ------------------------------------------------ */

/*
 * r's answer came from the sibling in slot (pid): once r is done and its
 * connection waits for the next request, the connection goes there.
 */
void
ngx_http_torchserve_move_later(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_uint_t slot, ngx_pid_t pid)
{
    ngx_connection_t            *c;
    ngx_pool_cleanup_t          *cln, *rcln;
    ngx_http_torchserve_move_t  *mv;

    c = r->connection;

    /* r->keepalive is off past keepalive_requests and keepalive_time */
    if (tmcf->move == NULL || r != r->main || !r->keepalive || ngx_exiting) {
        return;
    }

    mv = NULL;

    for (cln = c->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_torchserve_move_connection_done) {
            mv = cln->data;
            break;
        }
    }

    if (mv == NULL) {
        mv = ngx_pcalloc(c->pool, sizeof(ngx_http_torchserve_move_t));
        cln = ngx_pool_cleanup_add(c->pool, 0);
        if (mv == NULL || cln == NULL) {
            return;
        }

        mv->connection = c;
        mv->tmcf = tmcf;
        mv->event.data = mv;
        mv->event.handler = ngx_http_torchserve_move_send;

        cln->handler = ngx_http_torchserve_move_connection_done;
        cln->data = mv;
    }

    rcln = ngx_pool_cleanup_add(r->pool, 0);
    if (rcln == NULL) {
        return;
    }

    mv->slot = slot;
    mv->pid = pid;
    mv->event.log = c->log;

    rcln->handler = ngx_http_torchserve_move_request_done;
    rcln->data = mv;
}


/* the request is freed: keepalive, if it comes, is set up right after */
static void
ngx_http_torchserve_move_request_done(void *data)
{
    ngx_http_torchserve_move_t  *mv = data;

    if (!mv->event.posted) {
        ngx_post_event(&mv->event, &ngx_posted_events);
    }
}


static void
ngx_http_torchserve_move_connection_done(void *data)
{
    ngx_http_torchserve_move_t  *mv = data;

    if (mv->event.posted) {
        ngx_delete_posted_event(&mv->event);
    }
}


static void
ngx_http_torchserve_move_send(ngx_event_t *ev)
{
    ssize_t                           n;
    ngx_uint_t                        i;
    struct iovec                      iov;
    struct msghdr                     mh;
    struct cmsghdr                   *cmsg;
    struct sockaddr_un                sun;
    ngx_connection_t                 *c;
    ngx_http_torchserve_peer_t       *peer;
    ngx_http_torchserve_move_t       *mv;
    ngx_http_torchserve_move_msg_t    msg;
    ngx_http_torchserve_main_conf_t  *tmcf;

    union {
        struct cmsghdr  cm;
        char            space[CMSG_SPACE(sizeof(int))];
    } control;

    mv = ev->data;
    c = mv->connection;
    tmcf = mv->tmcf;

    /*
     * only a connection idle in keepalive: nothing of the next request
     * read (a pipelined one is served at once, not idle), nothing to send
     * (its request is freed: "destroyed")
     */
    if (!c->idle || c->buffered || c->error || c->fd == (ngx_socket_t) -1
        || tmcf->move == NULL || ngx_exiting)
    {
        return;
    }

    i = c->listening - tmcf->listening;

    if (i >= tmcf->nlistening || tmcf->twin_index[i] < 0) {
        return;
    }

    peer = &tmcf->sh->peers[mv->slot];

    /* gone, or busy with a connection of its own by now */
    if (peer->pid != (ngx_atomic_uint_t) mv->pid || peer->busy != 0) {
        return;
    }

    msg.magic = NGX_HTTP_TORCHSERVE_MOVE_MAGIC;
    msg.index = (uint32_t) tmcf->twin_index[i];
    msg.pid = ngx_pid;

    ngx_memzero(&sun, sizeof(struct sockaddr_un));
    sun.sun_family = AF_UNIX;
    ngx_sprintf((u_char *) sun.sun_path, "%s" NGX_HTTP_TORCHSERVE_MOVE_SOCK
                "%Z", peer->dir);

    iov.iov_base = &msg;
    iov.iov_len = sizeof(ngx_http_torchserve_move_msg_t);

    ngx_memzero(&mh, sizeof(struct msghdr));
    ngx_memzero(&control, sizeof(control));
    mh.msg_name = &sun;
    mh.msg_namelen = sizeof(struct sockaddr_un);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.space;
    mh.msg_controllen = sizeof(control.space);

    cmsg = CMSG_FIRSTHDR(&mh);
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    ngx_memcpy(CMSG_DATA(cmsg), &c->fd, sizeof(int));

    n = sendmsg(tmcf->move->fd, &mh, MSG_DONTWAIT);

    if (n != (ssize_t) sizeof(ngx_http_torchserve_move_msg_t)) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, ngx_socket_errno,
                       "torchserve: keepalive connection stays, sendmsg() "
                       "to worker process %P: %z", mv->pid, n);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "torchserve: keepalive connection moved to worker "
                   "process %P", mv->pid);

    /*
     * the socket lives on in the sibling: epoll would go on reporting it
     * here (it forgets a socket only when its last descriptor closes)
     */
    if (ngx_del_conn) {
        if (c->read->active || c->write->active) {
            (void) ngx_del_conn(c, 0);
        }

    } else {
        if (c->read->active) {
            (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
        }

        if (c->write->active) {
            (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
        }
    }

    ngx_http_close_connection(c);
}


/* --- receiving one ------------------------------------------------------- */

static void
ngx_http_torchserve_move_receive(ngx_event_t *rev)
{
    int                               fd;
    ssize_t                           n;
    ngx_err_t                         err;
    struct iovec                      iov;
    struct msghdr                     mh;
    struct cmsghdr                   *cmsg;
    ngx_connection_t                 *c;
    ngx_http_torchserve_move_msg_t    msg;
    ngx_http_torchserve_main_conf_t  *tmcf;

    union {
        struct cmsghdr  cm;
        char            space[CMSG_SPACE(4 * sizeof(int))];
    } control;

    c = rev->data;
    tmcf = c->data;

    for ( ;; ) {
        ngx_memzero(&msg, sizeof(ngx_http_torchserve_move_msg_t));
        ngx_memzero(&mh, sizeof(struct msghdr));

        iov.iov_base = &msg;
        iov.iov_len = sizeof(ngx_http_torchserve_move_msg_t);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = control.space;
        mh.msg_controllen = sizeof(control.space);

        n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        if (n == -1) {
            err = ngx_socket_errno;

            if (err != NGX_EAGAIN && err != NGX_EINTR) {
                ngx_log_error(NGX_LOG_ALERT, rev->log, err,
                              "torchserve: recvmsg() of a moved connection "
                              "failed");
            }

            if (err == NGX_EINTR) {
                continue;
            }

            return;
        }

        fd = -1;

        for (cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg))
        {
            int     *fds;
            size_t   k, nfds;

            if (cmsg->cmsg_level != SOL_SOCKET
                || cmsg->cmsg_type != SCM_RIGHTS)
            {
                continue;
            }

            fds = (int *) CMSG_DATA(cmsg);
            nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);

            /* one is ours: any more (a stranger's) are closed */
            for (k = 0; k < nfds; k++) {
                if (fd == -1) {
                    fd = fds[k];

                } else {
                    (void) close(fds[k]);
                }
            }
        }

        if (fd == -1) {
            ngx_log_error(NGX_LOG_ALERT, rev->log, 0,
                          "torchserve: a message without a connection on "
                          "the socket for moved connections");
            continue;
        }

        if (n != (ssize_t) sizeof(ngx_http_torchserve_move_msg_t)
            || msg.magic != NGX_HTTP_TORCHSERVE_MOVE_MAGIC
            || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        {
            ngx_log_error(NGX_LOG_ALERT, rev->log, 0,
                          "torchserve: a moved connection came with a "
                          "message not ours, closed");
            (void) close(fd);
            continue;
        }

        ngx_http_torchserve_move_accept(tmcf, fd, &msg, rev->log);
    }
}


/* what ngx_event_accept does with a socket, for one a sibling sent */
static void
ngx_http_torchserve_move_accept(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_socket_t s, ngx_http_torchserve_move_msg_t *msg, ngx_log_t *elog)
{
    int                        type;
    socklen_t                  socklen, len;
    ngx_log_t                 *log;
    ngx_pool_t                *pool;
    ngx_sockaddr_t             sa;
    ngx_listening_t           *ls;
    ngx_connection_t          *c;
    ngx_http_connection_t     *hc;
    ngx_http_core_loc_conf_t  *clcf;

    ls = ngx_http_torchserve_move_listening(tmcf, msg->index);

    len = sizeof(int);
    socklen = sizeof(ngx_sockaddr_t);

    if (ls == NULL
        || getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len) == -1
        || type != SOCK_STREAM
        || getpeername(s, &sa.sockaddr, &socklen) == -1
        || sa.sockaddr.sa_family != ls->sockaddr->sa_family)
    {
        /* the client may have gone meanwhile (ENOTCONN) */
        ngx_log_error(NGX_LOG_INFO, elog, ngx_socket_errno,
                      "torchserve: a connection moved from worker process "
                      "%P is closed: no such client or listening socket",
                      msg->pid);
        (void) ngx_close_socket(s);
        return;
    }

    if (ngx_nonblocking(s) == -1) {
        ngx_log_error(NGX_LOG_ALERT, elog, ngx_socket_errno,
                      ngx_nonblocking_n " failed");
        (void) ngx_close_socket(s);
        return;
    }

    c = ngx_get_connection(s, elog);
    if (c == NULL) {
        /* worker_connections are used up: logged there */
        (void) ngx_close_socket(s);
        return;
    }

    c->type = SOCK_STREAM;

#if (NGX_STAT_STUB)
    /* the sender's close took it off */
    (void) ngx_atomic_fetch_add(ngx_stat_active, 1);
#endif

    c->pool = ngx_create_pool(ls->pool_size, elog);
    if (c->pool == NULL) {
        goto failed;
    }

    c->sockaddr = ngx_palloc(c->pool, socklen);
    log = ngx_palloc(c->pool, sizeof(ngx_log_t));
    if (c->sockaddr == NULL || log == NULL) {
        goto failed;
    }

    ngx_memcpy(c->sockaddr, &sa, socklen);

    *log = ls->log;

    c->recv = ngx_recv;
    c->send = ngx_send;
    c->recv_chain = ngx_recv_chain;
    c->send_chain = ngx_send_chain;
    c->log = log;
    c->pool->log = log;
    c->socklen = socklen;
    c->listening = ls;
    c->local_sockaddr = ls->sockaddr;
    c->local_socklen = ls->socklen;

    c->write->ready = 1;
    c->read->log = log;
    c->write->log = log;

    /* the client's next request may be there already */
    c->read->ready = 1;
#if (NGX_HAVE_EPOLLRDHUP)
    c->read->available = 1;
#endif

    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);
    c->start_time = ngx_current_msec;

    if (ls->addr_ntop) {
        c->addr_text.data = ngx_pnalloc(c->pool, ls->addr_text_max_len);
        if (c->addr_text.data == NULL) {
            goto failed;
        }

        c->addr_text.len = ngx_sock_ntop(c->sockaddr, c->socklen,
                                         c->addr_text.data,
                                         ls->addr_text_max_len, 0);
        if (c->addr_text.len == 0) {
            goto failed;
        }
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "torchserve: *%uA: keepalive connection from %V moved "
                  "here from worker process %P", c->number, &c->addr_text,
                  msg->pid);

    if (ngx_add_conn && (ngx_event_flags & NGX_USE_EPOLL_EVENT) == 0) {
        if (ngx_add_conn(c) == NGX_ERROR) {
            goto failed;
        }
    }

    log->data = NULL;
    log->handler = NULL;

    ls->handler(c);

    /*
     * it waits for the client's next request, as it did there: for the
     * server's keepalive_timeout, not for client_header_timeout (unless
     * nginx closed it, or read a request, meanwhile)
     */
    if (c->fd != (ngx_socket_t) -1 && c->requests == 0
        && c->read->timer_set)
    {
        hc = c->data;
        clcf = hc->conf_ctx->loc_conf[ngx_http_core_module.ctx_index];
        ngx_add_timer(c->read, clcf->keepalive_timeout);
    }

    return;

failed:

    pool = c->pool;

    ngx_close_connection(c);

#if (NGX_STAT_STUB)
    (void) ngx_atomic_fetch_add(ngx_stat_active, -1);
#endif

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


/* this process's copy of the listening socket a sibling knows as index */
static ngx_listening_t *
ngx_http_torchserve_move_listening(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t index)
{
    ngx_uint_t  i;

    if (tmcf->twin_index == NULL) {
        return NULL;
    }

    for (i = 0; i < tmcf->nlistening; i++) {
        if (tmcf->twin_index[i] == (ngx_int_t) index) {
            return &tmcf->listening[i];
        }
    }

    return NULL;
}
