/*
 * ngx_http_torchserve_models.c: this worker process's table of models,
 * reconciled with the registry (_registry.c).
 *
 * New records are loaded in the thread pool, also while the process
 * starts: the event loop answers /ping, management and metrics at once
 * after a reload, and predictions for a model still loading wait for it
 * (_wait.c); removed ones are freed once their requests are done, scale
 * changes applied; a failed load is tried again with a back-off.
 */

#include "ngx_http_torchserve_module.h"


/* this process said that its interpreter started */
static ngx_uint_t  ngx_http_torchserve_python_logged;


/* a failed load is tried again after 1 s, then 2 s, 4 s ... up to 60 s */
#define NGX_HTTP_TORCHSERVE_RETRY_MIN       1000
#define NGX_HTTP_TORCHSERVE_RETRY_MAX       60000


typedef struct {
    ngx_http_torchserve_main_conf_t  *tmcf;
    ngx_http_torchserve_model_t      *model;
    ts_servable_t                    *servable;
    size_t                            max_archive_size;
    uint64_t                          memory;
    char                             *detail;   /* a traceback, malloc'd */
    const char                       *temp_dir;
    const char                       *python_path;
    ngx_uint_t                        instances;   /* loaded with */
    char                              err[TS_ERROR_LEN];
} ngx_http_torchserve_load_t;


/* a Python model's handler instances, scaled in the thread pool */
typedef struct {
    ngx_http_torchserve_main_conf_t  *tmcf;
    ngx_http_torchserve_model_t      *model;
    ts_servable_t                    *servable;
    int                               n;
    int                               count;
    char                             *detail;
    char                              err[TS_ERROR_LEN];
} ngx_http_torchserve_resize_t;


static void ngx_http_torchserve_model_load(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m);
static void ngx_http_torchserve_load_failed(ngx_http_torchserve_model_t *m,
    const char *err);
static void ngx_http_torchserve_load_thread(void *data, ngx_log_t *log);
static uint64_t ngx_http_torchserve_private_memory(void);
static void ngx_http_torchserve_load_done(ngx_event_t *ev);
static void ngx_http_torchserve_model_idle(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m);
static void ngx_http_torchserve_model_resize(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m);
static void ngx_http_torchserve_resize_thread(void *data, ngx_log_t *log);
static void ngx_http_torchserve_resize_done(ngx_event_t *ev);
static ngx_http_torchserve_record_t *ngx_http_torchserve_models_snapshot(
    ngx_cycle_t *cycle, ngx_http_torchserve_main_conf_t *tmcf, size_t *n,
    ngx_uint_t *generation);
static void ngx_http_torchserve_models_drop_gone(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf);
static void ngx_http_torchserve_model_update(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m,
    ngx_http_torchserve_record_t *rec);


static ngx_int_t
ngx_http_torchserve_copy_str(ngx_pool_t *pool, ngx_str_t *dst, u_char *src)
{
    dst->len = ngx_strlen(src);
    dst->data = ngx_pnalloc(pool, dst->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, dst->len + 1);
    return NGX_OK;
}


