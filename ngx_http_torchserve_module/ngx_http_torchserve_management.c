/*
 * ngx_http_torchserve_management.c: TorchServe's Management API
 * (API.md section 2): routing, and the arguments of its calls.
 *
 *   POST   /models?url=...                  register      (_register.c)
 *   GET    /models[?limit=&next_page_token=] list         (_describe.c)
 *   GET    /models/{m}[/{v}|/all]           describe      (_describe.c)
 *   PUT    /models/{m}[/{v}]?min_worker=..  scale         (_scale.c)
 *   DELETE /models/{m}[/{v}]                unregister    (_scale.c)
 *   PUT    /models/{m}/{v}/set-default      set the default version
 *
 * Arguments come from the query, or from POST /models's JSON body, with
 * the same names, ranges and messages either way.
 */

#include <jansson.h>

#include "ngx_http_torchserve_module.h"


static ngx_uint_t ngx_http_torchserve_is_json(ngx_http_request_t *r);
static ngx_int_t ngx_http_torchserve_arg_uint(ngx_http_request_t *r,
    json_t *body, const char *name, ngx_uint_t param, ngx_uint_t dflt,
    ngx_uint_t *out);
static ngx_int_t ngx_http_torchserve_bad_number(ngx_http_request_t *r,
    json_t *body, const char *name, ngx_uint_t param);


ngx_int_t
ngx_http_torchserve_management_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_str_t                         segs[4], none = ngx_null_string;
    ngx_uint_t                        n;
    ngx_http_torchserve_loc_conf_t   *tlcf;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);
    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_torchserve_module);

    r->connection->log->action = "serving the management API";

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: management %V \"%V\"", &r->method_name,
                   &r->uri);

    rc = ngx_http_torchserve_api_description(r,
                                          NGX_HTTP_TORCHSERVE_API_MANAGEMENT);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_torchserve_token_route(r)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_torchserve_token_api(r);
    }

    rc = ngx_http_torchserve_token_check(r,
                                         NGX_HTTP_TORCHSERVE_API_MANAGEMENT);
    if (rc != NGX_OK) {
        return rc;
    }

    /* POST /models may carry its arguments as JSON (API.md section 2) */
    if (r->method == NGX_HTTP_POST && tlcf->model_api
        && ngx_http_torchserve_is_json(r))
    {
        n = ngx_http_torchserve_split_path(&r->uri, segs, 4);

        if (n == 1 && ngx_http_torchserve_is(&segs[0], "models")) {
            rc = ngx_http_read_client_request_body(r,
                     ngx_http_torchserve_register_body);

            if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
                return rc;
            }

            return NGX_DONE;
        }
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

    n = ngx_http_torchserve_split_path(&r->uri, segs, 4);

    if (n == 0) {
        return ngx_http_torchserve_send_bad_method(r);
    }

    /* KServe's v1 status, on the management port as TorchServe serves it */
    if (n == 3 && ngx_http_torchserve_is(&segs[0], "v1")
        && ngx_http_torchserve_is(&segs[1], "models")
        && ngx_strlchr(segs[2].data, segs[2].data + segs[2].len, ':') == NULL)
    {
        return ngx_http_torchserve_kserve_v1_status(r, &segs[2]);
    }

    if (n > 4 || !ngx_http_torchserve_is(&segs[0], "models")) {
        return ngx_http_torchserve_send_no_api(r);
    }

    switch (n) {

    case 1:
        if (r->method == NGX_HTTP_GET) {
            return ngx_http_torchserve_list(r, tmcf);
        }

        if (r->method == NGX_HTTP_POST && tlcf->model_api) {
            return ngx_http_torchserve_register(r, tmcf, NULL);
        }

        return ngx_http_torchserve_send_bad_method(r);

    case 2:
    case 3:
        if (r->method == NGX_HTTP_GET) {
            if (n == 3 && ngx_http_torchserve_is(&segs[2], "all")) {
                return ngx_http_torchserve_describe(r, tmcf, &segs[1], &none,
                                                    1);
            }

            return ngx_http_torchserve_describe(r, tmcf, &segs[1],
                                                n == 3 ? &segs[2] : &none, 0);
        }

        if (r->method == NGX_HTTP_PUT) {
            return ngx_http_torchserve_scale(r, tmcf, &segs[1],
                                             n == 3 ? &segs[2] : &none);
        }

        if (r->method == NGX_HTTP_DELETE && tlcf->model_api) {
            return ngx_http_torchserve_unregister(r, tmcf, &segs[1],
                                                  n == 3 ? &segs[2] : &none);
        }

        return ngx_http_torchserve_send_bad_method(r);

    default: /* 4 */
        if (!ngx_http_torchserve_is(&segs[3], "set-default")) {
            return ngx_http_torchserve_send_no_api(r);
        }

        if (r->method != NGX_HTTP_PUT) {
            return ngx_http_torchserve_send_bad_method(r);
        }

        return ngx_http_torchserve_set_default(r, tmcf, &segs[1], &segs[2]);
    }
}


