/*
 * torchserve_conf.c: the nginx.conf of a `torchserve --start`, written
 * into the run directory from the settings: TorchServe's three
 * listeners, the model store, the models to load at start and the
 * parallelism TorchServe would give them.
 *
 * TorchServe gives a model loaded at start N workers (N =
 * default_workers_per_model, else the CPUs): N model instances running
 * at once.  Here that is P worker processes (number_of_netty_threads,
 * else the CPUs), each with a pool of N threads and workers=N per model
 * (the kernel may hand every connection to one process: each can run N
 * batches at once; describe shows N, as TorchServe's does).  A TorchScript model on a C
 * handler batches adaptively up to 8 unless its model-config.yaml says
 * otherwise (a lone request still runs at once); a Python handler keeps
 * TorchServe's batch of 1, since handlers are often written for one.
 */

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "torchserve.h"
#include "ts_archive.h"


/* "name version, ..." of the models written, for the start's message */
static char  tsc_loaded[4096];


static int tsc_conf_allowed_urls(FILE *f, const tsc_settings_t *s,
    char *err, size_t errlen);
static int tsc_conf_servers(FILE *f, const tsc_settings_t *s, char *err,
    size_t errlen);
static int tsc_conf_models(FILE *f, const tsc_settings_t *s,
    const char *run_dir, long workers, char *err, size_t errlen);
static int tsc_conf_model(FILE *f, const tsc_settings_t *s,
    const char *name, const char *path, long workers, char *err,
    size_t errlen);
static int tsc_conf_listen(FILE *f, const tsc_settings_t *s,
    const tsc_address_t *a, char *err, size_t errlen);


int
tsc_conf_write(const tsc_settings_t *s, const char *run_dir,
    const char *module, char *err, size_t errlen)
{
    int             rc;
    long            cpus, procs, threads, n;
    size_t          i;
    char            path[4096], tmp[4096];
    FILE           *f;
    struct group   *gr;
    struct passwd  *pw;

    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cpus = cpus > 0 ? cpus : 1;

    n = s->default_workers > 0 ? s->default_workers : cpus;
    procs = s->worker_processes > 0 ? s->worker_processes : cpus;
    threads = n;

    /* a model's own minWorkers ("models") runs that many at once too */
    for (i = 0; i < s->nper_model; i++) {
        if (s->per_model[i].min_workers > threads) {
            threads = s->per_model[i].min_workers;
        }
    }

    snprintf(path, sizeof(path), "%s/nginx.conf", run_dir);
    snprintf(tmp, sizeof(tmp), "%s/nginx.conf.tmp", run_dir);

    f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }

    fprintf(f, "# written by torchserve --start, rewritten at each start\n"
            "load_module %s;\n\n", module);

    /* the worker processes run as the user who started us, as TorchServe */
    if (geteuid() == 0) {
        pw = getpwuid(geteuid());
        gr = getgrgid(getegid());
        if (pw != NULL && gr != NULL) {
            fprintf(f, "user %s %s;\n", pw->pw_name, gr->gr_name);
        }
    }

    fprintf(f, "worker_processes %ld;\n"
            "error_log %s/ts_log.log notice;\n"
            "pid %s/nginx.pid;\n"
            "thread_pool torchserve threads=%ld max_queue=65536;\n\n"
            "events {\n    worker_connections 1024;\n}\n\n"
            "http {\n"
            "    access_log %s/access_log.log;\n"
            "    client_body_temp_path %s/tmp/body;\n"
            "    proxy_temp_path %s/tmp/proxy;\n"
            "    fastcgi_temp_path %s/tmp/fastcgi;\n"
            "    uwsgi_temp_path %s/tmp/uwsgi;\n"
            "    scgi_temp_path %s/tmp/scgi;\n"
            "    client_max_body_size %ld;\n\n"
            "    torchserve_thread_pool torchserve;\n"
            "    torchserve_zone torchserve:16m;\n"
            "    torchserve_temp_path %s/tmp;\n",
            procs, run_dir, run_dir, threads, run_dir, run_dir, run_dir,
            run_dir, run_dir, run_dir, s->max_request_size, run_dir);

    if (s->model_store != NULL) {
        fprintf(f, "    torchserve_model_store \"%s\";\n", s->model_store);
    }

    /* TorchServe's config snapshots: registrations survive a restart */
    if (!s->ncs) {
        fprintf(f, "    torchserve_state %s/config/registry.json;\n",
                run_dir);
    }

    rc = tsc_conf_allowed_urls(f, s, err, errlen);

    fprintf(f, "\n");

    if (rc != 0 || tsc_conf_models(f, s, run_dir, threads, err, errlen) != 0
        || tsc_conf_servers(f, s, err, errlen) != 0)
    {
        fclose(f);
        unlink(tmp);
        return -1;
    }

    fprintf(f, "}\n");

    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }

    return 0;
}


