/*
 * ngx_http_torchserve_token.c: TorchServe's token authorization, as an
 * option (torchserve_token_auth PATH [expiration=TIME]; off by default:
 * nginx's own auth modules are the usual way).
 *
 * Three keys live in the shared zone, so that every worker process sees
 * a rotation at once and a reload keeps them: the inference key (every
 * inference route but the API descriptions, /ping included), the
 * management key (every management route) and the API key, which never
 * expires and only rotates the other two (GET /token?type=...).  Each is
 * 8 characters of base64url over 6 random bytes, and they are written to
 * PATH (mode 0600, the worker processes' user's) as TorchServe's
 * key_file.json.  Keys are compared in constant time.
 */

#include <sys/random.h>

#include "ngx_http_torchserve_module.h"


#define NGX_HTTP_TORCHSERVE_AUTH_FAILED                                      \
    "Token Authorization failed. Token either incorrect, expired, or not "   \
    "provided correctly"

#define NGX_HTTP_TORCHSERVE_TOKEN_FAILED                                     \
    "Token Authentication failed. Token either incorrect, expired, or not "  \
    "provided correctly"


static ngx_int_t ngx_http_torchserve_token_new(u_char *key);
static ngx_int_t ngx_http_torchserve_token_write(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_log_t *log);
static u_char *ngx_http_torchserve_token_instant(u_char *p, uint64_t ms);
static ngx_int_t ngx_http_torchserve_bearer(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_uint_t ngx_http_torchserve_token_is(ngx_str_t *token,
    u_char *key);
static uint64_t ngx_http_torchserve_token_now(void);


/* torchserve_token_auth PATH [expiration=TIME] */
char *
ngx_http_torchserve_token_auth(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_torchserve_main_conf_t  *tmcf = conf;

    ngx_str_t   *value, s;
    ngx_msec_t   ms;

    if (tmcf->token_path.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    tmcf->token_path = value[1];

    if (ngx_conf_full_name(cf->cycle, &tmcf->token_path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    tmcf->token_expiration = 60 * 60 * 1000;   /* TorchServe's 60 minutes */

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "expiration=", 11) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": expiration=TIME",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        s.data = value[2].data + 11;
        s.len = value[2].len - 11;

        ms = ngx_parse_time(&s, 0);

        if (ms == (ngx_msec_t) NGX_ERROR || ms < 1000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid expiration \"%V\": a time of 1s or "
                               "more (60m, 1h)", &s);
            return NGX_CONF_ERROR;
        }

        tmcf->token_expiration = ms;
    }

    return NGX_CONF_OK;
}


/*
 * In the master, with the zone set up (start, reload): the keys are made
 * once, kept across reloads, and written to the key file.
 */
ngx_int_t
ngx_http_torchserve_token_init(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_log_t *log)
{
    uint64_t                     expires;
    ngx_http_torchserve_keys_t  *keys;

    if (tmcf->token_path.len == 0) {
        return NGX_OK;
    }

    keys = &tmcf->sh->keys;

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    if (!keys->made) {
        expires = ngx_http_torchserve_token_now() + tmcf->token_expiration;

        if (ngx_http_torchserve_token_new(keys->api) != NGX_OK
            || ngx_http_torchserve_token_new(keys->management) != NGX_OK
            || ngx_http_torchserve_token_new(keys->inference) != NGX_OK)
        {
            ngx_shmtx_unlock(&tmcf->shpool->mutex);
            ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                          "torchserve_token_auth: getrandom() failed");
            return NGX_ERROR;
        }

        keys->management_expires = expires;
        keys->inference_expires = expires;
        keys->made = 1;
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    /* nginx -t checks the configuration, it writes nothing */
    if (ngx_test_config) {
        return NGX_OK;
    }

    if (ngx_http_torchserve_token_write(tmcf, log) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "torchserve: token authorization on, the keys are in "
                  "\"%V\"", &tmcf->token_path);

    return NGX_OK;
}


/*
 * NGX_OK when r may go on (token authorization off, or r's bearer token
 * is the live key of its API), else the 400 TorchServe answers
 */
ngx_int_t
ngx_http_torchserve_token_check(ngx_http_request_t *r, ngx_uint_t api)
{
    u_char                            key[NGX_HTTP_TORCHSERVE_KEY_LEN];
    uint64_t                          expires;
    ngx_str_t                         token;
    ngx_http_torchserve_keys_t       *keys;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    if (tmcf->token_path.len == 0) {
        return NGX_OK;
    }

    keys = &tmcf->sh->keys;

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    if (api == NGX_HTTP_TORCHSERVE_API_INFERENCE) {
        ngx_memcpy(key, keys->inference, sizeof(key));
        expires = keys->inference_expires;

    } else {
        ngx_memcpy(key, keys->management, sizeof(key));
        expires = keys->management_expires;
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    if (ngx_http_torchserve_bearer(r, &token) == NGX_OK
        && ngx_http_torchserve_token_is(&token, key)
        && ngx_http_torchserve_token_now() < expires)
    {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "torchserve: %s request without a valid token (%s)",
                  api == NGX_HTTP_TORCHSERVE_API_INFERENCE ? "an inference"
                                                           : "a management",
                  token.len ? "wrong or expired" : "none given");

    return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                                          "InvalidKeyException",
                                          NGX_HTTP_TORCHSERVE_AUTH_FAILED);
}


/* 1 when a management request is for the token API (TorchServe: "/token") */
ngx_uint_t
ngx_http_torchserve_token_route(ngx_http_request_t *r)
{
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    return tmcf->token_path.len
           && ngx_strnstr(r->uri.data, "/token", r->uri.len) != NULL;
}


/* GET /token?type=management|inference with the API key: a new key */
ngx_int_t
ngx_http_torchserve_token_api(ngx_http_request_t *r)
{
    u_char                            api[NGX_HTTP_TORCHSERVE_KEY_LEN];
    u_char                           *key;
    uint64_t                         *expires;
    ngx_str_t                         token, type;
    ngx_http_torchserve_keys_t       *keys;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);
    keys = &tmcf->sh->keys;

    ngx_shmtx_lock(&tmcf->shpool->mutex);
    ngx_memcpy(api, keys->api, sizeof(api));
    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    if (ngx_http_torchserve_bearer(r, &token) != NGX_OK
        || !ngx_http_torchserve_token_is(&token, api))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: a token request without the API key");
        goto failed;
    }

    if (ngx_http_arg(r, (u_char *) "type", 4, &type) != NGX_OK) {
        ngx_str_null(&type);
    }

    if (type.len == 10 && ngx_strncmp(type.data, "management", 10) == 0) {
        key = keys->management;
        expires = &keys->management_expires;

    } else if (type.len == 9 && ngx_strncmp(type.data, "inference", 9) == 0) {
        key = keys->inference;
        expires = &keys->inference_expires;

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "torchserve: a token request for type \"%V\": "
                      "management or inference", &type);
        goto failed;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    if (ngx_http_torchserve_token_new(key) != NGX_OK) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "torchserve: getrandom() failed");
        goto failed;
    }

    *expires = ngx_http_torchserve_token_now() + tmcf->token_expiration;

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    /* a few hundred bytes, rarely: written here, on the event loop */
    if (ngx_http_torchserve_token_write(tmcf, r->connection->log) != NGX_OK) {
        goto failed;
    }

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "torchserve: a new %V key, in \"%V\"", &type,
                  &tmcf->token_path);

    return ngx_http_torchserve_send(r, NGX_HTTP_OK, (u_char *) "\n", 1);

