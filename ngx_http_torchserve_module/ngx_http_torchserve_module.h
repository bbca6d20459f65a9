/*
 * ngx_http_torchserve_module.h: types shared by the module's files.
 *
 *   _module.c      directives, configuration, process init/exit
 *   _params.c      numeric parameters' ranges, name and version rules
 *   _model_conf.c  torchserve_model and nginx -t's archive checks
 *   _models.c      this process's table of models, loads and reconcile
 *   _registry.c    the shared zone: records, generation, nginx.conf sync
 *   _index.c       models by name (an rbtree of names), records by id
 *   _state.c       torchserve_state: the registry in a file
 *   _handler.c     the inference location: /ping, /predictions
 *   _batch.c       per-model queues, batches in the thread pool
 *   _wait.c        requests parked on a load; timers for exiting workers
 *   _management.c  the management location: routing and arguments
 *   _describe.c    list and describe
 *   _register.c    POST /models
 *   _scale.c       scale, unregister, set-default
 *   _download.c    remote archives (torchserve_allowed_urls, libcurl)
 *   _metrics.c     Prometheus metrics; _variables.c  nginx variables
 *   _reply.c       JSON answers, TorchServe's error shape, statuses to HTTP
 */

#ifndef _NGX_HTTP_TORCHSERVE_MODULE_H_INCLUDED_
#define _NGX_HTTP_TORCHSERVE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ts_handler.h"
#include "ts_python.h"


#if !(NGX_THREADS)
#error ngx_http_torchserve_module needs nginx built --with-threads
#endif


#define NGX_HTTP_TORCHSERVE_NAME_LEN       128
#define NGX_HTTP_TORCHSERVE_VERSION_LEN    64
#define NGX_HTTP_TORCHSERVE_PATH_LEN       1024
#define NGX_HTTP_TORCHSERVE_SHORT_LEN      64
#define NGX_HTTP_TORCHSERVE_MAX_PROCESSES  64
#define NGX_HTTP_TORCHSERVE_MAX_WORKERS    256

#define NGX_HTTP_TORCHSERVE_NAME_RULE                                        \
    "letters, digits, \"_\", \"-\" and \".\", starting with a letter or "    \
    "digit"
#define NGX_HTTP_TORCHSERVE_VERSION_RULE                                     \
    "letters, digits, \"_\", \"-\", \".\" and \"+\", starting with a "     \
    "letter or digit, not \"all\""

/* freed memory each malloc arena keeps (torchserve_malloc_keep) */
#define NGX_HTTP_TORCHSERVE_MALLOC_KEEP    (64 * 1024 * 1024)


/* a model's numeric parameter: its name, TorchServe's unit, its range */
typedef enum {
    NGX_HTTP_TORCHSERVE_COUNT = 0,
    NGX_HTTP_TORCHSERVE_MSEC,
    NGX_HTTP_TORCHSERVE_SEC
} ngx_http_torchserve_unit_e;


typedef struct {
    const char                      *name;
    ngx_http_torchserve_unit_e       unit;
    ngx_uint_t                       min;
    ngx_uint_t                       max;
} ngx_http_torchserve_param_t;


/* indexes into ngx_http_torchserve_params[] */
#define NGX_HTTP_TORCHSERVE_P_BATCH_SIZE        0
#define NGX_HTTP_TORCHSERVE_P_MAX_BATCH_DELAY   1
#define NGX_HTTP_TORCHSERVE_P_RESPONSE_TIMEOUT  2
#define NGX_HTTP_TORCHSERVE_P_STARTUP_TIMEOUT   3
#define NGX_HTTP_TORCHSERVE_P_JOB_QUEUE_SIZE    4
#define NGX_HTTP_TORCHSERVE_P_WORKERS           5
#define NGX_HTTP_TORCHSERVE_P_WARMUP            6

#define ngx_http_torchserve_param(i)  (&ngx_http_torchserve_params[i])


/*
 * How a model's queue forms batches: adaptive flushes whatever is queued
 * as soon as one of its `workers` slots is free (requests gather only
 * while every slot is busy); delay is TorchServe's, waiting up to
 * max_batch_delay after a batch's first request for batch_size of them.
 */
#define NGX_HTTP_TORCHSERVE_BATCH_ADAPTIVE  0
#define NGX_HTTP_TORCHSERVE_BATCH_DELAY     1