static ngx_http_torchserve_model_t *
ngx_http_torchserve_model_create(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_record_t *rec, ngx_log_t *log)
{
    ngx_pool_t                   *pool;
    ngx_http_torchserve_model_t  *m;

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return NULL;
    }

    m = ngx_pcalloc(pool, sizeof(ngx_http_torchserve_model_t));
    if (m == NULL
        || ngx_http_torchserve_copy_str(pool, &m->name, rec->name) != NGX_OK
        || ngx_http_torchserve_copy_str(pool, &m->version, rec->version)
           != NGX_OK
        || ngx_http_torchserve_copy_str(pool, &m->path, rec->path) != NGX_OK
        || ngx_http_torchserve_copy_str(pool, &m->handler, rec->handler)
           != NGX_OK
        || ngx_http_torchserve_copy_str(pool, &m->device, rec->device)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return NULL;
    }

    m->pool = pool;
    m->tmcf = tmcf;
    m->id = rec->id;
    m->batch_size = rec->batch_size;
    m->max_batch_delay = rec->max_batch_delay;
    m->batch_policy = rec->batch_policy;
    m->job_queue_size = rec->job_queue_size;
    m->response_timeout = rec->response_timeout * 1000;
    ngx_http_torchserve_batch_init(m);
    ngx_http_torchserve_counters_init(m);
    m->options = rec->options;
    m->options.device = NULL;
    m->workers = rec->min_workers;
    m->scale_seq = rec->scale_seq;
    m->is_default = rec->is_default;
    m->status = NGX_HTTP_TORCHSERVE_UNLOADED;
    ngx_queue_init(&m->waiters);

    m->named = ngx_http_torchserve_name_add(&tmcf->local_names, &m->name,
                                            NULL);
    if (m->named == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    ngx_http_torchserve_name_link(m->named, &m->sibling);
    ngx_queue_insert_tail(&tmcf->local, &m->queue);

    return m;
}


/* out of the lookups by name: no new request finds it */
static void
ngx_http_torchserve_model_unname(ngx_http_torchserve_model_t *m)
{
    if (m->named != NULL) {
        ngx_http_torchserve_name_unlink(&m->tmcf->local_names, m->named,
                                        &m->sibling, NULL);
        m->named = NULL;
    }
}


static void
ngx_http_torchserve_model_destroy(ngx_http_torchserve_model_t *m)
{
    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "torchserve: model \"%V\" version \"%V\" freed",
                  &m->name, &m->version);

    if (m->batch_timer.timer_set) {
        ngx_del_timer(&m->batch_timer);
    }

    if (m->batch_flush.posted) {
        ngx_delete_posted_event(&m->batch_flush);
    }

    ngx_http_torchserve_counters_settle(m);

    ngx_queue_remove(&m->queue);
    ngx_http_torchserve_model_unname(m);

    if (m->servable != NULL) {
        ts_servable_free(m->servable);
    }

    ngx_destroy_pool(m->pool);
}


/*
 * Brings this process's table to the registry's generation: new records
 * are loaded in the thread pool, removed ones are dropped once their
 * requests are done, scale changes applied.
 */
void
ngx_http_torchserve_models_sync(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    size_t                         n, i;
    ngx_uint_t                     generation;
    ngx_http_torchserve_model_t   *m;
    ngx_http_torchserve_record_t  *snap;

    if (tmcf->sh == NULL || tmcf->sh->generation == tmcf->local_generation) {
        return;
    }

    snap = ngx_http_torchserve_models_snapshot(cycle, tmcf, &n, &generation);
    if (snap == NULL) {
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                   "torchserve: reconcile: generation %ui -> %ui, %uz "
                   "record(s)", tmcf->local_generation, generation, n);

    tmcf->local_generation = generation;

    ngx_http_torchserve_models_drop_gone(cycle, tmcf);

    for (i = 0; i < n; i++) {
        m = ngx_http_torchserve_model_by_id(tmcf, snap[i].id);

        if (m == NULL) {
            m = ngx_http_torchserve_model_create(tmcf, &snap[i], cycle->log);
            if (m == NULL) {
                continue;
            }

            if (m->workers > 0) {
                ngx_http_torchserve_model_load(tmcf, m);
            } else {
                ngx_http_torchserve_set_proc_status(tmcf, m);
            }

            continue;
        }

        ngx_http_torchserve_model_update(tmcf, m, &snap[i]);
    }

    ngx_free(snap);
}


/*
 * The registry's records, copied under the zone's mutex; this process's
 * models whose record is gone are marked meanwhile (a lookup by id).
 */
