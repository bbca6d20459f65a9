/*
 * ngx_http_torchserve_model_conf.c: the models nginx.conf declares
 * (torchserve_model), and what an archive's model-config.yaml sets.
 *
 * `nginx -t` opens each archive (manifest and entry names only, no
 * weights) and refuses what could not be served.  Each worker process
 * loads its own copy later (_models.c): libtorch does nothing in the
 * master (OpenMP and CUDA are not fork-safe).
 */

#include "ngx_http_torchserve_module.h"
#include "ts_model_config.h"


#define NGX_HTTP_TORCHSERVE_DEFAULT_WARMUP  3


static ngx_uint_t ngx_http_torchserve_str_eq(ngx_str_t *a, ngx_str_t *b);
static ngx_int_t ngx_http_torchserve_model_check(ngx_conf_t *cf,
    ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_conf_model_t *m);


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
        m->given.min_workers = n;
        break;
    case NGX_HTTP_TORCHSERVE_P_BATCH_SIZE:
        m->given.batch_size = n;
        break;
    case NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY:
        m->given.max_batch_delay = n;
        break;
    case NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT:
        m->given.response_timeout = n;
        break;
    case NGX_HTTP_TORCHSERVE_P_JOB_QUEUE_SIZE:
        m->given.job_queue_size = n;
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
 *     [batch_size=N] [max_batch_delay=T] [batch_policy=adaptive|delay]
 *     [job_queue_size=N]
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
    ngx_http_torchserve_settings_init(&m->given);
    ngx_http_torchserve_settings_init(&m->defaults);
    m->options.warmup = NGX_HTTP_TORCHSERVE_DEFAULT_WARMUP;
    m->options.input_ndim = -1;
    m->options.input_dtype = -1;
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
            v.data = value[i].data + 7;
            v.len = value[i].len - 7;

            if (!ts_device_valid((char *) v.data, v.len)
                || v.len >= sizeof(m->given.device))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid device \"%V\": " TS_DEVICE_RULE,
                                   &v);
                return NGX_CONF_ERROR;
            }

            ngx_cpystrn(m->given.device, v.data, v.len + 1);
            continue;
        }

        if (ngx_strncmp(value[i].data, "batch_policy=", 13) == 0) {
            v.data = value[i].data + 13;
            v.len = value[i].len - 13;

            if (ngx_http_torchserve_batch_policy(&v, &m->given.batch_policy)
                != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid batch_policy \"%V\" of model "
                                   "\"%V\": adaptive or delay", &v, &m->name);
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
    const char *key, ngx_uint_t *dst, const char *file, char *err,
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


void
ngx_http_torchserve_settings_init(ngx_http_torchserve_settings_t *s)
{
    s->min_workers = NGX_CONF_UNSET_UINT;
    s->max_workers = NGX_CONF_UNSET_UINT;
    s->batch_size = NGX_CONF_UNSET_UINT;
    s->max_batch_delay = NGX_CONF_UNSET_UINT;
    s->batch_policy = NGX_CONF_UNSET_UINT;
    s->response_timeout = NGX_CONF_UNSET_UINT;
    s->job_queue_size = NGX_CONF_UNSET_UINT;
    s->device[0] = '\0';
}


/*
 * The defaults an archive's model-config.yaml (its manifest's configFile)
 * sets; the archive may be opened without data: YAML files are read.  A
 * key of the wrong type is ignored with a warning, as TorchServe does.
 */
ngx_int_t
ngx_http_torchserve_archive_defaults(const ts_archive_t *a,
    ngx_http_torchserve_settings_t *d, ngx_log_t *log, char *err,
    size_t errlen)
{
    char                      msg[TS_ERROR_LEN];
    size_t                    i;
    ts_model_config_t         cfg;
    const ts_archive_file_t  *f;

    ngx_http_torchserve_settings_init(d);

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

    for (i = 0; i < cfg.nwarnings; i++) {
        ngx_log_error(NGX_LOG_WARN, log, 0, "torchserve: \"%s\": %s: %s",
                      a->path, a->manifest.config_file, cfg.warnings[i]);
    }

    for (i = 0; i < cfg.nignored; i++) {
        ngx_log_debug3(NGX_LOG_DEBUG_CORE, log, 0,
                       "torchserve: \"%s\": %s: %s", a->path,
                       a->manifest.config_file, cfg.ignored[i]);
    }

    /* 0 is TorchServe's "not set": the server's default applies */
    if (cfg.job_queue_size.set && cfg.job_queue_size.value == 0) {
        cfg.job_queue_size.set = 0;
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
               a->manifest.config_file, err, errlen) != NGX_OK
        || ngx_http_torchserve_yaml_number(&cfg.job_queue_size,
               NGX_HTTP_TORCHSERVE_P_JOB_QUEUE_SIZE, "jobQueueSize",
               &d->job_queue_size, a->manifest.config_file, err, errlen)
           != NGX_OK)
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
    ngx_uint_t                         i, j;
    ngx_http_torchserve_conf_model_t  *models, *m;

    models = tmcf->models.elts;

    for (i = 0; i < tmcf->models.nelts; i++) {
        m = &models[i];

        if (ngx_http_torchserve_resolve_path(cf, tmcf, m) != NGX_OK
            || ngx_http_torchserve_model_check(cf, tmcf, m) != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (j = 0; j < i; j++) {
            if (ngx_http_torchserve_str_eq(&models[j].name, &m->name)
                && ngx_http_torchserve_str_eq(&models[j].version,
                                              &m->version))
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


/* torchserve_max_archive_size for an entry and for the whole archive */
void
ngx_http_torchserve_archive_limits(ts_archive_limits_t *limits, size_t max,
    ngx_uint_t with_data)
{
    ngx_memzero(limits, sizeof(ts_archive_limits_t));
    limits->max_entry_size = max;
    limits->max_total_size = max;
    limits->with_data = with_data ? 1 : 0;
}


static ngx_uint_t
ngx_http_torchserve_str_eq(ngx_str_t *a, ngx_str_t *b)
{
    return a->len == b->len && ngx_strncmp(a->data, b->data, a->len) == 0;
}


/*
 * One torchserve_model's archive, opened without its weights: servable
 * without Python, its handler known, its model-config.yaml in range; the
 * manifest fills what the directive leaves unset.
 */
static ngx_int_t
ngx_http_torchserve_model_check(ngx_conf_t *cf,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_conf_model_t *m)
{
    char                 err[TS_ERROR_LEN];
    ngx_int_t            rc;
    ts_archive_t        *a;
    const char          *handler;
    ts_archive_limits_t  limits;
    ts_servable_kind_e   kind;

    ngx_http_torchserve_archive_limits(&limits, tmcf->max_archive_size, 0);

    a = ts_archive_open((char *) m->path.data, &limits, err, sizeof(err));
    if (a == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "torchserve_model \"%V\": %s in %V:%ui",
                      &m->name, err, &m->conf_file, m->conf_line);
        return NGX_ERROR;
    }

    handler = ngx_http_torchserve_handler_name(cf->pool, m, a);

    if (ts_servable_check(a, handler, &kind, err, sizeof(err)) != 0
        || ngx_http_torchserve_archive_defaults(a, &m->defaults, cf->log,
                                                err, sizeof(err))
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "torchserve_model \"%V\" (%V): %s in %V:%ui",
                      &m->name, &m->path, err, &m->conf_file, m->conf_line);
        ts_archive_free(a);
        return NGX_ERROR;
    }

    rc = NGX_OK;

    if ((m->handler.len == 0
         && ngx_http_torchserve_str_set(cf->pool, &m->handler, handler)
            != NGX_OK)
        || (m->version.len == 0
            && ngx_http_torchserve_str_set(cf->pool, &m->version,
                                           a->manifest.model_version
                                           ? a->manifest.model_version
                                           : "1.0")
               != NGX_OK)
        || ngx_http_torchserve_str_set(cf->pool, &m->runtime,
                                       a->manifest.runtime
                                       ? a->manifest.runtime : "python")
           != NGX_OK)
    {
        rc = NGX_ERROR;
    }

    ts_archive_free(a);

    if (rc == NGX_OK
        && ngx_http_torchserve_valid_version(m->version.data, m->version.len)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "torchserve_model \"%V\" (%V): the manifest's "
                      "version \"%V\" is invalid: "
                      NGX_HTTP_TORCHSERVE_VERSION_RULE " (set version=) "
                      "in %V:%ui", &m->name, &m->path, &m->version,
                      &m->conf_file, m->conf_line);
        rc = NGX_ERROR;
    }

    return rc;
}
