/*
 * ngx_http_torchserve_management.c: TorchServe's Management API over the
 * shared registry (API.md section 2).
 *
 *   POST   /models?url=...                  register
 *   GET    /models[?limit=&next_page_token=] list
 *   GET    /models/{m}[/{v}|/all]           describe
 *   PUT    /models/{m}[/{v}]?min_worker=..  scale
 *   DELETE /models/{m}[/{v}]                unregister
 *   PUT    /models/{m}/{v}/set-default      set the default version
 *
 * Changes go to the zone under its mutex and bump its generation; this
 * process reconciles at once, the others at their next request or timer
 * tick.  Archives are opened in the thread pool; a synchronous request
 * waits for this process's load (a waiter on the model).
 */

#include <jansson.h>

#include "ngx_http_torchserve_module.h"


typedef struct {
    ngx_str_t                         url;
    ngx_str_t                         path;      /* NUL-terminated */
    ngx_str_t                         model_name;
    ngx_str_t                         handler;
    ngx_uint_t                        batch_size;
    ngx_uint_t                        max_batch_delay;
    ngx_uint_t                        initial_workers;
    ngx_uint_t                        response_timeout;
    ngx_uint_t                        startup_timeout;   /* checked only */
    ngx_flag_t                        synchronous;

    /* from the archive, read in the thread pool */
    char                             *m_name;
    char                             *m_version;
    char                             *m_handler;
    char                             *m_runtime;
    ngx_uint_t                        not_found;
    ngx_uint_t                        remote;
    ngx_http_torchserve_defaults_t    defaults;    /* model-config.yaml */
    ngx_uint_t                        exists;
    ngx_uint_t                        download_failed;
    ngx_str_t                         file;
    char                              err[TS_ERROR_LEN];
    size_t                            max_archive_size;

    ngx_http_torchserve_waiter_t      waiter;
    ngx_event_t                       keep;      /* while in the pool */
} ngx_http_torchserve_register_t;


/* POST /models's numeric parameters, their ranges and where they go */
typedef struct {
    const char                      *name;
    ngx_uint_t                       param;
    size_t                           offset;
} ngx_http_torchserve_uint_arg_t;


static const ngx_http_torchserve_uint_arg_t
    ngx_http_torchserve_register_uints[] =
{
    { "batch_size", NGX_HTTP_TORCHSERVE_P_BATCH_SIZE,
      offsetof(ngx_http_torchserve_register_t, batch_size) },
    { "max_batch_delay", NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY,
      offsetof(ngx_http_torchserve_register_t, max_batch_delay) },
    { "initial_workers", NGX_HTTP_TORCHSERVE_P_WORKERS,
      offsetof(ngx_http_torchserve_register_t, initial_workers) },
    { "response_timeout", NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT,
      offsetof(ngx_http_torchserve_register_t, response_timeout) },
    { "startup_timeout", NGX_HTTP_TORCHSERVE_P_STARTUP_TIMEOUT,
      offsetof(ngx_http_torchserve_register_t, startup_timeout) },
    { NULL, 0, 0 }
};


static ngx_int_t ngx_http_torchserve_bad_param(ngx_http_request_t *r,
    json_t *body, const char *name, const char *expect);
static ngx_int_t ngx_http_torchserve_list(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf);
static ngx_int_t ngx_http_torchserve_describe(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t all);
static ngx_int_t ngx_http_torchserve_register(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, json_t *body);
static ngx_uint_t ngx_http_torchserve_is_json(ngx_http_request_t *r);
static void ngx_http_torchserve_register_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_torchserve_scale(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version);
static ngx_int_t ngx_http_torchserve_unregister(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version);
static ngx_int_t ngx_http_torchserve_set_default(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version);
static void ngx_http_torchserve_register_thread(void *data, ngx_log_t *log);
static void ngx_http_torchserve_register_event(ngx_event_t *ev);
static void ngx_http_torchserve_register_finish(ngx_http_request_t *r);
static ngx_int_t ngx_http_torchserve_answer_waiter(
    ngx_http_torchserve_waiter_t *w);
static void ngx_http_torchserve_register_cleanup(void *data);


#define ngx_http_torchserve_is(s, lit)                                       \
    ((s)->len == sizeof(lit) - 1 && ngx_strncmp((s)->data, lit,             \
                                                 sizeof(lit) - 1) == 0)


