/*
 * ngx_http_torchserve_registry.c: the model registry in shared memory.
 *
 * One zone (torchserve_zone NAME:SIZE) holds every registered model as a
 * fixed-size record, and a generation number bumped by each change, so
 * that every worker process can reconcile its own table (_models.c).
 * The zone is reused across reload (same name and size), where the
 * models of nginx.conf are re-synced; API registrations stay.  With
 * torchserve_state, the registry is also kept in a file (_state.c).
 */

#include <jansson.h>

#include "ngx_http_torchserve_module.h"


#define NGX_HTTP_TORCHSERVE_ZONE_SIZE  (16 * 1024 * 1024)


static ngx_int_t ngx_http_torchserve_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_torchserve_sync_config_locked(ngx_log_t *log,
    ngx_http_torchserve_main_conf_t *tmcf);


void
ngx_http_torchserve_strlcpy(u_char *dst, ngx_str_t *src, size_t size)
{
    size_t  len;

    len = ngx_min(src->len, size - 1);
    ngx_memcpy(dst, src->data, len);
    dst[len] = '\0';
}


/* torchserve_zone NAME:SIZE; */
char *
ngx_http_torchserve_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_torchserve_main_conf_t *tmcf = conf;

    u_char     *p;
    ssize_t     size;
    ngx_str_t  *value, name, s;

    if (tmcf->shm_zone != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');
    if (p == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\": use NAME:SIZE", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (name.len == 0 || size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\": use NAME:SIZE", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    tmcf->shm_zone = ngx_shared_memory_add(cf, &name, size,
                                           &ngx_http_torchserve_module);
    if (tmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (tmcf->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }

    tmcf->shm_zone->init = ngx_http_torchserve_init_zone;
    tmcf->shm_zone->data = tmcf;

    return NGX_CONF_OK;
}


/* the default zone, when nginx.conf names none */
ngx_int_t
ngx_http_torchserve_zone_init_conf(ngx_conf_t *cf,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_str_t  name = ngx_string("torchserve");

    if (tmcf->shm_zone != NULL) {
        return NGX_OK;
    }

    tmcf->shm_zone = ngx_shared_memory_add(cf, &name,
                                           NGX_HTTP_TORCHSERVE_ZONE_SIZE,
                                           &ngx_http_torchserve_module);
    if (tmcf->shm_zone == NULL) {
        return NGX_ERROR;
    }

    tmcf->shm_zone->init = ngx_http_torchserve_init_zone;
    tmcf->shm_zone->data = tmcf;

    return NGX_OK;
}


/* runs in the master at start and at each reload */
static ngx_int_t
ngx_http_torchserve_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_torchserve_main_conf_t  *otmcf = data;

    size_t                            len;
    ngx_log_t                        *log;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = shm_zone->data;

    /* the new cycle's log: nginx.conf's error_log is open by now */
    log = tmcf->cycle->log;

    /* here, not at parse time: the "user" directive is known by now */
    if (tmcf->state_path.len
        && ngx_http_torchserve_state_check_dir(tmcf->cycle,
                                               &tmcf->state_path)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (otmcf) {
        /* reload with the same zone: keep API registrations */
        tmcf->sh = otmcf->sh;
        tmcf->shpool = otmcf->shpool;

        ngx_shmtx_lock(&tmcf->shpool->mutex);
        ngx_http_torchserve_sync_config_locked(log, tmcf);
        ngx_shmtx_unlock(&tmcf->shpool->mutex);

        /* the keys made before the reload stay valid */
        return ngx_http_torchserve_token_init(tmcf, log);
    }

    tmcf->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        tmcf->sh = tmcf->shpool->data;
        return ngx_http_torchserve_token_init(tmcf, log);
    }

    tmcf->sh = ngx_slab_alloc(tmcf->shpool,
                              sizeof(ngx_http_torchserve_shctx_t));
    if (tmcf->sh == NULL) {
        return NGX_ERROR;
    }

    tmcf->shpool->data = tmcf->sh;

    ngx_queue_init(&tmcf->sh->records);
    ngx_http_torchserve_names_init(&tmcf->sh->names,
                                   &tmcf->sh->names_sentinel);
    ngx_rbtree_init(&tmcf->sh->ids, &tmcf->sh->ids_sentinel,
                    ngx_rbtree_insert_value);
    tmcf->sh->generation = 1;
    tmcf->sh->state_written = 0;
    tmcf->sh->next_id = 1;
    ngx_memzero(&tmcf->sh->keys, sizeof(ngx_http_torchserve_keys_t));
    ngx_memzero(tmcf->sh->peers, sizeof(tmcf->sh->peers));

    len = sizeof(" in torchserve zone \"\"") + shm_zone->shm.name.len;

    tmcf->shpool->log_ctx = ngx_slab_alloc(tmcf->shpool, len);
    if (tmcf->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(tmcf->shpool->log_ctx, " in torchserve zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* we report a full zone ourselves, with a sizing hint */
    tmcf->shpool->log_nomem = 0;

    if (!ngx_is_init_cycle(ngx_cycle)) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "torchserve zone \"%V\" is new (its size changed?): "
                      "the registry is rebuilt from nginx.conf%s",
                      &shm_zone->shm.name,
                      tmcf->state_path.len ? " and torchserve_state" : "");
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    if (tmcf->state_path.len) {
        ngx_http_torchserve_state_load_locked(log, tmcf);
    }

    ngx_http_torchserve_sync_config_locked(log, tmcf);

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    return ngx_http_torchserve_token_init(tmcf, log);
}


ngx_uint_t
ngx_http_torchserve_records_count_locked(
    ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_uint_t    n;
    ngx_queue_t  *q;

    n = 0;

    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        n++;
    }

    return n;
}


ngx_http_torchserve_record_t *
ngx_http_torchserve_record_find_locked(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_str_t *name, ngx_str_t *version, ngx_uint_t *name_found)
{
    ngx_queue_t                   *q;
    ngx_http_torchserve_name_t    *n;
    ngx_http_torchserve_record_t  *rec;

    n = ngx_http_torchserve_name_find(&tmcf->sh->names, name);

    *name_found = (n != NULL);

    if (n == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&n->versions);
         q != ngx_queue_sentinel(&n->versions);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, sibling);

        if (version == NULL || version->len == 0) {
            if (rec->is_default) {
                return rec;
            }
            continue;
        }

        if (ngx_strlen(rec->version) == version->len
            && ngx_strncmp(rec->version, version->data, version->len) == 0)
        {
            return rec;
        }
    }

    return NULL;
}


