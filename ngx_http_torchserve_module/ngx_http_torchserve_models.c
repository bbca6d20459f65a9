/*
 * ngx_http_torchserve_models.c: the models nginx.conf declares.
 *
 * `nginx -t` opens each archive (manifest and entry names only, no
 * weights) and refuses what could not be served.  Each worker process
 * loads its own copy in init_process: libtorch does nothing in the master
 * (OpenMP and CUDA are not fork-safe).
 */

#include "ngx_http_torchserve_module.h"
#include "ts_model_config.h"


#define NGX_HTTP_TORCHSERVE_DEFAULT_WARMUP  3

/* a failed load is tried again after 1 s, then 2 s, 4 s ... up to 60 s */
#define NGX_HTTP_TORCHSERVE_RETRY_MIN       1000
#define NGX_HTTP_TORCHSERVE_RETRY_MAX       60000


static char *
ngx_http_torchserve_parse_shape(ngx_conf_t *cf, ngx_str_t *value,
    ts_load_options_t *options)
{
    u_char     *p, *last, *start;
    ngx_int_t   n;
    int         ndim;

    p = value->data;
    last = value->data + value->len;
    ndim = 0;

    while (p < last) {
        start = p;

        while (p < last && *p != ',' && *p != 'x') {
            p++;
        }

        n = ngx_atoi(start, p - start);

        if (n <= 0 || ndim == TS_MAX_DIMS - 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid input_shape \"%V\": positive sizes "
                               "separated by \",\", at most %d of them",
                               value, TS_MAX_DIMS - 1);
            return NGX_CONF_ERROR;
        }

        options->input_shape[ndim++] = n;

        if (p < last) {
            p++;
        }
    }

    options->input_ndim = ndim;

    return NGX_CONF_OK;
}


/* the numeric parameters of torchserve_model, and where each goes */
static const struct {
    ngx_str_t    key;
    ngx_uint_t   param;
} ngx_http_torchserve_model_numbers[] = {
    { ngx_string("workers="), NGX_HTTP_TORCHSERVE_P_WORKERS },
    { ngx_string("batch_size="), NGX_HTTP_TORCHSERVE_P_BATCH_SIZE },
    { ngx_string("max_batch_delay="), NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY },
    { ngx_string("response_timeout="),
      NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT },
    { ngx_string("job_queue_size="), NGX_HTTP_TORCHSERVE_P_JOB_QUEUE_SIZE },
    { ngx_string("warmup="), NGX_HTTP_TORCHSERVE_P_WARMUP },
    { ngx_null_string, 0 }
};


/* NGX_DECLINED: arg is no numeric parameter; NGX_ERROR: said why */
static ngx_int_t
ngx_http_torchserve_model_number(ngx_conf_t *cf,
    ngx_http_torchserve_conf_model_t *m, ngx_str_t *arg)
{
    u_char       err[256];
    ngx_str_t    v;
    ngx_uint_t   i, n;

    for (i = 0; ngx_http_torchserve_model_numbers[i].key.len; i++) {
        if (arg->len >= ngx_http_torchserve_model_numbers[i].key.len
            && ngx_strncmp(arg->data,
                           ngx_http_torchserve_model_numbers[i].key.data,
                           ngx_http_torchserve_model_numbers[i].key.len)
               == 0)
        {
            break;
        }
    }

    if (ngx_http_torchserve_model_numbers[i].key.len == 0) {
        return NGX_DECLINED;
    }

    v.data = arg->data + ngx_http_torchserve_model_numbers[i].key.len;
    v.len = arg->len - ngx_http_torchserve_model_numbers[i].key.len;

    if (ngx_http_torchserve_param_conf(
            ngx_http_torchserve_param(
                ngx_http_torchserve_model_numbers[i].param),
            &v, &n, err, sizeof(err))
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter of model \"%V\": %s",
                           &m->name, err);
        return NGX_ERROR;
    }

    switch (ngx_http_torchserve_model_numbers[i].param) {
    case NGX_HTTP_TORCHSERVE_P_WORKERS:
        m->workers = n;
        break;
    case NGX_HTTP_TORCHSERVE_P_BATCH_SIZE:
        m->batch_size = n;
        break;
    case NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY:
        m->max_batch_delay = n;
        break;
    case NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT:
        m->response_timeout = n;
        break;
    case NGX_HTTP_TORCHSERVE_P_JOB_QUEUE_SIZE:
        m->job_queue_size = n;
        break;
    default: /* NGX_HTTP_TORCHSERVE_P_WARMUP */
        m->options.warmup = (int) n;
        break;
    }

    return NGX_OK;
}