static ngx_int_t
ngx_http_torchserve_not_allowed(ngx_http_request_t *r)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "torchserve: management: method %V not allowed for \"%V\"",
                  &r->method_name, &r->uri);

    return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_ALLOWED, NULL,
               "Requested method is not allowed, please refer to API "
               "document.");
}


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

    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf, 0);

    n = ngx_http_torchserve_split_path(&r->uri, segs, 4);

    if (n == 0) {
        return ngx_http_torchserve_not_allowed(r);
    }

    if (n > 4 || !ngx_http_torchserve_is(&segs[0], "models")) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: no API at \"%V\"", &r->uri);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND, NULL,
                   "Requested resource is not found, please refer to API "
                   "document.");
    }

    switch (n) {

    case 1:
        if (r->method == NGX_HTTP_GET) {
            return ngx_http_torchserve_list(r, tmcf);
        }

        if (r->method == NGX_HTTP_POST && tlcf->model_api) {
            return ngx_http_torchserve_register(r, tmcf, NULL);
        }

        return ngx_http_torchserve_not_allowed(r);

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

        return ngx_http_torchserve_not_allowed(r);

    default: /* 4 */
        if (!ngx_http_torchserve_is(&segs[3], "set-default")) {
            return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND, NULL,
                       "Requested resource is not found, please refer to "
                       "API document.");
        }

        if (r->method != NGX_HTTP_PUT) {
            return ngx_http_torchserve_not_allowed(r);
        }

        return ngx_http_torchserve_set_default(r, tmcf, &segs[1], &segs[2]);
    }
}


/* --- arguments: the query, or POST /models's JSON body ------------------- */

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
 * POST /models with a JSON body: parsed (in memory: it is a few
 * arguments, a body that nginx had to spill to a file is refused), then
 * the same registration as with a query.
 */
static void
ngx_http_torchserve_register_body(ngx_http_request_t *r)
{
    u_char                           *text, *p;
    size_t                            len;
    json_t                           *body;
    ngx_int_t                         rc;
    ngx_chain_t                      *cl;
    json_error_t                      jerr;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    if (r->request_body == NULL || r->request_body->temp_file) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: registration body larger "
                      "than client_body_buffer_size");
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                NULL, "The registration body is larger than "
                "client_body_buffer_size"));
        return;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
    }

    text = ngx_pnalloc(r->pool, len + 1);
    if (text == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = text;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    body = json_loadb((char *) text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (body == NULL || !json_is_object(body)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: registration body is not a "
                      "JSON object: %s", body ? "another JSON value"
                                              : jerr.text);
        rc = body
             ? ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "Invalid registration body: a JSON object is expected")
             : ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "Invalid registration body: %s at line %d, column %d",
                   jerr.text, jerr.line, jerr.column);
        json_decref(body);
        ngx_http_finalize_request(r, rc);
        return;
    }

    rc = ngx_http_torchserve_register(r, tmcf, body);
    json_decref(body);

    if (rc == NGX_DONE) {
        /* the manifest is read in the thread pool; we finalize there */
        ngx_http_finalize_request(r, NGX_DONE);
        return;
    }

    ngx_http_finalize_request(r, rc);
}

/*
 * Checks that every argument is one of names (NULL-terminated): the
 * members of a JSON body if there is one (TorchServe then ignores the
 * query), else the query's.  NGX_ERROR: *bad names the unknown one.
 */
static ngx_int_t
ngx_http_torchserve_check_args(ngx_http_request_t *r, json_t *body,
    const char **names, ngx_str_t *bad)
{
    u_char      *p, *last, *start;
    void        *iter;
    ngx_uint_t   i, ok;

    iter = body ? json_object_iter(body) : NULL;
    p = r->args.data;
    last = body ? p : r->args.data + r->args.len;

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
static ngx_int_t
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

            dst = ngx_sprintf(value->data, "%L", (int64_t) json_integer_value(j));
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


static ngx_int_t
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


static ngx_int_t
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


static ngx_int_t
ngx_http_torchserve_unknown_param(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "torchserve: management: unknown parameter \"%V\"", name);

    return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                                          "Unknown parameter: %V", name);
}


static ngx_int_t
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
static ngx_int_t
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


/* --- list and describe ---------------------------------------------------- */

static int
ngx_http_torchserve_cmp_names(const void *a, const void *b)
{
    const ngx_http_torchserve_record_t  *ra = *(void * const *) a;
    const ngx_http_torchserve_record_t  *rb = *(void * const *) b;

    return ngx_strcmp(ra->name, rb->name);
}