static ngx_http_torchserve_record_t *
ngx_http_torchserve_models_snapshot(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf, size_t *n, ngx_uint_t *generation)
{
    size_t                         i;
    ngx_queue_t                   *q;
    ngx_http_torchserve_model_t   *m;
    ngx_http_torchserve_record_t  *snap, *rec;

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    *n = ngx_http_torchserve_records_count_locked(tmcf);

    snap = ngx_alloc((*n + 1) * sizeof(ngx_http_torchserve_record_t),
                     cycle->log);
    if (snap == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return NULL;
    }

    i = 0;
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);
        ngx_memcpy(&snap[i++], rec, sizeof(ngx_http_torchserve_record_t));
    }

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);
        m->gone = !m->removed
                  && ngx_http_torchserve_record_by_id_locked(tmcf, m->id)
                     == NULL;
    }

    *generation = tmcf->sh->generation;

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    return snap;
}


/* the models unregistered since: out of the lookups, freed once idle */
static void
ngx_http_torchserve_models_drop_gone(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_queue_t                  *q, *next;
    ngx_http_torchserve_model_t  *m;

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = next)
    {
        next = ngx_queue_next(q);
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        if (!m->gone) {
            continue;
        }

        m->gone = 0;
        m->removed = 1;
        ngx_http_torchserve_model_unname(m);
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\" "
                      "unregistered", &m->name, &m->version);
        ngx_http_torchserve_wake_waiters(m);
        ngx_http_torchserve_model_idle(tmcf, m);
    }
}


/* a model this process has: its record's settings and scale */
static void
ngx_http_torchserve_model_update(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m, ngx_http_torchserve_record_t *rec)
{
    m->is_default = rec->is_default;
    m->batch_size = rec->batch_size;
    m->max_batch_delay = rec->max_batch_delay;
    m->batch_policy = rec->batch_policy;
    m->job_queue_size = rec->job_queue_size;
    m->response_timeout = rec->response_timeout * 1000;

    /* a scale request, even to the same count, retries a failure */
    if (m->workers == rec->min_workers && m->scale_seq == rec->scale_seq) {
        return;
    }

    m->workers = rec->min_workers;
    m->scale_seq = rec->scale_seq;

    if (m->workers > 0
        && (m->status == NGX_HTTP_TORCHSERVE_UNLOADED
            || m->status == NGX_HTTP_TORCHSERVE_FAILED))
    {
        ngx_http_torchserve_model_load(tmcf, m);

    } else if (m->workers == 0) {
        ngx_http_torchserve_model_idle(tmcf, m);
        ngx_http_torchserve_wake_waiters(m);

    } else if (m->status == NGX_HTTP_TORCHSERVE_READY
               && m->servable->kind == TS_SERVABLE_PYTHON)
    {
        ngx_http_torchserve_model_resize(tmcf, m);
    }
}


/*
 * A loaded Python model's handler instances follow its workers: new ones
 * are initialized in the thread pool; the servable stays (inflight) until
 * that is done.
 */
static void
ngx_http_torchserve_model_resize(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m)
{
    ngx_thread_task_t             *task;
    ngx_http_torchserve_resize_t  *rs;

    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_torchserve_resize_t), ngx_cycle->log);
    if (task == NULL) {
        return;
    }

    rs = (ngx_http_torchserve_resize_t *) (task + 1);
    rs->tmcf = tmcf;
    rs->model = m;
    rs->servable = m->servable;
    rs->n = (int) m->workers;

    task->ctx = rs;
    task->handler = ngx_http_torchserve_resize_thread;
    task->event.handler = ngx_http_torchserve_resize_done;
    task->event.data = task;

    m->inflight++;
    m->resizing = 1;

    if (ngx_thread_task_post(tmcf->thread_pool, task) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\": the thread "
                      "pool refused to scale its handler instances to %ui",
                      &m->name, &m->version, m->workers);
        ngx_free(task);
        m->resizing = 0;
        ngx_http_torchserve_wake_waiters(m);
        ngx_http_torchserve_model_release(tmcf, m);
    }
}