/* a new record for name and version, in every index; NULL: zone full */
ngx_http_torchserve_record_t *
ngx_http_torchserve_record_add_locked(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_str_t *name, ngx_str_t *version, ngx_log_t *log)
{
    ngx_http_torchserve_name_t    *n;
    ngx_http_torchserve_record_t  *rec;

    rec = ngx_slab_calloc_locked(tmcf->shpool,
                                 sizeof(ngx_http_torchserve_record_t));
    n = ngx_http_torchserve_name_add(&tmcf->sh->names, name, tmcf->shpool);

    if (rec == NULL || n == NULL) {
        if (rec != NULL) {
            ngx_slab_free_locked(tmcf->shpool, rec);
        }

        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "torchserve zone \"%V\" is full: raise its size with "
                      "torchserve_zone %V:SIZE (each model takes about "
                      "%uzKB)", &tmcf->shm_zone->shm.name,
                      &tmcf->shm_zone->shm.name,
                      ngx_align(sizeof(ngx_http_torchserve_record_t),
                                ngx_pagesize) / 1024);
        return NULL;
    }

    ngx_http_torchserve_strlcpy(rec->name, name, sizeof(rec->name));
    ngx_http_torchserve_strlcpy(rec->version, version, sizeof(rec->version));

    rec->registered_ms = (uint64_t) ngx_time() * 1000
                         + (ngx_timeofday())->msec;
    rec->options.input_ndim = -1;
    rec->options.input_dtype = -1;
    rec->job_queue_size = 100;

    ngx_queue_insert_tail(&tmcf->sh->records, &rec->queue);
    ngx_http_torchserve_name_link(n, &rec->sibling);
    rec->named = n;

    rec->id = tmcf->sh->next_id++;
    rec->id_node.key = rec->id;
    ngx_rbtree_insert(&tmcf->sh->ids, &rec->id_node);

    return rec;
}


/* a new id: every worker process loads the record again */
static void
ngx_http_torchserve_record_renumber_locked(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_record_t *rec)
{
    ngx_rbtree_delete(&tmcf->sh->ids, &rec->id_node);

    rec->id = tmcf->sh->next_id++;
    rec->id_node.key = rec->id;
    ngx_rbtree_insert(&tmcf->sh->ids, &rec->id_node);
}


