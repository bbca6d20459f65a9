/*
 * ngx_http_torchserve_download.c: remote model archives.
 *
 * `POST /models?url=http(s)://...` is refused unless the URL matches one
 * of the torchserve_allowed_urls patterns (PCRE2 through ngx_regex, full
 * match, case-insensitive, as TorchServe's allowed_urls); nothing remote
 * is allowed by default (TorchServe's allow-all default was ShellTorch,
 * CVE-2023-43654).  The archive is downloaded with libcurl in the thread
 * pool, with a size cap and timeouts, redirects not followed (a redirect
 * could lead to a URL the list does not allow), into the model store.
 */

#include <curl/curl.h>

#include "ngx_http_torchserve_module.h"


#define NGX_HTTP_TORCHSERVE_CONNECT_TIMEOUT  10L
#define NGX_HTTP_TORCHSERVE_DOWNLOAD_TIMEOUT 600L


typedef struct {
    int          fd;
    size_t       size;
    size_t       max;
    ngx_uint_t   too_big;
} ngx_http_torchserve_sink_t;


/* torchserve_allowed_urls REGEX ...; */
char *
ngx_http_torchserve_allowed_urls(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_torchserve_main_conf_t *tmcf = conf;

    u_char               *p, errstr[NGX_MAX_CONF_ERRSTR];
    ngx_str_t            *value;
    ngx_uint_t            i;
    ngx_regex_t         **re;
    ngx_regex_compile_t   rc;

    if (tmcf->allowed_urls.nelts) {
        return "is duplicate";
    }

    if (ngx_array_init(&tmcf->allowed_urls, cf->pool, cf->args->nelts,
                       sizeof(ngx_regex_t *))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

        /* a full match, as TorchServe's Pattern.matches() */
        rc.pattern.len = value[i].len + sizeof("^(?:)$") - 1;
        rc.pattern.data = ngx_pnalloc(cf->pool, rc.pattern.len);
        if (rc.pattern.data == NULL) {
            return NGX_CONF_ERROR;
        }

        p = ngx_cpymem(rc.pattern.data, "^(?:", 4);
        p = ngx_cpymem(p, value[i].data, value[i].len);
        ngx_memcpy(p, ")$", 2);

        rc.pool = cf->pool;
        rc.options = NGX_REGEX_CASELESS;
        rc.err.len = NGX_MAX_CONF_ERRSTR;
        rc.err.data = errstr;

        if (ngx_regex_compile(&rc) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
            return NGX_CONF_ERROR;
        }

        re = ngx_array_push(&tmcf->allowed_urls);
        if (re == NULL) {
            return NGX_CONF_ERROR;
        }

        *re = rc.regex;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_torchserve_url_allowed(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_str_t *url)
{
    ngx_uint_t    i;
    ngx_regex_t **re;

    re = tmcf->allowed_urls.elts;

    for (i = 0; i < tmcf->allowed_urls.nelts; i++) {
        if (ngx_regex_exec(re[i], url, NULL, 0) >= 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The file name an archive URL gets in the store: its last path
 * segment, which must be a plain name.  NGX_ERROR if it has none.
 */
ngx_int_t
ngx_http_torchserve_url_file(ngx_str_t *url, ngx_str_t *file)
{
    u_char  *p, *end, *start;

    end = url->data + url->len;

    for (p = url->data; p < end; p++) {
        if (*p == '?' || *p == '#') {
            end = p;
            break;
        }
    }

    start = end;
    while (start > url->data && start[-1] != '/') {
        start--;
    }

    file->data = start;
    file->len = end - start;

    if (file->len == 0 || file->data[0] == '.') {
        return NGX_ERROR;
    }

    for (p = start; p < end; p++) {
        if (!(isalnum(*p) || *p == '.' || *p == '_' || *p == '-')) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_http_torchserve_download_init(void)
{
    /* once per process, before any thread uses libcurl */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}


static size_t
ngx_http_torchserve_download_write(char *data, size_t size, size_t n,
    void *arg)
{
    ngx_http_torchserve_sink_t  *sink = arg;

    size_t   len, done;
    ssize_t  w;

    len = size * n;

    /* the server may not say the size, or lie about it */
    if (sink->size + len > sink->max) {
        sink->too_big = 1;
        return 0;
    }

    for (done = 0; done < len; done += w) {
        w = write(sink->fd, data + done, len - done);
        if (w <= 0) {
            return 0;
        }
    }

    sink->size += len;
    return len;
}


/*
 * In a pool thread: url into path (which must not exist yet), through
 * a temporary file in the same folder.  On failure, err says why and
 * nothing is left behind.
 */
ngx_int_t
ngx_http_torchserve_download(const char *url, const char *path,
    size_t max_size, char *err, size_t errlen, ngx_uint_t *exists)
{
    int                          fd;
    long                         status;
    char                         tmp[NGX_HTTP_TORCHSERVE_PATH_LEN + 64];
    CURL                        *curl;
    CURLcode                     code;
    ngx_http_torchserve_sink_t   sink;
    char                         curl_err[CURL_ERROR_SIZE];

    *exists = 0;

    if (access(path, F_OK) == 0) {
        *exists = 1;
        return NGX_ERROR;
    }

    snprintf(tmp, sizeof(tmp), "%s.%d.download", path, (int) getpid());

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd == -1) {
        snprintf(err, errlen, "open(\"%s\") failed: %s", tmp,
                 strerror(errno));
        return NGX_ERROR;
    }

    curl = curl_easy_init();
    if (curl == NULL) {
        close(fd);
        unlink(tmp);
        snprintf(err, errlen, "curl_easy_init() failed");
        return NGX_ERROR;
    }

    ngx_memzero(&sink, sizeof(sink));
    sink.fd = fd;
    sink.max = max_size;
    curl_err[0] = '\0';

    curl_easy_setopt(curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
                     (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                     NGX_HTTP_TORCHSERVE_CONNECT_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT,
                     NGX_HTTP_TORCHSERVE_DOWNLOAD_TIMEOUT);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) max_size);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
                     ngx_http_torchserve_download_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "ngx_http_torchserve_module");

    code = curl_easy_perform(curl);

    status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);

    if (close(fd) != 0 && code == CURLE_OK) {
        code = CURLE_WRITE_ERROR;
    }

    if (code != CURLE_OK || status != 200) {
        if (sink.too_big || code == CURLE_FILESIZE_EXCEEDED) {
            snprintf(err, errlen, "larger than %zu bytes", max_size);

        } else if (code != CURLE_OK) {
            snprintf(err, errlen, "%s", curl_err[0] ? curl_err
                                                    : curl_easy_strerror(code));

        } else if (status >= 300 && status < 400) {
            snprintf(err, errlen, "HTTP %ld: redirects are not followed",
                     status);

        } else {
            snprintf(err, errlen, "HTTP %ld", status);
        }

        unlink(tmp);
        return NGX_ERROR;
    }

    /* link() refuses to replace a file that appeared meanwhile */
    if (link(tmp, path) != 0) {
        *exists = (errno == EEXIST);
        snprintf(err, errlen, "link(\"%s\") failed: %s", path,
                 strerror(errno));
        unlink(tmp);
        return NGX_ERROR;
    }

    unlink(tmp);
    return NGX_OK;
}


typedef struct {
    char  path[NGX_HTTP_TORCHSERVE_PATH_LEN];
    int   err;
} ngx_http_torchserve_unlink_t;


static void
ngx_http_torchserve_unlink_thread(void *data, ngx_log_t *log)
{
    ngx_http_torchserve_unlink_t  *u = data;

    u->err = (unlink(u->path) == 0) ? 0 : errno;
}


static void
ngx_http_torchserve_unlink_done(ngx_event_t *ev)
{
    ngx_thread_task_t             *task = ev->data;
    ngx_http_torchserve_unlink_t  *u = task->ctx;

    if (u->err != 0 && u->err != ENOENT) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, u->err,
                      "torchserve: deleting \"%s\" failed", u->path);
    }

    ngx_free(task);
}


/* deletes a downloaded archive from the store, off the event loop */
void
ngx_http_torchserve_unlink_later(ngx_http_torchserve_main_conf_t *tmcf,
    u_char *path, ngx_log_t *log)
{
    ngx_thread_task_t             *task;
    ngx_http_torchserve_unlink_t  *u;

    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_torchserve_unlink_t), log);
    if (task == NULL) {
        return;
    }

    u = (ngx_http_torchserve_unlink_t *) (task + 1);
    task->ctx = u;
    ngx_cpystrn((u_char *) u->path, path, sizeof(u->path));

    task->handler = ngx_http_torchserve_unlink_thread;
    task->event.handler = ngx_http_torchserve_unlink_done;
    task->event.data = task;

    if (ngx_thread_task_post(tmcf->thread_pool, task) != NGX_OK) {
        ngx_free(task);
    }
}