static int
tsc_conf_allowed_urls(FILE *f, const tsc_settings_t *s, char *err,
    size_t errlen)
{
    char  *url, *urls, *save;

    if (s->allowed_urls == NULL) {
        return 0;
    }

    urls = strdup(s->allowed_urls);
    if (urls == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    fprintf(f, "    torchserve_allowed_urls");

    for (url = strtok_r(urls, ",", &save); url != NULL;
         url = strtok_r(NULL, ",", &save))
    {
        /* nginx unescapes \\ and \" inside quotes */
        fputs(" \"", f);
        for ( ; *url != '\0'; url++) {
            if (*url == '\\' || *url == '"') {
                fputc('\\', f);
            }
            fputc(*url, f);
        }
        fputc('"', f);
    }

    fprintf(f, ";\n");
    free(urls);

    return 0;
}


/* TorchServe's three listeners */
static int
tsc_conf_servers(FILE *f, const tsc_settings_t *s, char *err, size_t errlen)
{
    int  rc;

    rc = 0;

    fprintf(f, "\n    server {                 # inference_address\n");
    rc |= tsc_conf_listen(f, s, &s->inference, err, errlen);
    fprintf(f, "        location / { torchserve_inference; }\n    }\n\n");

    fprintf(f, "    server {                 # management_address\n");
    rc |= tsc_conf_listen(f, s, &s->management, err, errlen);
    fprintf(f, "        torchserve_model_api %s;\n"
            "        location / { torchserve_management; }\n    }\n",
            s->model_api || s->enable_model_api ? "on" : "off");

    if (s->metrics_api) {
        fprintf(f, "\n    server {                 # metrics_address\n");
        rc |= tsc_conf_listen(f, s, &s->metrics, err, errlen);
        fprintf(f, "        location /metrics { torchserve_metrics; }\n"
                "    }\n");
    }

    return rc;
}


static int
tsc_conf_listen(FILE *f, const tsc_settings_t *s, const tsc_address_t *a,
    char *err, size_t errlen)
{
    const char  *ssl;

    ssl = a->tls ? " ssl" : "";

    if (a->port == 0) {
        fprintf(f, "        listen unix:%s;\n", a->host);
    } else if (strcmp(a->host, "0.0.0.0") == 0) {
        fprintf(f, "        listen %d%s;\n", a->port, ssl);
    } else if (strchr(a->host, ':') != NULL && a->host[0] != '[') {
        fprintf(f, "        listen [%s]:%d%s;\n", a->host, a->port, ssl);
    } else {
        fprintf(f, "        listen %s:%d%s;\n", a->host, a->port, ssl);
    }

    if (!a->tls) {
        return 0;
    }

    /* TorchServe's PEM pair (its Java keystore keys are not read) */
    if (s->certificate_file == NULL || s->private_key_file == NULL) {
        snprintf(err, errlen, "an https:// address needs certificate_file "
                 "and private_key_file in config.properties");
        return -1;
    }

    fprintf(f, "        ssl_certificate \"%s\";\n"
            "        ssl_certificate_key \"%s\";\n",
            s->certificate_file, s->private_key_file);

    return 0;
}


/* the archives of the store that "all" loads: .mar, .tar.gz, .tgz, folders */
static int
tsc_conf_all(FILE *f, const tsc_settings_t *s, long workers, char *err,
    size_t errlen)
{
    int             n;
    char            path[4096];
    size_t          len;
    struct stat     st;
    struct dirent **names;
    int             i, rc;

    if (s->model_store == NULL) {
        snprintf(err, errlen, "--models all needs --model-store");
        return -1;
    }

    n = scandir(s->model_store, &names, NULL, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", s->model_store, strerror(errno));
        return -1;
    }

    rc = 0;

    for (i = 0; i < n; i++) {
        len = strlen(names[i]->d_name);
        snprintf(path, sizeof(path), "%s/%s/MAR-INF/MANIFEST.json",
                 s->model_store, names[i]->d_name);

        if (names[i]->d_name[0] != '.'
            && ((len > 4 && strcmp(names[i]->d_name + len - 4, ".mar") == 0)
                || (len > 7
                    && strcmp(names[i]->d_name + len - 7, ".tar.gz") == 0)
                || (len > 4
                    && strcmp(names[i]->d_name + len - 4, ".tgz") == 0)
                || stat(path, &st) == 0)
            && rc == 0)
        {
            rc = tsc_conf_model(f, s, NULL, names[i]->d_name, workers, err,
                                errlen);
        }

        free(names[i]);
    }

    free(names);

    return rc;
}


static int
tsc_conf_models(FILE *f, const tsc_settings_t *s, const char *run_dir,
    long workers, char *err, size_t errlen)
{
    char         local[4096];
    size_t       i;
    const char  *path;

    for (i = 0; i < s->nmodels; i++) {
        if (s->models[i].name == NULL
            && strcasecmp(s->models[i].path, "all") == 0)
        {
            if (tsc_conf_all(f, s, workers, err, errlen) != 0) {
                return -1;
            }
            continue;
        }

        path = s->models[i].path;

        if (tsc_is_url(path)) {
            if (tsc_fetch(s, path, run_dir, local, sizeof(local), err,
                          errlen) != 0)
            {
                return -1;
            }

            path = local;
        }

        if (tsc_conf_model(f, s, s->models[i].name, path, workers, err,
                           errlen) != 0)
        {
            return -1;
        }
    }

    return 0;
}


/* one torchserve_model line; the name is the manifest's unless given */
static int
tsc_conf_model(FILE *f, const tsc_settings_t *s, const char *name,
    const char *path, long workers, char *err, size_t errlen)
{
    int                          python, yaml_batch;
    char                         full[4096], why[TSC_ERRLEN];
    const tsc_model_settings_t  *ms;
    const char           *c;
    ts_archive_t         *a;
    ts_archive_limits_t   limits;

    for (c = path; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\' || *c < ' ') {
            snprintf(err, errlen, "model \"%s\": quotes, backslashes and "
                     "control characters are not allowed in its path", path);
            return -1;
        }
    }

    if (path[0] == '/' || s->model_store == NULL) {
        snprintf(full, sizeof(full), "%s", path);
    } else {
        snprintf(full, sizeof(full), "%s/%s", s->model_store, path);
    }

    memset(&limits, 0, sizeof(limits));
    limits.with_data = 0;

    a = ts_archive_open(full, &limits, why, sizeof(why));
    if (a == NULL) {
        snprintf(err, errlen, "model \"%s\": %s", path, why);
        return -1;
    }

    if (name == NULL) {
        name = a->manifest.model_name;
    }

    if (name == NULL || *name == '\0') {
        ts_archive_free(a);
        snprintf(err, errlen, "model \"%s\": its manifest names no model: "
                 "give it a name, NAME=%s", path, path);
        return -1;
    }

    python = a->manifest.model_file != NULL
             || (a->manifest.handler != NULL
                 && strstr(a->manifest.handler, ".py") != NULL);

    /* model-config.yaml's batchSize, when there is one, is the archive's */
    yaml_batch = a->manifest.config_file != NULL;

    ms = tsc_model_settings(s, name);

    snprintf(tsc_loaded + strlen(tsc_loaded),
             sizeof(tsc_loaded) - strlen(tsc_loaded), "%s%s %s",
             tsc_loaded[0] ? ", " : "", name,
             a->manifest.model_version ? a->manifest.model_version : "1.0");

    fprintf(f, "    torchserve_model \"%s\" \"%s\" workers=%ld "
            "job_queue_size=%ld response_timeout=%lds", name, full,
            ms && ms->min_workers ? ms->min_workers : workers,
            s->job_queue_size,
            ms && ms->response_timeout ? ms->response_timeout
                                       : s->default_response_timeout);

    /* config.properties' "models" wins, then the archive's yaml */
    if (ms && ms->batch_size) {
        fprintf(f, " batch_size=%ld", ms->batch_size);
    } else if (!python && !yaml_batch) {
        fprintf(f, " batch_size=8");
    }

    if (ms && ms->max_batch_delay) {
        fprintf(f, " max_batch_delay=%ldms", ms->max_batch_delay);
    }

    fprintf(f, ";\n");

    ts_archive_free(a);

    return 0;
}


const char *
tsc_conf_loaded(void)
{
    return tsc_loaded;
}
