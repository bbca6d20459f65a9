/*
 * ngx_http_torchserve_state.c: torchserve_state, the registry kept in a
 * file so that API registrations survive a restart (TorchServe's
 * snapshots).
 *
 * After each change the registry is written from the thread pool (temp
 * file, fsync, rename under an flock of PATH.lock, newer generations
 * only), one write at a time per process with later changes coalesced;
 * when the zone is new the file is read back, all of it or nothing.
 */

#include <jansson.h>

#include "ngx_http_torchserve_module.h"

#include <sys/file.h>     /* flock */
#include <grp.h>          /* getgrouplist */


typedef struct {
    ngx_http_torchserve_main_conf_t  *tmcf;
    ngx_str_t                         path;         /* NUL-terminated */
    char                             *json;         /* malloc'd */
    size_t                            len;
    ngx_uint_t                        generation;
    ngx_atomic_t                     *written;
    ngx_int_t                         rc;
    ngx_uint_t                        stale;        /* a newer one won */
    char                              err[256];
    /* keeps an exiting worker until the write is done */
    ngx_http_torchserve_keep_t        keep;
} ngx_http_torchserve_save_t;


static void ngx_http_torchserve_save_thread(void *data, ngx_log_t *log);
static void ngx_http_torchserve_save_done(ngx_event_t *ev);


/* the registry as the state file says it (a new reference, or NULL) */
json_t *
ngx_http_torchserve_state_json_locked(ngx_http_torchserve_main_conf_t *tmcf)
{
    json_t                        *root, *models, *m, *shape;
    ngx_int_t                      i;
    ngx_queue_t                   *q;
    ngx_http_torchserve_record_t  *rec;

    root = json_object();
    models = json_array();

    if (root == NULL || models == NULL) {
        json_decref(root);
        json_decref(models);
        return NULL;
    }

    json_object_set_new(root, "generation",
                        json_integer((json_int_t) tmcf->sh->generation));
    json_object_set_new(root, "models", models);

    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);

        shape = json_array();
        for (i = 0; i < rec->options.input_ndim; i++) {
            json_array_append_new(shape,
                json_integer(rec->options.input_shape[i]));
        }

        m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I,"
                      " s:I, s:s, s:I, s:I, s:b, s:b, s:I, s:o, s:i, s:i}",
                      "modelName", rec->name,
                      "modelVersion", rec->version,
                      "modelUrl", rec->url,
                      "path", rec->path,
                      "handler", rec->handler,
                      "runtime", rec->runtime,
                      "device", rec->device,
                      "minWorkers", (json_int_t) rec->min_workers,
                      "maxWorkers", (json_int_t) rec->max_workers,
                      "batchSize", (json_int_t) rec->batch_size,
                      "maxBatchDelay", (json_int_t) rec->max_batch_delay,
                      "batchPolicy",
                      ngx_http_torchserve_batch_policy_name(rec->batch_policy),
                      "responseTimeout", (json_int_t) rec->response_timeout,
                      "jobQueueSize", (json_int_t) rec->job_queue_size,
                      "isDefault", (int) rec->is_default,
                      "loadedAtStartup", (int) rec->from_config,
                      "registeredAt", (json_int_t) rec->registered_ms,
                      "inputShape", shape,
                      "warmup", rec->options.warmup,
                      "inputDtype", rec->options.input_dtype);

        if (m == NULL || json_array_append_new(models, m) != 0) {
            json_decref(root);
            return NULL;
        }
    }

    return root;
}


/*
 * After a change: write the state file from the thread pool.  One write
 * at a time per process: changes made meanwhile are coalesced into one
 * more write of the newest snapshot when it is done, so that a burst of
 * API calls does not queue a write each in front of the predictions.
 */