/*
 * torchserve_model NAME ARCHIVE [version=V] [handler=H] [workers=N]
 *     [device=D] [warmup=N] [input_shape=A,B,..] [input_dtype=T]
 *     [batch_size=N] [max_batch_delay=T] [job_queue_size=N]
 *     [response_timeout=T];
 */
char *
ngx_http_torchserve_model_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_torchserve_main_conf_t *tmcf = conf;

    ngx_str_t                         *value, v;
    ngx_uint_t                         i;
    ngx_http_torchserve_conf_model_t  *m;

    value = cf->args->elts;

    m = ngx_array_push(&tmcf->models);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(m, sizeof(ngx_http_torchserve_conf_model_t));

    m->name = value[1];
    m->archive = value[2];
    m->workers = NGX_CONF_UNSET_UINT;
    m->options.warmup = NGX_HTTP_TORCHSERVE_DEFAULT_WARMUP;
    m->options.input_ndim = -1;
    m->options.input_dtype = -1;
    m->batch_size = -1;
    m->max_batch_delay = -1;
    m->job_queue_size = -1;
    m->response_timeout = -1;
    m->conf_file = cf->conf_file->file.name;
    m->conf_line = cf->conf_file->line;

    if (ngx_http_torchserve_valid_name(m->name.data, m->name.len)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid model name \"%V\": "
                           NGX_HTTP_TORCHSERVE_NAME_RULE ", at most %d",
                           &m->name, NGX_HTTP_TORCHSERVE_NAME_LEN - 1);
        return NGX_CONF_ERROR;
    }

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "version=", 8) == 0) {
            m->version.data = value[i].data + 8;
            m->version.len = value[i].len - 8;
            if (ngx_http_torchserve_valid_version(m->version.data,
                                                  m->version.len)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid version \"%V\" of model \"%V\": "
                                   NGX_HTTP_TORCHSERVE_VERSION_RULE,
                                   &m->version, &m->name);
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "handler=", 8) == 0) {
            m->handler.data = value[i].data + 8;
            m->handler.len = value[i].len - 8;
            if (m->handler.len == 0) {
                goto invalid;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "device=", 7) == 0) {
            m->device.data = value[i].data + 7;
            m->device.len = value[i].len - 7;

            if (!(ngx_strncmp(m->device.data, "cpu", m->device.len) == 0
                  && m->device.len == 3)
                && !(m->device.len >= 4
                     && ngx_strncmp(m->device.data, "cuda", 4) == 0
                     && (m->device.len == 4
                         || (m->device.data[4] == ':'
                             && ngx_atoi(m->device.data + 5,
                                         m->device.len - 5)
                                >= 0))))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid device \"%V\": use cpu, cuda "
                                   "or cuda:N", &m->device);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        switch (ngx_http_torchserve_model_number(cf, m, &value[i])) {
        case NGX_OK:
            continue;
        case NGX_ERROR:
            return NGX_CONF_ERROR;
        default: /* NGX_DECLINED: not a numeric parameter */
            break;
        }

        if (ngx_strncmp(value[i].data, "input_shape=", 12) == 0) {
            v.data = value[i].data + 12;
            v.len = value[i].len - 12;
            if (v.len == 0) {
                goto invalid;
            }
            if (ngx_http_torchserve_parse_shape(cf, &v, &m->options)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }
            continue;
        }

        if (ngx_strncmp(value[i].data, "input_dtype=", 12) == 0) {
            v.len = value[i].len - 12;
            v.data = ngx_pnalloc(cf->pool, v.len + 1);
            if (v.data == NULL) {
                return NGX_CONF_ERROR;
            }
            ngx_cpystrn(v.data, value[i].data + 12, v.len + 1);

            m->options.input_dtype = ts_dtype_from_name((char *) v.data);
            if (m->options.input_dtype < 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid input_dtype \"%V\": float32, "
                                   "float64, float16, int64, int32, int16, "
                                   "int8, uint8 or bool", &v);
                return NGX_CONF_ERROR;
            }
            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\" of model \"%V\"",
                       &value[i], &m->name);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_torchserve_resolve_path(ngx_conf_t *cf,
    ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_conf_model_t *m)
{
    u_char  *p;

    if (m->archive.data[0] == '/' || tmcf->model_store.len == 0) {
        m->path = m->archive;
        if (ngx_conf_full_name(cf->cycle, &m->path, 0) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        m->path.len = tmcf->model_store.len + 1 + m->archive.len;
        m->path.data = ngx_pnalloc(cf->pool, m->path.len + 1);
        if (m->path.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(m->path.data, tmcf->model_store.data,
                       tmcf->model_store.len);
        *p++ = '/';
        ngx_memcpy(p, m->archive.data, m->archive.len);
    }

    /* NUL-terminated for the runtime */
    p = ngx_pnalloc(cf->pool, m->path.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(p, m->path.data, m->path.len + 1);
    m->path.data = p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_torchserve_str_set(ngx_pool_t *pool, ngx_str_t *dst, const char *s)
{
    dst->len = ngx_strlen(s);
    dst->data = ngx_pnalloc(pool, dst->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(dst->data, (u_char *) s, dst->len + 1);
    return NGX_OK;
}


/* the handler name as a C string: the directive's, else the manifest's */
static const char *
ngx_http_torchserve_handler_name(ngx_pool_t *pool,
    ngx_http_torchserve_conf_model_t *m, const ts_archive_t *a)
{
    u_char  *p;

    if (m->handler.len == 0) {
        return a->manifest.handler;
    }

    p = ngx_pnalloc(pool, m->handler.len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_cpystrn(p, m->handler.data, m->handler.len + 1);
    return (const char *) p;
}


/* a number of model-config.yaml within its parameter's range */
static ngx_int_t
ngx_http_torchserve_yaml_number(ts_config_int_t *v, ngx_uint_t param,
    const char *key, ngx_int_t *dst, const char *file, char *err,
    size_t errlen)
{
    u_char                              expect[128], *last;
    const ngx_http_torchserve_param_t  *p;

    if (!v->set) {
        return NGX_OK;
    }

    p = ngx_http_torchserve_param(param);

    if (ngx_http_torchserve_param_check(p, v->value) != NGX_OK) {
        last = ngx_http_torchserve_param_expected(p, expect,
                                                  sizeof(expect) - 1);
        *last = '\0';
        snprintf(err, errlen, "%s: %s is %lld: out of range (%s)", file, key,
                 (long long) v->value, expect);
        return NGX_ERROR;
    }

    if (dst != NULL) {
        *dst = v->value;
    }

    return NGX_OK;
}


/*
 * The defaults an archive's model-config.yaml (its manifest's configFile)
 * sets; the archive may be opened without data: YAML files are read.
 */
ngx_int_t
ngx_http_torchserve_archive_defaults(const ts_archive_t *a,
    ngx_http_torchserve_defaults_t *d, char *err, size_t errlen)
{
    char                      msg[TS_ERROR_LEN];
    ts_model_config_t         cfg;
    const ts_archive_file_t  *f;

    ngx_memset(d, 0xff, offsetof(ngx_http_torchserve_defaults_t, device));
    d->device[0] = '\0';

    if (a->manifest.config_file == NULL) {
        return NGX_OK;
    }

    f = ts_archive_find(a, a->manifest.config_file);

    if (f == NULL || f->data == NULL) {
        snprintf(err, errlen, "the manifest's configFile \"%s\" is not in "
                 "the archive", a->manifest.config_file);
        return NGX_ERROR;
    }

    if (ts_model_config_parse((const char *) f->data, f->size, &cfg, msg,
                              sizeof(msg))
        != 0)
    {
        snprintf(err, errlen, "%s: %s", a->manifest.config_file, msg);
        return NGX_ERROR;
    }

    /* TorchServe takes min/max workers only as a valid pair */
    if (cfg.min_workers.set && cfg.min_workers.value > 0) {
        d->min_workers = cfg.min_workers.value;

        if (cfg.max_workers.set
            && cfg.max_workers.value >= cfg.min_workers.value)
        {
            d->max_workers = cfg.max_workers.value;
        }
    }

    /* TorchServe's units, our ranges: a value out of range is refused */
    if (ngx_http_torchserve_yaml_number(&cfg.batch_size,
            NGX_HTTP_TORCHSERVE_P_BATCH_SIZE, "batchSize", &d->batch_size,
            a->manifest.config_file, err, errlen) != NGX_OK
        || ngx_http_torchserve_yaml_number(&cfg.max_batch_delay,
               NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY, "maxBatchDelay",
               &d->max_batch_delay, a->manifest.config_file, err, errlen)
           != NGX_OK
        || ngx_http_torchserve_yaml_number(&cfg.response_timeout,
               NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT, "responseTimeout",
               &d->response_timeout, a->manifest.config_file, err, errlen)
           != NGX_OK
        || ngx_http_torchserve_yaml_number(&cfg.min_workers,
               NGX_HTTP_TORCHSERVE_P_WORKERS, "minWorkers", NULL,
               a->manifest.config_file, err, errlen) != NGX_OK
        || ngx_http_torchserve_yaml_number(&cfg.max_workers,
               NGX_HTTP_TORCHSERVE_P_WORKERS, "maxWorkers", NULL,
               a->manifest.config_file, err, errlen) != NGX_OK)
    {
        ts_model_config_clear(&cfg);
        return NGX_ERROR;
    }

    if (cfg.device_type.set && cfg.device_type.value == TS_DEVICE_GPU) {
        if (cfg.device_ids.set && cfg.device_ids.n > 0) {
            snprintf((char *) d->device, sizeof(d->device), "cuda:%d",
                     cfg.device_ids.ids[0]);
        } else {
            snprintf((char *) d->device, sizeof(d->device), "cuda");
        }
    }

    ts_model_config_clear(&cfg);

    return NGX_OK;
}


/* opens every configured archive without its weights: nginx -t and start */
ngx_int_t
ngx_http_torchserve_models_check(ngx_conf_t *cf,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    char                               err[TS_ERROR_LEN];
    ngx_uint_t                         i, j;
    ts_archive_t                      *a;
    const char                        *handler;
    ts_archive_limits_t                limits;
    ngx_http_torchserve_conf_model_t  *models, *m;

    models = tmcf->models.elts;

    ngx_memzero(&limits, sizeof(ts_archive_limits_t));
    limits.max_entry_size = tmcf->max_archive_size;
    limits.max_total_size = tmcf->max_archive_size;
    limits.with_data = 0;

    for (i = 0; i < tmcf->models.nelts; i++) {
        m = &models[i];

        if (ngx_http_torchserve_resolve_path(cf, tmcf, m) != NGX_OK) {
            return NGX_ERROR;
        }

        a = ts_archive_open((char *) m->path.data, &limits, err,
                            sizeof(err));
        if (a == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "torchserve_model \"%V\": %s in %V:%ui",
                          &m->name, err, &m->conf_file, m->conf_line);
            return NGX_ERROR;
        }

        handler = ngx_http_torchserve_handler_name(cf->pool, m, a);

        if (ts_archive_check_torchscript(a, err, sizeof(err)) != 0
            || ts_handler_find(handler, err, sizeof(err)) == NULL)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "torchserve_model \"%V\" (%V): %s in %V:%ui",
                          &m->name, &m->path, err, &m->conf_file,
                          m->conf_line);
            ts_archive_free(a);
            return NGX_ERROR;
        }

        if (ngx_http_torchserve_archive_defaults(a, &m->defaults, err,
                                                 sizeof(err))
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "torchserve_model \"%V\" (%V): %s in %V:%ui",
                          &m->name, &m->path, err, &m->conf_file,
                          m->conf_line);
            ts_archive_free(a);
            return NGX_ERROR;
        }

        /* nginx.conf's parameters override model-config.yaml */
        if (m->workers == NGX_CONF_UNSET_UINT) {
            m->workers = m->defaults.min_workers > 0
                         ? (ngx_uint_t) m->defaults.min_workers : 1;
        }

        if (m->device.len == 0 && m->defaults.device[0] != '\0') {
            m->device.data = m->defaults.device;
            m->device.len = ngx_strlen(m->defaults.device);
        }

        if (m->handler.len == 0
            && ngx_http_torchserve_str_set(cf->pool, &m->handler, handler)
               != NGX_OK)
        {
            ts_archive_free(a);
            return NGX_ERROR;
        }

        if (m->version.len == 0
            && ngx_http_torchserve_str_set(cf->pool, &m->version,
                                           a->manifest.model_version
                                           ? a->manifest.model_version
                                           : "1.0")
               != NGX_OK)
        {
            ts_archive_free(a);
            return NGX_ERROR;
        }

        if (ngx_http_torchserve_str_set(cf->pool, &m->runtime,
                                        a->manifest.runtime
                                        ? a->manifest.runtime : "python")
            != NGX_OK)
        {
            ts_archive_free(a);
            return NGX_ERROR;
        }

        ts_archive_free(a);

        if (ngx_http_torchserve_valid_version(m->version.data,
                                              m->version.len)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "torchserve_model \"%V\" (%V): the manifest's "
                          "version \"%V\" is invalid: "
                          NGX_HTTP_TORCHSERVE_VERSION_RULE " (set version=) "
                          "in %V:%ui", &m->name, &m->path, &m->version,
                          &m->conf_file, m->conf_line);
            return NGX_ERROR;
        }

        for (j = 0; j < i; j++) {
            if (models[j].name.len != m->name.len
                || ngx_strncmp(models[j].name.data, m->name.data,
                               m->name.len) != 0)
            {
                continue;
            }

            if (models[j].version.len == m->version.len
                && ngx_strncmp(models[j].version.data, m->version.data,
                               m->version.len) == 0)
            {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "torchserve_model \"%V\" version \"%V\" is "
                              "duplicate in %V:%ui", &m->name, &m->version,
                              &m->conf_file, m->conf_line);
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}




/* --- this worker process's table, reconciled with the registry ---------- */


typedef struct {
    ngx_http_torchserve_main_conf_t  *tmcf;
    ngx_http_torchserve_model_t      *model;
    ts_servable_t                    *servable;
    size_t                            max_archive_size;
    uint64_t                          memory;
    char                              err[TS_ERROR_LEN];
} ngx_http_torchserve_load_t;


static void ngx_http_torchserve_model_load(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m,
    ngx_uint_t at_start);
static void ngx_http_torchserve_load_failed(ngx_http_torchserve_model_t *m,
    const char *err);
static void ngx_http_torchserve_load_thread(void *data, ngx_log_t *log);
static uint64_t ngx_http_torchserve_private_memory(void);
static void ngx_http_torchserve_load_done(ngx_event_t *ev);
static void ngx_http_torchserve_load_finish(ngx_http_torchserve_load_t *ld);
static void ngx_http_torchserve_model_idle(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m);


static ngx_int_t
ngx_http_torchserve_copy_str(ngx_pool_t *pool, ngx_str_t *dst, u_char *src)
{
    dst->len = ngx_strlen(src);
    dst->data = ngx_pnalloc(pool, dst->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, dst->len + 1);
    return NGX_OK;
}


static ngx_http_torchserve_model_t *
ngx_http_torchserve_model_create(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_record_t *rec, ngx_log_t *log)
{
    ngx_pool_t                   *pool;
    ngx_http_torchserve_model_t  *m;

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return NULL;
    }

    m = ngx_pcalloc(pool, sizeof(ngx_http_torchserve_model_t));
    if (m == NULL
        || ngx_http_torchserve_copy_str(pool, &m->name, rec->name) != NGX_OK
        || ngx_http_torchserve_copy_str(pool, &m->version, rec->version)
           != NGX_OK
        || ngx_http_torchserve_copy_str(pool, &m->path, rec->path) != NGX_OK
        || ngx_http_torchserve_copy_str(pool, &m->handler, rec->handler)
           != NGX_OK
        || ngx_http_torchserve_copy_str(pool, &m->device, rec->device)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NULL;
    }

    m->pool = pool;
    m->tmcf = tmcf;
    m->id = rec->id;
    m->batch_size = rec->batch_size;
    m->max_batch_delay = rec->max_batch_delay;
    m->job_queue_size = rec->job_queue_size;
    m->response_timeout = rec->response_timeout * 1000;
    ngx_http_torchserve_batch_init(m);
    m->options = rec->options;
    m->options.device = NULL;
    m->workers = rec->min_workers;
    m->scale_seq = rec->scale_seq;
    m->is_default = rec->is_default;
    m->status = NGX_HTTP_TORCHSERVE_UNLOADED;
    ngx_queue_init(&m->waiters);

    ngx_queue_insert_tail(&tmcf->local, &m->queue);

    return m;
}


static void
ngx_http_torchserve_model_destroy(ngx_http_torchserve_model_t *m)
{
    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "torchserve: model \"%V\" version \"%V\" freed",
                  &m->name, &m->version);

    if (m->batch_timer.timer_set) {
        ngx_del_timer(&m->batch_timer);
    }

    ngx_queue_remove(&m->queue);

    if (m->servable != NULL) {
        ts_servable_free(m->servable);
    }

    ngx_destroy_pool(m->pool);
}


/*
 * Brings this process's table to the registry's generation: new records
 * are loaded (in the thread pool; synchronously while the process
 * starts, so that no request sees a half-loaded model), removed ones are
 * dropped once their requests are done, scale changes applied.
 */
void
ngx_http_torchserve_models_sync(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_uint_t at_start)
{
    size_t                         n, i;
    ngx_uint_t                     generation, found;
    ngx_queue_t                   *q, *next;
    ngx_http_torchserve_model_t   *m;
    ngx_http_torchserve_record_t  *snap, *rec;

    if (tmcf->sh == NULL) {
        return;
    }

    generation = tmcf->sh->generation;

    if (generation == tmcf->local_generation) {
        return;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    n = 0;
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        n++;
    }

    snap = ngx_alloc((n + 1) * sizeof(ngx_http_torchserve_record_t),
                     cycle->log);
    if (snap == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return;
    }

    i = 0;
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);
        ngx_memcpy(&snap[i++], rec, sizeof(ngx_http_torchserve_record_t));
    }

    generation = tmcf->sh->generation;

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    tmcf->local_generation = generation;

    /* gone from the registry */
    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = next)
    {
        next = ngx_queue_next(q);
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        if (m->removed) {
            continue;
        }

        found = 0;
        for (i = 0; i < n; i++) {
            if (snap[i].id == m->id) {
                found = 1;
                break;
            }
        }

        if (!found) {
            m->removed = 1;
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "torchserve: model \"%V\" version \"%V\" "
                          "unregistered", &m->name, &m->version);
            ngx_http_torchserve_wake_waiters(m);
            ngx_http_torchserve_model_idle(tmcf, m);
        }
    }

    for (i = 0; i < n; i++) {
        rec = &snap[i];
        m = ngx_http_torchserve_model_by_id(tmcf, rec->id);

        if (m == NULL) {
            m = ngx_http_torchserve_model_create(tmcf, rec, cycle->log);
            if (m == NULL) {
                continue;
            }

            if (m->workers > 0) {
                ngx_http_torchserve_model_load(tmcf, m, at_start);
            } else {
                ngx_http_torchserve_set_proc_status(tmcf, m);
            }

            continue;
        }

        m->is_default = rec->is_default;
        m->batch_size = rec->batch_size;
        m->max_batch_delay = rec->max_batch_delay;
        m->job_queue_size = rec->job_queue_size;
        m->response_timeout = rec->response_timeout * 1000;

        /* a scale request, even to the same count, retries a failure */
        if (m->workers == rec->min_workers && m->scale_seq == rec->scale_seq)
        {
            continue;
        }

        m->workers = rec->min_workers;
        m->scale_seq = rec->scale_seq;

        if (m->workers > 0
            && (m->status == NGX_HTTP_TORCHSERVE_UNLOADED
                || m->status == NGX_HTTP_TORCHSERVE_FAILED))
        {
            ngx_http_torchserve_model_load(tmcf, m, at_start);

        } else if (m->workers == 0) {
            ngx_http_torchserve_model_idle(tmcf, m);
            ngx_http_torchserve_wake_waiters(m);
        }
    }

    ngx_free(snap);
}


