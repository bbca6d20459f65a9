/*
 * ngx_harness.c: nginx and the module set up for the module-side fuzz
 * targets, without a configuration file, an event loop or a thread
 * pool.
 *
 * nginx's core (built from nginx's own sources, see fuzz/fuzz_ngx.mk) is
 * initialized as nginx's main() does it: strerror, time, regex, page
 * size, crc32 and slab sizes.  The module's main configuration is made
 * by its own directive functions where they exist (torchserve_zone,
 * torchserve_allowed_urls) and by hand where nginx.conf's parser would
 * (the models of nginx.conf, the store).  The zone lives in this
 * process's memory, laid out by nginx's slab allocator and filled by the
 * module's init_zone, as at nginx's start.
 *
 * What the fuzzed code may reach but must not really do is replaced at
 * link time (ld --wrap) or defined here:
 *
 *   ngx_thread_task_post      queued; ngx_fuzz_run_task runs the task
 *                             and its completion event, as the pool would
 *   ngx_http_finalize_request counted, with its code (never twice)
 *   ngx_http_torchserve_download   no network: a file made in the store
 *   ts_archive_open / _free, ts_servable_check   the runtime's archive
 *                             reader (fuzzed by its own targets): a
 *                             manifest made up from the file's name
 *   ngx_http_torchserve_models_sync, _model_find   this process's model
 *                             table (loads): nothing loaded here
 *
 * The answers go through the module's real reply code into nginx's
 * ngx_http_send_header and ngx_http_output_filter, whose filter chain
 * here ends in two checks: one header per request, and every JSON body
 * is valid JSON.  The log is formatted at debug level and dropped, but
 * for "header already sent", which is a finding.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ngx_http_torchserve_module.h"
#include "ts_archive.h"
#include "ts_model_config.h"
#include "ngx_harness.h"


#define NGX_FUZZ_MAX_TASKS  8


/* the module's own, which links every directive and phase handler */
ngx_module_t  ngx_http_torchserve_module = {
    NGX_MODULE_V1,
    NULL,                                  /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_log_t                        *ngx_fuzz_log;
ngx_http_torchserve_main_conf_t  *ngx_fuzz_tmcf;
ngx_fuzz_answer_t                 ngx_fuzz_answer;

static ngx_log_t                        ngx_fuzz_log_s;
static ngx_open_file_t                  ngx_fuzz_log_file;
static ngx_cycle_t                      ngx_fuzz_cycle;
static u_char                          *ngx_fuzz_zone;
static ngx_http_torchserve_loc_conf_t   ngx_fuzz_tlcf;
static ngx_thread_task_t               *ngx_fuzz_tasks[NGX_FUZZ_MAX_TASKS];
static ngx_uint_t                       ngx_fuzz_ntasks;
static char                             ngx_fuzz_dir[256];
static char                             ngx_fuzz_store[300];
static ngx_uint_t                       ngx_fuzz_downloaded;
static ngx_uint_t                       ngx_fuzz_verbose;


/* the store's archives, and the manifests ts_archive_open says they have */
typedef struct {
    const char  *file;
    const char  *model_name;
    const char  *model_version;
    const char  *handler;
} ngx_fuzz_archive_t;

static const ngx_fuzz_archive_t  ngx_fuzz_archives[] = {
    { "digits.mar", "digits", "1.0", "image_classifier" },
    { "digits3.mar", "digits", "3.0", "image_classifier" },
    { "digits_v2.mar", "digits", "2.0", "image_classifier" },
    { "mnist.mar", "mnist", NULL, "mnist_handler.py" },
    { "resnet.tar.gz", "resnet-18", "1.0+cpu", "image_classifier" },
    { "odd.mar", "no name!", "1.0/x", "image_classifier" },
    { "notarchive.mar", NULL, NULL, NULL },       /* ts_archive_open fails */
    { NULL, NULL, NULL, NULL }
};


void
ngx_fuzz_fail(const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    fprintf(stderr, "ngx_harness: ");
    vfprintf(stderr, fmt, args);
    fprintf(stderr, "\n");
    va_end(args);

    abort();
}


/* every message is formatted (the module's %V of untrusted text) */
static void
ngx_fuzz_log_writer(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    if (ngx_strlcasestrn(buf, buf + len, (u_char *) "header already sent",
                         sizeof("header already sent") - 2)
        != NULL)
    {
        ngx_fuzz_fail("a second answer: %.*s", (int) len, buf);
    }

    /* NGX_FUZZ_LOG=1: the log on stderr, to see what an input does */
    if (ngx_fuzz_verbose) {
        fprintf(stderr, "%.*s", (int) len, buf);
    }
}


static ngx_int_t
ngx_fuzz_header_filter(ngx_http_request_t *r)
{
    if (++ngx_fuzz_answer.headers > 1) {
        ngx_fuzz_fail("two headers for one request");
    }

    ngx_fuzz_answer.status = r->headers_out.status;
    r->header_sent = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_fuzz_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    json_t        *j;
    size_t         len;
    json_error_t   jerr;

    if (ngx_fuzz_answer.headers != 1) {
        ngx_fuzz_fail("a body without its header");
    }

    ngx_fuzz_answer.bodies++;

    if (ngx_fuzz_verbose) {
        fprintf(stderr, "answer %lu: %.*s\n",
                (unsigned long) ngx_fuzz_answer.status,
                (int) (in && in->buf ? in->buf->last - in->buf->pos : 0),
                in && in->buf ? (char *) in->buf->pos : "");
    }

    /* the module's answers are one buffer each */
    if (in == NULL || in->next != NULL) {
        ngx_fuzz_fail("an answer of %s buffers", in ? "several" : "no");
    }

    len = in->buf->last - in->buf->pos;

    if (r->headers_out.content_type.len == sizeof("application/json") - 1
        && ngx_strncmp(r->headers_out.content_type.data, "application/json",
                       r->headers_out.content_type.len)
           == 0)
    {
        j = json_loadb((char *) in->buf->pos, len,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (j == NULL) {
            ngx_fuzz_fail("a JSON answer that is not JSON (%s): %.*s",
                          jerr.text, (int) len, in->buf->pos);
        }

        json_decref(j);
    }

    return NGX_OK;
}


/* --- what the link replaces (ld --wrap=NAME) ----------------------------- */

ngx_int_t __wrap_ngx_thread_task_post(ngx_thread_pool_t *tp,
    ngx_thread_task_t *task);
void __wrap_ngx_http_finalize_request(ngx_http_request_t *r, ngx_int_t rc);
ngx_int_t __wrap_ngx_http_torchserve_download(const char *url,
    const char *path, size_t max_size, char *err, size_t errlen,
    ngx_uint_t *exists);
ts_archive_t *__wrap_ts_archive_open(const char *path,
    const ts_archive_limits_t *limits, char *err, size_t errlen);
void __wrap_ts_archive_free(ts_archive_t *a);
int __wrap_ts_servable_check(const ts_archive_t *a, const char *handler,
    ts_servable_kind_e *kind, char *err, size_t errlen);


ngx_int_t
__wrap_ngx_thread_task_post(ngx_thread_pool_t *tp, ngx_thread_task_t *task)
{
    if (ngx_fuzz_ntasks == NGX_FUZZ_MAX_TASKS) {
        /* the real pool's answer to a full queue */
        return NGX_ERROR;
    }

    ngx_fuzz_tasks[ngx_fuzz_ntasks++] = task;

    return NGX_OK;
}


/*
 * Each call gives back one of the request's references (r->main->count),
 * as nginx's does; one past the last would be a use after free in nginx.
 */
void
__wrap_ngx_http_finalize_request(ngx_http_request_t *r, ngx_int_t rc)
{
    if (r->main->count == 0) {
        ngx_fuzz_fail("finalized (%ld) with no reference left", (long) rc);
    }

    r->main->count--;

    if (rc == NGX_DONE) {
        return;
    }

    if (ngx_fuzz_answer.finals++ > 0) {
        ngx_fuzz_fail("two answers: finalized with %ld, then %ld",
                      (long) ngx_fuzz_answer.final_rc, (long) rc);
    }

    ngx_fuzz_answer.final_rc = rc;
}


/* no network: the "download" is an empty file, or a failure */
ngx_int_t
__wrap_ngx_http_torchserve_download(const char *url, const char *path,
    size_t max_size, char *err, size_t errlen, ngx_uint_t *exists)
{
    FILE  *f;

    if (access(path, F_OK) == 0) {
        *exists = 1;
        snprintf(err, errlen, "\"%s\" exists", path);
        return NGX_ERROR;
    }

    if (strstr(url, "fail") != NULL) {
        snprintf(err, errlen, "the fuzz harness fails \"%s\"", url);
        return NGX_ERROR;
    }

    /* a name too long for the file system fails as the real one would */
    f = fopen(path, "w");
    if (f == NULL) {
        snprintf(err, errlen, "open(\"%s\") failed (%d: %s)", path, errno,
                 strerror(errno));
        return NGX_ERROR;
    }

    fclose(f);
    ngx_fuzz_downloaded = 1;

    return NGX_OK;
}


static char *
ngx_fuzz_strdup(const char *s)
{
    char  *d;

    if (s == NULL) {
        return NULL;
    }

    d = strdup(s);
    if (d == NULL) {
        ngx_fuzz_fail("no memory");
    }

    return d;
}


/*
 * A manifest as ts_archive_open would read it: the store's archives
 * above; any other file (a download) is named after its file name up to
 * its first '.', version 1.0.  ts_archive_open never gives an archive
 * without a model name.
 */
ts_archive_t *
__wrap_ts_archive_open(const char *path, const ts_archive_limits_t *limits,
    char *err, size_t errlen)
{
    size_t                     len;
    const char                *file;
    ts_archive_t              *a;
    const ngx_fuzz_archive_t  *fa;

    file = strrchr(path, '/');
    file = file ? file + 1 : path;

    a = calloc(1, sizeof(ts_archive_t));
    if (a == NULL) {
        ngx_fuzz_fail("no memory");
    }

    a->path = ngx_fuzz_strdup(path);

    for (fa = ngx_fuzz_archives; fa->file != NULL; fa++) {
        if (strcmp(fa->file, file) == 0) {
            break;
        }
    }

    if (fa->file != NULL && fa->model_name == NULL) {
        snprintf(err, errlen, "\"%s\": not a zip or tar.gz archive", path);
        __wrap_ts_archive_free(a);
        return NULL;
    }

    if (fa->file != NULL) {
        a->manifest.model_name = ngx_fuzz_strdup(fa->model_name);
        a->manifest.model_version = ngx_fuzz_strdup(fa->model_version);
        a->manifest.handler = ngx_fuzz_strdup(fa->handler);
        a->manifest.runtime = ngx_fuzz_strdup("python");
        return a;
    }

    len = strcspn(file, ".");
    if (len == 0) {
        snprintf(err, errlen, "no \"model.modelName\"");
        __wrap_ts_archive_free(a);
        return NULL;
    }

    a->manifest.model_name = strndup(file, len);
    a->manifest.model_version = ngx_fuzz_strdup("1.0");
    a->manifest.handler = ngx_fuzz_strdup("image_classifier");

    return a;
}


void
__wrap_ts_archive_free(ts_archive_t *a)
{
    if (a == NULL) {
        return;
    }

    free(a->path);
    free(a->manifest.model_name);
    free(a->manifest.model_version);
    free(a->manifest.handler);
    free(a->manifest.runtime);
    free(a);
}


/* a handler named "refused..." is refused, as an unknown one would be */
int
__wrap_ts_servable_check(const ts_archive_t *a, const char *handler,
    ts_servable_kind_e *kind, char *err, size_t errlen)
{
    if (handler == NULL || strncmp(handler, "refused", 7) == 0) {
        snprintf(err, errlen, "unknown handler \"%s\"",
                 handler ? handler : "(none)");
        return -1;
    }

    *kind = TS_SERVABLE_TORCHSCRIPT;

    return 0;
}


/* --- what is defined here ---------------------------------------------- */

void
ngx_http_torchserve_models_sync(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    /* this process loads nothing */
}


ngx_http_torchserve_model_t *
ngx_http_torchserve_model_find(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_str_t *name, ngx_str_t *version, ngx_uint_t *name_found)
{
    *name_found = 0;

    return NULL;
}




/* the harness's requests never come from a sibling process (_handoff.c) */
ngx_uint_t
ngx_http_torchserve_handed_over(ngx_http_request_t *r)
{
    return 0;
}


ngx_int_t
ngx_http_torchserve_handoff_wrap(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, u_char *body, size_t len)
{
    ngx_fuzz_fail("ngx_http_torchserve_handoff_wrap: no sibling here");
}


/* model-config.yaml: the made-up manifests name none */

const ts_archive_file_t *
ts_archive_find(const ts_archive_t *a, const char *name)
{
    ngx_fuzz_fail("ts_archive_find(\"%s\"): no configFile here", name);
}


int
ts_model_config_parse(const char *yaml, size_t len, ts_model_config_t *cfg,
    char *err, size_t errlen)
{
    ngx_fuzz_fail("ts_model_config_parse: no configFile here");
}


void
ts_model_config_clear(ts_model_config_t *cfg)
{
    ngx_fuzz_fail("ts_model_config_clear: no configFile here");
}


/* --- set-up ------------------------------------------------------------ */

static ngx_uint_t
ngx_fuzz_is_archive(const char *file)
{
    const ngx_fuzz_archive_t  *fa;

    for (fa = ngx_fuzz_archives; fa->file != NULL; fa++) {
        if (strcmp(fa->file, file) == 0) {
            return 1;
        }
    }

    return 0;
}


void
ngx_fuzz_store_clean(void)
{
    DIR            *d;
    char            path[600];
    struct dirent  *e;

    if (!ngx_fuzz_downloaded) {
        return;
    }

    ngx_fuzz_downloaded = 0;

    d = opendir(ngx_fuzz_store);
    if (d == NULL) {
        ngx_fuzz_fail("cannot read \"%s\"", ngx_fuzz_store);
    }

    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || ngx_fuzz_is_archive(e->d_name)) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", ngx_fuzz_store, e->d_name);
        unlink(path);
    }

    closedir(d);
}


