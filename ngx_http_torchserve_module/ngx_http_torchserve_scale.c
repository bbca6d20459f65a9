/*
 * ngx_http_torchserve_scale.c: the Management API's changes to a
 * registered model: scale (PUT /models/{m}[/{v}]), unregister (DELETE)
 * and set-default.  Each changes the zone under its mutex and bumps its
 * generation; this process reconciles at once, the others at their next
 * request or timer tick.
 */

#include <jansson.h>

#include "ngx_http_torchserve_module.h"


ngx_int_t
ngx_http_torchserve_scale(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version)
{
    ngx_int_t                      rc;
    ngx_str_t                      bad, v;
    ngx_flag_t                     sync;
    ngx_uint_t                     min, max, name_found;
    ngx_http_torchserve_record_t  *rec;
    ngx_http_torchserve_waiter_t  *w;
    static const char             *names[] = {
        "min_worker", "max_worker", "synchronous", "timeout", "number_gpu",
        "model_version", NULL };

    if (ngx_http_torchserve_check_args(r, NULL, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    if (version->len == 0
        && ngx_http_torchserve_arg(r, NULL, "model_version", &v) == NGX_OK)
    {
        *version = v;
    }

    if (ngx_http_torchserve_arg_number(r, NULL, "min_worker",
                                       NGX_HTTP_TORCHSERVE_P_WORKERS, 1,
                                       &min, &rc)
        != NGX_OK
        || ngx_http_torchserve_arg_number(r, NULL, "max_worker",
                                          NGX_HTTP_TORCHSERVE_P_WORKERS, min,
                                          &max, &rc)
           != NGX_OK)
    {
        return rc;
    }

    if (max < min) {
        return ngx_http_torchserve_send_error(r, NGX_HTTP_BAD_REQUEST, NULL,
                   "max_worker cannot be less than min_worker.");
    }

    if (ngx_http_torchserve_arg_bool(r, NULL, "synchronous", 0, &sync)
        != NGX_OK)
    {
        return ngx_http_torchserve_bad_param(r, NULL, "synchronous",
                                             "true or false");
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                 &name_found);
    if (rec == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return ngx_http_torchserve_model_not_found(r, name, version,
                                                   name_found);
    }

    rec->min_workers = min;
    rec->max_workers = max;

    /* every process tries a failed load again, even at the same count */
    rec->scale_seq++;

    ngx_http_torchserve_registry_changed_locked(tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "torchserve: model \"%V\" scaled to %ui workers", name,
                  min);

    ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

    if (!sync) {
        return ngx_http_torchserve_send_status(r, NGX_HTTP_ACCEPTED,
                                               "Processing worker updates...");
    }

    w = ngx_http_torchserve_waiter_create(r, tmcf);
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w->model = ngx_http_torchserve_model_find(tmcf, name, version,
                                              &name_found);
    w->workers = min;
    w->version = *version;
    w->scaling = 1;
    w->answer = ngx_http_torchserve_answer_waiter;

    /* to 0: unloaded once its requests are done, nothing to wait for */
    rc = ngx_http_torchserve_wait(r, w);

    if (rc == NGX_DONE) {
        r->main->count++;
    }

    return rc;
}


ngx_int_t
ngx_http_torchserve_unregister(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version)
{
    u_char                         msg[NGX_MAX_ERROR_STR];
    u_char                         path[NGX_HTTP_TORCHSERVE_PATH_LEN];
    ngx_str_t                      bad;
    ngx_uint_t                     name_found;
    ngx_http_torchserve_record_t  *rec;
    static const char             *names[] = { "synchronous", "timeout",
                                               NULL };

    if (ngx_http_torchserve_check_args(r, NULL, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                 &name_found);
    if (rec == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return ngx_http_torchserve_model_not_found(r, name, version,
                                                   name_found);
    }

    /* the default goes last: another version must be made default first */
    if (rec->is_default
        && ngx_queue_next(ngx_queue_head(&rec->named->versions))
           != ngx_queue_sentinel(&rec->named->versions))
    {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return ngx_http_torchserve_send_error(r, NGX_HTTP_FORBIDDEN,
                   "InvalidModelVersionException",
                   "Cannot remove default version for model %V", name);
    }

    /* an archive that came from a URL goes with its model */
    if (rec->downloaded) {
        ngx_cpystrn(path, rec->path, sizeof(path));
    } else {
        path[0] = '\0';
    }

    ngx_http_torchserve_record_remove_locked(tmcf, rec);
    ngx_http_torchserve_registry_changed_locked(tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                  "torchserve: model \"%V\" unregistered through the API",
                  name);

    if (path[0] != '\0') {
        ngx_http_torchserve_unlink_later(tmcf, path, r->connection->log);
    }

    ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

    ngx_snprintf(msg, sizeof(msg) - 1, "Model \"%V\" unregistered%Z", name);

    return ngx_http_torchserve_send_status(r, NGX_HTTP_OK, (char *) msg);
}


ngx_int_t
ngx_http_torchserve_set_default(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version)
{
    u_char                         msg[NGX_MAX_ERROR_STR];
    ngx_uint_t                     name_found;
    ngx_queue_t                   *q;
    ngx_http_torchserve_record_t  *rec, *other;

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                 &name_found);
    if (rec == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);

        if (!name_found) {
            return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                       "ModelNotFoundException", "Model not found: %V",
                       name);
        }

        return ngx_http_torchserve_send_error(r, NGX_HTTP_NOT_FOUND,
                   "ModelVersionNotFoundException",
                   "Model version %V does not exist for model %V",
                   version, name);
    }

    for (q = ngx_queue_head(&rec->named->versions);
         q != ngx_queue_sentinel(&rec->named->versions);
         q = ngx_queue_next(q))
    {
        other = ngx_queue_data(q, ngx_http_torchserve_record_t, sibling);
        other->is_default = (other == rec);
    }

    ngx_http_torchserve_registry_changed_locked(tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_http_torchserve_registry_save(tmcf, r->connection->log);
    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

    ngx_snprintf(msg, sizeof(msg) - 1, "Default version successfully "
                 "updated for model \"%V\" to \"%V\"%Z", name, version);

    return ngx_http_torchserve_send_status(r, NGX_HTTP_OK, (char *) msg);
}
