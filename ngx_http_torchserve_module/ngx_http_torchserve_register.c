/*
 * ngx_http_torchserve_register.c: POST /models.  The archive (downloaded
 * first when remote) is opened in the thread pool, never on the event
 * loop; the record goes into the zone; a synchronous registration waits
 * for this process's load (_wait.c).
 */

#include <jansson.h>

#include "ngx_http_torchserve_module.h"


typedef struct {
    ngx_str_t                         url;
    ngx_str_t                         path;      /* NUL-terminated */
    ngx_str_t                         model_name;
    ngx_str_t                         handler;
    ngx_http_torchserve_settings_t    given;     /* the arguments */
    ngx_uint_t                        workers;   /* as registered */
    ngx_uint_t                        startup_timeout;   /* checked only */
    ngx_flag_t                        synchronous;

    /* from the archive, read in the thread pool */
    char                             *m_name;
    char                             *m_version;
    char                             *m_handler;
    char                             *m_runtime;
    ngx_uint_t                        not_found;
    ngx_uint_t                        remote;
    ngx_http_torchserve_settings_t    defaults;    /* model-config.yaml */
    ngx_uint_t                        exists;
    ngx_uint_t                        download_failed;
    ngx_str_t                         file;
    char                              err[TS_ERROR_LEN];
    size_t                            max_archive_size;

    ngx_http_torchserve_waiter_t      waiter;
    ngx_http_torchserve_keep_t        keep;      /* while in the pool */
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
      offsetof(ngx_http_torchserve_register_t, given.batch_size) },
    { "max_batch_delay", NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY,
      offsetof(ngx_http_torchserve_register_t, given.max_batch_delay) },
    { "initial_workers", NGX_HTTP_TORCHSERVE_P_WORKERS,
      offsetof(ngx_http_torchserve_register_t, given.min_workers) },
    { "response_timeout", NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT,
      offsetof(ngx_http_torchserve_register_t, given.response_timeout) },
    { "startup_timeout", NGX_HTTP_TORCHSERVE_P_STARTUP_TIMEOUT,
      offsetof(ngx_http_torchserve_register_t, startup_timeout) },
    { NULL, 0, 0 }
};


static ngx_int_t ngx_http_torchserve_register_url(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_register_t *reg,
    json_t *body);
static ngx_int_t ngx_http_torchserve_register_args(ngx_http_request_t *r,
    ngx_http_torchserve_register_t *reg, json_t *body);
static ngx_int_t ngx_http_torchserve_register_post(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_register_t *reg);
static char *ngx_http_torchserve_strdup_or_null(const char *s);
static void ngx_http_torchserve_register_thread(void *data, ngx_log_t *log);
static void ngx_http_torchserve_register_cleanup(void *data);
static void ngx_http_torchserve_register_event(ngx_event_t *ev);
static ngx_int_t ngx_http_torchserve_register_refused(ngx_http_request_t *r,
    ngx_http_torchserve_register_t *reg);
static ngx_int_t ngx_http_torchserve_register_names(ngx_http_request_t *r,
    ngx_http_torchserve_register_t *reg, ngx_str_t *name,
    ngx_str_t *version);
static ngx_int_t ngx_http_torchserve_register_record(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_register_t *reg, ngx_str_t *name,
    ngx_str_t *version);
static void ngx_http_torchserve_register_finish(ngx_http_request_t *r);


/*
 * POST /models with a JSON body: parsed (in memory: it is a few
 * arguments, a body that nginx had to spill to a file is refused), then
 * the same registration as with a query.
 */
void
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


/* url: a file of the store, or a remote URL torchserve_allowed_urls allows */
static ngx_int_t
ngx_http_torchserve_register_url(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_register_t *reg,
    json_t *body)
{
    size_t  i;

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

    return NGX_DECLINED;
}