void
ngx_http_torchserve_registry_save(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_log_t *log)
{
    json_t                      *root;
    ngx_uint_t                   generation;
    ngx_thread_task_t           *task;
    ngx_http_torchserve_save_t  *save;

    if (tmcf->state_path.len == 0) {
        return;
    }

    if (tmcf->save_busy) {
        tmcf->save_again = 1;
        return;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);
    root = ngx_http_torchserve_state_json_locked(tmcf);
    generation = tmcf->sh->generation;
    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    if (root == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "torchserve_state: no memory for the snapshot");
        return;
    }

    /* the task outlives any request: it lives on the heap */
    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_torchserve_save_t), log);
    if (task == NULL) {
        json_decref(root);
        return;
    }

    save = (ngx_http_torchserve_save_t *) (task + 1);
    task->ctx = save;

    save->json = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);

    if (save->json == NULL) {
        ngx_free(task);
        return;
    }

    save->len = ngx_strlen(save->json);
    save->tmcf = tmcf;
    save->path = tmcf->state_path;
    save->generation = generation;
    save->written = &tmcf->sh->state_written;

    task->handler = ngx_http_torchserve_save_thread;
    task->event.handler = ngx_http_torchserve_save_done;
    task->event.data = task;

    if (ngx_thread_task_post(tmcf->thread_pool, task) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "torchserve_state \"%V\": the thread pool refused "
                      "the write of generation %ui; the next change writes "
                      "it", &tmcf->state_path, generation);
        free(save->json);
        ngx_free(task);
        return;
    }

    tmcf->save_busy = 1;
    ngx_http_torchserve_keep(&save->keep, ngx_cycle->log,
                             "a torchserve_state write");
}


static void
ngx_http_torchserve_save_thread(void *data, ngx_log_t *log)
{
    ngx_http_torchserve_save_t *save = data;

    int         fd, lfd;
    char        tmp[NGX_HTTP_TORCHSERVE_PATH_LEN + 64];
    char        lock[NGX_HTTP_TORCHSERVE_PATH_LEN + 16];
    size_t      done;
    ssize_t     n;

    save->rc = NGX_ERROR;

    ngx_snprintf((u_char *) tmp, sizeof(tmp) - 1, "%V.%P.%ui.tmp%Z",
                 &save->path, ngx_pid, save->generation);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        ngx_snprintf((u_char *) save->err, sizeof(save->err) - 1,
                     "open(\"%s\") failed (%d: %s)%Z", tmp, errno,
                     strerror(errno));
        return;
    }

    for (done = 0; done < save->len; done += n) {
        n = write(fd, save->json + done, save->len - done);
        if (n <= 0) {
            ngx_snprintf((u_char *) save->err, sizeof(save->err) - 1,
                         "write(\"%s\") failed (%d: %s)%Z", tmp, errno,
                         strerror(errno));
            close(fd);
            unlink(tmp);
            return;
        }
    }

    if (fsync(fd) != 0 || close(fd) != 0) {
        ngx_snprintf((u_char *) save->err, sizeof(save->err) - 1,
                     "fsync(\"%s\") failed (%d: %s)%Z", tmp, errno,
                     strerror(errno));
        unlink(tmp);
        return;
    }

    /*
     * Only a newer snapshot may replace the file, and the check and the
     * rename are one step for every writer of every process: under an
     * flock() of PATH.lock (a pool thread may block on it).
     */
    ngx_snprintf((u_char *) lock, sizeof(lock) - 1, "%V.lock%Z", &save->path);

    lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd == -1 || flock(lfd, LOCK_EX) != 0) {
        ngx_snprintf((u_char *) save->err, sizeof(save->err) - 1,
                     "locking \"%s\" failed (%d: %s)%Z", lock, errno,
                     strerror(errno));
        if (lfd != -1) {
            close(lfd);
        }
        unlink(tmp);
        return;
    }

    if (*save->written >= save->generation) {
        unlink(tmp);
        save->stale = 1;
        save->rc = NGX_OK;

    } else if (rename(tmp, (char *) save->path.data) != 0) {
        ngx_snprintf((u_char *) save->err, sizeof(save->err) - 1,
                     "rename(\"%s\") failed (%d: %s)%Z", tmp, errno,
                     strerror(errno));
        unlink(tmp);

    } else {
        *save->written = save->generation;
        save->rc = NGX_OK;
    }

    /* closing the descriptor releases the lock */
    close(lfd);
}


static void
ngx_http_torchserve_save_done(ngx_event_t *ev)
{
    ngx_thread_task_t           *task = ev->data;
    ngx_http_torchserve_save_t  *save = task->ctx;

    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = save->tmcf;

    if (save->rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "torchserve_state \"%V\": %s", &save->path, save->err);

    } else {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "torchserve_state \"%V\": generation %ui %s",
                      &save->path, save->generation,
                      save->stale ? "not written: a newer one was"
                                  : "written");
    }

    ngx_http_torchserve_unkeep(&save->keep);

    free(save->json);
    ngx_free(task);

    tmcf->save_busy = 0;

    if (tmcf->save_again) {
        tmcf->save_again = 0;
        ngx_http_torchserve_registry_save(tmcf, ngx_cycle->log);
    }
}