static ngx_int_t
ngx_http_torchserve_list(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    json_t                         *root, *models, *m;
    ngx_int_t                       limit, token, n;
    ngx_str_t                       v, bad;
    ngx_uint_t                      i, count;
    ngx_queue_t                    *q;
    ngx_http_torchserve_record_t  **recs, *rec;
    static const char              *names[] = { "limit", "next_page_token",
                                                NULL };

    if (ngx_http_torchserve_check_args(r, NULL, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    /* TorchServe: junk and out-of-range values fall back to defaults */
    limit = 100;
    if (ngx_http_torchserve_arg(r, NULL, "limit", &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);
        if (n != NGX_ERROR && n <= 100) {
            limit = n;
        }
    }

    /* Java's Integer.parseInt: beyond INT_MAX it is junk, hence 0 */
    token = 0;
    if (ngx_http_torchserve_arg(r, NULL, "next_page_token", &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);
        if (n != NGX_ERROR && n <= NGX_MAX_INT32_VALUE) {
            token = n;
        }
    }

    root = json_object();
    models = json_array();
    if (root == NULL || models == NULL) {
        json_decref(root);
        json_decref(models);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    count = 0;
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        count++;
    }

    recs = ngx_palloc(r->pool, (count + 1) * sizeof(void *));
    if (recs == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        json_decref(root);
        json_decref(models);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    count = 0;
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);
        if (rec->is_default) {
            recs[count++] = rec;
        }
    }

    ngx_qsort(recs, count, sizeof(void *), ngx_http_torchserve_cmp_names);

    for (i = (ngx_uint_t) token; i < count && i < (ngx_uint_t) (token + limit);
         i++)
    {
        m = json_pack("{s:s, s:s}", "modelName", recs[i]->name,
                      "modelUrl", recs[i]->url);
        json_array_append_new(models, m);
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    if ((ngx_uint_t) (token + limit) <= count && count > 0) {
        json_object_set_new(root, "nextPageToken",
                            json_sprintf("%d", (int) (token + limit)));
    }

    json_object_set_new(root, "models", models);

    return ngx_http_torchserve_send_json(r, NGX_HTTP_OK, root);
}


/* this process's queue now; the others' as of their last answer */
static ngx_uint_t
ngx_http_torchserve_pending(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_record_t *rec, ngx_uint_t slot)
{
    ngx_http_torchserve_model_t  *m;

    if (slot != (ngx_uint_t) ngx_worker) {
        return rec->procs[slot].pending;
    }

    m = ngx_http_torchserve_model_by_id(tmcf, rec->id);

    return m != NULL ? m->queued : 0;
}


static json_t *
ngx_http_torchserve_describe_record(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_record_t *rec)
{
    json_t                      *m, *workers, *w;
    u_char                       start[64], id[NGX_INT_T_LEN + 1];
    time_t                       sec;
    ngx_tm_t                     tm;
    ngx_uint_t                   i, gpu, pending, queues;
    ngx_http_torchserve_proc_t  *proc;

    gpu = ngx_strncmp(rec->device, "cuda", 4) == 0;

    workers = json_array();
    pending = 0;
    queues = 0;

    for (i = 0; i < NGX_HTTP_TORCHSERVE_MAX_PROCESSES; i++) {
        proc = &rec->procs[i];

        /* a slot of a process gone since (fewer workers after a reload) */
        if (proc->pid == 0 || proc->status == NGX_HTTP_TORCHSERVE_UNLOADED
            || (kill(proc->pid, 0) != 0 && errno != EPERM))
        {
            continue;
        }

        /* one job queue per worker process */
        pending += ngx_http_torchserve_pending(tmcf, rec, i);
        queues++;

        sec = (time_t) (proc->start_ms / 1000);
        ngx_localtime(sec, &tm);
        ngx_sprintf(start, "%4d-%02d-%02dT%02d:%02d:%02d.%03dZ%Z",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                    (int) (proc->start_ms % 1000));

        ngx_sprintf(id, "%ui%Z", i);

        w = json_pack("{s:s, s:s, s:s, s:I, s:i, s:b, s:s}",
                      "id", id,
                      "startTime", start,
                      "status", proc->status == NGX_HTTP_TORCHSERVE_READY
                                ? "READY"
                                : proc->status == NGX_HTTP_TORCHSERVE_LOADING
                                  ? "LOADING" : "FAILED",
                      "memoryUsage", (json_int_t) proc->memory,
                      "pid", (int) proc->pid,
                      "gpu", (int) gpu,
                      "gpuUsage", "N/A");

        json_array_append_new(workers, w);
    }

    m = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:i,"
                  " s:i, s:s, s:i, s:s}",
                  "modelName", rec->name,
                  "modelVersion", rec->version,
                  "modelUrl", rec->url,
                  "runtime", rec->runtime,
                  "minWorkers", (json_int_t) rec->min_workers,
                  "maxWorkers", (json_int_t) rec->max_workers,
                  "batchSize", (json_int_t) rec->batch_size,
                  "maxBatchDelay", (json_int_t) rec->max_batch_delay,
                  "responseTimeout", (json_int_t) rec->response_timeout,
                  "startupTimeout", 120,
                  "maxRetryTimeoutInSec", 300,
                  "clientTimeoutInMills", 0,
                  "parallelType", "",
                  "parallelLevel", 0,
                  "deviceType", gpu ? "gpu" : "cpu");

    if (m == NULL) {
        json_decref(workers);
        return NULL;
    }

    if (gpu && rec->device[4] == ':') {
        json_object_set_new(m, "deviceIds",
                            json_pack("[i]", atoi((char *) rec->device + 5)));
    }

    json_object_set_new(m, "continuousBatching", json_false());
    json_object_set_new(m, "useJobTicket", json_false());
    json_object_set_new(m, "useVenv", json_false());
    json_object_set_new(m, "stateful", json_false());
    json_object_set_new(m, "sequenceMaxIdleMSec", json_integer(0));
    json_object_set_new(m, "sequenceTimeoutMSec", json_integer(0));
    json_object_set_new(m, "maxNumSequence", json_integer(0));
    json_object_set_new(m, "maxSequenceJobQueueSize", json_integer(0));
    json_object_set_new(m, "loadedAtStartup",
                        json_boolean(rec->from_config));
    json_object_set_new(m, "workers", workers);
    /* TorchServe's one queue per model is a queue per worker process here */
    queues = ngx_max(queues, 1);
    json_object_set_new(m, "jobQueueStatus",
        json_pack("{s:I, s:I}",
                  "remainingCapacity",
                  (json_int_t) (rec->job_queue_size * queues > pending
                                ? rec->job_queue_size * queues - pending : 0),
                  "pendingRequests", (json_int_t) pending));

    return m;
}


static ngx_int_t
ngx_http_torchserve_describe(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t all)
{
    json_t                        *arr;
    ngx_str_t                      bad;
    ngx_uint_t                     name_found;
    ngx_queue_t                   *q;
    ngx_http_torchserve_record_t  *rec;
    static const char             *names[] = { "customized", NULL };

    if (ngx_http_torchserve_check_args(r, NULL, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    arr = json_array();
    if (arr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    if (!all) {
        rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                     &name_found);
        if (rec == NULL) {
            ngx_shmtx_unlock(&tmcf->shpool->mutex);
            json_decref(arr);
            return ngx_http_torchserve_model_not_found(r, name, version,
                                                       name_found);
        }

        json_array_append_new(arr,
                              ngx_http_torchserve_describe_record(tmcf, rec));

    } else {
        for (q = ngx_queue_head(&tmcf->sh->records);
             q != ngx_queue_sentinel(&tmcf->sh->records);
             q = ngx_queue_next(q))
        {
            rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);

            if (ngx_strlen(rec->name) == name->len
                && ngx_strncmp(rec->name, name->data, name->len) == 0)
            {
                json_array_append_new(arr,
                    ngx_http_torchserve_describe_record(tmcf, rec));
            }
        }
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return ngx_http_torchserve_model_not_found(r, name, version, 0);
    }

    return ngx_http_torchserve_send_json(r, NGX_HTTP_OK, arr);
}


/* --- register -------------------------------------------------------------- */

static ngx_int_t
ngx_http_torchserve_register(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, json_t *body)
{
    u_char                          *p;
    size_t                           i;
    ngx_str_t                        bad, runtime;
    ngx_uint_t                      *value;
    ngx_thread_task_t               *task;
    ngx_pool_cleanup_t              *cln;
    ngx_http_torchserve_register_t  *reg, **taskp;

    const ngx_http_torchserve_uint_arg_t  *arg;
    static const char               *names[] = {
        "url", "model_name", "handler", "runtime", "batch_size",
        "max_batch_delay", "initial_workers", "synchronous",
        "response_timeout", "startup_timeout", "s3_sse_kms", NULL };

    if (ngx_http_torchserve_check_args(r, body, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    reg = ngx_pcalloc(r->pool, sizeof(ngx_http_torchserve_register_t));
    if (reg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_torchserve_arg(r, body, "url", &reg->url) != NGX_OK) {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                                              "Parameter url is required.");
    }

    if (reg->url.len == 0) {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                   "ModelNotFoundException", "empty url");
    }

    for (i = 0; i < reg->url.len; i++) {
        if (reg->url.data[i] < 0x20 || reg->url.data[i] == 0x7f) {
            return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                       NULL, "Invalid url: control characters are not "
                       "allowed");
        }
    }

    if (ngx_strstr(reg->url.data, "..") != NULL) {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                   "ModelNotFoundException",
                   "Relative path is not allowed in url: %V", &reg->url);
    }

    if (ngx_strstr(reg->url.data, "://") != NULL || reg->url.data[0] == '/') {
        if ((ngx_strncasecmp(reg->url.data, (u_char *) "http://", 7) != 0
             && ngx_strncasecmp(reg->url.data, (u_char *) "https://", 8)
                != 0)
            || !ngx_http_torchserve_url_allowed(tmcf, &reg->url))
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "torchserve: management: url \"%V\" refused: it "
                          "matches no torchserve_allowed_urls pattern",
                          &reg->url);
            return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                       "ModelNotFoundException",
                       "Given URL %V does not match any allowed URL(s)",
                       &reg->url);
        }

        if (ngx_http_torchserve_url_file(&reg->url, &reg->file) != NGX_OK) {
            return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                       "DownloadArchiveException",
                       "Failed to download archive from: %V: the URL does "
                       "not end with an archive file name", &reg->url);
        }

        reg->remote = 1;
    }

    if (ngx_http_torchserve_arg(r, body, "runtime", &runtime) == NGX_OK
        && !ngx_http_torchserve_is(&runtime, "python")
        && !ngx_http_torchserve_is(&runtime, "python3")
        && !ngx_http_torchserve_is(&runtime, "LSP"))
    {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "Invalid RuntimeType value: %V", &runtime);
    }

    /* unset parameters come from model-config.yaml, then defaults */
    for (arg = ngx_http_torchserve_register_uints; arg->name != NULL; arg++) {
        value = (ngx_uint_t *) ((u_char *) reg + arg->offset);

        switch (ngx_http_torchserve_arg_uint(r, body, arg->name, arg->param,
                                             NGX_CONF_UNSET_UINT, value))
        {
        case NGX_OK:
            break;
        case NGX_DECLINED:
            return ngx_http_torchserve_bad_number(r, body, arg->name, arg->param);
        default:
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_torchserve_arg_bool(r, body, "synchronous", 1, &reg->synchronous)
        != NGX_OK)
    {
        return ngx_http_torchserve_bad_param(r, body, "synchronous",
                                             "true or false");
    }

    if (ngx_http_torchserve_arg(r, body, "model_name", &reg->model_name)
        == NGX_ERROR
        || ngx_http_torchserve_arg(r, body, "handler", &reg->handler) == NGX_ERROR)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (reg->model_name.len
        && ngx_http_torchserve_valid_name(reg->model_name.data,
                                          reg->model_name.len)
           != NGX_OK)
    {
        return ngx_http_torchserve_bad_param(r, body, "model_name",
                                             NGX_HTTP_TORCHSERVE_NAME_RULE);
    }

    /* a remote archive is downloaded into the store under its name */
    if (!reg->remote) {
        reg->file = reg->url;
    }

    reg->path.len = tmcf->model_store.len + 1 + reg->file.len;
    reg->path.data = ngx_pnalloc(r->pool, reg->path.len + 1);
    if (reg->path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(reg->path.data, tmcf->model_store.data,
                   tmcf->model_store.len);
    *p++ = '/';
    p = ngx_cpymem(p, reg->file.data, reg->file.len);
    *p = '\0';

    reg->max_archive_size = tmcf->max_archive_size;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_torchserve_register_cleanup;
    cln->data = reg;

    ngx_http_set_ctx(r, reg, ngx_http_torchserve_module);

    /* the manifest is read in the thread pool, never on the event loop */
    task = ngx_thread_task_alloc(r->pool, sizeof(void *));
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    taskp = task->ctx;
    *taskp = reg;
    task->handler = ngx_http_torchserve_register_thread;
    task->event.handler = ngx_http_torchserve_register_event;
    task->event.data = r;

    if (ngx_thread_task_post(tmcf->thread_pool, task) != NGX_OK) {
        return ngx_http_torchserve_send_error(r,
                   NGX_HTTP_SERVICE_UNAVAILABLE, NULL,
                   "the thread pool's queue is full");
    }

    r->main->count++;
    r->main->blocked++;
    r->aio = 1;
    r->write_event_handler = ngx_http_torchserve_register_finish;

    ngx_http_torchserve_keep(&reg->keep, r->connection->log,
                             "the registration's archive");

    return NGX_DONE;
}


static char *
ngx_http_torchserve_strdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}