static void
ngx_http_torchserve_resize_thread(void *data, ngx_log_t *log)
{
    ngx_http_torchserve_resize_t  *rs = data;

    rs->count = ts_servable_resize(rs->servable, rs->n, &rs->detail,
                                   rs->err, sizeof(rs->err));
}


static void
ngx_http_torchserve_resize_done(ngx_event_t *ev)
{
    ngx_thread_task_t                *task = ev->data;
    ngx_http_torchserve_model_t      *m;
    ngx_http_torchserve_resize_t     *rs;
    ngx_http_torchserve_main_conf_t  *tmcf;

    rs = task->ctx;
    m = rs->model;
    tmcf = rs->tmcf;

    if (rs->count < 0) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\": scaling to "
                      "%d handler instances failed: %s%s%s", &m->name,
                      &m->version, rs->n, rs->err, rs->detail ? "\n" : "",
                      rs->detail ? rs->detail : "");
    } else {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\": handler "
                      "instances now %d", &m->name, &m->version, rs->count);
    }

    free(rs->detail);

    /* rs lives in the task's allocation: nothing reads it after this */
    ngx_free(task);

    /* a synchronous scale answers now */
    m->resizing = 0;
    ngx_http_torchserve_wake_waiters(m);

    ngx_http_torchserve_model_release(tmcf, m);
}


/* unloads or frees what is no longer wanted, once nothing uses it */
static void
ngx_http_torchserve_model_idle(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m)
{
    if (m->inflight > 0 || m->status == NGX_HTTP_TORCHSERVE_LOADING) {
        return;
    }

    if (m->removed) {
        ngx_http_torchserve_model_destroy(m);
        return;
    }

    if (m->workers == 0 && m->servable != NULL) {
        ts_servable_free(m->servable);
        m->servable = NULL;
        m->status = NGX_HTTP_TORCHSERVE_UNLOADED;

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\" unloaded "
                      "(0 workers)", &m->name, &m->version);

        ngx_http_torchserve_set_proc_status(tmcf, m);
    }
}


void
ngx_http_torchserve_model_release(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m)
{
    m->inflight--;
    ngx_http_torchserve_model_idle(tmcf, m);
}


/* FAILED, and when the reconcile loop tries again: 1 s, doubling to 60 s */
static void
ngx_http_torchserve_load_failed(ngx_http_torchserve_model_t *m,
    const char *err)
{
    m->status = NGX_HTTP_TORCHSERVE_FAILED;
    ngx_cpystrn(m->load_error, (u_char *) err, TS_ERROR_LEN);

    m->retry_delay = m->retry_delay
                     ? ngx_min(m->retry_delay * 2,
                               NGX_HTTP_TORCHSERVE_RETRY_MAX)
                     : NGX_HTTP_TORCHSERVE_RETRY_MIN;
    m->retry_at = ngx_current_msec + m->retry_delay;

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "torchserve: model \"%V\" version \"%V\" from \"%V\" "
                  "failed to load: %s; retrying in %M ms", &m->name,
                  &m->version, &m->path, err, m->retry_delay);
}


/* the reconcile loop: failed loads of wanted models are tried again */
void
ngx_http_torchserve_models_retry(ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        if (m->removed || m->workers == 0
            || m->status != NGX_HTTP_TORCHSERVE_FAILED
            || (ngx_msec_int_t) (ngx_current_msec - m->retry_at) < 0)
        {
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\": retrying "
                      "its load, %M ms after it failed", &m->name,
                      &m->version, m->retry_delay);

        ngx_http_torchserve_model_load(tmcf, m);
    }
}