typedef enum {
    NGX_HTTP_TORCHSERVE_UNLOADED = 0,   /* workers=0: registered only */
    NGX_HTTP_TORCHSERVE_LOADING,
    NGX_HTTP_TORCHSERVE_READY,
    NGX_HTTP_TORCHSERVE_FAILED
} ngx_http_torchserve_model_status_e;


/*
 * A model's settings as one source gives them: nginx.conf's parameters,
 * the Management API's arguments or the archive's model-config.yaml;
 * NGX_CONF_UNSET_UINT (device "") where the source says nothing.
 */
typedef struct {
    ngx_uint_t                       min_workers;
    ngx_uint_t                       max_workers;  /* model-config.yaml */
    ngx_uint_t                       batch_size;
    ngx_uint_t                       max_batch_delay;     /* ms */
    ngx_uint_t                       batch_policy;        /* _BATCH_* */
    ngx_uint_t                       response_timeout;    /* s */
    ngx_uint_t                       job_queue_size;
    u_char                           device[NGX_HTTP_TORCHSERVE_SHORT_LEN];
} ngx_http_torchserve_settings_t;


/* a model as nginx.conf declares it (torchserve_model) */
typedef struct {
    ngx_str_t                        name;
    ngx_str_t                        version;
    ngx_str_t                        archive;      /* as written */
    ngx_str_t                        path;         /* resolved, with NUL */
    ngx_str_t                        handler;      /* "" -> manifest's */
    ngx_str_t                        runtime;
    ts_load_options_t                options;
    ngx_http_torchserve_settings_t   given;        /* the parameters */
    ngx_http_torchserve_settings_t   defaults;     /* model-config.yaml */

    /* where the directive stands, for messages */
    ngx_str_t                        conf_file;
    ngx_uint_t                       conf_line;
} ngx_http_torchserve_conf_model_t;


/* a model's name and the queue of its versions (_index.c) */
typedef struct {
    ngx_str_node_t                   sn;        /* the name follows it */
    ngx_queue_t                      versions;
} ngx_http_torchserve_name_t;


/* one worker process's copy of a model, as the registry shows it */
typedef struct {
    ngx_pid_t                        pid;
    ngx_uint_t                       status;
    uint64_t                         start_ms;
    uint64_t                         memory;
    ngx_uint_t                       pending;   /* queued, at its last reply */
} ngx_http_torchserve_proc_t;


#define NGX_HTTP_TORCHSERVE_BUCKETS  14


/* a histogram: counts per upper bound (µs, or a batch's size), +Inf last */
typedef struct {
    ngx_atomic_t                     buckets[NGX_HTTP_TORCHSERVE_BUCKETS + 1];
    ngx_atomic_t                     sum_us;
} ngx_http_torchserve_histogram_t;


/* TorchServe's per-model counters; [0] URL without a version ("default") */
typedef struct {
    ngx_atomic_t                     requests;
    ngx_atomic_t                     latency_us;
    ngx_atomic_t                     queue_us;

    /* ours: queue, inference (in the thread) and total latencies, and
     * the size of the batch each request ran in */
    ngx_http_torchserve_histogram_t  hist[4];
} ngx_http_torchserve_counters_t;


/*
 * A registered model in the shared zone: fixed-size fields only, no
 * pointer into a process's heap.  Changed under the zone's mutex.
 */
typedef struct {
    ngx_queue_t                      queue;     /* every record, in order */
    ngx_queue_t                      sibling;   /* in named->versions */
    ngx_http_torchserve_name_t      *named;
    ngx_rbtree_node_t                id_node;   /* key: id */
    ngx_uint_t                       id;
    u_char                           name[NGX_HTTP_TORCHSERVE_NAME_LEN];
    u_char                           version[NGX_HTTP_TORCHSERVE_VERSION_LEN];
    u_char                           url[NGX_HTTP_TORCHSERVE_PATH_LEN];
    u_char                           path[NGX_HTTP_TORCHSERVE_PATH_LEN];
    u_char                           handler[NGX_HTTP_TORCHSERVE_NAME_LEN];
    u_char                           runtime[NGX_HTTP_TORCHSERVE_SHORT_LEN];
    u_char                           device[NGX_HTTP_TORCHSERVE_SHORT_LEN];
    ngx_uint_t                       min_workers;
    ngx_uint_t                       max_workers;
    ngx_uint_t                       batch_size;
    ngx_uint_t                       max_batch_delay;    /* ms */
    ngx_uint_t                       batch_policy;       /* _BATCH_* */
    ngx_uint_t                       response_timeout;   /* s */
    ngx_uint_t                       job_queue_size;
    ngx_uint_t                       scale_seq;   /* +1 by each scale call */
    ts_load_options_t                options;            /* device NULL */
    unsigned                         is_default:1;
    unsigned                         from_config:1;
    unsigned                         downloaded:1;   /* delete with it */
    uint64_t                         registered_ms;
    ngx_http_torchserve_counters_t   counters[2];
    ngx_http_torchserve_proc_t       procs[NGX_HTTP_TORCHSERVE_MAX_PROCESSES];
} ngx_http_torchserve_record_t;


