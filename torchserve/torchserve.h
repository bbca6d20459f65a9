/*
 * torchserve.h: the `torchserve` command (TorchServe 0.12's start/stop
 * line) over Debian's nginx and this module.
 *
 *   torchserve.c           the command line, --start / --stop / --version
 *   torchserve_props.c     config.properties (Java properties syntax)
 *   torchserve_settings.c  its keys and the options, as one set of settings
 *   torchserve_conf.c      the nginx.conf those settings give
 *   torchserve_fetch.c     models given by URL: allowed_urls, download
 *   torchserve_instance.c  the nginx instance of a directory: start, wait, stop
 */

#ifndef TORCHSERVE_H
#define TORCHSERVE_H

#include <stddef.h>

#define TSC_ERRLEN     1024
#define TSC_MAX_MODELS 64
#define TSC_VERSION    "0.12.0"

/* the run directory under the current one, as TorchServe writes logs/ */
#define TSC_RUN_DIR    "logs"


/* one key = value of a properties file, and the line it came from */
typedef struct {
    char  *key;
    char  *value;
    int    line;
} tsc_prop_t;


typedef struct {
    tsc_prop_t  *props;
    size_t       n;
    char        *path;
} tsc_props_t;


/* an address: http://host:port, https://host:port, unix:/path */
typedef struct {
    char  host[256];            /* unix: the socket's path */
    int   port;                 /* 0: a unix socket */
    int   tls;
} tsc_address_t;


/* the per-model settings of the "models" key, for one name */
typedef struct {
    char  *name;
    long   min_workers;         /* 0: unset */
    long   batch_size;
    long   max_batch_delay;     /* ms */
    long   response_timeout;    /* s */
} tsc_model_settings_t;


/* a model to load at start: NAME=PATH, or PATH (the manifest's name) */
typedef struct {
    char  *name;        /* NULL: the archive's manifest names it */
    char  *path;
} tsc_model_t;


typedef struct {
    /* the command line */
    int            stop, version, help, foreground, ncs;
    char          *ts_config;
    char          *model_store;
    char          *workflow_store;
    char          *log_config;
    int            disable_token_auth, enable_model_api;
    tsc_model_t    models[TSC_MAX_MODELS];
    size_t         nmodels;
    int            models_given;          /* --models, else load_models */

    /* config.properties, defaults where it is silent */
    tsc_address_t  inference, management, metrics;
    long           default_workers;       /* 0: unset (as many as CPUs) */
    long           job_queue_size;
    long           max_request_size;
    long           default_response_timeout;
    long           worker_processes;      /* number_of_netty_threads */
    char          *allowed_urls;          /* comma-separated regexes */
    char          *certificate_file;      /* for https:// addresses */
    char          *private_key_file;
    tsc_model_settings_t  per_model[TSC_MAX_MODELS];   /* "models" */
    size_t         nper_model;
    int            model_api;             /* enable_model_api */
    int            metrics_api;           /* enable_metrics_api */
} tsc_settings_t;


/* torchserve_props.c */
int tsc_props_read(const char *path, tsc_props_t *p, char *err,
    size_t errlen);
int tsc_props_parse(const char *text, size_t size, const char *path,
    tsc_props_t *p, char *err, size_t errlen);
void tsc_props_free(tsc_props_t *p);

/* torchserve_settings.c */
void tsc_settings_defaults(tsc_settings_t *s);
int tsc_settings_from_props(tsc_settings_t *s, const tsc_props_t *p,
    char *err, size_t errlen);
void tsc_settings_free(tsc_settings_t *s);
int tsc_models_add(tsc_settings_t *s, const char *spec, char *err,
    size_t errlen);
const tsc_model_settings_t *tsc_model_settings(const tsc_settings_t *s,
    const char *name);
int tsc_props_from_env(tsc_props_t *p, char *err, size_t errlen);

/* torchserve_conf.c */
int tsc_conf_write(const tsc_settings_t *s, const char *run_dir,
    const char *module, char *err, size_t errlen);
const char *tsc_conf_loaded(void);

/* torchserve_fetch.c */
int tsc_is_url(const char *path);
int tsc_fetch(const tsc_settings_t *s, const char *url, const char *run_dir,
    char *local, size_t len, char *err, size_t errlen);

/* torchserve_instance.c */
int tsc_instance_start(const tsc_settings_t *s, const char *run_dir,
    char *err, size_t errlen);
int tsc_instance_stop(const char *run_dir);
long tsc_instance_pid(const char *run_dir);

#endif /* TORCHSERVE_H */