/* unloads or frees what is no longer wanted, once nothing uses it */
static void
ngx_http_torchserve_model_idle(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m)
{
    if (m->inflight > 0 || m->status == NGX_HTTP_TORCHSERVE_LOADING) {
        return;
    }

    if (m->removed) {
        ngx_http_torchserve_model_destroy(m);
        return;
    }

    if (m->workers == 0 && m->servable != NULL) {
        ts_servable_free(m->servable);
        m->servable = NULL;
        m->status = NGX_HTTP_TORCHSERVE_UNLOADED;

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\" unloaded "
                      "(0 workers)", &m->name, &m->version);

        ngx_http_torchserve_set_proc_status(tmcf, m);
    }
}


void
ngx_http_torchserve_model_release(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m)
{
    m->inflight--;
    ngx_http_torchserve_model_idle(tmcf, m);
}


/* FAILED, and when the reconcile loop tries again: 1 s, doubling to 60 s */
static void
ngx_http_torchserve_load_failed(ngx_http_torchserve_model_t *m,
    const char *err)
{
    m->status = NGX_HTTP_TORCHSERVE_FAILED;
    ngx_cpystrn(m->load_error, (u_char *) err, TS_ERROR_LEN);

    m->retry_delay = m->retry_delay
                     ? ngx_min(m->retry_delay * 2,
                               NGX_HTTP_TORCHSERVE_RETRY_MAX)
                     : NGX_HTTP_TORCHSERVE_RETRY_MIN;
    m->retry_at = ngx_current_msec + m->retry_delay;

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "torchserve: model \"%V\" version \"%V\" from \"%V\" "
                  "failed to load: %s; retrying in %M ms", &m->name,
                  &m->version, &m->path, err, m->retry_delay);
}