static void
ngx_fuzz_cleanup(void)
{
    char                       path[600];
    const ngx_fuzz_archive_t  *fa;

    ngx_fuzz_downloaded = 1;
    ngx_fuzz_store_clean();

    for (fa = ngx_fuzz_archives; fa->file != NULL; fa++) {
        snprintf(path, sizeof(path), "%s/%s", ngx_fuzz_store, fa->file);
        unlink(path);
    }

    rmdir(ngx_fuzz_store);
    rmdir(ngx_fuzz_dir);
}


/* a directive's arguments, as nginx.conf's parser hands them */
static ngx_conf_t *
ngx_fuzz_conf(ngx_uint_t n, ...)
{
    va_list      args;
    ngx_uint_t   i;
    ngx_str_t   *value;
    ngx_conf_t  *cf;
    char        *s;

    cf = ngx_pcalloc(ngx_fuzz_cycle.pool, sizeof(ngx_conf_t));
    if (cf == NULL) {
        ngx_fuzz_fail("no memory");
    }

    cf->cycle = &ngx_fuzz_cycle;
    cf->pool = ngx_fuzz_cycle.pool;
    cf->temp_pool = ngx_fuzz_cycle.pool;
    cf->log = ngx_fuzz_log;

    cf->args = ngx_array_create(cf->pool, n, sizeof(ngx_str_t));
    if (cf->args == NULL) {
        ngx_fuzz_fail("no memory");
    }

    va_start(args, n);

    for (i = 0; i < n; i++) {
        s = va_arg(args, char *);
        value = ngx_array_push(cf->args);
        value->len = ngx_strlen(s);
        value->data = ngx_pstrdup(cf->pool, &(ngx_str_t) { value->len,
                                                           (u_char *) s });
    }

    va_end(args);

    return cf;
}