/* removes rec; another version of its name becomes default if needed */
void
ngx_http_torchserve_record_remove_locked(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_record_t *rec)
{
    ngx_queue_t                   *q;
    ngx_http_torchserve_record_t  *other;

    if (rec->is_default) {
        for (q = ngx_queue_head(&rec->named->versions);
             q != ngx_queue_sentinel(&rec->named->versions);
             q = ngx_queue_next(q))
        {
            other = ngx_queue_data(q, ngx_http_torchserve_record_t, sibling);

            if (other != rec) {
                other->is_default = 1;
                break;
            }
        }
    }

    ngx_queue_remove(&rec->queue);
    ngx_rbtree_delete(&tmcf->sh->ids, &rec->id_node);
    ngx_http_torchserve_name_unlink(&tmcf->sh->names, rec->named,
                                    &rec->sibling, tmcf->shpool);

    ngx_slab_free_locked(tmcf->shpool, rec);
}


void
ngx_http_torchserve_registry_changed_locked(
    ngx_http_torchserve_main_conf_t *tmcf)
{
    tmcf->sh->generation++;
}


/* the first of a setting's sources that gives it */
static ngx_uint_t
ngx_http_torchserve_setting(ngx_uint_t given, ngx_uint_t yaml,
    ngx_uint_t dflt)
{
    return given != NGX_CONF_UNSET_UINT ? given
           : yaml != NGX_CONF_UNSET_UINT ? yaml : dflt;
}


/*
 * A record's settings: each from its explicit value (nginx.conf or the
 * API), else the archive's model-config.yaml, else TorchServe's default;
 * workers default to default_workers (1 in nginx.conf, 0 in the API).
 */
void
ngx_http_torchserve_record_settings(ngx_http_torchserve_record_t *rec,
    const ngx_http_torchserve_settings_t *given,
    const ngx_http_torchserve_settings_t *yaml, ngx_uint_t default_workers)
{
    rec->min_workers = ngx_http_torchserve_setting(given->min_workers,
                                                   yaml->min_workers,
                                                   default_workers);

    /* maxWorkers counts only as a pair with minWorkers, as in TorchServe */
    rec->max_workers = yaml->max_workers != NGX_CONF_UNSET_UINT
                       && yaml->max_workers >= rec->min_workers
                       ? yaml->max_workers : rec->min_workers;

    rec->batch_size = ngx_http_torchserve_setting(given->batch_size,
                                                  yaml->batch_size, 1);
    rec->max_batch_delay = ngx_http_torchserve_setting(
                               given->max_batch_delay, yaml->max_batch_delay,
                               100);
    rec->batch_policy = ngx_http_torchserve_setting(
                            given->batch_policy, yaml->batch_policy,
                            NGX_HTTP_TORCHSERVE_BATCH_ADAPTIVE);
    rec->response_timeout = ngx_http_torchserve_setting(
                                given->response_timeout,
                                yaml->response_timeout, 120);
    rec->job_queue_size = ngx_http_torchserve_setting(given->job_queue_size,
                                                      yaml->job_queue_size,
                                                      100);

    ngx_cpystrn(rec->device,
                (u_char *) (given->device[0] != '\0' ? given->device
                                                     : yaml->device),
                sizeof(rec->device));
}


static void
ngx_http_torchserve_record_from_conf(ngx_http_torchserve_record_t *rec,
    ngx_http_torchserve_conf_model_t *cm)
{
    ngx_http_torchserve_strlcpy(rec->name, &cm->name, sizeof(rec->name));
    ngx_http_torchserve_strlcpy(rec->version, &cm->version,
                                sizeof(rec->version));
    ngx_http_torchserve_strlcpy(rec->url, &cm->archive, sizeof(rec->url));
    ngx_http_torchserve_strlcpy(rec->path, &cm->path, sizeof(rec->path));
    ngx_http_torchserve_strlcpy(rec->handler, &cm->handler,
                                sizeof(rec->handler));
    ngx_http_torchserve_strlcpy(rec->runtime, &cm->runtime,
                                sizeof(rec->runtime));

    ngx_http_torchserve_record_settings(rec, &cm->given, &cm->defaults, 1);

    rec->options = cm->options;
    rec->options.device = NULL;
    rec->from_config = 1;
}