/* the reconcile loop: failed loads of wanted models are tried again */
void
ngx_http_torchserve_models_retry(ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        if (m->removed || m->workers == 0
            || m->status != NGX_HTTP_TORCHSERVE_FAILED
            || (ngx_msec_int_t) (ngx_current_msec - m->retry_at) < 0)
        {
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\": retrying "
                      "its load, %M ms after it failed", &m->name,
                      &m->version, m->retry_delay);

        ngx_http_torchserve_model_load(tmcf, m, 0);
    }
}


static void
ngx_http_torchserve_model_load(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m, ngx_uint_t at_start)
{
    ngx_thread_task_t           *task;
    ngx_http_torchserve_load_t  *ld;

    /* heap: the load may outlive the request that asked for it */
    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_torchserve_load_t), ngx_cycle->log);
    if (task == NULL) {
        return;
    }

    ld = (ngx_http_torchserve_load_t *) (task + 1);
    task->ctx = ld;

    ld->tmcf = tmcf;
    ld->model = m;
    ld->max_archive_size = tmcf->max_archive_size;

    m->status = NGX_HTTP_TORCHSERVE_LOADING;

    if (at_start) {
        ngx_http_torchserve_load_thread(ld, ngx_cycle->log);
        ngx_http_torchserve_load_finish(ld);
        ngx_free(task);
        return;
    }

    task->handler = ngx_http_torchserve_load_thread;
    task->event.handler = ngx_http_torchserve_load_done;
    task->event.data = task;

    if (ngx_thread_task_post(tmcf->thread_pool, task) != NGX_OK) {
        ngx_http_torchserve_load_failed(m,
                                   "the thread pool refused the load task");
        ngx_http_torchserve_set_proc_status(tmcf, m);
        ngx_http_torchserve_wake_waiters(m);
        ngx_free(task);
    }
}