failed:

    return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST,
                                          "InvalidKeyException",
                                          NGX_HTTP_TORCHSERVE_TOKEN_FAILED);
}


/* 8 characters: base64url of 6 random bytes, as TorchServe's */
static ngx_int_t
ngx_http_torchserve_token_new(u_char *key)
{
    u_char     bytes[6];
    ngx_str_t  src, dst;

    if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t) sizeof(bytes)) {
        return NGX_ERROR;
    }

    src.data = bytes;
    src.len = sizeof(bytes);
    dst.data = key;

    ngx_encode_base64url(&dst, &src);
    key[dst.len] = '\0';

    return NGX_OK;
}


/* key_file.json as TorchServe writes it (Gson, pretty), mode 0600 */
static ngx_int_t
ngx_http_torchserve_token_write(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_log_t *log)
{
    u_char                      buf[512], *p;
    ngx_fd_t                    fd;
    ngx_core_conf_t            *ccf;
    ngx_http_torchserve_keys_t  keys;

    ngx_shmtx_lock(&tmcf->shpool->mutex);
    keys = tmcf->sh->keys;
    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    p = ngx_sprintf(buf, "{\n  \"management\": {\n    \"key\": \"%s\",\n"
                    "    \"expiration time\": \"", keys.management);
    p = ngx_http_torchserve_token_instant(p, keys.management_expires);
    p = ngx_sprintf(p, "\"\n  },\n  \"inference\": {\n    \"key\": \"%s\",\n"
                    "    \"expiration time\": \"", keys.inference);
    p = ngx_http_torchserve_token_instant(p, keys.inference_expires);
    p = ngx_sprintf(p, "\"\n  },\n  \"API\": {\n    \"key\": \"%s\"\n  }\n}",
                    keys.api);

    fd = ngx_open_file(tmcf->token_path.data, NGX_FILE_WRONLY,
                       NGX_FILE_TRUNCATE, 0600);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "torchserve_token_auth: cannot write \"%V\"",
                      &tmcf->token_path);
        return NGX_ERROR;
    }

    /* an older file may have other rights: 0600, the workers' user's */
    if (fchmod(fd, 0600) == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "fchmod(\"%V\") failed", &tmcf->token_path);
    }

    /* at start and reload ngx_cycle is still the old cycle: ours is new */
    ccf = (ngx_core_conf_t *) ngx_get_conf(tmcf->cycle->conf_ctx,
                                           ngx_core_module);

    if (geteuid() == 0 && ccf != NULL
        && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && fchown(fd, ccf->user, (gid_t) -1) == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "fchown(\"%V\") failed: the worker processes cannot "
                      "rotate the keys", &tmcf->token_path);
    }

    if (ngx_write_fd(fd, buf, p - buf) != p - buf) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "torchserve_token_auth: writing \"%V\" failed",
                      &tmcf->token_path);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &tmcf->token_path);
    }

    return NGX_OK;
}


