/*
 * ngx_http_torchserve_module.c: directives, configuration and the worker
 * process lifecycle of ngx_http_torchserve_module.
 */

#include <jansson.h>

#if (defined __GLIBC__)
#include <malloc.h>
#endif

#include "ngx_http_torchserve_module.h"


static void *ngx_http_torchserve_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_torchserve_full_path(ngx_conf_t *cf,
    ngx_str_t *path);
static char *ngx_http_torchserve_python_path(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_torchserve_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_torchserve_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_torchserve_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_torchserve_location(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_torchserve_model_store(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_torchserve_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_torchserve_malloc_keep(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void ngx_http_torchserve_tune_malloc(ngx_cycle_t *cycle,
    ssize_t keep);
static ngx_int_t ngx_http_torchserve_postconfiguration(ngx_conf_t *cf);
static void ngx_http_torchserve_sync_handler(ngx_event_t *ev);


#define NGX_HTTP_TORCHSERVE_SYNC_INTERVAL  250
static ngx_int_t ngx_http_torchserve_init_process(ngx_cycle_t *cycle);
static void ngx_http_torchserve_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_http_torchserve_threads_bounds = {
    ngx_conf_check_num_bounds, 1, 1024
};


static ngx_command_t  ngx_http_torchserve_commands[] = {

    { ngx_string("torchserve_model_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_torchserve_model_store,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_torchserve_main_conf_t, model_store),
      NULL },

    { ngx_string("torchserve_model"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_torchserve_model_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("torchserve_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_torchserve_thread_pool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("torchserve_intra_op_threads"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_torchserve_main_conf_t, intra_op_threads),
      &ngx_http_torchserve_threads_bounds },

    { ngx_string("torchserve_malloc_keep"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_torchserve_malloc_keep,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("torchserve_max_archive_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_torchserve_main_conf_t, max_archive_size),
      NULL },

    { ngx_string("torchserve_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_torchserve_zone_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("torchserve_token_auth"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_torchserve_token_auth,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("torchserve_state"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_torchserve_main_conf_t, state_path),
      NULL },

    { ngx_string("torchserve_python_path"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_torchserve_python_path,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("torchserve_temp_path"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_torchserve_main_conf_t, python_temp),
      NULL },

    { ngx_string("torchserve_handoff"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_torchserve_main_conf_t, handoff),
      NULL },

    { ngx_string("torchserve_allowed_urls"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_torchserve_allowed_urls,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("torchserve_management"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_torchserve_location,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_torchserve_loc_conf_t, management),
      (void *) ngx_http_torchserve_management_handler },

    { ngx_string("torchserve_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_torchserve_location,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_torchserve_loc_conf_t, metrics),
      (void *) ngx_http_torchserve_metrics_handler },

    { ngx_string("torchserve_model_api"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_torchserve_loc_conf_t, model_api),
      NULL },

    { ngx_string("torchserve_inference"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_torchserve_location,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_torchserve_loc_conf_t, inference),
      (void *) ngx_http_torchserve_inference_handler },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_torchserve_module_ctx = {
    ngx_http_torchserve_add_variables,     /* preconfiguration */
    ngx_http_torchserve_postconfiguration, /* postconfiguration */

    ngx_http_torchserve_create_main_conf,  /* create main configuration */
    ngx_http_torchserve_init_main_conf,    /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_torchserve_create_loc_conf,   /* create location configuration */
    ngx_http_torchserve_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_torchserve_module = {
    NGX_MODULE_V1,
    &ngx_http_torchserve_module_ctx,       /* module context */
    ngx_http_torchserve_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_torchserve_init_process,      /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_torchserve_exit_process,      /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_torchserve_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_torchserve_main_conf_t));
    if (tmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     tmcf->model_store = { 0, NULL };
     *     tmcf->thread_pool_name = { 0, NULL };
     *     tmcf->thread_pool = NULL;
     */

    if (ngx_array_init(&tmcf->models, cf->pool, 4,
                       sizeof(ngx_http_torchserve_conf_model_t))
        != NGX_OK)
    {
        return NULL;
    }

    tmcf->intra_op_threads = NGX_CONF_UNSET;
    tmcf->max_archive_size = NGX_CONF_UNSET_SIZE;
    tmcf->malloc_keep = NGX_CONF_UNSET;
    tmcf->handoff = NGX_CONF_UNSET;

    return tmcf;
}


static char *
ngx_http_torchserve_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_torchserve_main_conf_t *tmcf = conf;

    ngx_conf_init_value(tmcf->intra_op_threads, 1);
    ngx_conf_init_value(tmcf->malloc_keep, NGX_HTTP_TORCHSERVE_MALLOC_KEEP);
    ngx_conf_init_value(tmcf->handoff, 1);

    tmcf->cycle = cf->cycle;
    ngx_conf_init_size_value(tmcf->max_archive_size,
                             (size_t) 4 * 1024 * 1024 * 1024);

    if (tmcf->thread_pool == NULL) {
        ngx_str_set(&tmcf->thread_pool_name, "default");

        tmcf->thread_pool = ngx_thread_pool_add(cf,
                                                &tmcf->thread_pool_name);
        if (tmcf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_torchserve_models_check(cf, tmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (tmcf->python_temp.len == 0) {
        ngx_str_set(&tmcf->python_temp, "/tmp");
    }

    if ((tmcf->state_path.len
         && ngx_http_torchserve_full_path(cf, &tmcf->state_path) != NGX_OK)
        || ngx_http_torchserve_full_path(cf, &tmcf->python_temp) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_torchserve_zone_init_conf(cf, tmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* path made absolute (from the prefix) and NUL-terminated for libc */
static ngx_int_t
ngx_http_torchserve_full_path(ngx_conf_t *cf, ngx_str_t *path)
{
    u_char  *p;

    if (ngx_conf_full_name(cf->cycle, path, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(cf->pool, path->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(p, path->data, path->len + 1);
    path->data = p;

    return NGX_OK;
}


/* torchserve_python_path DIR ...: ':'-joined, NUL-terminated */
static char *
ngx_http_torchserve_python_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_torchserve_main_conf_t *tmcf = conf;

    u_char      *p;
    size_t       len;
    ngx_str_t   *value;
    ngx_uint_t   i;

    if (tmcf->python_path.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    len = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_conf_full_name(cf->cycle, &value[i], 0) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, ':')
            != NULL)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "torchserve_python_path \"%V\" has a \":\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        len += value[i].len + 1;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    tmcf->python_path.data = p;
    tmcf->python_path.len = len - 1;

    for (i = 1; i < cf->args->nelts; i++) {
        p = ngx_cpymem(p, value[i].data, value[i].len);
        *p++ = (i + 1 < cf->args->nelts) ? ':' : '\0';
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_torchserve_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_torchserve_loc_conf_t  *tlcf;

    tlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_torchserve_loc_conf_t));
    if (tlcf == NULL) {
        return NULL;
    }

    tlcf->inference = NGX_CONF_UNSET;
    tlcf->management = NGX_CONF_UNSET;
    tlcf->metrics = NGX_CONF_UNSET;
    tlcf->model_api = NGX_CONF_UNSET;

    return tlcf;
}


static char *
ngx_http_torchserve_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_torchserve_loc_conf_t *prev = parent;
    ngx_http_torchserve_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->inference, prev->inference, 0);
    ngx_conf_merge_value(conf->management, prev->management, 0);
    ngx_conf_merge_value(conf->metrics, prev->metrics, 0);
    ngx_conf_merge_value(conf->model_api, prev->model_api, 1);

    return NGX_CONF_OK;
}


/*
 * torchserve_inference, torchserve_management, torchserve_metrics: the
 * location's flag at cmd->offset, its content handler in cmd->post (as
 * lua-nginx-module's content directives pass theirs)
 */
static char *
ngx_http_torchserve_location(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_flag_t                *flag;
    ngx_http_core_loc_conf_t  *clcf;

    flag = (ngx_flag_t *) ((char *) conf + cmd->offset);

    if (*flag != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    *flag = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = (ngx_http_handler_pt) cmd->post;

    return NGX_CONF_OK;
}


static char *
ngx_http_torchserve_model_store(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_torchserve_main_conf_t *tmcf = conf;

    ngx_str_t  *value;

    if (tmcf->model_store.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    tmcf->model_store = value[1];

    while (tmcf->model_store.len > 1
           && tmcf->model_store.data[tmcf->model_store.len - 1] == '/')
    {
        tmcf->model_store.len--;
    }

    if (ngx_conf_full_name(cf->cycle, &tmcf->model_store, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* bound here, so that nginx -t names this line for an undefined pool */
static char *
ngx_http_torchserve_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_torchserve_main_conf_t *tmcf = conf;

    ngx_str_t  *value;

    if (tmcf->thread_pool != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    tmcf->thread_pool_name = value[1];

    tmcf->thread_pool = ngx_thread_pool_add(cf, &tmcf->thread_pool_name);
    if (tmcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* torchserve_malloc_keep SIZE | off */
static char *
ngx_http_torchserve_malloc_keep(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_torchserve_main_conf_t *tmcf = conf;

    ngx_str_t  *value;
    ssize_t     keep;

    if (tmcf->malloc_keep != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        tmcf->malloc_keep = 0;
        return NGX_CONF_OK;
    }

    keep = ngx_parse_size(&value[1]);

    if (keep == NGX_ERROR || keep < 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "torchserve_malloc_keep \"%V\" is invalid: a "
                           "size of at least 1m, or off", &value[1]);
        return NGX_CONF_ERROR;
    }

    tmcf->malloc_keep = keep;

    return NGX_CONF_OK;
}


/*
 * glibc hands out blocks from 128 KB up with mmap() and gives freed heap
 * tops back to the kernel, keeping only 128 KB; a forward() allocates and
 * frees activations of that size every call, so each call page-faults its
 * memory in again (the floor on batches of 8: tiny 2.4x, resnet18 2.3x
 * slower for it).  Keeping up to `keep` bytes per arena (trim threshold
 * and top pad) makes the next forward() reuse them.
 */
static void
ngx_http_torchserve_tune_malloc(ngx_cycle_t *cycle, ssize_t keep)
{
#if (defined __GLIBC__)
    int  mmap_threshold;

    if (keep == 0) {
        return;
    }

    /* glibc refuses mmap thresholds above 32 MB (HEAP_MAX_SIZE / 2) */
    mmap_threshold = (int) ngx_min(keep, 32 * 1024 * 1024);

    if (mallopt(M_MMAP_THRESHOLD, mmap_threshold) != 1
        || mallopt(M_TRIM_THRESHOLD, (int) ngx_min(keep, NGX_MAX_INT32_VALUE))
           != 1
        || mallopt(M_TOP_PAD, (int) ngx_min(keep, NGX_MAX_INT32_VALUE)) != 1)
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "torchserve: mallopt() refused torchserve_malloc_keep "
                      "%z: glibc's defaults stay", keep);
    }
#endif
}





/*
 * Requests2XX/4XX/5XX are counted when each request is logged; the header
 * filter adds TorchServe's headers
 */
static ngx_int_t
ngx_http_torchserve_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_torchserve_log_handler;

    /* a handed-over prediction's client, before any access check */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_POST_READ_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_torchserve_handoff_client;

    return ngx_http_torchserve_headers_init(cf);
}


static ngx_int_t
ngx_http_torchserve_init_process(ngx_cycle_t *cycle)
{
    char                              err[TS_ERROR_LEN];
    ngx_http_torchserve_main_conf_t  *tmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    tmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_torchserve_module);
    if (tmcf == NULL) {
        return NGX_OK;
    }

    /* jansson's hash seed and libcurl, before any thread uses them */
    json_object_seed(0);
    ngx_http_torchserve_download_init();

    ngx_http_torchserve_tune_malloc(cycle, tmcf->malloc_keep);

    if (ts_torch_set_intra_op_threads((int) tmcf->intra_op_threads, err,
                                      sizeof(err))
        != 0)
    {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "torchserve: setting intra-op threads failed: %s", err);
    }

    ngx_queue_init(&tmcf->local);
    ngx_http_torchserve_names_init(&tmcf->local_names,
                                   &tmcf->local_sentinel);
    tmcf->local_generation = 0;

    ngx_http_torchserve_models_clean_stale(tmcf);

    /* after the event module's: our sockets join the event loop */
    ngx_http_torchserve_handoff_init(cycle, tmcf);

    /* loaded in the thread pool: the event loop answers meanwhile */
    ngx_http_torchserve_models_sync(cycle, tmcf);

    /* idle processes follow the registry too */
    tmcf->sync_timer.handler = ngx_http_torchserve_sync_handler;
    tmcf->sync_timer.data = tmcf;
    tmcf->sync_timer.log = cycle->log;
    tmcf->sync_timer.cancelable = 1;
    ngx_add_timer(&tmcf->sync_timer, NGX_HTTP_TORCHSERVE_SYNC_INTERVAL);

    return NGX_OK;
}


static void
ngx_http_torchserve_sync_handler(ngx_event_t *ev)
{
    ngx_http_torchserve_main_conf_t  *tmcf = ev->data;

    if (ngx_exiting) {
        /* shutting down (reload): siblings keep their predictions */
        ngx_http_torchserve_handoff_close(tmcf, 1);
        return;
    }

    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);
    ngx_http_torchserve_models_retry(tmcf);

    ngx_add_timer(ev, NGX_HTTP_TORCHSERVE_SYNC_INTERVAL);
}


static void
ngx_http_torchserve_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_torchserve_module);
    if (tmcf == NULL) {
        return;
    }

    ngx_http_torchserve_handoff_close(tmcf, 0);

    /* the thread pools have finished their tasks by now */
    ngx_http_torchserve_models_unload(tmcf);
}