/*
 * nginx.conf's models into the registry: added, changed (a new id, so
 * that workers load them again), removed; API registrations stay.
 */
static void
ngx_http_torchserve_sync_config_locked(ngx_log_t *log,
    ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_uint_t                         i, found, has_default;
    ngx_queue_t                       *q, *next;
    ngx_http_torchserve_record_t      *rec, *other, tmp;
    ngx_http_torchserve_conf_model_t  *cm;

    cm = tmcf->models.elts;

    /* drop the config's records that nginx.conf no longer has */
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = next)
    {
        next = ngx_queue_next(q);
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);

        if (!rec->from_config) {
            continue;
        }

        found = 0;

        for (i = 0; i < tmcf->models.nelts; i++) {
            if (ngx_strlen(rec->name) == cm[i].name.len
                && ngx_strncmp(rec->name, cm[i].name.data, cm[i].name.len)
                   == 0
                && ngx_strlen(rec->version) == cm[i].version.len
                && ngx_strncmp(rec->version, cm[i].version.data,
                               cm[i].version.len) == 0)
            {
                found = 1;
                break;
            }
        }

        if (!found) {
            ngx_log_error(NGX_LOG_NOTICE, log, 0,
                          "torchserve: model \"%s\" version \"%s\" left "
                          "nginx.conf: unregistered", rec->name,
                          rec->version);
            ngx_http_torchserve_record_remove_locked(tmcf, rec);
        }
    }

    for (i = 0; i < tmcf->models.nelts; i++) {
        rec = ngx_http_torchserve_record_find_locked(tmcf, &cm[i].name,
                                                     &cm[i].version, &found);

        if (rec != NULL) {
            ngx_memzero(&tmp, sizeof(tmp));
            ngx_http_torchserve_record_from_conf(&tmp, &cm[i]);

            if (ngx_strcmp(tmp.path, rec->path) != 0
                || ngx_strcmp(tmp.handler, rec->handler) != 0
                || ngx_strcmp(tmp.device, rec->device) != 0
                || ngx_memcmp(&tmp.options, &rec->options,
                              sizeof(ts_load_options_t)) != 0
                || !rec->from_config)
            {
                /* changed: every worker loads it again */
                ngx_http_torchserve_record_renumber_locked(tmcf, rec);
            }

            ngx_http_torchserve_record_from_conf(rec, &cm[i]);
            continue;
        }

        rec = ngx_http_torchserve_record_add_locked(tmcf, &cm[i].name,
                                                    &cm[i].version, log);
        if (rec == NULL) {
            continue;
        }

        ngx_http_torchserve_record_from_conf(rec, &cm[i]);

        /* the first version of a name is its default, as in TorchServe */
        rec->is_default = !found;
    }

    /* every name keeps exactly one default */
    for (q = ngx_queue_head(&tmcf->sh->records);
         q != ngx_queue_sentinel(&tmcf->sh->records);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_torchserve_record_t, queue);
        has_default = 0;

        for (next = ngx_queue_head(&rec->named->versions);
             next != ngx_queue_sentinel(&rec->named->versions);
             next = ngx_queue_next(next))
        {
            other = ngx_queue_data(next, ngx_http_torchserve_record_t,
                                   sibling);
            has_default |= other->is_default;
        }

        if (!has_default) {
            rec->is_default = 1;
        }
    }

    ngx_http_torchserve_registry_changed_locked(tmcf);
}


void
ngx_http_torchserve_set_proc_status(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m)
{
    ngx_http_torchserve_proc_t    *proc;
    ngx_http_torchserve_record_t  *rec;

    if (ngx_worker >= NGX_HTTP_TORCHSERVE_MAX_PROCESSES) {
        return;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    rec = ngx_http_torchserve_record_by_id_locked(tmcf, m->id);

    if (rec != NULL) {
        proc = &rec->procs[ngx_worker];
        proc->pid = ngx_pid;
        proc->status = m->status;
        /* the clock, not nginx's cached time: loads at start block */
        proc->start_ms = ngx_http_torchserve_now_us() / 1000;
        proc->memory = m->status == NGX_HTTP_TORCHSERVE_READY ? m->memory : 0;
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);
}


/* --- torchserve_state ---------------------------------------------------- */