static void
ngx_http_torchserve_model_load(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m)
{
    ngx_thread_task_t           *task;
    ngx_http_torchserve_load_t  *ld;

    /* heap: the load may outlive the request that asked for it */
    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_torchserve_load_t), ngx_cycle->log);
    if (task == NULL) {
        return;
    }

    ld = (ngx_http_torchserve_load_t *) (task + 1);
    task->ctx = ld;

    ld->tmcf = tmcf;
    ld->model = m;
    ld->max_archive_size = tmcf->max_archive_size;
    ld->instances = m->workers > 0 ? m->workers : 1;
    ld->temp_dir = (char *) tmcf->python_temp.data;
    ld->python_path = tmcf->python_path.len ? (char *) tmcf->python_path.data
                                            : NULL;

    m->status = NGX_HTTP_TORCHSERVE_LOADING;

    /* describe shows this process's worker as LOADING until the load ends */
    ngx_http_torchserve_set_proc_status(tmcf, m);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "torchserve: loading model \"%V\" version \"%V\"",
                   &m->name, &m->version);

    task->handler = ngx_http_torchserve_load_thread;
    task->event.handler = ngx_http_torchserve_load_done;
    task->event.data = task;

    if (ngx_thread_task_post(tmcf->thread_pool, task) != NGX_OK) {
        ngx_http_torchserve_load_failed(m,
                                   "the thread pool refused the load task");
        ngx_http_torchserve_set_proc_status(tmcf, m);
        ngx_http_torchserve_wake_waiters(m);
        ngx_free(task);
    }
}


/* in a pool thread: no nginx state touched */
static void
ngx_http_torchserve_load_thread(void *data, ngx_log_t *log)
{
    ngx_http_torchserve_load_t *ld = data;

    ts_archive_t                 *a;
    ts_load_options_t             options;
    ts_archive_limits_t           limits;
    ngx_http_torchserve_model_t  *m;

    m = ld->model;

    ngx_http_torchserve_archive_limits(&limits, ld->max_archive_size, 1);

    a = ts_archive_open((char *) m->path.data, &limits, ld->err,
                        sizeof(ld->err));
    if (a == NULL) {
        return;
    }

    options = m->options;
    options.device = m->device.len ? (char *) m->device.data : NULL;
    options.instances = (int) ld->instances;
    options.batch_size = (int) m->batch_size;
    options.model_name = (char *) m->name.data;
    options.model_version = (char *) m->version.data;
    options.temp_dir = ld->temp_dir;
    options.python_path = ld->python_path;

    ld->servable = ts_servable_load(a, (char *) m->handler.data, &options,
                                    &ld->detail, ld->err, sizeof(ld->err));

    ts_archive_free(a);

    ld->memory = ngx_http_torchserve_private_memory();
}


/*
 * The process's private memory (USS) in bytes: RSS would count the
 * libtorch pages every worker shares with the master.
 */
static uint64_t
ngx_http_torchserve_private_memory(void)
{
    FILE                *f;
    char                 line[256];
    unsigned long long   kb, total;

    f = fopen("/proc/self/smaps_rollup", "r");
    if (f == NULL) {
        return 0;
    }

    total = 0;

    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Private_Clean: %llu kB", &kb) == 1
            || sscanf(line, "Private_Dirty: %llu kB", &kb) == 1)
        {
            total += kb;
        }
    }

    fclose(f);

    return (uint64_t) total * 1024;
}