static ngx_int_t
ngx_http_torchserve_state_str(json_t *m, const char *key, u_char *dst,
    size_t size, char *err, size_t errlen)
{
    json_t      *v;
    const char  *s;

    v = json_object_get(m, key);

    if (!json_is_string(v) || json_string_length(v) >= size) {
        snprintf(err, errlen, "\"%s\" is missing, not a string or too long",
                 key);
        return NGX_ERROR;
    }

    s = json_string_value(v);
    ngx_memcpy(dst, s, json_string_length(v) + 1);
    return NGX_OK;
}


static ngx_int_t
ngx_http_torchserve_state_uint(json_t *m, const char *key, ngx_uint_t *dst,
    char *err, size_t errlen)
{
    json_t  *v;

    v = json_object_get(m, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "\"%s\" is missing or not a whole number", key);
        return NGX_ERROR;
    }

    *dst = (ngx_uint_t) json_integer_value(v);
    return NGX_OK;
}


/* a record's strings in the state file, and where they go */
typedef struct {
    const char                   *key;
    size_t                        offset;
    size_t                        size;
} ngx_http_torchserve_state_str_t;

#define ngx_http_torchserve_rec_str(key, field)                              \
    { key, offsetof(ngx_http_torchserve_record_t, field),                    \
      sizeof(((ngx_http_torchserve_record_t *) 0)->field) }

static const ngx_http_torchserve_state_str_t
    ngx_http_torchserve_state_strs[] =
{
    ngx_http_torchserve_rec_str("modelName", name),
    ngx_http_torchserve_rec_str("modelVersion", version),
    ngx_http_torchserve_rec_str("modelUrl", url),
    ngx_http_torchserve_rec_str("path", path),
    ngx_http_torchserve_rec_str("handler", handler),
    ngx_http_torchserve_rec_str("runtime", runtime),
    ngx_http_torchserve_rec_str("device", device),
    { NULL, 0, 0 }
};


/* its numbers, with the ranges nginx.conf and the API check them by */
typedef struct {
    const char                   *key;
    size_t                        offset;
    ngx_uint_t                    param;
} ngx_http_torchserve_state_uint_t;

static const ngx_http_torchserve_state_uint_t
    ngx_http_torchserve_state_uints[] =
{
    { "minWorkers", offsetof(ngx_http_torchserve_record_t, min_workers),
      NGX_HTTP_TORCHSERVE_P_WORKERS },
    { "maxWorkers", offsetof(ngx_http_torchserve_record_t, max_workers),
      NGX_HTTP_TORCHSERVE_P_WORKERS },
    { "batchSize", offsetof(ngx_http_torchserve_record_t, batch_size),
      NGX_HTTP_TORCHSERVE_P_BATCH_SIZE },
    { "maxBatchDelay", offsetof(ngx_http_torchserve_record_t, max_batch_delay),
      NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY },
    { "responseTimeout",
      offsetof(ngx_http_torchserve_record_t, response_timeout),
      NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT },
    { NULL, 0, 0 }
};


/* inputShape and inputDtype into rec->options */
static ngx_int_t
ngx_http_torchserve_state_input(json_t *m, ngx_http_torchserve_record_t *rec,
    char *err, size_t errlen)
{
    json_t  *shape, *v;
    size_t   i;

    v = json_object_get(m, "inputDtype");
    if (!json_is_integer(v) || json_integer_value(v) < -1
        || json_integer_value(v) > TS_BOOL)
    {
        snprintf(err, errlen, "\"inputDtype\" is invalid");
        return NGX_ERROR;
    }

    rec->options.input_dtype = (int) json_integer_value(v);

    shape = json_object_get(m, "inputShape");
    if (!json_is_array(shape) || json_array_size(shape) >= TS_MAX_DIMS) {
        snprintf(err, errlen, "\"inputShape\" is invalid");
        return NGX_ERROR;
    }

    rec->options.input_ndim = json_array_size(shape) ? 0 : -1;

    for (i = 0; i < json_array_size(shape); i++) {
        v = json_array_get(shape, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            snprintf(err, errlen, "\"inputShape\" is invalid");
            return NGX_ERROR;
        }
        rec->options.input_shape[i] = json_integer_value(v);
        rec->options.input_ndim = (int) i + 1;
    }

    return NGX_OK;
}