static void
ngx_fuzz_conf_model(const char *name, const char *version, const char *file)
{
    u_char                            *p;
    ngx_http_torchserve_conf_model_t  *cm;

    cm = ngx_array_push(&ngx_fuzz_tmcf->models);
    if (cm == NULL) {
        ngx_fuzz_fail("no memory");
    }

    ngx_memzero(cm, sizeof(ngx_http_torchserve_conf_model_t));

    cm->name.data = (u_char *) name;
    cm->name.len = ngx_strlen(name);
    cm->version.data = (u_char *) version;
    cm->version.len = ngx_strlen(version);
    cm->archive.data = (u_char *) file;
    cm->archive.len = ngx_strlen(file);

    cm->path.len = ngx_strlen(ngx_fuzz_store) + 1 + cm->archive.len;
    cm->path.data = ngx_pnalloc(ngx_fuzz_cycle.pool, cm->path.len + 1);
    if (cm->path.data == NULL) {
        ngx_fuzz_fail("no memory");
    }

    p = ngx_sprintf(cm->path.data, "%s/%s", ngx_fuzz_store, file);
    *p = '\0';

    ngx_str_set(&cm->handler, "image_classifier");
    ngx_str_set(&cm->runtime, "python");

    cm->options.input_ndim = -1;
    cm->options.input_dtype = -1;
    cm->options.warmup = 3;

    ngx_http_torchserve_settings_init(&cm->given);
    ngx_http_torchserve_settings_init(&cm->defaults);
}