/* in a pool thread (or in init_process): no nginx state touched */
static void
ngx_http_torchserve_load_thread(void *data, ngx_log_t *log)
{
    ngx_http_torchserve_load_t *ld = data;

    ts_archive_t                 *a;
    const ts_handler_t           *handler;
    ts_load_options_t             options;
    ts_archive_limits_t           limits;
    ngx_http_torchserve_model_t  *m;

    m = ld->model;

    ngx_memzero(&limits, sizeof(ts_archive_limits_t));
    limits.max_entry_size = ld->max_archive_size;
    limits.max_total_size = ld->max_archive_size;
    limits.with_data = 1;

    a = ts_archive_open((char *) m->path.data, &limits, ld->err,
                        sizeof(ld->err));
    if (a == NULL) {
        return;
    }

    handler = ts_handler_find((char *) m->handler.data, ld->err,
                              sizeof(ld->err));
    if (handler != NULL) {
        options = m->options;
        options.device = m->device.len ? (char *) m->device.data : NULL;

        ld->servable = ts_servable_load(a, handler, &options, ld->err,
                                        sizeof(ld->err));
    }

    ts_archive_free(a);

    ld->memory = ngx_http_torchserve_private_memory();
}


/*
 * The process's private memory (USS) in bytes: RSS would count the
 * libtorch pages every worker shares with the master.
 */
