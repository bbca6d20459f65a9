/*
 * ngx_http_torchserve_params.c: a model's numeric parameters and the
 * rules for names and versions, in one place for nginx.conf, the
 * Management API, model-config.yaml and the state file; and the split
 * of a request path into the names its routes take.
 *
 * Each parameter has one range, in TorchServe's unit (ms for
 * max_batch_delay, s for response_timeout).  The API and
 * model-config.yaml give bare numbers in that unit, as TorchServe does;
 * nginx.conf gives times in nginx's syntax and must name the unit
 * (a bare "50" would be 50 seconds to nginx, 50 ms to a TorchServe
 * user).
 */

#include "ngx_http_torchserve_module.h"


const ngx_http_torchserve_param_t  ngx_http_torchserve_params[] = {

    /* NGX_HTTP_TORCHSERVE_P_BATCH_SIZE */
    { "batch_size", NGX_HTTP_TORCHSERVE_COUNT, 1, 1024 },

    /* NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY: up to an hour */
    { "max_batch_delay", NGX_HTTP_TORCHSERVE_MSEC, 0, 3600 * 1000 },

    /* NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT: up to a week */
    { "response_timeout", NGX_HTTP_TORCHSERVE_SEC, 1, 7 * 86400 },

    /* NGX_HTTP_TORCHSERVE_P_STARTUP_TIMEOUT */
    { "startup_timeout", NGX_HTTP_TORCHSERVE_SEC, 1, 7 * 86400 },

    /* NGX_HTTP_TORCHSERVE_P_JOB_QUEUE_SIZE */
    { "job_queue_size", NGX_HTTP_TORCHSERVE_COUNT, 1, 1000000 },

    /* NGX_HTTP_TORCHSERVE_P_WORKERS: batches in flight per process */
    { "workers", NGX_HTTP_TORCHSERVE_COUNT, 0,
      NGX_HTTP_TORCHSERVE_MAX_WORKERS },

    /* NGX_HTTP_TORCHSERVE_P_WARMUP */
    { "warmup", NGX_HTTP_TORCHSERVE_COUNT, 0, 1000 },
};


static const char *
ngx_http_torchserve_param_unit(const ngx_http_torchserve_param_t *p)
{
    switch (p->unit) {
    case NGX_HTTP_TORCHSERVE_MSEC:
        return "milliseconds";
    case NGX_HTTP_TORCHSERVE_SEC:
        return "seconds";
    default:
        return "a whole number";
    }
}


/* "a whole number, 1 to 1024": what a refusal tells */
u_char *
ngx_http_torchserve_param_expected(const ngx_http_torchserve_param_t *p,
    u_char *buf, size_t len)
{
    return ngx_snprintf(buf, len, "%s, %ui to %ui",
                        ngx_http_torchserve_param_unit(p), p->min, p->max);
}