void
ngx_fuzz_init(void)
{
    int                               fd;
    char                              path[600];
    const char                       *tmp;
    ngx_uint_t                        n;
    ngx_conf_t                       *cf;
    const ngx_fuzz_archive_t         *fa;
    ngx_http_torchserve_main_conf_t  *tmcf;

    /* nginx's main(), up to the configuration */
    if (ngx_strerror_init() != NGX_OK) {
        ngx_fuzz_fail("ngx_strerror_init");
    }

    ngx_time_init();
    ngx_regex_init();

    ngx_pid = getpid();
    ngx_pagesize = getpagesize();
    for (n = ngx_pagesize; n >>= 1; ngx_pagesize_shift++) { /* void */ }
    ngx_cacheline_size = NGX_CPU_CACHE_LINE;

    ngx_use_stderr = 0;
    ngx_fuzz_verbose = getenv("NGX_FUZZ_LOG") != NULL;

    fd = open("/dev/null", O_WRONLY);
    if (fd == -1) {
        ngx_fuzz_fail("/dev/null");
    }

    ngx_fuzz_log_file.fd = fd;
    ngx_str_set(&ngx_fuzz_log_file.name, "/dev/null");

    ngx_fuzz_log = &ngx_fuzz_log_s;
    ngx_fuzz_log->file = &ngx_fuzz_log_file;
    ngx_fuzz_log->log_level = NGX_LOG_DEBUG_ALL;
    ngx_fuzz_log->writer = ngx_fuzz_log_writer;

    ngx_fuzz_cycle.log = ngx_fuzz_log;
    ngx_fuzz_cycle.pool = ngx_create_pool(NGX_CYCLE_POOL_SIZE, ngx_fuzz_log);
    if (ngx_fuzz_cycle.pool == NULL) {
        ngx_fuzz_fail("no memory");
    }

    if (ngx_list_init(&ngx_fuzz_cycle.shared_memory, ngx_fuzz_cycle.pool, 1,
                      sizeof(ngx_shm_zone_t))
        != NGX_OK)
    {
        ngx_fuzz_fail("no memory");
    }

    ngx_cycle = &ngx_fuzz_cycle;

    /* after ngx_os_init's page size, as nginx's main() */
    if (ngx_crc32_table_init() != NGX_OK) {
        ngx_fuzz_fail("ngx_crc32_table_init");
    }

    ngx_slab_sizes_init();

    if (ngx_event_timer_init(ngx_fuzz_log) != NGX_OK) {
        ngx_fuzz_fail("ngx_event_timer_init");
    }

    ngx_http_top_header_filter = ngx_fuzz_header_filter;
    ngx_http_top_body_filter = ngx_fuzz_body_filter;

    ngx_http_torchserve_module.ctx_index = 0;

    /* the model store: the archives above (empty files) */
    tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    /* earlier runs' folders: libFuzzer ends with _Exit(), atexit never runs */
    (void) ts_archive_remove_stale(tmp, "ngx_fuzz.");

    snprintf(ngx_fuzz_dir, sizeof(ngx_fuzz_dir), "%s/ngx_fuzz.%ld", tmp,
             (long) ngx_pid);
    snprintf(ngx_fuzz_store, sizeof(ngx_fuzz_store), "%s/store",
             ngx_fuzz_dir);

    if (mkdir(ngx_fuzz_dir, 0700) != 0 || mkdir(ngx_fuzz_store, 0700) != 0) {
        ngx_fuzz_fail("cannot make \"%s\"", ngx_fuzz_store);
    }

    atexit(ngx_fuzz_cleanup);

    for (fa = ngx_fuzz_archives; fa->file != NULL; fa++) {
        snprintf(path, sizeof(path), "%s/%s", ngx_fuzz_store, fa->file);
        fd = open(path, O_WRONLY | O_CREAT, 0600);
        if (fd == -1) {
            ngx_fuzz_fail("cannot make \"%s\"", path);
        }
        close(fd);
    }

    /* the main configuration, as create_main_conf leaves it */
    tmcf = ngx_pcalloc(ngx_fuzz_cycle.pool,
                       sizeof(ngx_http_torchserve_main_conf_t));
    if (tmcf == NULL) {
        ngx_fuzz_fail("no memory");
    }

    ngx_fuzz_tmcf = tmcf;

    tmcf->cycle = &ngx_fuzz_cycle;
    tmcf->model_store.data = (u_char *) ngx_fuzz_store;
    tmcf->model_store.len = ngx_strlen(ngx_fuzz_store);
    tmcf->max_archive_size = 64 * 1024 * 1024;
    tmcf->intra_op_threads = 1;
    ngx_queue_init(&tmcf->local);

    if (ngx_array_init(&tmcf->models, ngx_fuzz_cycle.pool, 4,
                       sizeof(ngx_http_torchserve_conf_model_t))
        != NGX_OK)
    {
        ngx_fuzz_fail("no memory");
    }

    /* nginx.conf's models: two versions of one name, another name */
    ngx_fuzz_conf_model("digits", "1.0", "digits.mar");
    ngx_fuzz_conf_model("digits", "3.0", "digits3.mar");
    ngx_fuzz_conf_model("resnet-18", "1.0+cpu", "resnet.tar.gz");

    /* torchserve_zone torchserve:256k; */
    cf = ngx_fuzz_conf(2, "torchserve_zone", "torchserve:256k");
    if (ngx_http_torchserve_zone_directive(cf, NULL, tmcf) != NGX_CONF_OK) {
        ngx_fuzz_fail("torchserve_zone refused");
    }

    if (tmcf->shm_zone->shm.size != NGX_FUZZ_ZONE_SIZE) {
        ngx_fuzz_fail("torchserve_zone's size");
    }

    /* torchserve_allowed_urls, as t/010-remote.t gives them */
    cf = ngx_fuzz_conf(3, "torchserve_allowed_urls",
                       "http://127\\.0\\.0\\.1:\\d+/ok/.*",
                       "https://models\\.example\\.com/[a-z0-9_-]+\\.mar");
    if (ngx_http_torchserve_allowed_urls(cf, NULL, tmcf) != NGX_CONF_OK) {
        ngx_fuzz_fail("torchserve_allowed_urls refused");
    }

    ngx_fuzz_zone = ngx_pmemalign(ngx_fuzz_cycle.pool, NGX_FUZZ_ZONE_SIZE,
                                  ngx_pagesize);
    if (ngx_fuzz_zone == NULL) {
        ngx_fuzz_fail("no memory");
    }

    tmcf->shm_zone->shm.addr = ngx_fuzz_zone;

    ngx_fuzz_tlcf.inference = 0;
    ngx_fuzz_tlcf.management = 1;
    ngx_fuzz_tlcf.metrics = 0;
    ngx_fuzz_tlcf.model_api = 1;
}


