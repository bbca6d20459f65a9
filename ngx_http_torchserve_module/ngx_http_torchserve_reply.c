/*
 * ngx_http_torchserve_reply.c: JSON answers as TorchServe's frontend writes
 * them: Gson pretty print (2-space indent) plus one "\n"; errors as
 * {"code", "type", "message"}, and the connection closed after an error.
 * The one place where the runtime's statuses become HTTP codes.
 */

#include "ngx_http_torchserve_module.h"
#include "ts_json.h"


static ngx_str_t  ngx_http_torchserve_json_type =
    ngx_string("application/json");


ngx_int_t
ngx_http_torchserve_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    return ngx_http_torchserve_send_typed(r, status,
                                          &ngx_http_torchserve_json_type,
                                          body, len);
}


ngx_int_t
ngx_http_torchserve_send_typed(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, u_char *body, size_t len)
{
    /* a sibling worker process relays it as it is (_handoff.c) */
    if (ngx_http_torchserve_handed_over(r)) {
        return ngx_http_torchserve_handoff_wrap(r, status, type, body, len);
    }

    return ngx_http_torchserve_send_raw(r, status, type, body, len);
}


/* the answer as it goes to the client, through nginx's filters */
ngx_int_t
ngx_http_torchserve_send_raw(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = len;

    if (status >= NGX_HTTP_BAD_REQUEST) {
        /* TorchServe closes the connection after an error */
        r->keepalive = 0;
    }

    if (r->method == NGX_HTTP_HEAD || len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* appends s as a JSON string body (without quotes) */
static u_char *
ngx_http_torchserve_escape(u_char *p, u_char *s, size_t len)
{
    return (u_char *) ngx_escape_json(p, s, len);
}


/*
 * s made valid UTF-8, JSON's encoding: a message may quote the request's
 * bytes (a url, a model name).  Each byte that starts no valid sequence
 * becomes U+FFFD, as Java's decoder turns it in TorchServe's messages;
 * s is copied into pool only if it needs that.
 */
static ngx_int_t
ngx_http_torchserve_utf8(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char    *p, *last, *d, *copy;
    size_t     n, bad;
    uint32_t   cp;

    bad = 0;
    last = s->data + s->len;

    for (p = s->data; p < last; p += n ? n : 1) {
        n = ts_json_utf8_decode(p, last - p, &cp);
        bad += (n == 0);
    }

    if (bad == 0) {
        return NGX_OK;
    }

    copy = ngx_pnalloc(pool, s->len + 2 * bad);
    if (copy == NULL) {
        return NGX_ERROR;
    }

    d = copy;

    for (p = s->data; p < last; p += n ? n : 1) {
        n = ts_json_utf8_decode(p, last - p, &cp);

        d = n ? ngx_cpymem(d, p, n) : ngx_cpymem(d, "\xef\xbf\xbd", 3);
    }

    s->data = copy;
    s->len = d - copy;

    return NGX_OK;
}


ngx_int_t
ngx_http_torchserve_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *fmt, ...)
{
    u_char     *body, *p, *msg, buf[NGX_MAX_ERROR_STR];
    size_t      msg_len, len;
    va_list     args;
    ngx_str_t   text;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    text.data = buf;
    text.len = p - buf;

    if (ngx_http_torchserve_utf8(r->pool, &text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    msg = text.data;
    msg_len = text.len;

    if (ngx_http_torchserve_is_v2(r)) {
        /* the Open Inference Protocol's shape */
        len = sizeof("{\n  \"error\": \"\"\n}\n")
              + ngx_escape_json(NULL, msg, msg_len) + msg_len;

        body = ngx_pnalloc(r->pool, len);
        if (body == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(body, "{\n  \"error\": \"", sizeof("{\n  \"error\": \"") - 1);
        p = ngx_http_torchserve_escape(p, msg, msg_len);
        p = ngx_cpymem(p, "\"\n}\n", sizeof("\"\n}\n") - 1);

        return ngx_http_torchserve_send(r, status, body, p - body);
    }

    if (type == NULL) {
        type = ngx_http_torchserve_error_type(status);
    }

    len = sizeof("{\n  \"code\": 000,\n  \"type\": \"\",\n"
                 "  \"message\": \"\"\n}\n") + ngx_strlen(type)
          + ngx_escape_json(NULL, msg, msg_len) + msg_len + NGX_INT_T_LEN;

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\n  \"code\": %ui,\n  \"type\": \"%s\",\n"
                    "  \"message\": \"", status, type);
    p = ngx_http_torchserve_escape(p, msg, msg_len);
    p = ngx_cpymem(p, "\"\n}\n", sizeof("\"\n}\n") - 1);

    return ngx_http_torchserve_send(r, status, body, p - body);
}


/* TorchServe's answer to a path no API of this location serves */
ngx_int_t
ngx_http_torchserve_send_no_api(ngx_http_request_t *r)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "torchserve: no API at \"%V\"", &r->uri);

    return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND, NULL,
               "Requested resource is not found, please refer to API "
               "document.");
}