ngx_int_t
ngx_http_torchserve_param_check(const ngx_http_torchserve_param_t *p,
    int64_t value)
{
    if (value < (int64_t) p->min || value > (int64_t) p->max) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the API's spelling: a bare whole number in TorchServe's unit */
ngx_int_t
ngx_http_torchserve_param_number(const ngx_http_torchserve_param_t *p,
    ngx_str_t *value, ngx_uint_t *out)
{
    ngx_int_t  n;

    /* ngx_atoi refuses signs and overflow: no wrap-around past here */
    n = ngx_atoi(value->data, value->len);

    if (n == NGX_ERROR || ngx_http_torchserve_param_check(p, n) != NGX_OK) {
        return NGX_ERROR;
    }

    *out = (ngx_uint_t) n;
    return NGX_OK;
}


/*
 * nginx.conf's spelling: counts bare, times with a unit ("50ms", "2s"),
 * converted to the parameter's TorchServe unit.  On error, err says why.
 */
ngx_int_t
ngx_http_torchserve_param_conf(const ngx_http_torchserve_param_t *p,
    ngx_str_t *value, ngx_uint_t *out, u_char *err, size_t len)
{
    u_char     expect[128], *last;
    ngx_int_t  n;

    last = ngx_http_torchserve_param_expected(p, expect, sizeof(expect) - 1);
    *last = '\0';

    if (p->unit == NGX_HTTP_TORCHSERVE_COUNT) {
        if (ngx_http_torchserve_param_number(p, value, out) != NGX_OK) {
            ngx_snprintf(err, len, "%s=%V: %s%Z", p->name, value, expect);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (value->len == 0 || isdigit(value->data[value->len - 1])) {
        ngx_snprintf(err, len, "%s=%V needs a unit, as nginx times do: %s%Z",
                     p->name, value,
                     p->unit == NGX_HTTP_TORCHSERVE_MSEC
                     ? "50ms, 1s (a bare number is seconds to nginx, "
                       "milliseconds to TorchServe)"
                     : "120s, 2m");
        return NGX_ERROR;
    }

    n = ngx_parse_time(value, p->unit == NGX_HTTP_TORCHSERVE_SEC);

    if (n == NGX_ERROR || ngx_http_torchserve_param_check(p, n) != NGX_OK) {
        ngx_snprintf(err, len, "%s=%V: %s%s%Z", p->name, value, expect,
                     p->unit == NGX_HTTP_TORCHSERVE_SEC
                     ? ", whole seconds (120s, 2m)" : " (50ms, 1s)");
        return NGX_ERROR;
    }

    *out = (ngx_uint_t) n;
    return NGX_OK;
}


/*
 * torch-model-archiver's rule for model names: they go into URLs, JSON
 * and file names.
 */
ngx_int_t
ngx_http_torchserve_valid_name(u_char *name, size_t len)
{
    size_t  i;

    if (len == 0 || len >= NGX_HTTP_TORCHSERVE_NAME_LEN) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!(isalnum(name[i])
              || (i > 0 && (name[i] == '_' || name[i] == '-'
                            || name[i] == '.'))))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A version is one path segment of /models/{m}/{v} and
 * /predictions/{m}/{v}: no "/", no "." or ".." (nginx merges those),
 * and not "all" (describe's every-version route).
 */
ngx_int_t
ngx_http_torchserve_valid_version(u_char *version, size_t len)
{
    size_t  i;

    if (len == 0 || len >= NGX_HTTP_TORCHSERVE_VERSION_LEN
        || (len == 3 && ngx_strncmp(version, "all", 3) == 0))
    {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        if (!(isalnum(version[i])
              || (i > 0 && (version[i] == '_' || version[i] == '-'
                            || version[i] == '.' || version[i] == '+'))))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* "adaptive" or "delay" (nginx.conf, the API) */
ngx_int_t
ngx_http_torchserve_batch_policy(ngx_str_t *value, ngx_uint_t *out)
{
    if (value->len == 8 && ngx_strncmp(value->data, "adaptive", 8) == 0) {
        *out = NGX_HTTP_TORCHSERVE_BATCH_ADAPTIVE;
        return NGX_OK;
    }

    if (value->len == 5 && ngx_strncmp(value->data, "delay", 5) == 0) {
        *out = NGX_HTTP_TORCHSERVE_BATCH_DELAY;
        return NGX_OK;
    }

    return NGX_ERROR;
}


const char *
ngx_http_torchserve_batch_policy_name(ngx_uint_t policy)
{
    return policy == NGX_HTTP_TORCHSERVE_BATCH_DELAY ? "delay" : "adaptive";
}


/*
 * The path split on "/", a trailing slash ignored, as TorchServe routes;
 * returns the number of segments (up to max are stored).
 */
ngx_uint_t
ngx_http_torchserve_split_path(ngx_str_t *uri, ngx_str_t *segs,
    ngx_uint_t max)
{
    u_char      *p, *last, *start;
    ngx_uint_t   n;

    p = uri->data;
    last = uri->data + uri->len;
    n = 0;

    while (p < last) {
        while (p < last && *p == '/') {
            p++;
        }

        if (p == last) {
            break;
        }

        start = p;

        while (p < last && *p != '/') {
            p++;
        }

        if (n < max) {
            segs[n].data = start;
            segs[n].len = p - start;
        }

        n++;
    }

    return n;
}