/* ngx_init_zone_pool (ngx_cycle.c), then the module's init_zone */
void
ngx_fuzz_zone_reset(void)
{
    ngx_shm_zone_t   *zone;
    ngx_slab_pool_t  *sp;

    zone = ngx_fuzz_tmcf->shm_zone;
    sp = (ngx_slab_pool_t *) zone->shm.addr;

    ngx_memzero(sp, sizeof(ngx_slab_pool_t));

    sp->end = zone->shm.addr + zone->shm.size;
    sp->min_shift = 3;
    sp->addr = zone->shm.addr;

    if (ngx_shmtx_create(&sp->mutex, &sp->lock, NULL) != NGX_OK) {
        ngx_fuzz_fail("ngx_shmtx_create");
    }

    ngx_slab_init(sp);

    zone->shm.exists = 0;
    ngx_fuzz_tmcf->sh = NULL;
    ngx_fuzz_tmcf->shpool = NULL;

    if (zone->init(zone, NULL) != NGX_OK) {
        ngx_fuzz_fail("init_zone failed");
    }
}


void
ngx_fuzz_zone_reload(void)
{
    ngx_shm_zone_t  *zone;

    zone = ngx_fuzz_tmcf->shm_zone;

    if (zone->init(zone, ngx_fuzz_tmcf) != NGX_OK) {
        ngx_fuzz_fail("init_zone (reload) failed");
    }
}