static void
ngx_http_torchserve_load_done(ngx_event_t *ev)
{
    ngx_thread_task_t                *task = ev->data;
    ngx_http_torchserve_load_t       *ld;
    ngx_http_torchserve_model_t      *m;
    ngx_http_torchserve_main_conf_t  *tmcf;

    ld = task->ctx;
    m = ld->model;
    tmcf = ld->tmcf;

    if (ts_python_started() && !ngx_http_torchserve_python_logged) {
        /* once: a TorchScript-only server never prints this */
        ngx_http_torchserve_python_logged = 1;
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: the embedded Python interpreter started "
                      "in this worker process for model \"%V\": %s",
                      &m->name, ts_python_notice());
    }

    if (ld->detail != NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\": %s",
                      &m->name, &m->version, ld->detail);
        free(ld->detail);
        ld->detail = NULL;
    }

    if (ld->servable == NULL) {
        ngx_http_torchserve_load_failed(m, ld->err);

    } else {
        m->servable = ld->servable;
        m->status = NGX_HTTP_TORCHSERVE_READY;
        m->retry_delay = 0;

        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: model \"%V\" version \"%V\" loaded from "
                      "\"%V\" on %s, handler \"%V\"", &m->name, &m->version,
                      &m->path, ts_servable_device(m->servable),
                      &m->handler);

        /* scaled while it loaded */
        if (m->servable->kind == TS_SERVABLE_PYTHON && m->workers > 0
            && m->workers != ld->instances && !m->removed)
        {
            ngx_http_torchserve_model_resize(tmcf, m);
        }

        if (ts_servable_requirements(m->servable) != NULL) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "torchserve: model \"%V\" version \"%V\": its "
                          "requirementsFile \"%s\" is not installed (as "
                          "TorchServe's default); put the packages on "
                          "torchserve_python_path", &m->name, &m->version,
                          ts_servable_requirements(m->servable));
        }
    }

    m->memory = ld->memory;

    if (!m->removed) {
        ngx_http_torchserve_set_proc_status(tmcf, m);
    }

    ngx_http_torchserve_wake_waiters(m);

    /* ld lives in the task's allocation: nothing reads it after this */
    ngx_free(task);

    /* removed or scaled to 0 while it loaded */
    ngx_http_torchserve_model_idle(tmcf, m);
}


/*
 * At a worker process's start, before its event loop: the private
 * folders of Python models whose process was killed (SIGKILL, a crash)
 * would stay forever. A readdir and, rarely, a few unlinks.
 */
void
ngx_http_torchserve_models_clean_stale(ngx_http_torchserve_main_conf_t *tmcf)
{
    int  removed;

    removed = ts_archive_remove_stale((char *) tmcf->python_temp.data,
                                      TS_UNPACK_PREFIX);
    if (removed > 0) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "torchserve: removed %d unpack folder(s) of worker "
                      "processes that no longer run from \"%V\"", removed,
                      &tmcf->python_temp);
    }
}


void
ngx_http_torchserve_models_unload(ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    if (tmcf->local.next == NULL) {
        return;
    }

    while (!ngx_queue_empty(&tmcf->local)) {
        q = ngx_queue_head(&tmcf->local);
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        /*
         * nginx waits for its pool threads at exit, unless the pool's
         * queue was full then: a thread may still run this model's batch
         * or load, so it is left to the process's exit
         */
        if (m->batches > 0 || m->status == NGX_HTTP_TORCHSERVE_LOADING) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "torchserve: model \"%V\" version \"%V\" is "
                          "still in use by a thread at exit: not freed",
                          &m->name, &m->version);
            ngx_queue_remove(&m->queue);
            ngx_http_torchserve_model_unname(m);
            continue;
        }

        ngx_http_torchserve_model_destroy(m);
    }
}


/*
 * name and, if given, version; without a version the default one.
 * *name_found tells a missing name (404 model) from a missing version.
 */
/* this process's live copy of registry record id, or NULL */
ngx_http_torchserve_model_t *
ngx_http_torchserve_model_by_id(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t id)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        if (m->id == id && !m->removed) {
            return m;
        }
    }

    return NULL;
}


ngx_http_torchserve_model_t *
ngx_http_torchserve_model_find(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_str_t *name, ngx_str_t *version, ngx_uint_t *name_found)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_name_t   *n;
    ngx_http_torchserve_model_t  *m;

    /* removed models are out of the index */
    n = ngx_http_torchserve_name_find(&tmcf->local_names, name);

    *name_found = (n != NULL);

    if (n == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&n->versions);
         q != ngx_queue_sentinel(&n->versions);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, sibling);

        if (version->len == 0) {
            if (m->is_default) {
                return m;
            }
            continue;
        }

        if (m->version.len == version->len
            && ngx_strncmp(m->version.data, version->data, version->len) == 0)
        {
            return m;
        }
    }

    return NULL;
}