static uint64_t
ngx_http_torchserve_private_memory(void)
{
    FILE                *f;
    char                 line[256];
    unsigned long long   kb, total;

    f = fopen("/proc/self/smaps_rollup", "r");
    if (f == NULL) {
        return 0;
    }

    total = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Private_Clean: %llu kB", &kb) == 1
            || sscanf(line, "Private_Dirty: %llu kB", &kb) == 1)
        {
            total += kb;
        }
    }

    fclose(f);

    return (uint64_t) total * 1024;
}


static void
ngx_http_torchserve_load_done(ngx_event_t *ev)
{
    ngx_thread_task_t  *task = ev->data;

    ngx_http_torchserve_load_finish(task->ctx);
    ngx_free(task);
}


static void
ngx_http_torchserve_load_finish(ngx_http_torchserve_load_t *ld)
{
    ngx_http_torchserve_model_t  *m;

    m = ld->model;

    if (ld->servable == NULL) {
        ngx_http_torchserve_load_failed(m, ld->err);

    } else {
        m->servable = ld->servable;
        m->status = NGX_HTTP_TORCHSERVE_READY;
        m->retry_delay = 0;

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\" loaded from "
                      "\"%V\" on %s, handler \"%V\"", &m->name, &m->version,
                      &m->path, ts_model_device(m->servable->model),
                      &m->handler);
    }

    m->memory = ld->memory;

    if (!m->removed) {
        ngx_http_torchserve_set_proc_status(ld->tmcf, m);
    }

    ngx_http_torchserve_wake_waiters(m);

    /* removed or scaled to 0 while it loaded */
    ngx_http_torchserve_model_idle(ld->tmcf, m);
}


