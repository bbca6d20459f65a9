/*
 * ngx_mgmt_args.c: libFuzzer target for the Management API's arguments:
 * the query of POST /models, PUT and DELETE /models/{m}[/{v}] and
 * PUT /models/{m}/{v}/set-default, and POST /models's JSON body
 * (ngx_http_torchserve_module/ngx_http_torchserve_management.c,
 * _register.c, _scale.c, _params.c, _download.c).
 *
 * One input is a request line and, after the first "\n", a JSON body:
 *
 *     POST /models?url=digits.mar&initial_workers=1
 *     PUT /models/digits/1.0?min_worker=2&synchronous=true
 *     POST /models
 *     {"url": "digits_v2.mar", "model_name": "viajson"}
 *
 * The route is chosen as the management handler chooses it, then the
 * route's own function runs on a request made by ngx_harness.c, with the
 * zone holding nginx.conf's models (digits 1.0 and 2.0, resnet-18):
 * ngx_http_torchserve_register (query) or ngx_http_torchserve_register_body
 * (body, in up to three buffers), ngx_http_torchserve_scale,
 * _unregister, _set_default.  A registration's thread task runs (the
 * archive's manifest made up by the harness) and its completion answers.
 *
 * Checks: one answer per request (one header, valid JSON), never
 * finalized once too often, nothing left blocked; the zone keeps its
 * indexes and exactly one default version per name.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_harness.h"


#define NGX_MGMT_MAX_SEGS  4


/* the body in up to three buffers, as nginx may read it */
static void
ngx_mgmt_body(ngx_http_request_t *r, u_char *body, size_t len)
{
    size_t        cut[4];
    ngx_uint_t    i;
    ngx_buf_t    *b;
    ngx_chain_t  *cl, **ll;

    r->request_body = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    if (r->request_body == NULL) {
        ngx_fuzz_fail("no memory");
    }

    cut[0] = 0;
    cut[1] = len / 3;
    cut[2] = len - len / 4;
    cut[3] = len;

    ll = &r->request_body->bufs;

    for (i = 0; i < 3; i++) {
        if (cut[i + 1] == cut[i] && !(i == 0 && len == 0)) {
            continue;
        }

        b = ngx_calloc_buf(r->pool);
        cl = ngx_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            ngx_fuzz_fail("no memory");
        }

        /* each part its own exact copy: a read past it is ASan's */
        b->start = ngx_pnalloc(r->pool, cut[i + 1] - cut[i] + 1);
        if (b->start == NULL) {
            ngx_fuzz_fail("no memory");
        }

        ngx_memcpy(b->start, body + cut[i], cut[i + 1] - cut[i]);
        b->pos = b->start;
        b->last = b->start + (cut[i + 1] - cut[i]);
        b->end = b->last;
        b->memory = 1;

        cl->buf = b;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
    }

    r->discard_body = 0;
}