/* token authorization's keys (_token.c), shared by every process */
#define NGX_HTTP_TORCHSERVE_KEY_LEN  16

typedef struct {
    ngx_uint_t                       made;
    u_char                           api[NGX_HTTP_TORCHSERVE_KEY_LEN];
    u_char                           management[NGX_HTTP_TORCHSERVE_KEY_LEN];
    u_char                           inference[NGX_HTTP_TORCHSERVE_KEY_LEN];
    uint64_t                         management_expires;     /* unix ms */
    uint64_t                         inference_expires;
} ngx_http_torchserve_keys_t;


/*
 * A worker process, as the others see it for handing Python predictions
 * over (_handoff.c): its sockets' folder, and how busy its interpreter is
 */
#define NGX_HTTP_TORCHSERVE_PEER_DIR_LEN   104
#define NGX_HTTP_TORCHSERVE_HANDOFF_PREFIX  "torchserve-handoff-"

typedef struct {
    ngx_atomic_t                     pid;       /* 0: none */
    ngx_atomic_t                     busy;      /* Python batches, pool */
    ngx_atomic_t                     reserved;  /* handed to it, pending */
    u_char                           dir[NGX_HTTP_TORCHSERVE_PEER_DIR_LEN];
} ngx_http_torchserve_peer_t;


typedef struct {
    ngx_atomic_t                     generation;
    ngx_atomic_t                     state_written;
    ngx_atomic_t                     requests_2xx;   /* every API answer */
    ngx_atomic_t                     requests_4xx;
    ngx_atomic_t                     requests_5xx;
    ngx_queue_t                      records;
    ngx_rbtree_t                     names;     /* of the records */
    ngx_rbtree_node_t                names_sentinel;
    ngx_rbtree_t                     ids;
    ngx_rbtree_node_t                ids_sentinel;
    ngx_uint_t                       next_id;
    ngx_http_torchserve_keys_t       keys;
    ngx_http_torchserve_peer_t       peers[NGX_HTTP_TORCHSERVE_MAX_PROCESSES];
} ngx_http_torchserve_shctx_t;


typedef struct ngx_http_torchserve_main_conf_s
    ngx_http_torchserve_main_conf_t;


/* this worker process's model, reconciled with its registry record */
typedef struct {
    ngx_queue_t                      queue;
    ngx_queue_t                      sibling;       /* in named->versions */
    ngx_http_torchserve_name_t      *named;         /* NULL once removed */
    ngx_pool_t                      *pool;          /* the entry's own */
    ngx_http_torchserve_main_conf_t *tmcf;
    ngx_uint_t                       id;
    ngx_str_t                        name;
    ngx_str_t                        version;
    ngx_str_t                        path;
    ngx_str_t                        handler;
    ngx_str_t                        device;
    ts_load_options_t                options;
    ngx_uint_t                       workers;
    ngx_flag_t                       is_default;

    ngx_http_torchserve_model_status_e  status;
    ts_servable_t                   *servable;
    ngx_uint_t                       inflight;
    uint64_t                         memory;        /* USS after load */

    /* dynamic batching (batch_size > 1), this process's queue */
    ngx_uint_t                       batch_size;
    ngx_msec_t                       max_batch_delay;
    ngx_uint_t                       batch_policy;
    ngx_uint_t                       job_queue_size;
    ngx_msec_t                       response_timeout;
    ngx_queue_t                      waiting;       /* _infer_t queued */
    ngx_uint_t                       queued;
    ngx_uint_t                       batches;       /* in the thread pool */
    ngx_uint_t                       last_batch;    /* the last done's size */
    ngx_queue_t                      open;          /* not started: grow */
    ngx_event_t                      batch_timer;
    ngx_event_t                      batch_flush;   /* posted by enqueue */

    /* this process's counts since the last fold into its record */
    ngx_http_torchserve_counters_t   counted[2];
    ngx_event_t                      count_fold;    /* posted by a count */
    unsigned                         removed:1;
    unsigned                         gone:1;        /* its record, at sync */
    unsigned                         resizing:1;    /* Python instances */
    ngx_uint_t                       scale_seq;     /* the record's, seen */
    ngx_msec_t                       retry_at;      /* a failed load's next */
    ngx_msec_t                       retry_delay;   /* 1 s, doubling to 60 s */
    u_char                           load_error[TS_ERROR_LEN];
    ngx_queue_t                      waiters;       /* management requests */
} ngx_http_torchserve_model_t;


