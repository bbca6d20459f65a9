/*
 * ngx_http_torchserve_handoff_frame.c: a handed-over prediction's answer,
 * whole, from the sibling that ran it to the process that relays it.
 *
 * The sibling's header filters would add their headers (add_header,
 * TorchServe's own) and could change the answer (gzip, ranges); so its
 * answer goes back as the body of a 200 of a type of our own, and the
 * first process answers the client with exactly what the module made.
 */

#include "ngx_http_torchserve_module.h"


#define NGX_HTTP_TORCHSERVE_HANDOFF_MAGIC  "TSH1"


/* --- the frame: the module's answer, whole ------------------------------- */

/*
 * "TSH1", then uint32s in this machine's order: status, the reason's
 * length and the reason, the type's, then the number of headers and each
 * name's and value's; the body is the rest.
 */
static u_char *
ngx_http_torchserve_handoff_put(u_char *p, u_char *data, size_t len)
{
    uint32_t  n = (uint32_t) len;

    p = ngx_cpymem(p, &n, sizeof(uint32_t));

    /* an empty field may have no data at all (memcpy's NULL is UB) */
    return len ? ngx_cpymem(p, data, len) : p;
}


static u_char *
ngx_http_torchserve_handoff_get(u_char *p, u_char *end, ngx_str_t *s)
{
    uint32_t  n;

    if ((size_t) (end - p) < sizeof(uint32_t)) {
        return NULL;
    }

    ngx_memcpy(&n, p, sizeof(uint32_t));
    p += sizeof(uint32_t);

    if ((size_t) (end - p) < n) {
        return NULL;
    }

    s->data = p;
    s->len = n;

    return p + n;
}


/*
 * The frame's headers: r's own (the module's, not yet its filters'), each
 * hidden from this process's header filters once written; with p NULL,
 * only their size and count
 */
static u_char *
ngx_http_torchserve_handoff_put_headers(ngx_http_request_t *r, u_char *p,
    size_t *size, uint32_t *count)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    for (part = &r->headers_out.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].hash == 0) {
                continue;
            }

            if (p == NULL) {
                *size += 2 * sizeof(uint32_t) + h[i].key.len
                         + h[i].value.len;
                (*count)++;
                continue;
            }

            p = ngx_http_torchserve_handoff_put(p, h[i].key.data,
                                                h[i].key.len);
            p = ngx_http_torchserve_handoff_put(p, h[i].value.data,
                                                h[i].value.len);
            h[i].hash = 0;
        }
    }

    return p;
}


/* in the sibling: r's answer as a frame, sent as 200 */
ngx_int_t
ngx_http_torchserve_handoff_wrap(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, u_char *body, size_t len)
{
    size_t                        size;
    u_char                       *frame, *p;
    uint32_t                      n, count;
    ngx_str_t                     reason;
    ngx_http_torchserve_infer_t  *ctx;

    static ngx_str_t  frame_type = ngx_string(NGX_HTTP_TORCHSERVE_HANDOFF_TYPE);

    /* "599 Custom Status": the reason after the code */
    reason.len = 0;
    reason.data = NULL;

    if (r->headers_out.status_line.len > 4) {
        reason.data = r->headers_out.status_line.data + 4;
        reason.len = r->headers_out.status_line.len - 4;
    }

    size = sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_MAGIC) - 1
           + 4 * sizeof(uint32_t) + reason.len + type->len + len;
    count = 0;

    (void) ngx_http_torchserve_handoff_put_headers(r, NULL, &size, &count);

    frame = ngx_pnalloc(r->pool, size);
    if (frame == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(frame, NGX_HTTP_TORCHSERVE_HANDOFF_MAGIC,
                   sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_MAGIC) - 1);

    n = (uint32_t) status;
    p = ngx_cpymem(p, &n, sizeof(uint32_t));
    p = ngx_http_torchserve_handoff_put(p, reason.data, reason.len);
    p = ngx_http_torchserve_handoff_put(p, type->data, type->len);
    p = ngx_cpymem(p, &count, sizeof(uint32_t));
    p = ngx_http_torchserve_handoff_put_headers(r, p, NULL, NULL);
    if (len) {
        p = ngx_cpymem(p, body, len);
    }

    /*
     * counted here, in the registry before the first process relays it:
     * a /metrics that follows the answer sees it
     */
    ctx = ngx_http_get_module_ctx(r, ngx_http_torchserve_module);

    if (ctx != NULL) {
        ngx_http_torchserve_counters_settle(ctx->model);
    }

    /* the first process logs it and counts its status */
    r->logged = 1;
    r->keepalive = 0;

    r->headers_out.status_line.len = 0;
    r->headers_out.status_line.data = NULL;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_torchserve_send_raw(r, NGX_HTTP_OK, &frame_type, frame,
                                        p - frame);
}


/* in the first process: the frame as this request's answer */
ngx_int_t
ngx_http_torchserve_handoff_unwrap(ngx_http_request_t *r, u_char *p,
    u_char *end)
{
    uint32_t          status, count, i;
    ngx_str_t         reason, type, key, value;
    ngx_table_elt_t  *h;

    if ((size_t) (end - p) < sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_MAGIC) - 1
                              + 2 * sizeof(uint32_t)
        || ngx_strncmp(p, NGX_HTTP_TORCHSERVE_HANDOFF_MAGIC,
                       sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_MAGIC) - 1)
           != 0)
    {
        goto invalid;
    }

    p += sizeof(NGX_HTTP_TORCHSERVE_HANDOFF_MAGIC) - 1;
    ngx_memcpy(&status, p, sizeof(uint32_t));
    p += sizeof(uint32_t);

    p = ngx_http_torchserve_handoff_get(p, end, &reason);
    if (p == NULL) {
        goto invalid;
    }

    p = ngx_http_torchserve_handoff_get(p, end, &type);
    if (p == NULL || (size_t) (end - p) < sizeof(uint32_t)) {
        goto invalid;
    }

    ngx_memcpy(&count, p, sizeof(uint32_t));
    p += sizeof(uint32_t);

    for (i = 0; i < count; i++) {
        p = ngx_http_torchserve_handoff_get(p, end, &key);
        if (p == NULL) {
            goto invalid;
        }

        p = ngx_http_torchserve_handoff_get(p, end, &value);
        if (p == NULL) {
            goto invalid;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        h->key = key;
        h->value = value;
        h->lowcase_key = NULL;
    }

    if (status < 100 || status > 599) {
        goto invalid;
    }

    if (reason.len) {
        r->headers_out.status_line.data = ngx_pnalloc(r->pool,
                                                      4 + reason.len);
        if (r->headers_out.status_line.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.status_line.len =
            ngx_sprintf(r->headers_out.status_line.data, "%03uD %V", status,
                        &reason)
            - r->headers_out.status_line.data;
    }

    return ngx_http_torchserve_send_typed(r, status, &type, p, end - p);

invalid:

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "torchserve: the answer of a sibling worker process is "
                  "not a frame of this module");

    return ngx_http_torchserve_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
               "InternalServerException",
               "the worker process that served the prediction answered "
               "what this one cannot read");
}