/* the other arguments; unset ones come from model-config.yaml, defaults */
static ngx_int_t
ngx_http_torchserve_register_args(ngx_http_request_t *r,
    ngx_http_torchserve_register_t *reg, json_t *body)
{
    ngx_int_t                              rc;
    ngx_str_t                              runtime, policy;
    ngx_uint_t                            *value;
    const ngx_http_torchserve_uint_arg_t  *arg;

    if (ngx_http_torchserve_arg(r, body, "runtime", &runtime) == NGX_OK
        && !ngx_http_torchserve_is(&runtime, "python")
        && !ngx_http_torchserve_is(&runtime, "python3")
        && !ngx_http_torchserve_is(&runtime, "LSP"))
    {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "Invalid RuntimeType value: %V", &runtime);
    }

    if (ngx_http_torchserve_arg(r, body, "batch_policy", &policy) == NGX_OK
        && ngx_http_torchserve_batch_policy(&policy, &reg->given.batch_policy)
           != NGX_OK)
    {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "Invalid batch_policy value: %V (adaptive or delay)",
                   &policy);
    }

    for (arg = ngx_http_torchserve_register_uints; arg->name != NULL; arg++) {
        value = (ngx_uint_t *) ((u_char *) reg + arg->offset);

        if (ngx_http_torchserve_arg_number(r, body, arg->name, arg->param,
                                           NGX_CONF_UNSET_UINT, value, &rc)
            != NGX_OK)
        {
            return rc;
        }
    }

    if (ngx_http_torchserve_arg_bool(r, body, "synchronous", 1,
                                     &reg->synchronous)
        != NGX_OK)
    {
        return ngx_http_torchserve_bad_param(r, body, "synchronous",
                                             "true or false");
    }

    if (ngx_http_torchserve_arg(r, body, "model_name", &reg->model_name)
        == NGX_ERROR
        || ngx_http_torchserve_arg(r, body, "handler", &reg->handler)
           == NGX_ERROR)
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

    return NGX_DECLINED;
}


/* the archive is opened in the thread pool, never on the event loop */
static ngx_int_t
ngx_http_torchserve_register_post(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_register_t *reg)
{
    u_char                          *p;
    ngx_thread_task_t               *task;
    ngx_pool_cleanup_t              *cln;
    ngx_http_torchserve_register_t **taskp;

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


ngx_int_t
ngx_http_torchserve_register(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, json_t *body)
{
    ngx_int_t                        rc;
    ngx_str_t                        bad;
    ngx_http_torchserve_register_t  *reg;
    static const char               *names[] = {
        "url", "model_name", "handler", "runtime", "batch_size",
        "max_batch_delay", "batch_policy", "initial_workers", "synchronous",
        "response_timeout", "startup_timeout", "s3_sse_kms", NULL };

    if (ngx_http_torchserve_check_args(r, body, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    reg = ngx_pcalloc(r->pool, sizeof(ngx_http_torchserve_register_t));
    if (reg == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_torchserve_settings_init(&reg->given);
    ngx_http_torchserve_settings_init(&reg->defaults);

    rc = ngx_http_torchserve_register_url(r, tmcf, reg, body);

    if (rc == NGX_DECLINED) {
        rc = ngx_http_torchserve_register_args(r, reg, body);
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_torchserve_register_post(r, tmcf, reg);
    }

    return rc;
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
    ts_servable_kind_e    kind;

    ngx_http_torchserve_archive_limits(&limits, reg->max_archive_size, 0);

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

    if (ts_servable_check(a, handler, &kind, reg->err, sizeof(reg->err))
        == 0
        && ngx_http_torchserve_archive_defaults(a, &reg->defaults, log,
                                                reg->err, sizeof(reg->err))
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


/* the thread's outcome: NGX_DECLINED when the archive can be registered */
static ngx_int_t
ngx_http_torchserve_register_refused(ngx_http_request_t *r,
    ngx_http_torchserve_register_t *reg)
{
    if (reg->exists) {
        /* TorchServe's answer to an archive already in the store */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: \"%V\" is already in the "
                      "model store", &reg->path);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                NULL, "Model file already exists %V", &reg->file);
    }

    if (reg->download_failed) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "torchserve: management: download of \"%V\" "
                      "failed: %s", &reg->url, reg->err);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "DownloadArchiveException",
                "Failed to download archive from: %V", &reg->url);
    }

    if (reg->not_found) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: no \"%V\" in the model store",
                      &reg->path);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                "ModelNotFoundException", "Model not found at: %V",
                &reg->url);
    }

    if (reg->m_handler == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: \"%V\" refused: %s",
                      &reg->url, reg->err);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "InvalidModelException", "%s", reg->err);
    }

    return NGX_DECLINED;
}


/*
 * The name (model_name=, else the manifest's) and version (the
 * manifest's, else 1.0), checked: the routes must reach whatever they
 * came from.  NGX_DECLINED when they are fine.
 */