struct ngx_http_torchserve_main_conf_s {
    ngx_str_t                        model_store;
    ngx_array_t                      models;   /* _conf_model_t */
    ngx_str_t                        thread_pool_name;
    ngx_thread_pool_t               *thread_pool;
    ngx_int_t                        intra_op_threads;
    size_t                           max_archive_size;
    ssize_t                          malloc_keep;   /* 0: glibc's own */

    ngx_cycle_t                     *cycle;    /* for init_zone's log */
    ngx_shm_zone_t                  *shm_zone;
    ngx_slab_pool_t                 *shpool;
    ngx_http_torchserve_shctx_t     *sh;
    ngx_str_t                        state_path;
    ngx_str_t                        token_path;   /* "": no token auth */
    ngx_msec_t                       token_expiration;
    ngx_str_t                        python_path;   /* ':'-joined, NUL */
    ngx_str_t                        python_temp;   /* unpacked archives */
    unsigned                         save_busy:1;   /* a write in the pool */
    unsigned                         save_again:1;  /* changed meanwhile */
    ngx_array_t                      allowed_urls;  /* ngx_regex_t * */
    ngx_flag_t                       handoff;       /* torchserve_handoff */

    /* this worker process */
    ngx_queue_t                      local;    /* _model_t */
    ngx_rbtree_t                     local_names;
    ngx_rbtree_node_t                local_sentinel;
    ngx_atomic_uint_t                local_generation;
    ngx_event_t                      sync_timer;

    /* this worker process's sockets for predictions handed to it */
    u_char                          *handoff_dir;   /* NULL: none */
    ngx_listening_t                 *listening;     /* cycle->listening */
    ngx_uint_t                       nlistening;
    ngx_listening_t                 *twins;         /* by its index */
    ngx_int_t                       *twin_index;    /* the socket's, or -1 */
    ngx_connection_t                *move;          /* moved connections */
};


/*
 * A timer that keeps an exiting worker until a wait ends, and says so.
 * The event's data is the keep itself: nginx's timer debug lines read a
 * connection's fd through it (ngx_event_ident), past a bare string.
 */
typedef struct {
    ngx_event_t                      event;
    const char                      *what;
} ngx_http_torchserve_keep_t;


typedef struct ngx_http_torchserve_waiter_s  ngx_http_torchserve_waiter_t;

/* a request parked until this process has loaded (or failed) a model */
struct ngx_http_torchserve_waiter_s {
    ngx_queue_t                      queue;     /* in model->waiters */
    ngx_http_request_t              *request;
    ngx_http_torchserve_main_conf_t *tmcf;
    ngx_http_torchserve_model_t     *model;     /* NULL once removed */
    /* the rc to finalize the request with */
    ngx_int_t                      (*answer)(ngx_http_torchserve_waiter_t *w);
    ngx_uint_t                       registering;
    ngx_uint_t                       workers;
    ngx_str_t                        version;   /* as given in the URL */
    ts_protocol_e                    protocol;  /* a prediction's framing */
    ngx_uint_t                       explain;   /* an explanation */
    /*
     * armed while parked: a worker process shutting down (reload) exits
     * once no timer is left, and would cut this request
     */
    ngx_http_torchserve_keep_t       keep;
    unsigned                         scaling:1;
    unsigned                         waiting:1;
};


/* how often a keep says that it still waits */
#define NGX_HTTP_TORCHSERVE_KEEP_LOG  60000

void ngx_http_torchserve_keep(ngx_http_torchserve_keep_t *keep,
    ngx_log_t *log, const char *what);
