/*
 * ngx_http_torchserve_module.h: types shared by the module's files.
 *
 *   _module.c    directives, configuration, process init/exit
 *   _models.c    configured models: checks at nginx -t, loads per process
 *   _handler.c   the inference location: /ping, /predictions (thread pool)
 *   _reply.c     JSON answers and TorchServe's error shape
 */

#ifndef _NGX_HTTP_TORCHSERVE_MODULE_H_INCLUDED_
#define _NGX_HTTP_TORCHSERVE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ts_handler.h"


#if !(NGX_THREADS)
#error ngx_http_torchserve_module needs nginx built --with-threads
#endif


typedef enum {
    NGX_HTTP_TORCHSERVE_UNLOADED = 0,   /* workers=0: registered only */
    NGX_HTTP_TORCHSERVE_READY,
    NGX_HTTP_TORCHSERVE_FAILED
} ngx_http_torchserve_model_status_e;


typedef struct {
    ngx_str_t                        name;
    ngx_str_t                        version;
    ngx_str_t                        archive;      /* as written */
    ngx_str_t                        path;         /* resolved, with NUL */
    ngx_str_t                        handler;      /* "" -> manifest's */
    ngx_str_t                        device;       /* "" -> cpu */
    ngx_uint_t                       workers;
    ts_load_options_t                options;

    ngx_flag_t                       is_default;

    /* where the directive stands, for messages */
    ngx_str_t                        conf_file;
    ngx_uint_t                       conf_line;

    /* this worker process's copy */
    ngx_http_torchserve_model_status_e  status;
    ts_servable_t                   *servable;
    ngx_str_t                        load_error;
} ngx_http_torchserve_model_t;


typedef struct {
    ngx_str_t                        model_store;
    ngx_array_t                      models;   /* ngx_http_torchserve_model_t */
    ngx_str_t                        thread_pool_name;
    ngx_thread_pool_t               *thread_pool;
    ngx_int_t                        intra_op_threads;
    size_t                           max_archive_size;
} ngx_http_torchserve_main_conf_t;


typedef struct {
    ngx_flag_t                       inference;
} ngx_http_torchserve_loc_conf_t;


extern ngx_module_t  ngx_http_torchserve_module;


/* _models.c */
char *ngx_http_torchserve_model_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_torchserve_models_check(ngx_conf_t *cf,
    ngx_http_torchserve_main_conf_t *tmcf);
ngx_int_t ngx_http_torchserve_models_load(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_models_unload(ngx_http_torchserve_main_conf_t *tmcf);
ngx_http_torchserve_model_t *ngx_http_torchserve_model_find(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t *name_found);

/* _handler.c */
ngx_int_t ngx_http_torchserve_inference_handler(ngx_http_request_t *r);

/* _reply.c */
ngx_int_t ngx_http_torchserve_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len);
ngx_int_t ngx_http_torchserve_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *fmt, ...);
ngx_int_t ngx_http_torchserve_send_status(ngx_http_request_t *r,
    ngx_uint_t status, const char *text);
const char *ngx_http_torchserve_error_type(ngx_uint_t status);


#endif /* _NGX_HTTP_TORCHSERVE_MODULE_H_INCLUDED_ */