/* Content-Type application/json, parameters aside (TorchServe's test) */
static ngx_uint_t
ngx_http_torchserve_is_json(ngx_http_request_t *r)
{
    size_t       len;
    ngx_str_t   *type;
    static char  json[] = "application/json";

    if (r->headers_in.content_type == NULL) {
        return 0;
    }

    type = &r->headers_in.content_type->value;

    for (len = 0; len < type->len && type->data[len] != ';'; len++) {
        /* void */
    }

    while (len > 0 && type->data[len - 1] == ' ') {
        len--;
    }

    return len == sizeof(json) - 1
           && ngx_strncasecmp(type->data, (u_char *) json, len) == 0;
}


/*
 * Checks that every argument is one of names (NULL-terminated): the
 * members of a JSON body if there is one (TorchServe then ignores the
 * query), else the query's.  NGX_ERROR: *bad names the unknown one.
 */
ngx_int_t
ngx_http_torchserve_check_args(ngx_http_request_t *r, json_t *body,
    const char **names, ngx_str_t *bad)
{
    u_char      *p, *last, *start;
    void        *iter;
    ngx_uint_t   i, ok;

    iter = body ? json_object_iter(body) : NULL;
    /* no query: r->args.data is NULL, and NULL + 0 is undefined */
    p = r->args.data;
    last = (body || r->args.len == 0) ? p : r->args.data + r->args.len;

    while (iter != NULL || p < last) {

        if (iter != NULL) {
            bad->data = (u_char *) json_object_iter_key(iter);
            bad->len = ngx_strlen(bad->data);
            iter = json_object_iter_next(body, iter);

        } else {
            start = p;

            while (p < last && *p != '=' && *p != '&') {
                p++;
            }

            bad->data = start;
            bad->len = p - start;

            while (p < last && *p != '&') {
                p++;
            }

            if (p < last) {
                p++;
            }

            if (bad->len == 0) {
                continue;
            }
        }

        ok = 0;
        for (i = 0; names[i] != NULL; i++) {
            if (ngx_strlen(names[i]) == bad->len
                && ngx_strncmp(names[i], bad->data, bad->len) == 0)
            {
                ok = 1;
                break;
            }
        }

        if (!ok) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * An argument's value as text: decoded from the query, or a JSON body's
 * member (a string as is, a number in decimal, true/false; null is
 * absent).  NGX_DECLINED when absent, NGX_ABORT for a member of another
 * JSON type (an object, an array, a fraction), NGX_ERROR: no memory.
 */
ngx_int_t
ngx_http_torchserve_arg(ngx_http_request_t *r, json_t *body,
    const char *name, ngx_str_t *value)
{
    u_char     *dst, *src;
    json_t     *j;
    ngx_str_t   raw;

    if (body != NULL) {
        j = json_object_get(body, name);

        if (j == NULL || json_is_null(j)) {
            return NGX_DECLINED;
        }

        if (json_is_string(j)) {
            raw.data = (u_char *) json_string_value(j);
            raw.len = json_string_length(j);

        } else if (json_is_true(j) || json_is_false(j)) {
            raw.data = (u_char *) (json_is_true(j) ? "true" : "false");
            raw.len = ngx_strlen(raw.data);

        } else if (json_is_integer(j)) {
            value->data = ngx_pnalloc(r->pool, NGX_INT64_LEN + 2);
            if (value->data == NULL) {
                return NGX_ERROR;
            }

            dst = ngx_sprintf(value->data, "%L",
                              (int64_t) json_integer_value(j));
            value->len = dst - value->data;
            *dst = '\0';
            return NGX_OK;

        } else {
            ngx_str_set(value, "(not a string, number or boolean)");
            return NGX_ABORT;
        }

        value->data = ngx_pnalloc(r->pool, raw.len + 1);
        if (value->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(value->data, raw.data, raw.len);
        value->data[raw.len] = '\0';
        value->len = raw.len;
        return NGX_OK;
    }

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(r->pool, raw.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    dst = value->data;
    src = raw.data;
    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);
    value->len = dst - value->data;
    *dst = '\0';

    return NGX_OK;
}


/*
 * A whole number within param's range; absent -> dflt.  NGX_DECLINED:
 * not one (a 400 naming it), NGX_ERROR: no memory.
 */
static ngx_int_t
ngx_http_torchserve_arg_uint(ngx_http_request_t *r, json_t *body,
    const char *name, ngx_uint_t param, ngx_uint_t dflt, ngx_uint_t *out)
{
    ngx_str_t  v;

    switch (ngx_http_torchserve_arg(r, body, name, &v)) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        *out = dflt;
        return NGX_OK;
    case NGX_ERROR:
        return NGX_ERROR;
    default:
        return NGX_DECLINED;
    }

    if (ngx_http_torchserve_param_number(ngx_http_torchserve_param(param),
                                         &v, out)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_torchserve_arg_bool(ngx_http_request_t *r, json_t *body,
    const char *name, ngx_flag_t dflt, ngx_flag_t *out)
{
    ngx_str_t  v;

    switch (ngx_http_torchserve_arg(r, body, name, &v)) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        *out = dflt;
        return NGX_OK;
    case NGX_ERROR:
        return NGX_ERROR;
    default:
        return NGX_DECLINED;
    }

    if (ngx_http_torchserve_is(&v, "true")) {
        *out = 1;
        return NGX_OK;
    }

    if (ngx_http_torchserve_is(&v, "false")) {
        *out = 0;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * A numeric argument within param's range (absent -> dflt): NGX_OK, or
 * NGX_ERROR with *rc the answer to finalize with (a 400 naming it).
 */
ngx_int_t
ngx_http_torchserve_arg_number(ngx_http_request_t *r, json_t *body,
    const char *name, ngx_uint_t param, ngx_uint_t dflt, ngx_uint_t *out,
    ngx_int_t *rc)
{
    switch (ngx_http_torchserve_arg_uint(r, body, name, param, dflt, out)) {
    case NGX_OK:
        return NGX_OK;
    case NGX_DECLINED:
        *rc = ngx_http_torchserve_bad_number(r, body, name, param);
        return NGX_ERROR;
    default:
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_ERROR;
    }
}


/* a 400 for a numeric argument out of its range */
static ngx_int_t
ngx_http_torchserve_bad_number(ngx_http_request_t *r, json_t *body,
    const char *name, ngx_uint_t param)
{
    u_char  expect[128], *last;

    last = ngx_http_torchserve_param_expected(ngx_http_torchserve_param(param),
                                              expect, sizeof(expect) - 1);
    *last = '\0';

    return ngx_http_torchserve_bad_param(r, body, name, (char *) expect);
}


ngx_int_t
ngx_http_torchserve_bad_param(ngx_http_request_t *r, json_t *body,
    const char *name, const char *expect)
{
    ngx_str_t  v;

    if (ngx_http_torchserve_arg(r, body, name, &v) == NGX_DECLINED) {
        ngx_str_null(&v);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "torchserve: management: invalid %s \"%V\"", name, &v);

    return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
               "Invalid value for parameter %s: \"%V\" (%s)", name, &v,
               expect);
}


ngx_int_t
ngx_http_torchserve_unknown_param(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "torchserve: management: unknown parameter \"%V\"", name);

    return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                                          "Unknown parameter: %V", name);
}


ngx_int_t
ngx_http_torchserve_model_not_found(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t name_found)
{
    if (!name_found) {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                   "ModelNotFoundException", "Model not found: %V", name);
    }

    return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
               "ModelVersionNotFoundException",
               "Model version: %V does not exist for model: %V",
               version, name);
}


/* JSON as TorchServe's Gson pretty-prints it, plus one "\n" */
ngx_int_t
ngx_http_torchserve_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *j)
{
    char    *text;
    u_char  *body;
    size_t   len;

    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_strlen(text);
    body = ngx_pnalloc(r->pool, len + 1);
    if (body == NULL) {
        free(text);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body, text, len);
    body[len] = '\n';
    free(text);

    return ngx_http_torchserve_send(r, status, body, len + 1);
}
