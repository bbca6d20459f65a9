/*
 * ngx_http_torchserve_describe.c: the Management API's list and describe
 * (GET /models, GET /models/{m}[/{v}|/all]), read from the shared zone.
 */

#include <jansson.h>

#include "ngx_http_torchserve_module.h"


static int ngx_http_torchserve_cmp_names(const void *a, const void *b);
static ngx_uint_t ngx_http_torchserve_pending(
    ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_record_t *rec, ngx_uint_t slot);
static json_t *ngx_http_torchserve_describe_record(
    ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_record_t *rec);


static int
ngx_http_torchserve_cmp_names(const void *a, const void *b)
{
    const ngx_http_torchserve_record_t  *ra = *(void * const *) a;
    const ngx_http_torchserve_record_t  *rb = *(void * const *) b;

    return ngx_strcmp(ra->name, rb->name);
}


ngx_int_t
ngx_http_torchserve_list(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    json_t                         *root, *models, *m;
    ngx_int_t                       limit, token, n;
    ngx_str_t                       v, bad;
    ngx_uint_t                      i, count;
    ngx_queue_t                    *q;
    ngx_http_torchserve_record_t  **recs, *rec;
    static const char              *names[] = { "limit", "next_page_token",
                                                NULL };

    if (ngx_http_torchserve_check_args(r, NULL, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    /* TorchServe: junk and out-of-range values fall back to defaults */
    limit = 100;
    if (ngx_http_torchserve_arg(r, NULL, "limit", &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);
        if (n != NGX_ERROR && n <= 100) {
            limit = n;
        }
    }

    /* Java's Integer.parseInt: beyond INT_MAX it is junk, hence 0 */
    token = 0;
    if (ngx_http_torchserve_arg(r, NULL, "next_page_token", &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);
        if (n != NGX_ERROR && n <= NGX_MAX_INT32_VALUE) {
            token = n;
        }
    }

    root = json_object();
    models = json_array();
    if (root == NULL || models == NULL) {
        json_decref(root);
        json_decref(models);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    count = ngx_http_torchserve_records_count_locked(tmcf);

    recs = ngx_palloc(r->pool, (count + 1) * sizeof(void *));
    if (recs == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        json_decref(root);
        json_decref(models);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    count = 0;
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);
        if (rec->is_default) {
            recs[count++] = rec;
        }
    }

    ngx_qsort(recs, count, sizeof(void *), ngx_http_torchserve_cmp_names);

    for (i = (ngx_uint_t) token; i < count && i < (ngx_uint_t) (token + limit);
         i++)
    {
        m = json_pack("{s:s, s:s}", "modelName", recs[i]->name,
                      "modelUrl", recs[i]->url);
        json_array_append_new(models, m);
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    if ((ngx_uint_t) (token + limit) <= count && count > 0) {
        json_object_set_new(root, "nextPageToken",
                            json_sprintf("%d", (int) (token + limit)));
    }

    json_object_set_new(root, "models", models);

    return ngx_http_torchserve_send_json(r, NGX_HTTP_OK, root);
}


/* this process's queue now; the others' as of their last answer */
static ngx_uint_t
ngx_http_torchserve_pending(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_record_t *rec, ngx_uint_t slot)
{
    ngx_http_torchserve_model_t  *m;

    if (slot != (ngx_uint_t) ngx_worker) {
        return rec->procs[slot].pending;
    }

    m = ngx_http_torchserve_model_by_id(tmcf, rec->id);

    return m != NULL ? m->queued : 0;
}


static json_t *
ngx_http_torchserve_describe_record(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_record_t *rec)
{
    json_t                      *m, *workers, *w;
    u_char                       start[64], id[NGX_INT_T_LEN + 1];
    time_t                       sec;
    ngx_tm_t                     tm;
    ngx_uint_t                   i, gpu, pending, queues;
    ngx_http_torchserve_proc_t  *proc;

    gpu = ngx_strncmp(rec->device, "cuda", 4) == 0;

    workers = json_array();
    pending = 0;
    queues = 0;

    for (i = 0; i < NGX_HTTP_TORCHSERVE_MAX_PROCESSES; i++) {
        proc = &rec->procs[i];

        /* a slot of a process gone since (fewer workers after a reload) */
        if (proc->pid == 0 || proc->status == NGX_HTTP_TORCHSERVE_UNLOADED
            || (kill(proc->pid, 0) != 0 && errno != EPERM))
        {
            continue;
        }

        /* one job queue per worker process */
        pending += ngx_http_torchserve_pending(tmcf, rec, i);
        queues++;

        sec = (time_t) (proc->start_ms / 1000);
        ngx_localtime(sec, &tm);
        ngx_sprintf(start, "%4d-%02d-%02dT%02d:%02d:%02d.%03dZ%Z",
                    tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                    tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                    (int) (proc->start_ms % 1000));

        ngx_sprintf(id, "%ui%Z", i);

        w = json_pack("{s:s, s:s, s:s, s:I, s:i, s:b, s:s}",
                      "id", id,
                      "startTime", start,
                      "status", proc->status == NGX_HTTP_TORCHSERVE_READY
                                ? "READY"
                                : proc->status == NGX_HTTP_TORCHSERVE_LOADING
                                  ? "LOADING" : "FAILED",
                      "memoryUsage", (json_int_t) proc->memory,
                      "pid", (int) proc->pid,
                      "gpu", (int) gpu,
                      "gpuUsage", "N/A");

        json_array_append_new(workers, w);
    }

    m = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:i, s:i,"
                  " s:i, s:s, s:i, s:s}",
                  "modelName", rec->name,
                  "modelVersion", rec->version,
                  "modelUrl", rec->url,
                  "runtime", rec->runtime,
                  "minWorkers", (json_int_t) rec->min_workers,
                  "maxWorkers", (json_int_t) rec->max_workers,
                  "batchSize", (json_int_t) rec->batch_size,
                  "maxBatchDelay", (json_int_t) rec->max_batch_delay,
                  "responseTimeout", (json_int_t) rec->response_timeout,
                  "startupTimeout", 120,
                  "maxRetryTimeoutInSec", 300,
                  "clientTimeoutInMills", 0,
                  "parallelType", "",
                  "parallelLevel", 0,
                  "deviceType", gpu ? "gpu" : "cpu");

    if (m == NULL) {
        json_decref(workers);
        return NULL;
    }

    if (gpu && rec->device[4] == ':') {
        json_object_set_new(m, "deviceIds",
                            json_pack("[i]", atoi((char *) rec->device + 5)));
    }

    /* ours: how the queue forms batches */
    json_object_set_new(m, "batchPolicy", json_string(
        ngx_http_torchserve_batch_policy_name(rec->batch_policy)));
    json_object_set_new(m, "continuousBatching", json_false());
    json_object_set_new(m, "useJobTicket", json_false());
    json_object_set_new(m, "useVenv", json_false());
    json_object_set_new(m, "stateful", json_false());
    json_object_set_new(m, "sequenceMaxIdleMSec", json_integer(0));
    json_object_set_new(m, "sequenceTimeoutMSec", json_integer(0));
    json_object_set_new(m, "maxNumSequence", json_integer(0));
    json_object_set_new(m, "maxSequenceJobQueueSize", json_integer(0));
    json_object_set_new(m, "loadedAtStartup",
                        json_boolean(rec->from_config));
    json_object_set_new(m, "workers", workers);
    /* TorchServe's one queue per model is a queue per worker process here */
    queues = ngx_max(queues, 1);
    json_object_set_new(m, "jobQueueStatus",
        json_pack("{s:I, s:I}",
                  "remainingCapacity",
                  (json_int_t) (rec->job_queue_size * queues > pending
                                ? rec->job_queue_size * queues - pending : 0),
                  "pendingRequests", (json_int_t) pending));

    return m;
}


/*
 * The records asked for, copied under the zone's mutex so that they are
 * rendered after it (JSON, and kill() to find the processes still
 * alive): the lock covers only the lookup, as in limit_req.
 */
static ngx_int_t
ngx_http_torchserve_describe_copy(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t all, ngx_http_torchserve_record_t **copies,
    ngx_uint_t *n, ngx_uint_t *name_found)
{
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    ngx_queue_t                   *q;
    ngx_http_torchserve_name_t    *named;
    ngx_http_torchserve_record_t  *rec;

    *n = 0;
    *copies = NULL;
    rc = NGX_OK;

    /* this process's queue lengths, for jobQueueStatus */
    ngx_http_torchserve_counters_fold_all(tmcf);

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    named = ngx_http_torchserve_name_find(&tmcf->sh->names, name);
    *name_found = (named != NULL);

    if (named == NULL) {
        goto done;
    }

    if (!all) {
        rec = ngx_http_torchserve_record_find_locked(tmcf, name, version,
                                                     name_found);
        *n = (rec != NULL);

    } else {
        rec = NULL;

        for (q = ngx_queue_head(&named->versions);
             q != ngx_queue_sentinel(&named->versions);
             q = ngx_queue_next(q))
        {
            (*n)++;
        }
    }

    if (*n == 0) {
        goto done;
    }

    *copies = ngx_palloc(r->pool, *n * sizeof(ngx_http_torchserve_record_t));
    if (*copies == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    if (rec != NULL) {
        ngx_memcpy(*copies, rec, sizeof(ngx_http_torchserve_record_t));
        goto done;
    }

    i = 0;

    for (q = ngx_queue_head(&named->versions);
         q != ngx_queue_sentinel(&named->versions);
         q = ngx_queue_next(q))
    {
        ngx_memcpy(&(*copies)[i++],
                   ngx_queue_data(q, ngx_http_torchserve_record_t, sibling),
                   sizeof(ngx_http_torchserve_record_t));
    }

done:

    ngx_shmtx_unlock(&tmcf->shpool->mutex);
    return rc;
}


ngx_int_t
ngx_http_torchserve_describe(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t all)
{
    json_t                        *arr;
    ngx_str_t                      bad;
    ngx_uint_t                     i, n, name_found;
    ngx_http_torchserve_record_t  *copies;
    static const char             *names[] = { "customized", NULL };

    if (ngx_http_torchserve_check_args(r, NULL, names, &bad) != NGX_OK) {
        return ngx_http_torchserve_unknown_param(r, &bad);
    }

    if (ngx_http_torchserve_describe_copy(r, tmcf, name, version, all,
                                          &copies, &n, &name_found)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: describe \"%V\": %ui record(s)", name, n);

    if (n == 0) {
        return ngx_http_torchserve_model_not_found(r, name, version,
                                                   all ? 0 : name_found);
    }

    arr = json_array();
    if (arr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        json_array_append_new(arr,
            ngx_http_torchserve_describe_record(tmcf, &copies[i]));
    }

    return ngx_http_torchserve_send_json(r, NGX_HTTP_OK, arr);
}