/* ... and to a method the route does not take */
ngx_int_t
ngx_http_torchserve_send_bad_method(ngx_http_request_t *r)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "torchserve: method %V is not allowed at \"%V\"",
                  &r->method_name, &r->uri);

    return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_ALLOWED, NULL,
               "Requested method is not allowed, please refer to API "
               "document.");
}


/* {"status": text} as TorchServe's ping and management answers */
ngx_int_t
ngx_http_torchserve_send_status(ngx_http_request_t *r, ngx_uint_t status,
    const char *text)
{
    u_char     *body, *p;
    size_t      len;
    ngx_str_t   t;

    t.data = (u_char *) text;
    t.len = ngx_strlen(text);

    if (ngx_http_torchserve_utf8(r->pool, &t) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("{\n  \"status\": \"\"\n}\n")
          + t.len + ngx_escape_json(NULL, t.data, t.len);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\n  \"status\": \"", 15);
    p = ngx_http_torchserve_escape(p, t.data, t.len);
    p = ngx_cpymem(p, "\"\n}\n", 4);

    return ngx_http_torchserve_send(r, status, body, p - body);
}


const char *
ngx_http_torchserve_error_type(ngx_uint_t status)
{
    switch (status) {
    case NGX_HTTP_BAD_REQUEST:
        return "BadRequestException";
    case NGX_HTTP_NOT_FOUND:
        return "ResourceNotFoundException";
    case NGX_HTTP_NOT_ALLOWED:
        return "MethodNotAllowedException";
    case NGX_HTTP_REQUEST_TIME_OUT:
        return "RequestTimeoutException";
    case NGX_HTTP_CONFLICT:
        return "ConflictStatusException";
    case NGX_HTTP_SERVICE_UNAVAILABLE:
        return "ServiceUnavailableException";
    default:
        return "InternalServerException";
    }
}


/* what a runtime status means on the wire, as TorchServe answers it */
ngx_uint_t
ngx_http_torchserve_http_status(ts_status_e status)
{
    switch (status) {
    case TS_STATUS_OK:
        return NGX_HTTP_OK;
    case TS_STATUS_BAD_INPUT:
        return NGX_HTTP_BAD_REQUEST;
    case TS_STATUS_NOT_FOUND:
        return NGX_HTTP_NOT_FOUND;
    case TS_STATUS_UNAVAILABLE:
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    case TS_STATUS_NO_RESOURCES:
        /* TorchServe's answer when a worker runs out of memory */
        return NGX_HTTP_INSUFFICIENT_STORAGE;
    case TS_STATUS_TIMEOUT:
        return NGX_HTTP_GATEWAY_TIME_OUT;
    default:
        /* TS_STATUS_PENDING here would be a request nobody answered */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


/*
 * A handler's answer: its body with its status, its content type
 * (application/json when it set none) and the headers it set.
 */
ngx_int_t
ngx_http_torchserve_send_answer(ngx_http_request_t *r, ngx_uint_t status,
    ts_request_t *req)
{
    size_t            nl;
    ngx_str_t         type;
    const char       *p, *end;
    ngx_table_elt_t  *h;

    p = req->response_headers;
    end = p + req->response_headers_len;

    while (p != NULL && p < end) {
        nl = ngx_strlen(p);

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        h->key.data = (u_char *) p;
        h->key.len = nl;
        h->value.data = (u_char *) p + nl + 1;
        h->value.len = ngx_strlen(p + nl + 1);
        h->lowcase_key = NULL;

        p += nl + 1 + h->value.len + 1;
    }

    if (req->response_phrase != NULL) {
        /* the handler's reason phrase: "599 Custom Status" */
        r->headers_out.status_line.data = ngx_pnalloc(r->pool,
                                      NGX_INT_T_LEN + 1
                                      + ngx_strlen(req->response_phrase));
        if (r->headers_out.status_line.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.status_line.len =
            ngx_sprintf(r->headers_out.status_line.data, "%03ui %s", status,
                        req->response_phrase)
            - r->headers_out.status_line.data;
    }

    if (req->response_type == NULL) {
        type = ngx_http_torchserve_json_type;

    } else {
        type.data = (u_char *) req->response_type;
        type.len = ngx_strlen(req->response_type);
    }

    return ngx_http_torchserve_send_typed(r, status, &type,
                                          (u_char *) req->response,
                                          req->response_len);
}