static void
ngx_http_torchserve_register_thread(void *data, ngx_log_t *log)
{
    ngx_http_torchserve_register_t  *reg = *(void **) data;

    ts_archive_t         *a;
    const char           *handler;
    ts_archive_limits_t   limits;

    ngx_memzero(&limits, sizeof(ts_archive_limits_t));
    limits.max_entry_size = reg->max_archive_size;
    limits.max_total_size = reg->max_archive_size;
    limits.with_data = 0;

    if (reg->remote
        && ngx_http_torchserve_download((char *) reg->url.data,
                                        (char *) reg->path.data,
                                        reg->max_archive_size, reg->err,
                                        sizeof(reg->err), &reg->exists)
           != NGX_OK)
    {
        reg->download_failed = !reg->exists;
        return;
    }

    if (access((char *) reg->path.data, F_OK) != 0) {
        reg->not_found = 1;
        return;
    }

    a = ts_archive_open((char *) reg->path.data, &limits, reg->err,
                        sizeof(reg->err));
    if (a == NULL) {
        if (reg->remote) {
            unlink((char *) reg->path.data);
        }
        return;
    }

    handler = reg->handler.len ? (char *) reg->handler.data
                               : a->manifest.handler;

    if (ts_archive_check_torchscript(a, reg->err, sizeof(reg->err)) == 0
        && ts_handler_find(handler, reg->err, sizeof(reg->err)) != NULL
        && ngx_http_torchserve_archive_defaults(a, &reg->defaults, reg->err,
                                                sizeof(reg->err))
           == NGX_OK)
    {
        reg->m_name = ngx_http_torchserve_strdup_or_null(
                                                    a->manifest.model_name);
        reg->m_version = ngx_http_torchserve_strdup_or_null(
                                                 a->manifest.model_version);
        reg->m_handler = strdup(handler);
        reg->m_runtime = ngx_http_torchserve_strdup_or_null(
                                                       a->manifest.runtime);
    }

    ts_archive_free(a);

    if (reg->remote && reg->m_handler == NULL) {
        /* a download that is not a model we can serve is not kept */
        unlink((char *) reg->path.data);
    }
}