void ngx_http_torchserve_unkeep(ngx_http_torchserve_keep_t *keep);


typedef struct {
    ngx_flag_t                       inference;
    ngx_flag_t                       management;
    ngx_flag_t                       metrics;
    ngx_flag_t                       model_api;
} ngx_http_torchserve_loc_conf_t;


/* where a prediction's body is, for the thread to read */
typedef struct {
    u_char      *data;        /* in memory, or NULL */
    ngx_fd_t     fd;          /* else in the body's temp file */
    off_t        offset;
    size_t       len;
} ngx_http_torchserve_body_part_t;


typedef struct {
    ngx_http_request_t               *request;
    ngx_http_torchserve_main_conf_t  *tmcf;
    ngx_http_torchserve_model_t      *model;
    ts_servable_t                    *servable;

    ngx_http_torchserve_body_part_t  *parts;
    ngx_uint_t                        nparts;
    size_t                            body_len;

    /*
     * response_timeout, from the request's queueing to its answer; a
     * worker process that is shutting down (reload) exits once no timer
     * is left, so this also keeps it until the request is answered
     */
    ngx_event_t                       running;

    ts_request_t                      req;
    ts_protocol_e                     protocol;     /* KServe's, or not */
    size_t                            header_len;   /* v2 binary's JSON */
    unsigned                          explain:1;
    unsigned                          handed:1;     /* a sibling runs it */

    /* batching: waiting in model->waiting, then a slot of a batch */
    ngx_queue_t                       queue;
    unsigned                          queued:1;
    void                             *slot;         /* while in a batch */
    ngx_uint_t                        batch_size;
    uint64_t                          enqueued_us;

    /* for ts_inference_latency_microseconds and the queue latency */
    uint64_t                          start_us;
    uint64_t                          run_us;       /* set by the thread */
    uint64_t                          end_us;       /* likewise */
    uint64_t                          done_us;
    ngx_uint_t                        versioned;
} ngx_http_torchserve_infer_t;


extern ngx_module_t  ngx_http_torchserve_module;