/* nginx's finalization of what the content handler returned */
static void
ngx_mgmt_finalize(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_http_finalize_request(r, rc);
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_fuzz_init();

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char              *text, *p, *last, *line, *uri, *q, *args, *body;
    size_t               body_len;
    ngx_int_t            rc;
    ngx_str_t            segs[NGX_MGMT_MAX_SEGS], none = ngx_null_string;
    ngx_uint_t           method, n, has_body;
    ngx_pool_t          *pool;
    ngx_http_request_t  *r;

    args = NULL;

    pool = ngx_create_pool(4096, ngx_fuzz_log);
    if (pool == NULL) {
        ngx_fuzz_fail("no memory");
    }

    /* the request line in its own exact copy, as are the args */
    text = ngx_pnalloc(pool, size + 1);
    if (text == NULL) {
        ngx_fuzz_fail("no memory");
    }

    ngx_memcpy(text, data, size);
    last = text + size;

    line = ngx_strlchr(text, last, '\n');
    has_body = (line != NULL);
    body = has_body ? line + 1 : last;
    body_len = last - body;
    line = has_body ? line : last;

    p = ngx_strlchr(text, line, ' ');
    if (p == NULL) {
        goto done;
    }

    if (p - text == 4 && ngx_strncmp(text, "POST", 4) == 0) {
        method = NGX_HTTP_POST;

    } else if (p - text == 3 && ngx_strncmp(text, "PUT", 3) == 0) {
        method = NGX_HTTP_PUT;

    } else if (p - text == 6 && ngx_strncmp(text, "DELETE", 6) == 0) {
        method = NGX_HTTP_DELETE;

    } else {
        goto done;
    }

    uri = p + 1;
    q = ngx_strlchr(uri, line, '?');

    if (q != NULL) {
        args = ngx_pnalloc(pool, line - (q + 1));
        if (args == NULL && line - (q + 1) > 0) {
            ngx_fuzz_fail("no memory");
        }

        ngx_memcpy(args, q + 1, line - (q + 1));
    }

    r = ngx_fuzz_request(pool, method, NULL, 0, q ? args : NULL,
                         q ? (size_t) (line - (q + 1)) : 0);

    /* r->uri decoded as ngx_http_process_request_uri does it */
    r->uri_start = uri;
    r->uri_end = q ? q : line;
    r->complex_uri = 1;
    r->quoted_uri = 1;

    r->uri.len = r->uri_end - r->uri_start;
    r->uri.data = ngx_pnalloc(pool, r->uri.len + 1);
    if (r->uri.data == NULL) {
        ngx_fuzz_fail("no memory");
    }

    if (r->uri.len == 0 || *uri != '/'
        || ngx_http_parse_complex_uri(r, 1) != NGX_OK)
    {
        /* nginx's 400 */
        goto done;
    }

    n = ngx_http_torchserve_split_path(&r->uri, segs, NGX_MGMT_MAX_SEGS);

    if (n == 0 || n > 4 || segs[0].len != 6
        || ngx_strncmp(segs[0].data, "models", 6) != 0)
    {
        goto done;
    }

    ngx_fuzz_zone_reset();

    rc = NGX_DECLINED;

    switch (n) {

    case 1:
        if (method != NGX_HTTP_POST) {
            goto done;
        }

        if (has_body) {
            /* ngx_http_read_client_request_body, the body read */
            ngx_mgmt_body(r, body, body_len);
            r->main->count++;

            ngx_http_torchserve_register_body(r);

            /* the content handler's NGX_DONE */
            rc = NGX_DONE;
            break;
        }

        rc = ngx_http_torchserve_register(r, ngx_fuzz_tmcf, NULL);
        break;

    case 2:
    case 3:
        if (method == NGX_HTTP_PUT) {
            rc = ngx_http_torchserve_scale(r, ngx_fuzz_tmcf, &segs[1],
                                           n == 3 ? &segs[2] : &none);
        } else if (method == NGX_HTTP_DELETE) {
            rc = ngx_http_torchserve_unregister(r, ngx_fuzz_tmcf, &segs[1],
                                                n == 3 ? &segs[2] : &none);
        } else {
            goto done;
        }
        break;

    default: /* 4 */
        if (method != NGX_HTTP_PUT || segs[3].len != 11
            || ngx_strncmp(segs[3].data, "set-default", 11) != 0)
        {
            goto done;
        }

        rc = ngx_http_torchserve_set_default(r, ngx_fuzz_tmcf, &segs[1],
                                             &segs[2]);
    }

    ngx_mgmt_finalize(r, rc);

    /* the thread pool's completions, which answer a registration */
    ngx_fuzz_run_task();

    if (r->main->count != 0 || r->main->blocked != 0) {
        ngx_fuzz_fail("the request is left with %u references, %u "
                      "blocked", (unsigned) r->main->count,
                      (unsigned) r->main->blocked);
    }

    if (ngx_fuzz_answer.final_rc == NGX_ERROR) {
        ngx_fuzz_fail("finalized with NGX_ERROR");
    }

    if (ngx_fuzz_answer.headers == 0
        && ngx_fuzz_answer.final_rc < NGX_HTTP_SPECIAL_RESPONSE)
    {
        ngx_fuzz_fail("no answer (finalized with %ld)",
                      (long) ngx_fuzz_answer.final_rc);
    }

    if (ngx_fuzz_answer.headers == 1
        && ngx_fuzz_answer.final_rc >= NGX_HTTP_SPECIAL_RESPONSE)
    {
        ngx_fuzz_fail("an answer, then %ld", (long) ngx_fuzz_answer.final_rc);
    }

    ngx_fuzz_zone_check(2);

done:

    ngx_destroy_pool(pool);
    ngx_fuzz_store_clean();

    return 0;
}