/* Java's Instant.toString() at millisecond precision: ...T12:00:00.123Z */
static u_char *
ngx_http_torchserve_token_instant(u_char *p, uint64_t ms)
{
    ngx_tm_t  tm;

    ngx_libc_gmtime((time_t) (ms / 1000), &tm);

    return ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}


/* "Authorization: Bearer <token>" (TorchServe's ^Bearer\s+(\S+)$) */
static ngx_int_t
ngx_http_torchserve_bearer(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    ngx_str_null(token);

    h = r->headers_in.authorization;
    if (h == NULL || h->value.len < 8
        || ngx_strncmp(h->value.data, "Bearer", 6) != 0)
    {
        return NGX_DECLINED;
    }

    p = h->value.data + 6;
    last = h->value.data + h->value.len;

    if (*p != ' ' && *p != '\t') {
        return NGX_DECLINED;
    }

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    token->data = p;

    while (p < last && *p != ' ' && *p != '\t') {
        p++;
    }

    token->len = p - token->data;

    return (p == last && token->len) ? NGX_OK : NGX_DECLINED;
}


/* constant time: a wrong key tells nothing by how fast it is refused */
static ngx_uint_t
ngx_http_torchserve_token_is(ngx_str_t *token, u_char *key)
{
    u_char      diff;
    size_t      i, len;

    len = ngx_strlen(key);

    if (token->len != len || len == 0) {
        return 0;
    }

    diff = 0;
    for (i = 0; i < len; i++) {
        diff |= token->data[i] ^ key[i];
    }

    return diff == 0;
}


static uint64_t
ngx_http_torchserve_token_now(void)
{
    ngx_time_t  *tp;

    /* the event loop's time: updated at each of its turns */
    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}