static void
ngx_http_torchserve_register_cleanup(void *data)
{
    ngx_http_torchserve_register_t  *reg = data;

    free(reg->m_name);
    free(reg->m_version);
    free(reg->m_handler);
    free(reg->m_runtime);

    ngx_http_torchserve_waiter_cleanup(&reg->waiter);
}


static void
ngx_http_torchserve_register_event(ngx_event_t *ev)
{
    ngx_connection_t                *c;
    ngx_http_request_t              *r;
    ngx_http_torchserve_register_t  *reg;

    r = ev->data;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    reg = ngx_http_get_module_ctx(r, ngx_http_torchserve_module);
    ngx_http_torchserve_unkeep(&reg->keep);

    r->main->blocked--;
    r->aio = 0;

    r->write_event_handler(r);

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_torchserve_register_finish(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_str_t                         name, version;
    ngx_uint_t                        name_found, workers;
    u_char                            msg[NGX_MAX_ERROR_STR];
    ngx_http_torchserve_record_t     *rec;
    ngx_http_torchserve_register_t   *reg;
    ngx_http_torchserve_defaults_t   *d;
    ngx_http_torchserve_model_t      *m;
    ngx_http_torchserve_main_conf_t  *tmcf;

    r->write_event_handler = ngx_http_request_empty_handler;

    reg = ngx_http_get_module_ctx(r, ngx_http_torchserve_module);
    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    if (reg->exists) {
        /* TorchServe's answer to an archive already in the store */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: \"%V\" is already in the "
                      "model store", &reg->path);
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                NULL, "Model file already exists %V", &reg->file));
        return;
    }

    if (reg->download_failed) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "torchserve: management: download of \"%V\" "
                      "failed: %s", &reg->url, reg->err);
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "DownloadArchiveException",
                "Failed to download archive from: %V", &reg->url));
        return;
    }

    if (reg->not_found) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: no \"%V\" in the model store",
                      &reg->path);
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                "ModelNotFoundException", "Model not found at: %V",
                &reg->url));
        return;
    }

    if (reg->m_handler == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: \"%V\" refused: %s",
                      &reg->url, reg->err);
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "InvalidModelException", "%s", reg->err));
        return;
    }

    if (reg->model_name.len) {
        name = reg->model_name;
    } else {
        name.data = (u_char *) reg->m_name;
        name.len = ngx_strlen(reg->m_name);
    }

    if (reg->m_version) {
        version.data = (u_char *) reg->m_version;
        version.len = ngx_strlen(reg->m_version);
    } else {
        ngx_str_set(&version, "1.0");
    }

    /* whatever the name and version came from, the routes must reach it */
    if (ngx_http_torchserve_valid_name(name.data, name.len) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: \"%V\" refused: invalid "
                      "model name \"%V\"", &reg->url, &name);
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "InvalidModelException",
                "Invalid model name \"%V\" in the manifest: "
                NGX_HTTP_TORCHSERVE_NAME_RULE ", at most %d (or give "
                "model_name)", &name, NGX_HTTP_TORCHSERVE_NAME_LEN - 1));
        return;
    }

    if (ngx_http_torchserve_valid_version(version.data, version.len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: \"%V\" refused: invalid "
                      "version \"%V\"", &reg->url, &version);
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "InvalidModelException",
                "Invalid model version \"%V\" in the manifest: "
                NGX_HTTP_TORCHSERVE_VERSION_RULE ", at most %d",
                &version, NGX_HTTP_TORCHSERVE_VERSION_LEN - 1));
        return;
    }

    if (reg->path.len >= NGX_HTTP_TORCHSERVE_PATH_LEN) {
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "InvalidModelException", "url too long"));
        return;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_find_locked(tmcf, &name, &version,
                                                 &name_found);
    if (rec != NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);

        if (reg->remote) {
            ngx_http_torchserve_unlink_later(tmcf, reg->path.data,
                                             r->connection->log);
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: model \"%V\" version \"%V\" "
                      "is already registered", &name, &version);
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, NGX_HTTP_CONFLICT, NULL,
                "Model version %V is already registered for model %V",
                &version, &name));
        return;
    }

    rec = ngx_http_torchserve_record_add_locked(tmcf, r->connection->log);
    if (rec == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        ngx_http_finalize_request(r,
            ngx_http_torchserve_send_error(r, 507, "InternalServerException",
                "torchserve zone \"%V\" is full: raise its size with "
                "torchserve_zone", &tmcf->shm_zone->shm.name));
        return;
    }

    ngx_http_torchserve_strlcpy(rec->name, &name, sizeof(rec->name));
    ngx_http_torchserve_strlcpy(rec->version, &version,
                                sizeof(rec->version));
    ngx_http_torchserve_strlcpy(rec->url, &reg->url, sizeof(rec->url));
    ngx_http_torchserve_strlcpy(rec->path, &reg->path, sizeof(rec->path));
    ngx_cpystrn(rec->handler, (u_char *) reg->m_handler,
                sizeof(rec->handler));
    ngx_cpystrn(rec->runtime,
                (u_char *) (reg->m_runtime ? reg->m_runtime : "python"),
                sizeof(rec->runtime));
    d = &reg->defaults;

    if (reg->initial_workers == NGX_CONF_UNSET_UINT) {
        reg->initial_workers = d->min_workers > 0 ? d->min_workers : 0;
    }

    rec->min_workers = reg->initial_workers;
    rec->max_workers = d->max_workers >= (ngx_int_t) reg->initial_workers
                       ? (ngx_uint_t) d->max_workers : reg->initial_workers;
    rec->batch_size = reg->batch_size != NGX_CONF_UNSET_UINT
                      ? reg->batch_size
                      : d->batch_size > 0 ? (ngx_uint_t) d->batch_size : 1;
    rec->max_batch_delay = reg->max_batch_delay != NGX_CONF_UNSET_UINT
                           ? reg->max_batch_delay
                           : d->max_batch_delay >= 0
                             ? (ngx_uint_t) d->max_batch_delay : 100;
    rec->response_timeout = reg->response_timeout != NGX_CONF_UNSET_UINT
                            ? reg->response_timeout
                            : d->response_timeout > 0
                              ? (ngx_uint_t) d->response_timeout : 120;
    ngx_cpystrn(rec->device, d->device, sizeof(rec->device));
    rec->options.warmup = 3;
    rec->is_default = !name_found;
    rec->downloaded = reg->remote;

    ngx_http_torchserve_registry_changed_locked(tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "torchserve: model \"%V\" version \"%V\" registered from "
                  "\"%V\" with %ui initial workers", &name, &version,
                  &reg->url, reg->initial_workers);

    ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf, 0);

    workers = reg->initial_workers;

    if (workers == 0) {
        ngx_snprintf(msg, sizeof(msg) - 1, "Model \"%V\" Version: %V "
                     "registered with 0 initial workers. Use scale workers "
                     "API to add workers for the model.%Z", &name, &version);
        rc = ngx_http_torchserve_send_status(r, NGX_HTTP_OK, (char *) msg);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (!reg->synchronous) {
        rc = ngx_http_torchserve_send_status(r, NGX_HTTP_ACCEPTED,
                                             "Processing worker updates...");
        ngx_http_finalize_request(r, rc);
        return;
    }

    m = ngx_http_torchserve_model_find(tmcf, &name, &version, &name_found);

    reg->waiter.request = r;
    reg->waiter.tmcf = tmcf;
    reg->waiter.model = m;
    reg->waiter.registering = 1;
    reg->waiter.workers = workers;
    reg->waiter.answer = ngx_http_torchserve_answer_waiter;

    rc = ngx_http_torchserve_wait(r, &reg->waiter);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/* --- waiting for this process's load --------------------------------------- */

static ngx_int_t
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
    if (w->model == NULL
        || w->model->status != NGX_HTTP_TORCHSERVE_LOADING
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

    if (m->status == NGX_HTTP_TORCHSERVE_LOADING && !m->removed) {
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
    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "torchserve: still waiting for %s after %M ms",
                  (char *) ev->data,
                  (ngx_msec_t) NGX_HTTP_TORCHSERVE_KEEP_LOG);

    ngx_add_timer(ev, NGX_HTTP_TORCHSERVE_KEEP_LOG);
}


void
ngx_http_torchserve_keep(ngx_event_t *ev, ngx_log_t *log,
    const char *what)
{
    ev->handler = ngx_http_torchserve_keep_handler;
    ev->data = (void *) what;
    ev->log = log;
    ev->cancelable = 0;

    ngx_add_timer(ev, NGX_HTTP_TORCHSERVE_KEEP_LOG);
}


void
ngx_http_torchserve_unkeep(ngx_event_t *ev)
{
    if (ev->timer_set) {
        ngx_del_timer(ev);
    }
}


/* --- scale, unregister, set-default ---------------------------------------- */

static ngx_int_t
ngx_http_torchserve_scale(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version)
{
    ngx_int_t                      rc;
    ngx_str_t                      bad, v;
    ngx_flag_t                     sync;
    ngx_uint_t                     min, max, name_found;
    ngx_pool_cleanup_t            *cln;
    ngx_http_torchserve_record_t  *rec;
    ngx_http_torchserve_waiter_t  *w;
    static const char             *names[] = {
        "min_worker", "max_worker", "synchronous", "timeout", "number_gpu",
        "model_version", NULL };

    if (ngx_http_torchserve_check_args(r, NULL, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    if (version->len == 0
        && ngx_http_torchserve_arg(r, NULL, "model_version", &v) == NGX_OK)
    {
        *version = v;
    }

    switch (ngx_http_torchserve_arg_uint(r, NULL, "min_worker",
                                         NGX_HTTP_TORCHSERVE_P_WORKERS, 1,
                                         &min))
    {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return ngx_http_torchserve_bad_number(r, NULL, "min_worker",
                                              NGX_HTTP_TORCHSERVE_P_WORKERS);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (ngx_http_torchserve_arg_uint(r, NULL, "max_worker",
                                         NGX_HTTP_TORCHSERVE_P_WORKERS, min,
                                         &max))
    {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return ngx_http_torchserve_bad_number(r, NULL, "max_worker",
                                              NGX_HTTP_TORCHSERVE_P_WORKERS);
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (max < min) {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "max_worker cannot be less than min_worker.");
    }

    if (ngx_http_torchserve_arg_bool(r, NULL, "synchronous", 0, &sync) != NGX_OK) {
        return ngx_http_torchserve_bad_param(r, NULL, "synchronous",
                                             "true or false");
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                 &name_found);
    if (rec == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return ngx_http_torchserve_model_not_found(r, name, version,
                                                   name_found);
    }

    rec->min_workers = min;
    rec->max_workers = max;

    /* every process tries a failed load again, even at the same count */
    rec->scale_seq++;

    ngx_http_torchserve_registry_changed_locked(tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "torchserve: model \"%V\" scaled to %ui workers", name,
                  min);

    ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf, 0);

    if (!sync) {
        return ngx_http_torchserve_send_status(r, NGX_HTTP_ACCEPTED,
                                               "Processing worker updates...");
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_torchserve_waiter_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (w == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_torchserve_waiter_cleanup;
    cln->data = w;

    w->request = r;
    w->tmcf = tmcf;
    w->model = ngx_http_torchserve_model_find(tmcf, name, version,
                                              &name_found);
    w->workers = min;
    w->version = *version;
    w->scaling = 1;
    w->answer = ngx_http_torchserve_answer_waiter;

    /* to 0: unloaded once its requests are done, nothing to wait for */
    rc = ngx_http_torchserve_wait(r, w);

    if (rc == NGX_DONE) {
        r->main->count++;
    }

    return rc;
}


static ngx_int_t
ngx_http_torchserve_unregister(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version)
{
    u_char                         msg[NGX_MAX_ERROR_STR];
    u_char                         path[NGX_HTTP_TORCHSERVE_PATH_LEN];
    ngx_str_t                      bad;
    ngx_uint_t                     name_found, others;
    ngx_queue_t                   *q;
    ngx_http_torchserve_record_t  *rec, *other;
    static const char             *names[] = { "synchronous", "timeout",
                                               NULL };

    if (ngx_http_torchserve_check_args(r, NULL, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                 &name_found);
    if (rec == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return ngx_http_torchserve_model_not_found(r, name, version,
                                                   name_found);
    }

    others = 0;
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        other = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);
        others += (other != rec && ngx_strcmp(other->name, rec->name) == 0);
    }

    if (rec->is_default && others > 0) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_FORBIDDEN,
                   "InvalidModelVersionException",
                   "Cannot remove default version for model %V", name);
    }

    /* an archive that came from a URL goes with its model */
    if (rec->downloaded) {
        ngx_cpystrn(path, rec->path, sizeof(path));
    } else {
        path[0] = '\0';
    }

    ngx_http_torchserve_record_remove_locked(tmcf, rec);
    ngx_http_torchserve_registry_changed_locked(tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "torchserve: model \"%V\" unregistered through the API",
                  name);

    if (path[0] != '\0') {
        ngx_http_torchserve_unlink_later(tmcf, path, r->connection->log);
    }

    ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf, 0);

    ngx_snprintf(msg, sizeof(msg) - 1, "Model \"%V\" unregistered%Z", name);

    return ngx_http_torchserve_send_status(r, NGX_HTTP_OK, (char *) msg);
}


static ngx_int_t
ngx_http_torchserve_set_default(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version)
{
    u_char                         msg[NGX_MAX_ERROR_STR];
    ngx_uint_t                     name_found;
    ngx_queue_t                   *q;
    ngx_http_torchserve_record_t  *rec, *other;

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                 &name_found);
    if (rec == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);

        if (!name_found) {
            return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                       "ModelNotFoundException", "Model not found: %V",
                       name);
        }

        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                   "ModelVersionNotFoundException",
                   "Model version %V does not exist for model %V",
                   version, name);
    }

    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        other = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);

        if (ngx_strcmp(other->name, rec->name) == 0) {
            other->is_default = (other == rec);
        }
    }

    ngx_http_torchserve_registry_changed_locked(tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf, 0);

    ngx_snprintf(msg, sizeof(msg) - 1, "Default version successfully "
                 "updated for model \"%V\" to \"%V\"%Z", name, version);

    return ngx_http_torchserve_send_status(r, NGX_HTTP_OK, (char *) msg);
}