static void
ngx_fuzz_check_str(const u_char *s, size_t size, const char *what)
{
    if (ngx_strlchr((u_char *) s, (u_char *) s + size, '\0') == NULL) {
        ngx_fuzz_fail("a record's %s is not NUL-terminated", what);
    }
}


void
ngx_fuzz_zone_check(ngx_uint_t defaults)
{
    ngx_str_t                         name;
    ngx_uint_t                        nrecs, nids, ndefaults;
    ngx_queue_t                      *q, *v;
    ngx_rbtree_node_t                *node;
    ngx_http_torchserve_shctx_t      *sh;
    ngx_http_torchserve_name_t       *n;
    ngx_http_torchserve_record_t     *rec, *other;

    sh = ngx_fuzz_tmcf->sh;
    nrecs = 0;

    for (q = ngx_queue_head(&sh->records);
         q != ngx_queue_sentinel(&sh->records);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);
        nrecs++;

        ngx_fuzz_check_str(rec->name, sizeof(rec->name), "name");
        ngx_fuzz_check_str(rec->version, sizeof(rec->version), "version");
        ngx_fuzz_check_str(rec->url, sizeof(rec->url), "url");
        ngx_fuzz_check_str(rec->path, sizeof(rec->path), "path");
        ngx_fuzz_check_str(rec->handler, sizeof(rec->handler), "handler");
        ngx_fuzz_check_str(rec->runtime, sizeof(rec->runtime), "runtime");
        ngx_fuzz_check_str(rec->device, sizeof(rec->device), "device");

        name.data = rec->name;
        name.len = ngx_strlen(rec->name);

        n = ngx_http_torchserve_name_find(&sh->names, &name);
        if (n == NULL || n != rec->named) {
            ngx_fuzz_fail("record \"%s\" is not under its name", rec->name);
        }

        if (ngx_http_torchserve_record_by_id_locked(ngx_fuzz_tmcf, rec->id)
            != rec)
        {
            ngx_fuzz_fail("record \"%s\" is not under its id", rec->name);
        }

        ndefaults = 0;

        for (v = ngx_queue_head(&n->versions);
             v != ngx_queue_sentinel(&n->versions);
             v = ngx_queue_next(v))
        {
            other = ngx_queue_data(v, ngx_http_torchserve_record_t,
                                   sibling);
            ndefaults += other->is_default;

            if (other != rec && ngx_strcmp(other->version, rec->version) == 0)
            {
                ngx_fuzz_fail("model \"%s\" version \"%s\" twice", rec->name,
                              rec->version);
            }
        }

        if ((defaults == 1 && ndefaults == 0)
            || (defaults == 2 && ndefaults != 1))
        {
            ngx_fuzz_fail("model \"%s\" has %lu default versions",
                          rec->name, ndefaults);
        }
    }

    nids = 0;

    if (sh->ids.root != sh->ids.sentinel) {
        for (node = ngx_rbtree_min(sh->ids.root, sh->ids.sentinel);
             node != NULL;
             node = ngx_rbtree_next(&sh->ids, node))
        {
            nids++;
        }
    }

    if (nids != nrecs) {
        ngx_fuzz_fail("%lu records, %lu ids", nrecs, nids);
    }
}