static ngx_int_t
ngx_http_torchserve_register_names(ngx_http_request_t *r,
    ngx_http_torchserve_register_t *reg, ngx_str_t *name, ngx_str_t *version)
{
    if (reg->model_name.len) {
        *name = reg->model_name;
    } else {
        name->data = (u_char *) reg->m_name;
        name->len = ngx_strlen(reg->m_name);
    }

    if (reg->m_version) {
        version->data = (u_char *) reg->m_version;
        version->len = ngx_strlen(reg->m_version);
    } else {
        ngx_str_set(version, "1.0");
    }

    /* whatever the name and version came from, the routes must reach it */
    if (ngx_http_torchserve_valid_name(name->data, name->len) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: \"%V\" refused: invalid "
                      "model name \"%V\"", &reg->url, name);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "InvalidModelException",
                "Invalid model name \"%V\" in the manifest: "
                NGX_HTTP_TORCHSERVE_NAME_RULE ", at most %d (or give "
                "model_name)", name, NGX_HTTP_TORCHSERVE_NAME_LEN - 1);
    }

    if (ngx_http_torchserve_valid_version(version->data, version->len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: \"%V\" refused: invalid "
                      "version \"%V\"", &reg->url, version);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "InvalidModelException",
                "Invalid model version \"%V\" in the manifest: "
                NGX_HTTP_TORCHSERVE_VERSION_RULE ", at most %d",
                version, NGX_HTTP_TORCHSERVE_VERSION_LEN - 1);
    }

    if (reg->path.len >= NGX_HTTP_TORCHSERVE_PATH_LEN) {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                "InvalidModelException", "url too long");
    }

    return NGX_DECLINED;
}


/*
 * The record, with each setting from its explicit argument, else the
 * archive's model-config.yaml, else the default.  NGX_DECLINED once it
 * is in the zone (409 if the name and version are taken, 507 if the
 * zone is full).
 */
static ngx_int_t
ngx_http_torchserve_register_record(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_register_t *reg, ngx_str_t *name, ngx_str_t *version)
{
    ngx_uint_t                       name_found;
    ngx_http_torchserve_record_t    *rec;

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                 &name_found);
    if (rec != NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);

        if (reg->remote) {
            ngx_http_torchserve_unlink_later(tmcf, reg->path.data,
                                             r->connection->log);
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: management: model \"%V\" version \"%V\" "
                      "is already registered", name, version);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_CONFLICT, NULL,
                "Model version %V is already registered for model %V",
                version, name);
    }

    rec = ngx_http_torchserve_record_add_locked(tmcf, name, version,
                                                r->connection->log);
    if (rec == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return ngx_http_torchserve_send_error(r, 507,
                "InternalServerException", "torchserve zone \"%V\" is full: "
                "raise its size with torchserve_zone",
                &tmcf->shm_zone->shm.name);
    }

    ngx_http_torchserve_strlcpy(rec->url, &reg->url, sizeof(rec->url));
    ngx_http_torchserve_strlcpy(rec->path, &reg->path, sizeof(rec->path));
    ngx_cpystrn(rec->handler, (u_char *) reg->m_handler,
                sizeof(rec->handler));
    ngx_cpystrn(rec->runtime,
                (u_char *) (reg->m_runtime ? reg->m_runtime : "python"),
                sizeof(rec->runtime));

    ngx_http_torchserve_record_settings(rec, &reg->given, &reg->defaults, 0);
    reg->workers = rec->min_workers;

    rec->options.warmup = 3;
    rec->is_default = !name_found;
    rec->downloaded = reg->remote;

    ngx_http_torchserve_registry_changed_locked(tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "torchserve: model \"%V\" version \"%V\" registered from "
                  "\"%V\" with %ui initial workers", name, version,
                  &reg->url, reg->workers);

    ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

    return NGX_DECLINED;
}


static void
ngx_http_torchserve_register_finish(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_str_t                         name, version;
    ngx_uint_t                        name_found, workers;
    u_char                            msg[NGX_MAX_ERROR_STR];
    ngx_http_torchserve_register_t   *reg;
    ngx_http_torchserve_model_t      *m;
    ngx_http_torchserve_main_conf_t  *tmcf;

    r->write_event_handler = ngx_http_request_empty_handler;

    reg = ngx_http_get_module_ctx(r, ngx_http_torchserve_module);
    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    rc = ngx_http_torchserve_register_refused(r, reg);

    if (rc == NGX_DECLINED) {
        rc = ngx_http_torchserve_register_names(r, reg, &name, &version);
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_torchserve_register_record(r, tmcf, reg, &name,
                                                 &version);
    }

    if (rc != NGX_DECLINED) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    workers = reg->workers;

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
