/*
 * ngx_http_torchserve_headers.c: the headers TorchServe's frontend puts on
 * every response, and the request id.
 *
 * Every response of a location with torchserve_inference, _management or
 * _metrics (nginx's own error pages there included, such as 413) carries
 * x-request-id, Pragma, Cache-Control and Expires as TorchServe's do.
 * The id is the client's (or a proxy's) x-request-id when it sends a
 * sane one, so that one id follows a request through every hop, else a
 * random UUID as TorchServe makes; Python handlers see the same id
 * (context.get_request_id), and logs get it as $torchserve_request_id.
 */

#include "ngx_http_torchserve_module.h"


/* an incoming id longer than this, or with other bytes, is replaced */
#define NGX_HTTP_TORCHSERVE_REQUEST_ID_MAX  128


static ngx_int_t ngx_http_torchserve_request_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_table_elt_t *ngx_http_torchserve_incoming_id(ngx_http_request_t *r);
static ngx_int_t ngx_http_torchserve_add_header(ngx_http_request_t *r,
    ngx_str_t *key, ngx_str_t *value);
static ngx_int_t ngx_http_torchserve_header_filter(ngx_http_request_t *r);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;

static ngx_int_t  ngx_http_torchserve_request_id_index = NGX_ERROR;

static ngx_str_t  ngx_http_torchserve_request_id_name =
    ngx_string("torchserve_request_id");


static struct {
    ngx_str_t  key;
    ngx_str_t  value;
} ngx_http_torchserve_nocache[] = {
    { ngx_string("Pragma"), ngx_string("no-cache") },
    { ngx_string("Cache-Control"),
      ngx_string("no-cache; no-store, must-revalidate, private") },
    { ngx_string("Expires"), ngx_string("Thu, 01 Jan 1970 00:00:00 UTC") },
    { ngx_null_string, ngx_null_string }
};


ngx_int_t
ngx_http_torchserve_add_request_id_variable(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_torchserve_request_id_name, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_torchserve_request_id_variable;

    return NGX_OK;
}


ngx_int_t
ngx_http_torchserve_headers_init(ngx_conf_t *cf)
{
    ngx_http_torchserve_request_id_index = ngx_http_get_variable_index(cf,
                                        &ngx_http_torchserve_request_id_name);
    if (ngx_http_torchserve_request_id_index == NGX_ERROR) {
        return NGX_ERROR;
    }

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_torchserve_header_filter;

    return NGX_OK;
}


/* the request's id, made once (the variable is cached): "" on no memory */
void
ngx_http_torchserve_request_id(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_http_variable_value_t  *v;

    v = ngx_http_get_indexed_variable(r->main,
                                      ngx_http_torchserve_request_id_index);

    if (v == NULL || v->not_found) {
        ngx_str_null(id);
        return;
    }

    id->data = v->data;
    id->len = v->len;
}


static ngx_int_t
ngx_http_torchserve_request_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char           *p;
    uint32_t          a, b, c, d;
    ngx_table_elt_t  *h;

    h = ngx_http_torchserve_incoming_id(r);

    if (h != NULL) {
        v->data = h->value.data;
        v->len = h->value.len;

    } else {
        p = ngx_pnalloc(r->pool, NGX_HTTP_TORCHSERVE_UUID_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        a = (uint32_t) ngx_random();
        b = (uint32_t) ngx_random();
        c = (uint32_t) ngx_random();
        d = (uint32_t) ngx_random();

        /* version 4 (random), variant 10xx: what Java's randomUUID makes */
        ngx_sprintf(p, "%08xD-%04xD-%04xD-%04xD-%04xD%08xD",
                    a, b >> 16, 0x4000 | (b & 0x0fff),
                    0x8000 | (c >> 16 & 0x3fff), c & 0xffff, d);

        v->data = p;
        v->len = NGX_HTTP_TORCHSERVE_UUID_LEN;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* the client's x-request-id when it is 1-128 bytes of a token's set */
static ngx_table_elt_t *
ngx_http_torchserve_incoming_id(ngx_http_request_t *r)
{
    u_char           *p, *last;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("x-request-id") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "x-request-id",
                               sizeof("x-request-id") - 1) != 0)
        {
            continue;
        }

        if (h[i].value.len == 0
            || h[i].value.len > NGX_HTTP_TORCHSERVE_REQUEST_ID_MAX)
        {
            goto replaced;
        }

        last = h[i].value.data + h[i].value.len;

        for (p = h[i].value.data; p < last; p++) {
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')
                  || (*p >= 'A' && *p <= 'Z')
                  || ngx_strchr("-_.:+=/@~", *p) != NULL))
            {
                goto replaced;
            }
        }

        return &h[i];
    }

replaced:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "torchserve: the client's x-request-id (%uz bytes) is not "
                  "1-%d letters, digits or \"-_.:+=/@~\": replaced",
                  h[i].value.len, NGX_HTTP_TORCHSERVE_REQUEST_ID_MAX);

    return NULL;
}


static ngx_int_t
ngx_http_torchserve_add_header(ngx_http_request_t *r, ngx_str_t *key,
    ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    /* a handler's (or add_header's) own value wins */
    part = &r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash != 0 && h[i].key.len == key->len
            && ngx_strncasecmp(h[i].key.data, key->data, key->len) == 0)
        {
            return NGX_OK;
        }
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *key;
    h->value = *value;

    return NGX_OK;
}


static ngx_int_t
ngx_http_torchserve_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                        id;
    ngx_uint_t                       i;
    ngx_http_torchserve_loc_conf_t  *tlcf;

    static ngx_str_t  request_id_key = ngx_string("x-request-id");

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_torchserve_module);

    if (r != r->main
        || !(tlcf->inference == 1 || tlcf->management == 1
             || tlcf->metrics == 1))
    {
        return ngx_http_next_header_filter(r);
    }

    ngx_http_torchserve_request_id(r, &id);

    if (id.len
        && ngx_http_torchserve_add_header(r, &request_id_key, &id) != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = 0; ngx_http_torchserve_nocache[i].key.len; i++) {
        if (ngx_http_torchserve_add_header(r,
                                           &ngx_http_torchserve_nocache[i].key,
                                           &ngx_http_torchserve_nocache[i].value)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_next_header_filter(r);
}