void
ngx_http_torchserve_models_unload(ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    if (tmcf->local.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&tmcf->local)) {
        q = ngx_queue_head(&tmcf->local);
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        /*
         * nginx waits for its pool threads at exit, unless the pool's
         * queue was full then: a thread may still run this model's batch
         * or load, so it is left to the process's exit
         */
        if (m->batches > 0 || m->status == NGX_HTTP_TORCHSERVE_LOADING) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "torchserve: model \"%V\" version \"%V\" is "
                          "still in use by a thread at exit: not freed",
                          &m->name, &m->version);
            ngx_queue_remove(&m->queue);
            continue;
        }

        ngx_http_torchserve_model_destroy(m);
    }
}


/*
 * name and, if given, version; without a version the default one.
 * *name_found tells a missing name (404 model) from a missing version.
 */
/* this process's live copy of registry record id, or NULL */
ngx_http_torchserve_model_t *
ngx_http_torchserve_model_by_id(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t id)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        if (m->id == id && !m->removed) {
            return m;
        }
    }

    return NULL;
}


ngx_http_torchserve_model_t *
ngx_http_torchserve_model_find(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_str_t *name, ngx_str_t *version, ngx_uint_t *name_found)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    *name_found = 0;

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        if (m->removed
            || m->name.len != name->len
            || ngx_strncmp(m->name.data, name->data, name->len) != 0)
        {
            continue;
        }

        *name_found = 1;

        if (version->len == 0) {
            if (m->is_default) {
                return m;
            }
            continue;
        }

        if (m->version.len == version->len
            && ngx_strncmp(m->version.data, version->data, version->len) == 0)
        {
            return m;
        }
    }

    return NULL;
}