/* _model_conf.c: nginx.conf's models; _models.c: this process's table */
char *ngx_http_torchserve_model_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_torchserve_models_check(ngx_conf_t *cf,
    ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_settings_init(ngx_http_torchserve_settings_t *s);
void ngx_http_torchserve_archive_limits(ts_archive_limits_t *limits,
    size_t max, ngx_uint_t with_data);
ngx_int_t ngx_http_torchserve_archive_defaults(const ts_archive_t *a,
    ngx_http_torchserve_settings_t *d, ngx_log_t *log, char *err,
    size_t errlen);
void ngx_http_torchserve_models_sync(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_models_unload(ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_models_clean_stale(
    ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_models_retry(ngx_http_torchserve_main_conf_t *tmcf);
ngx_http_torchserve_model_t *ngx_http_torchserve_model_by_id(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_uint_t id);
ngx_http_torchserve_model_t *ngx_http_torchserve_model_find(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t *name_found);
void ngx_http_torchserve_model_release(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_http_torchserve_model_t *m);

/* _params.c: numeric parameters, names and versions */
extern const ngx_http_torchserve_param_t  ngx_http_torchserve_params[];
u_char *ngx_http_torchserve_param_expected(const ngx_http_torchserve_param_t *p,
    u_char *buf, size_t len);
ngx_int_t ngx_http_torchserve_param_check(const ngx_http_torchserve_param_t *p,
    int64_t value);
ngx_int_t ngx_http_torchserve_param_number(
    const ngx_http_torchserve_param_t *p, ngx_str_t *value, ngx_uint_t *out);
ngx_int_t ngx_http_torchserve_param_conf(const ngx_http_torchserve_param_t *p,
    ngx_str_t *value, ngx_uint_t *out, u_char *err, size_t len);
ngx_int_t ngx_http_torchserve_valid_name(u_char *name, size_t len);
ngx_int_t ngx_http_torchserve_valid_version(u_char *version, size_t len);
ngx_int_t ngx_http_torchserve_batch_policy(ngx_str_t *value, ngx_uint_t *out);
const char *ngx_http_torchserve_batch_policy_name(ngx_uint_t policy);

/* _registry.c: the shared zone */
char *ngx_http_torchserve_zone_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_torchserve_zone_init_conf(ngx_conf_t *cf,
    ngx_http_torchserve_main_conf_t *tmcf);
ngx_uint_t ngx_http_torchserve_records_count_locked(
    ngx_http_torchserve_main_conf_t *tmcf);
ngx_http_torchserve_record_t *ngx_http_torchserve_record_find_locked(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t *name_found);
ngx_http_torchserve_record_t *ngx_http_torchserve_record_by_id_locked(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_uint_t id);
ngx_http_torchserve_record_t *ngx_http_torchserve_record_add_locked(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_log_t *log);
void ngx_http_torchserve_record_settings(ngx_http_torchserve_record_t *rec,
    const ngx_http_torchserve_settings_t *given,
    const ngx_http_torchserve_settings_t *yaml, ngx_uint_t default_workers);
void ngx_http_torchserve_record_remove_locked(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_record_t *rec);
void ngx_http_torchserve_registry_changed_locked(
    ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_set_proc_status(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m);
void ngx_http_torchserve_strlcpy(u_char *dst, ngx_str_t *src, size_t size);

/* _state.c: torchserve_state */
void ngx_http_torchserve_registry_save(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_log_t *log);
ngx_int_t ngx_http_torchserve_state_check_dir(ngx_cycle_t *cycle,
    ngx_str_t *path);
void ngx_http_torchserve_state_load_locked(ngx_log_t *log,
    ngx_http_torchserve_main_conf_t *tmcf);
ngx_int_t ngx_http_torchserve_state_restore_locked(ngx_log_t *log,
    ngx_http_torchserve_main_conf_t *tmcf, json_t *root, char *err,
    size_t errlen);
json_t *ngx_http_torchserve_state_json_locked(
    ngx_http_torchserve_main_conf_t *tmcf);

/* _download.c: remote archives */
char *ngx_http_torchserve_allowed_urls(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_torchserve_url_allowed(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *url);
ngx_int_t ngx_http_torchserve_url_file(ngx_str_t *url, ngx_str_t *file);
void ngx_http_torchserve_download_init(void);
ngx_int_t ngx_http_torchserve_download(const char *url, const char *path,
    size_t max_size, char *err, size_t errlen, ngx_uint_t *exists);
void ngx_http_torchserve_unlink_later(ngx_http_torchserve_main_conf_t *tmcf,
    u_char *path, ngx_log_t *log);

/* _handler.c, for _batch.c */
void ngx_http_torchserve_infer_done(ngx_http_request_t *r);
void ngx_http_torchserve_infer_count(ngx_http_torchserve_infer_t *ctx);
uint64_t ngx_http_torchserve_now_us(void);

/* _batch.c */
ngx_int_t ngx_http_torchserve_batch_enqueue(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx);
void ngx_http_torchserve_batch_dequeue(ngx_http_torchserve_infer_t *ctx);
void ngx_http_torchserve_batch_detach(ngx_http_torchserve_infer_t *ctx);
void ngx_http_torchserve_batch_init(ngx_http_torchserve_model_t *m);

/* _variables.c */
ngx_int_t ngx_http_torchserve_add_variables(ngx_conf_t *cf);

/* TorchServe's response headers and the request id (_headers.c) */
#define NGX_HTTP_TORCHSERVE_UUID_LEN  36

ngx_int_t ngx_http_torchserve_add_request_id_variable(ngx_conf_t *cf);
ngx_int_t ngx_http_torchserve_headers_init(ngx_conf_t *cf);
void ngx_http_torchserve_request_id(ngx_http_request_t *r, ngx_str_t *id);

/* _metrics.c */
ngx_int_t ngx_http_torchserve_metrics_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_torchserve_log_handler(ngx_http_request_t *r);
/* the queue time of a request answered before its batch ran */
#define NGX_HTTP_TORCHSERVE_NOT_RUN  ((uint64_t) -1)

void ngx_http_torchserve_counters_init(ngx_http_torchserve_model_t *m);
void ngx_http_torchserve_counters_fold(ngx_http_torchserve_model_t *m);
void ngx_http_torchserve_counters_settle(ngx_http_torchserve_model_t *m);
void ngx_http_torchserve_counters_fold_all(
    ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_count_request(ngx_http_torchserve_model_t *m,
    ngx_uint_t versioned);
void ngx_http_torchserve_count_inference(ngx_http_torchserve_model_t *m,
    ngx_uint_t versioned, uint64_t latency_us, uint64_t queue_us,
    uint64_t inference_us, ngx_uint_t batch_size);

/* _management.c: routing, and the arguments of the API's calls */
#define ngx_http_torchserve_is(s, lit)                                       \
    ((s)->len == sizeof(lit) - 1 && ngx_strncmp((s)->data, lit,             \
                                                 sizeof(lit) - 1) == 0)

ngx_int_t ngx_http_torchserve_management_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_torchserve_check_args(ngx_http_request_t *r, json_t *body,
    const char **names, ngx_str_t *bad);
ngx_int_t ngx_http_torchserve_arg(ngx_http_request_t *r, json_t *body,
    const char *name, ngx_str_t *value);
ngx_int_t ngx_http_torchserve_arg_bool(ngx_http_request_t *r, json_t *body,
    const char *name, ngx_flag_t dflt, ngx_flag_t *out);
ngx_int_t ngx_http_torchserve_arg_number(ngx_http_request_t *r, json_t *body,
    const char *name, ngx_uint_t param, ngx_uint_t dflt, ngx_uint_t *out,
    ngx_int_t *rc);
ngx_int_t ngx_http_torchserve_bad_param(ngx_http_request_t *r, json_t *body,
    const char *name, const char *expect);
ngx_int_t ngx_http_torchserve_unknown_param(ngx_http_request_t *r,
    ngx_str_t *name);
ngx_int_t ngx_http_torchserve_model_not_found(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *version, ngx_uint_t name_found);
ngx_int_t ngx_http_torchserve_send_json(ngx_http_request_t *r,
    ngx_uint_t status, json_t *j);

/* _describe.c: list and describe */
ngx_int_t ngx_http_torchserve_list(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf);
ngx_int_t ngx_http_torchserve_describe(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version, ngx_uint_t all);

/* _register.c: POST /models */
void ngx_http_torchserve_register_body(ngx_http_request_t *r);
ngx_int_t ngx_http_torchserve_register(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, json_t *body);

/* _scale.c: scale, unregister, set-default */
ngx_int_t ngx_http_torchserve_scale(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version);
ngx_int_t ngx_http_torchserve_unregister(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version);
ngx_int_t ngx_http_torchserve_set_default(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_str_t *name,
    ngx_str_t *version);

/* _wait.c: requests parked on a model's load; timers for exiting workers */
ngx_http_torchserve_waiter_t *ngx_http_torchserve_waiter_create(
    ngx_http_request_t *r, ngx_http_torchserve_main_conf_t *tmcf);
ngx_int_t ngx_http_torchserve_wait(ngx_http_request_t *r,
    ngx_http_torchserve_waiter_t *w);
ngx_int_t ngx_http_torchserve_answer_waiter(ngx_http_torchserve_waiter_t *w);
void ngx_http_torchserve_wake_waiters(ngx_http_torchserve_model_t *m);
void ngx_http_torchserve_waiter_cleanup(void *data);

/* _handler.c */
ngx_int_t ngx_http_torchserve_inference_handler(ngx_http_request_t *r);
ngx_uint_t ngx_http_torchserve_healthy(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t ready);
ngx_int_t ngx_http_torchserve_predictions(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *version, ts_protocol_e protocol,
    ngx_uint_t explain);

/* _openapi.c: OPTIONS / and /api-description of each API */
#define NGX_HTTP_TORCHSERVE_API_INFERENCE   0
#define NGX_HTTP_TORCHSERVE_API_MANAGEMENT  1
#define NGX_HTTP_TORCHSERVE_API_METRICS     2

ngx_int_t ngx_http_torchserve_api_description(ngx_http_request_t *r,
    ngx_uint_t api);

/* _token.c: token authorization (torchserve_token_auth) */
char *ngx_http_torchserve_token_auth(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_torchserve_token_init(
    ngx_http_torchserve_main_conf_t *tmcf, ngx_log_t *log);
ngx_int_t ngx_http_torchserve_token_check(ngx_http_request_t *r,
    ngx_uint_t api);
ngx_uint_t ngx_http_torchserve_token_route(ngx_http_request_t *r);
ngx_int_t ngx_http_torchserve_token_api(ngx_http_request_t *r);

/* what GET /v2 says of the server */
#define NGX_HTTP_TORCHSERVE_RELEASE  "0.1.0"

/* _kserve.c: KServe v1 and v2 (the Open Inference Protocol) routes */
ngx_int_t ngx_http_torchserve_kserve(ngx_http_request_t *r, ngx_str_t *segs,
    ngx_uint_t n);
ngx_uint_t ngx_http_torchserve_is_v2(ngx_http_request_t *r);
ngx_int_t ngx_http_torchserve_kserve_v1_status(ngx_http_request_t *r,
    ngx_str_t *name);
ngx_int_t ngx_http_torchserve_v2_header_length(ngx_http_request_t *r,
    size_t *len);
ngx_uint_t ngx_http_torchserve_split_path(ngx_str_t *uri, ngx_str_t *segs,
    ngx_uint_t max);

/* _index.c */
void ngx_http_torchserve_names_init(ngx_rbtree_t *tree,
    ngx_rbtree_node_t *sentinel);
ngx_http_torchserve_name_t *ngx_http_torchserve_name_find(ngx_rbtree_t *tree,
    ngx_str_t *name);
ngx_http_torchserve_name_t *ngx_http_torchserve_name_add(ngx_rbtree_t *tree,
    ngx_str_t *name, ngx_slab_pool_t *shpool);
void ngx_http_torchserve_name_link(ngx_http_torchserve_name_t *n,
    ngx_queue_t *version);
void ngx_http_torchserve_name_unlink(ngx_rbtree_t *tree,
    ngx_http_torchserve_name_t *n, ngx_queue_t *version,
    ngx_slab_pool_t *shpool);

/* _reply.c */
ngx_int_t ngx_http_torchserve_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len);
ngx_int_t ngx_http_torchserve_send_typed(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, u_char *body, size_t len);
ngx_int_t ngx_http_torchserve_send_raw(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, u_char *body, size_t len);
ngx_int_t ngx_http_torchserve_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *fmt, ...);
ngx_int_t ngx_http_torchserve_send_status(ngx_http_request_t *r,
    ngx_uint_t status, const char *text);
ngx_int_t ngx_http_torchserve_send_no_api(ngx_http_request_t *r);
ngx_int_t ngx_http_torchserve_send_bad_method(ngx_http_request_t *r);
const char *ngx_http_torchserve_error_type(ngx_uint_t status);
ngx_uint_t ngx_http_torchserve_http_status(ts_status_e status);
ngx_int_t ngx_http_torchserve_send_answer(ngx_http_request_t *r,
    ngx_uint_t status, ts_request_t *req);

/*
 * _handoff.c, _handoff_listen.c, _handoff_frame.c: Python predictions to a
 * worker process whose GIL is free
 */
#define NGX_HTTP_TORCHSERVE_HANDOFF_TYPE   "application/x-torchserve-handoff"

/*
 * what the first process tells its sibling: its client's address (for
 * allow/deny, limits and logs there)
 */
#define NGX_HTTP_TORCHSERVE_HANDOFF_CLIENT  "X-Torchserve-Handoff-Client"

void ngx_http_torchserve_handoff_init(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_handoff_close(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t serve_moved);
void ngx_http_torchserve_handoff_busy(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_int_t delta);
ngx_uint_t ngx_http_torchserve_handed_over(ngx_http_request_t *r);
ngx_int_t ngx_http_torchserve_handoff_client(ngx_http_request_t *r);
ngx_int_t ngx_http_torchserve_handoff(ngx_http_request_t *r,
    ngx_http_torchserve_infer_t *ctx);
ngx_int_t ngx_http_torchserve_handoff_wrap(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, u_char *body, size_t len);
ngx_int_t ngx_http_torchserve_handoff_unwrap(ngx_http_request_t *r,
    u_char *p, u_char *end);
void ngx_http_torchserve_handoff_decrement(ngx_http_torchserve_peer_t *slot,
    ngx_pid_t pid, ngx_atomic_t *count);

/* _handoff_move.c: keepalive connections follow their handed-over answer */
ngx_int_t ngx_http_torchserve_move_init(ngx_cycle_t *cycle,
    ngx_http_torchserve_main_conf_t *tmcf);
void ngx_http_torchserve_move_close(ngx_http_torchserve_main_conf_t *tmcf,
    ngx_uint_t serve);
void ngx_http_torchserve_move_later(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_uint_t slot, ngx_pid_t pid);


#endif /* _NGX_HTTP_TORCHSERVE_MODULE_H_INCLUDED_ */