/* one model of the state file into a record (not yet in the zone) */
static ngx_int_t
ngx_http_torchserve_state_record(json_t *m, ngx_http_torchserve_record_t *rec,
    char *err, size_t errlen)
{
    json_t                                  *v;
    ngx_str_t                                str_v;
    ngx_uint_t                               n, *dst;
    const ngx_http_torchserve_state_str_t   *str;
    const ngx_http_torchserve_state_uint_t  *num;

    if (!json_is_object(m)) {
        snprintf(err, errlen, "a model is not an object");
        return NGX_ERROR;
    }

    ngx_memzero(rec, sizeof(ngx_http_torchserve_record_t));

    for (str = ngx_http_torchserve_state_strs; str->key != NULL; str++) {
        if (ngx_http_torchserve_state_str(m, str->key,
                                          (u_char *) rec + str->offset,
                                          str->size, err, errlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    for (num = ngx_http_torchserve_state_uints; num->key != NULL; num++) {
        dst = (ngx_uint_t *) ((u_char *) rec + num->offset);

        if (ngx_http_torchserve_state_uint(m, num->key, dst, err, errlen)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ngx_http_torchserve_param_check(
                ngx_http_torchserve_param(num->param), *dst)
            != NGX_OK)
        {
            snprintf(err, errlen, "model \"%s\" version \"%s\": \"%s\" is "
                     "out of range", rec->name, rec->version, num->key);
            return NGX_ERROR;
        }
    }

    if (ngx_http_torchserve_state_uint(m, "warmup", &n, err, errlen)
        != NGX_OK
        || ngx_http_torchserve_param_check(
               ngx_http_torchserve_param(NGX_HTTP_TORCHSERVE_P_WARMUP), n)
           != NGX_OK)
    {
        snprintf(err, errlen, "model \"%s\" version \"%s\": \"warmup\" is "
                 "missing or out of range", rec->name, rec->version);
        return NGX_ERROR;
    }

    rec->options.warmup = (int) n;

    /* absent from state files written before adaptive batching */
    v = json_object_get(m, "batchPolicy");
    rec->batch_policy = NGX_HTTP_TORCHSERVE_BATCH_ADAPTIVE;

    if (v != NULL) {
        str_v.data = (u_char *) json_string_value(v);
        str_v.len = str_v.data ? ngx_strlen(str_v.data) : 0;

        if (!json_is_string(v)
            || ngx_http_torchserve_batch_policy(&str_v, &rec->batch_policy)
               != NGX_OK)
        {
            snprintf(err, errlen, "model \"%s\" version \"%s\": "
                     "\"batchPolicy\" is invalid", rec->name, rec->version);
            return NGX_ERROR;
        }
    }

    /* absent from state files written before batching */
    v = json_object_get(m, "jobQueueSize");
    rec->job_queue_size = json_is_integer(v) && json_integer_value(v) > 0
                          ? (ngx_uint_t) json_integer_value(v) : 100;

    if (ngx_http_torchserve_param_check(
            ngx_http_torchserve_param(NGX_HTTP_TORCHSERVE_P_JOB_QUEUE_SIZE),
            rec->job_queue_size)
        != NGX_OK)
    {
        snprintf(err, errlen, "model \"%s\" version \"%s\": "
                 "\"jobQueueSize\" is out of range", rec->name, rec->version);
        return NGX_ERROR;
    }

    if (!json_is_boolean(json_object_get(m, "isDefault"))
        || !json_is_boolean(json_object_get(m, "loadedAtStartup")))
    {
        snprintf(err, errlen, "\"isDefault\" or \"loadedAtStartup\" is "
                 "missing or not a boolean");
        return NGX_ERROR;
    }

    rec->is_default = json_is_true(json_object_get(m, "isDefault"));
    rec->from_config = json_is_true(json_object_get(m, "loadedAtStartup"));

    if (ngx_http_torchserve_state_input(m, rec, err, errlen) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_torchserve_valid_name(rec->name, ngx_strlen(rec->name))
        != NGX_OK
        || ngx_http_torchserve_valid_version(rec->version,
                                             ngx_strlen(rec->version))
           != NGX_OK
        || rec->path[0] != '/')
    {
        snprintf(err, errlen, "a model has an invalid name \"%s\", version "
                 "\"%s\" or path", rec->name, rec->version);
        return NGX_ERROR;
    }

    if (rec->device[0] != '\0'
        && !ts_device_valid((char *) rec->device, ngx_strlen(rec->device)))
    {
        snprintf(err, errlen, "model \"%s\" has an invalid device \"%s\": "
                 TS_DEVICE_RULE, rec->name, rec->device);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Reads torchserve_state into a new zone: all of it or nothing.  A
 * corrupt file is moved aside (PATH.corrupt) and said so in the log.
 */
void
ngx_http_torchserve_state_load_locked(ngx_log_t *log,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    char                           err[256], aside[NGX_HTTP_TORCHSERVE_PATH_LEN
                                                   + 16];
    json_t                        *root;
    ngx_int_t                      rc;
    json_error_t                   jerr;

    if (access((char *) tmcf->state_path.data, F_OK) != 0) {
        return;
    }

    root = json_load_file((char *) tmcf->state_path.data,
                          JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, sizeof(err), "invalid JSON at line %d, column %d: %s",
                 jerr.line, jerr.column, jerr.text);
        goto corrupt;
    }

    rc = ngx_http_torchserve_state_restore_locked(log, tmcf, root, err,
                                                  sizeof(err));
    if (rc == NGX_DECLINED) {
        goto corrupt;
    }

    json_decref(root);
    return;

corrupt:

    ngx_snprintf((u_char *) aside, sizeof(aside) - 1, "%V.corrupt%Z",
                 &tmcf->state_path);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "torchserve_state \"%V\" is refused: %s; starting without "
                  "it, the file is kept as \"%s\"", &tmcf->state_path, err,
                  aside);

    (void) rename((char *) tmcf->state_path.data, aside);

    json_decref(root);
}


static int ngx_libc_cdecl
ngx_http_torchserve_state_by_name(const void *one, const void *two)
{
    const ngx_http_torchserve_record_t  *a, *b;

    a = *(ngx_http_torchserve_record_t * const *) one;
    b = *(ngx_http_torchserve_record_t * const *) two;

    return ngx_strcmp(a->name, b->name);
}


/* no name with two default versions (our writer never gives one) */
static ngx_int_t
ngx_http_torchserve_state_defaults(ngx_http_torchserve_record_t *recs,
    size_t n, ngx_log_t *log, char *err, size_t errlen)
{
    size_t                          i, j;
    ngx_http_torchserve_record_t  **sorted;

    if (n < 2) {
        return NGX_OK;
    }

    sorted = ngx_alloc(n * sizeof(ngx_http_torchserve_record_t *), log);
    if (sorted == NULL) {
        snprintf(err, errlen, "no memory");
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        sorted[i] = &recs[i];
    }

    ngx_qsort(sorted, n, sizeof(ngx_http_torchserve_record_t *),
              ngx_http_torchserve_state_by_name);

    for (i = 0; i < n; i = j) {
        for (j = i + 1;
             j < n && ngx_strcmp(sorted[i]->name, sorted[j]->name) == 0;
             j++)
        {
            /* sorted[i] is the first default of the run, if any */
            if (!sorted[i]->is_default) {
                sorted[i] = sorted[j];
                continue;
            }

            if (sorted[j]->is_default) {
                snprintf(err, errlen, "model \"%s\" has two default "
                         "versions, \"%s\" and \"%s\"", sorted[i]->name,
                         sorted[i]->version, sorted[j]->version);
                ngx_free(sorted);
                return NGX_ERROR;
            }
        }
    }

    ngx_free(sorted);

    return NGX_OK;
}


/*
 * The state file's JSON (root) into the zone: every model checked
 * first, then added.  NGX_DECLINED: refused, err says why;
 * NGX_ERROR: no memory.  fuzz/targets/ngx_state.c calls it on the
 * fuzzer's JSON.
 */
ngx_int_t
ngx_http_torchserve_state_restore_locked(ngx_log_t *log,
    ngx_http_torchserve_main_conf_t *tmcf, json_t *root, char *err,
    size_t errlen)
{
    json_t                        *models;
    size_t                         i, n;
    ngx_uint_t                     found;
    ngx_str_t                      name, version;
    ngx_http_torchserve_record_t  *recs, *rec;

    models = json_object_get(root, "models");
    if (!json_is_array(models)) {
        snprintf(err, errlen, "no \"models\" array");
        return NGX_DECLINED;
    }

    n = json_array_size(models);

    /* a record takes two pages: what cannot fit is refused unallocated */
    if (n > tmcf->shpool->pfree / 2) {
        snprintf(err, errlen, "%zu models, more than the zone "
                 "(torchserve_zone) can hold (%zu)", n,
                 (size_t) tmcf->shpool->pfree / 2);
        return NGX_DECLINED;
    }

    recs = ngx_alloc((n + 1) * sizeof(ngx_http_torchserve_record_t), log);
    if (recs == NULL) {
        return NGX_ERROR;
    }

    /* check everything first: never half-applied */
    for (i = 0; i < n; i++) {
        if (ngx_http_torchserve_state_record(json_array_get(models, i),
                                             &recs[i], err, errlen)
            != NGX_OK)
        {
            ngx_free(recs);
            return NGX_DECLINED;
        }
    }

    if (ngx_http_torchserve_state_defaults(recs, n, log, err, errlen)
        != NGX_OK)
    {
        ngx_free(recs);
        return NGX_DECLINED;
    }

    for (i = 0; i < n; i++) {
        name.data = recs[i].name;
        name.len = ngx_strlen(recs[i].name);
        version.data = recs[i].version;
        version.len = ngx_strlen(recs[i].version);

        if (ngx_http_torchserve_record_find_locked(tmcf, &name, &version,
                                                   &found)
            != NULL)
        {
            continue;
        }

        rec = ngx_http_torchserve_record_add_locked(tmcf, &name, &version,
                                                    log);
        if (rec == NULL) {
            break;
        }

        /* the file's settings; the zone's links, id and time stay */
        recs[i].queue = rec->queue;
        recs[i].sibling = rec->sibling;
        recs[i].named = rec->named;
        recs[i].id_node = rec->id_node;
        recs[i].id = rec->id;
        recs[i].registered_ms = rec->registered_ms;
        ngx_memcpy(rec, &recs[i], sizeof(ngx_http_torchserve_record_t));
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "torchserve_state \"%V\": %uz model(s) restored",
                  &tmcf->state_path, n);

    ngx_free(recs);

    return NGX_OK;
}


/* may the worker processes' user (uid, gid and its groups) write dir? */
static ngx_uint_t
ngx_http_torchserve_user_may_write(ngx_core_conf_t *ccf,
    struct stat *st)
{
    int     i, n;
    gid_t   groups[64];

    if (ccf->user == 0) {
        return 1;
    }

    if (st->st_uid == ccf->user) {
        return (st->st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
    }

    n = 64;

    if (getgrouplist(ccf->username, ccf->group, groups, &n) < 0) {
        /* more than 64 groups: the primary group alone */
        groups[0] = ccf->group;
        n = 1;
    }

    for (i = 0; i < n; i++) {
        if (groups[i] == st->st_gid) {
            return (st->st_mode & (S_IWGRP | S_IXGRP))
                   == (S_IWGRP | S_IXGRP);
        }
    }

    return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}


/*
 * torchserve_state's folder must take the worker processes' writes (the
 * file, its temporary files and PATH.lock): else a registration would be
 * answered 200 and lost at the next restart.  Checked at nginx -t and at
 * each start and reload, by mode bits (ACLs are not read).
 */
ngx_int_t
ngx_http_torchserve_state_check_dir(ngx_cycle_t *cycle, ngx_str_t *path)
{
    u_char           *dir, *slash;
    ngx_uint_t        ok;
    struct stat       st;
    ngx_core_conf_t  *ccf;

    dir = ngx_pnalloc(cycle->pool, path->len + 1);
    if (dir == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(dir, path->data, path->len + 1);

    /* the path is absolute (ngx_conf_full_name) */
    slash = (u_char *) strrchr((char *) dir, '/');
    slash[slash == dir ? 1 : 0] = '\0';

    if (stat((char *) dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "torchserve_state \"%V\": its folder \"%s\" is not a "
                      "folder", path, dir);
        return NGX_ERROR;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    /* a master that is not root starts its workers as itself */
    ok = geteuid() == 0 ? ngx_http_torchserve_user_may_write(ccf, &st)
                        : access((char *) dir, W_OK | X_OK) == 0;

    if (!ok) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "torchserve_state \"%V\": the worker processes' user "
                      "\"%s\" cannot write its folder \"%s\": registrations "
                      "would be lost at restart (chown or chmod the folder, "
                      "or set \"user\")", path,
                      geteuid() == 0 ? ccf->username : "(this user)", dir);
        return NGX_ERROR;
    }

    return NGX_OK;
}