ngx_http_request_t *
ngx_fuzz_request(ngx_pool_t *pool, ngx_uint_t method, u_char *uri,
    size_t uri_len, u_char *args, size_t args_len)
{
    void                **conf;
    ngx_log_t            *log;
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_log_ctx_t   *ctx;

    r = ngx_pcalloc(pool, sizeof(ngx_http_request_t));
    c = ngx_pcalloc(pool, sizeof(ngx_connection_t));
    log = ngx_palloc(pool, sizeof(ngx_log_t));
    ctx = ngx_pcalloc(pool, sizeof(ngx_http_log_ctx_t));
    conf = ngx_pcalloc(pool, 3 * sizeof(void *));

    if (r == NULL || c == NULL || log == NULL || ctx == NULL
        || conf == NULL)
    {
        ngx_fuzz_fail("no memory");
    }

    *log = *ngx_fuzz_log;
    log->data = ctx;
    ctx->request = r;
    ctx->current_request = r;

    c->log = log;
    c->pool = pool;
    c->data = r;
    c->fd = (ngx_socket_t) -1;

    r->connection = c;
    r->main = r;
    r->pool = pool;
    r->count = 1;
    r->signature = NGX_HTTP_MODULE;

    r->ctx = (void **) &conf[0];
    conf[1] = ngx_fuzz_tmcf;
    r->main_conf = (void **) &conf[1];
    conf[2] = &ngx_fuzz_tlcf;
    r->loc_conf = (void **) &conf[2];

    r->method = method;

    switch (method) {
    case NGX_HTTP_POST:
        ngx_str_set(&r->method_name, "POST");
        break;
    case NGX_HTTP_PUT:
        ngx_str_set(&r->method_name, "PUT");
        break;
    case NGX_HTTP_DELETE:
        ngx_str_set(&r->method_name, "DELETE");
        break;
    default:
        ngx_str_set(&r->method_name, "GET");
    }

    r->uri.data = uri;
    r->uri.len = uri_len;
    r->args.data = args;
    r->args.len = args_len;

    r->http_version = NGX_HTTP_VERSION_11;
    r->keepalive = 1;

    if (ngx_list_init(&r->headers_out.headers, pool, 4,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        ngx_fuzz_fail("no memory");
    }

    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    /* as if the handler had discarded it; a JSON body sets request_body */
    r->discard_body = 1;

    ngx_memzero(&ngx_fuzz_answer, sizeof(ngx_fuzz_answer_t));
    ngx_fuzz_ntasks = 0;

    return r;
}


/* the thread pool's work: each task's handler, then its event */
void
ngx_fuzz_run_task(void)
{
    ngx_uint_t          i;
    ngx_thread_task_t  *task;

    for (i = 0; i < ngx_fuzz_ntasks; i++) {
        task = ngx_fuzz_tasks[i];

        task->handler(task->ctx, ngx_fuzz_log);

        task->event.complete = 1;
        task->event.active = 0;
        task->event.handler(&task->event);
    }

    ngx_fuzz_ntasks = 0;
}
