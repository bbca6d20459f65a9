/*
 * ngx_http_torchserve_variables.c: variables for access logs and map.
 *
 *   $torchserve_model             the model a prediction went to
 *   $torchserve_model_version     its version
 *   $torchserve_batch_size        requests in the forward call that
 *                                 answered this one
 *   $torchserve_queue_time        seconds (microsecond precision) from
 *                                 the request's arrival in its model's
 *                                 queue to its batch's start in a thread
 *   $torchserve_inference_time    seconds in the thread: preprocess,
 *                                 forward, postprocess
 *   $torchserve_request_id        the x-request-id of the answer
 *                                 (ngx_http_torchserve_headers.c)
 *
 * Empty ("not found") for requests that ran no prediction.
 */

#include "ngx_http_torchserve_module.h"


typedef enum {
    NGX_HTTP_TORCHSERVE_VAR_MODEL = 0,
    NGX_HTTP_TORCHSERVE_VAR_VERSION,
    NGX_HTTP_TORCHSERVE_VAR_BATCH_SIZE,
    NGX_HTTP_TORCHSERVE_VAR_QUEUE_TIME,
    NGX_HTTP_TORCHSERVE_VAR_INFERENCE_TIME
} ngx_http_torchserve_var_e;


static ngx_int_t ngx_http_torchserve_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_torchserve_vars[] = {

    { ngx_string("torchserve_model"), NULL, ngx_http_torchserve_variable,
      NGX_HTTP_TORCHSERVE_VAR_MODEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("torchserve_model_version"), NULL,
      ngx_http_torchserve_variable, NGX_HTTP_TORCHSERVE_VAR_VERSION,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("torchserve_batch_size"), NULL,
      ngx_http_torchserve_variable, NGX_HTTP_TORCHSERVE_VAR_BATCH_SIZE,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("torchserve_queue_time"), NULL,
      ngx_http_torchserve_variable, NGX_HTTP_TORCHSERVE_VAR_QUEUE_TIME,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("torchserve_inference_time"), NULL,
      ngx_http_torchserve_variable, NGX_HTTP_TORCHSERVE_VAR_INFERENCE_TIME,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_torchserve_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_torchserve_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return ngx_http_torchserve_add_request_id_variable(cf);
}


static ngx_int_t
ngx_http_torchserve_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                          *p;
    uint64_t                         us;
    ngx_http_torchserve_infer_t     *ctx;
    ngx_http_torchserve_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_torchserve_module);

    /* the module's ctx is an inference ctx only in inference locations */
    ctx = tlcf->inference
          ? ngx_http_get_module_ctx(r, ngx_http_torchserve_module) : NULL;

    if (ctx == NULL || ctx->model == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    switch (data) {

    case NGX_HTTP_TORCHSERVE_VAR_MODEL:
        v->data = ctx->model->name.data;
        v->len = ctx->model->name.len;
        return NGX_OK;

    case NGX_HTTP_TORCHSERVE_VAR_VERSION:
        v->data = ctx->model->version.data;
        v->len = ctx->model->version.len;
        return NGX_OK;

    case NGX_HTTP_TORCHSERVE_VAR_BATCH_SIZE:
        if (ctx->done_us == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = ngx_sprintf(p, "%ui", ctx->batch_size) - p;
        return NGX_OK;

    default:
        if (ctx->done_us == 0 || ctx->run_us == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        us = (data == NGX_HTTP_TORCHSERVE_VAR_QUEUE_TIME)
             ? (ctx->run_us > ctx->enqueued_us
                ? ctx->run_us - ctx->enqueued_us : 0)
             : (ctx->end_us > ctx->run_us ? ctx->end_us - ctx->run_us : 0);

        p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 8);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->data = p;
        v->len = ngx_sprintf(p, "%uL.%06uL", us / 1000000, us % 1000000) - p;
        return NGX_OK;
    }
}
