/*
 * torchserve_settings.c: config.properties' keys (../shared/API.md
 * section 5) as the settings the nginx.conf is written from.  A key we
 * do not know is a warning naming it; a bad value is an error naming the
 * key, the file and the line.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "torchserve.h"


typedef int (*tsc_key_handler_pt)(tsc_settings_t *s, const tsc_prop_t *p,
    char *err, size_t errlen);


typedef struct {
    const char          *key;
    tsc_key_handler_pt   handler;
    const char          *ignored;      /* why a known key has no effect */
} tsc_key_t;


static int tsc_key_address(tsc_settings_t *s, const tsc_prop_t *p,
    char *err, size_t errlen);
static int tsc_key_number(tsc_settings_t *s, const tsc_prop_t *p,
    char *err, size_t errlen);
static int tsc_key_bool(tsc_settings_t *s, const tsc_prop_t *p, char *err,
    size_t errlen);
static int tsc_key_string(tsc_settings_t *s, const tsc_prop_t *p,
    char *err, size_t errlen);
static int tsc_key_load_models(tsc_settings_t *s, const tsc_prop_t *p,
    char *err, size_t errlen);
static int tsc_key_models(tsc_settings_t *s, const tsc_prop_t *p,
    char *err, size_t errlen);
static int tsc_key_known(tsc_settings_t *s, const tsc_prop_t *p,
    char *err, size_t errlen);


static const tsc_key_t  tsc_keys[] = {
    { "inference_address", tsc_key_address, NULL },
    { "management_address", tsc_key_address, NULL },
    { "metrics_address", tsc_key_address, NULL },
    { "model_store", tsc_key_string, NULL },
    { "load_models", tsc_key_load_models, NULL },
    { "default_workers_per_model", tsc_key_number, NULL },
    { "job_queue_size", tsc_key_number, NULL },
    { "max_request_size", tsc_key_number, NULL },
    { "default_response_timeout", tsc_key_number, NULL },
    { "number_of_netty_threads", tsc_key_number, NULL },
    { "netty_client_threads", tsc_key_number, NULL },
    { "allowed_urls", tsc_key_string, NULL },
    { "certificate_file", tsc_key_string, NULL },
    { "private_key_file", tsc_key_string, NULL },
    { "models", tsc_key_models, NULL },
    { "enable_envvars_config", tsc_key_known, NULL },
    { "use_env_allowed_urls", tsc_key_known, NULL },
    { "keystore", NULL, "use certificate_file and private_key_file (PEM)" },
    { "keystore_pass", NULL, "use certificate_file and private_key_file" },
    { "keystore_type", NULL, "use certificate_file and private_key_file" },
    { "max_response_size", NULL, "answers are not limited in size here" },
    { "enable_model_api", tsc_key_bool, NULL },
    { "enable_metrics_api", tsc_key_bool, NULL },
    { "install_py_dep_per_model", NULL,
      "requirements files are not installed (pip is not run)" },
    { "vmargs", NULL, "there is no Java frontend" },
    { "async_logging", NULL, "nginx writes its own logs" },
    { "default_startup_timeout", NULL, "models load at start, no timeout" },
    { "unregister_model_timeout", NULL, "unregistering does not wait" },
    { "metrics_mode", NULL, "metrics are served at /metrics only" },
    { "metric_time_interval", NULL, "metrics are counted as they happen" },
    { "disable_token_authorization", NULL, "token authorization is not "
      "implemented yet" },
    { NULL, NULL, NULL }
};


void
tsc_settings_defaults(tsc_settings_t *s)
{
    strcpy(s->inference.host, "127.0.0.1");
    s->inference.port = 8080;
    strcpy(s->management.host, "127.0.0.1");
    s->management.port = 8081;
    strcpy(s->metrics.host, "127.0.0.1");
    s->metrics.port = 8082;
    s->job_queue_size = 100;
    s->max_request_size = 6553500;
    s->default_response_timeout = 120;
    s->metrics_api = 1;
}


int
tsc_settings_from_props(tsc_settings_t *s, const tsc_props_t *p, char *err,
    size_t errlen)
{
    size_t            i;
    const tsc_key_t  *k;

    for (i = 0; i < p->n; i++) {
        for (k = tsc_keys; k->key != NULL; k++) {
            if (strcmp(k->key, p->props[i].key) == 0) {
                break;
            }
        }

        if (k->key == NULL) {
            fprintf(stderr, "torchserve: warning: %s line %d: unknown key "
                    "\"%s\", ignored\n", p->path, p->props[i].line,
                    p->props[i].key);
            continue;
        }

        if (k->handler == NULL) {
            fprintf(stderr, "torchserve: %s line %d: \"%s\" has no effect "
                    "here: %s\n", p->path, p->props[i].line, k->key,
                    k->ignored);
            continue;
        }

        if (k->handler(s, &p->props[i], err, errlen) != 0) {
            return -1;
        }
    }

    return 0;
}


/* "--models" and load_models: all, PATH, NAME=PATH */
/* what the command line and config.properties left on the heap */
void
tsc_settings_free(tsc_settings_t *s)
{
    size_t  i;

    free(s->ts_config);
    free(s->model_store);
    free(s->workflow_store);
    free(s->log_config);
    free(s->allowed_urls);
    free(s->certificate_file);
    free(s->private_key_file);

    for (i = 0; i < s->nmodels; i++) {
        free(s->models[i].name);
        free(s->models[i].path);
    }

    for (i = 0; i < s->nper_model; i++) {
        free(s->per_model[i].name);
    }

    memset(s, 0, sizeof(tsc_settings_t));
}


int
tsc_models_add(tsc_settings_t *s, const char *spec, char *err, size_t errlen)
{
    const char   *eq;
    tsc_model_t  *m;

    if (s->nmodels == TSC_MAX_MODELS) {
        snprintf(err, errlen, "more than %d models to load at start",
                 TSC_MAX_MODELS);
        return -1;
    }

    if (*spec == '\0') {
        snprintf(err, errlen, "an empty model name");
        return -1;
    }

    m = &s->models[s->nmodels];
    eq = strchr(spec, '=');

    if (eq != NULL) {
        m->name = strndup(spec, eq - spec);
        m->path = strdup(eq + 1);
    } else {
        m->name = NULL;
        m->path = strdup(spec);
    }

    s->nmodels++;

    return 0;
}


static int
tsc_bad_value(const tsc_prop_t *p, const char *why, char *err, size_t errlen)
{
    char  upper[128];
    int   i;

    /* line 0: from the environment (enable_envvars_config) */
    if (p->line == 0) {
        for (i = 0; p->key[i] != '\0' && i < 127; i++) {
            upper[i] = (char) toupper((unsigned char) p->key[i]);
        }
        upper[i] = '\0';

        snprintf(err, errlen, "environment variable TS_%s: invalid %s "
                 "\"%s\": %s", upper, p->key, p->value, why);
        return -1;
    }

    snprintf(err, errlen, "line %d: invalid %s \"%s\": %s", p->line, p->key,
             p->value, why);
    return -1;
}


/* http://host:port; TorchServe's https:// and unix: are not served yet */
static int
tsc_key_address(tsc_settings_t *s, const tsc_prop_t *p, char *err,
    size_t errlen)
{
    char           *end;
    long            port;
    const char     *v, *colon, *c;
    size_t          hlen;
    tsc_address_t  *a;

    a = p->key[0] == 'i' ? &s->inference
        : p->key[0] == 'm' && p->key[1] == 'a' ? &s->management : &s->metrics;

    v = p->value;

    /*
     * the address goes into nginx.conf's listen unquoted: a blank, a
     * ';', a brace or a quote would end it or add directives of its own,
     * a '#' would comment out the rest of the line
     */
    for (c = v; *c != '\0'; c++) {
        if (isspace((unsigned char) *c) || iscntrl((unsigned char) *c)
            || strchr(";{}\"'\\#", *c) != NULL)
        {
            return tsc_bad_value(p, "blanks, quotes, backslashes, control "
                                 "characters, ';', '#' and braces are not "
                                 "allowed", err, errlen);
        }
    }

    if (strncmp(v, "unix:", 5) == 0) {
        if (v[5] != '/' || strlen(v + 5) >= sizeof(a->host)) {
            return tsc_bad_value(p, "expected unix:/absolute/path", err,
                                 errlen);
        }

        strcpy(a->host, v + 5);
        a->port = 0;
        a->tls = 0;
        return 0;
    }

    if (strncasecmp(v, "https://", 8) == 0) {
        a->tls = 1;
        v += 8;

    } else if (strncasecmp(v, "http://", 7) == 0) {
        a->tls = 0;
        v += 7;

    } else {
        return tsc_bad_value(p, "expected http://host:port, "
                             "https://host:port or unix:/path", err, errlen);
    }

    colon = strrchr(v, ':');

    if (colon == NULL || colon == v) {
        return tsc_bad_value(p, "expected http://host:port", err, errlen);
    }

    hlen = colon - v;

    if (hlen >= sizeof(a->host)) {
        return tsc_bad_value(p, "the host is too long", err, errlen);
    }

    errno = 0;
    port = strtol(colon + 1, &end, 10);

    if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1
        || port > 65535)
    {
        return tsc_bad_value(p, "the port must be 1 to 65535", err, errlen);
    }

    memcpy(a->host, v, hlen);
    a->host[hlen] = '\0';
    a->port = (int) port;

    /* "0.0.0.0" listens on every address, as nginx's "*" does */
    return 0;
}


static int
tsc_key_number(tsc_settings_t *s, const tsc_prop_t *p, char *err,
    size_t errlen)
{
    char  *end;
    long   v, min, max, *to;

    min = 1;
    max = 1000000000;

    if (strcmp(p->key, "default_workers_per_model") == 0) {
        to = &s->default_workers;
        max = 256;
    } else if (strcmp(p->key, "job_queue_size") == 0) {
        to = &s->job_queue_size;
        max = 1000000;
    } else if (strcmp(p->key, "max_request_size") == 0) {
        to = &s->max_request_size;
    } else if (strcmp(p->key, "default_response_timeout") == 0) {
        to = &s->default_response_timeout;
        max = 7 * 24 * 3600;
    } else {
        /* number_of_netty_threads, netty_client_threads */
        to = &s->worker_processes;
        max = 1024;
    }

    errno = 0;
    v = strtol(p->value, &end, 10);

    if (errno != 0 || end == p->value || *end != '\0' || v < min || v > max) {
        char  why[64];

        snprintf(why, sizeof(why), "a whole number from %ld to %ld", min,
                 max);
        return tsc_bad_value(p, why, err, errlen);
    }

    *to = v;

    return 0;
}


static int
tsc_key_bool(tsc_settings_t *s, const tsc_prop_t *p, char *err,
    size_t errlen)
{
    int  v;

    /* Java's Boolean.parseBoolean: "true" in any case, else false */
    if (strcasecmp(p->value, "true") == 0) {
        v = 1;
    } else if (strcasecmp(p->value, "false") == 0) {
        v = 0;
    } else {
        return tsc_bad_value(p, "true or false", err, errlen);
    }

    if (strcmp(p->key, "enable_model_api") == 0) {
        s->model_api = v;
    } else {
        s->metrics_api = v;
    }

    return 0;
}


static int
tsc_key_string(tsc_settings_t *s, const tsc_prop_t *p, char *err,
    size_t errlen)
{
    const char  *c;

    /*
     * nginx.conf takes them quoted (allowed_urls' regexes escaped, for
     * their backslashes): paths without quotes, backslashes or control
     * characters
     */
    for (c = p->value; *c != '\0'; c++) {
        if (iscntrl((unsigned char) *c)
            || (strcmp(p->key, "allowed_urls") != 0
                && (*c == '"' || *c == '\\')))
        {
            return tsc_bad_value(p, "quotes, backslashes and control "
                                 "characters are not allowed", err, errlen);
        }
    }

    if (strcmp(p->key, "model_store") == 0) {
        if (s->model_store == NULL) {        /* --model-store wins */
            s->model_store = strdup(p->value);
        }
    } else if (strcmp(p->key, "certificate_file") == 0) {
        s->certificate_file = strdup(p->value);
    } else if (strcmp(p->key, "private_key_file") == 0) {
        s->private_key_file = strdup(p->value);
    } else {
        free(s->allowed_urls);
        s->allowed_urls = strdup(p->value);
    }

    return 0;
}


static int
tsc_key_load_models(tsc_settings_t *s, const tsc_prop_t *p, char *err,
    size_t errlen)
{
    char  *list, *item, *save, why[TSC_ERRLEN];

    /* --models wins over load_models */
    if (s->models_given) {
        return 0;
    }

    list = strdup(p->value);
    if (list == NULL) {
        return tsc_bad_value(p, "out of memory", err, errlen);
    }

    for (item = strtok_r(list, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save))
    {
        while (*item == ' ') {
            item++;
        }

        if (tsc_models_add(s, item, why, sizeof(why)) != 0) {
            free(list);
            return tsc_bad_value(p, why, err, errlen);
        }
    }

    free(list);

    return 0;
}


/* read before the other keys (tsc_props_from_env); nothing to set */
static int
tsc_key_known(tsc_settings_t *s, const tsc_prop_t *p, char *err,
    size_t errlen)
{
    return 0;
}


/*
 * "models": {"name": {"version": {"minWorkers": N, "batchSize": N,
 * "maxBatchDelay": ms, "responseTimeout": s, ...}}} for the models
 * loaded at start; values <= 0 are ignored, as TorchServe ignores them.
 * The first version listed for a name gives its settings (the models
 * loaded at start are one version each).
 */
static int
tsc_key_models(tsc_settings_t *s, const tsc_prop_t *p, char *err,
    size_t errlen)
{
    char                   why[TSC_ERRLEN];
    const char            *name, *version, *key;
    json_t                *root, *versions, *cfg, *v;
    json_error_t           jerr;
    tsc_model_settings_t  *ms;

    root = json_loads(p->value, 0, &jerr);
    if (root == NULL || !json_is_object(root)) {
        snprintf(why, sizeof(why), "not a JSON object (%s)",
                 root ? "another type" : jerr.text);
        json_decref(root);
        return tsc_bad_value(p, why, err, errlen);
    }

    json_object_foreach(root, name, versions) {
        if (!json_is_object(versions) || s->nper_model == TSC_MAX_MODELS) {
            json_decref(root);
            return tsc_bad_value(p, "each model maps versions to settings",
                                 err, errlen);
        }

        ms = &s->per_model[s->nper_model++];
        memset(ms, 0, sizeof(tsc_model_settings_t));
        ms->name = strdup(name);

        json_object_foreach(versions, version, cfg) {
            if (!json_is_object(cfg)) {
                json_decref(root);
                return tsc_bad_value(p, "each version maps to an object of "
                                     "settings", err, errlen);
            }

            json_object_foreach(cfg, key, v) {
                long  n;

                if (!json_is_integer(v) && !json_is_string(v)) {
                    continue;            /* marName, defaultVersion, ... */
                }

                n = json_is_integer(v) ? (long) json_integer_value(v)
                                       : strtol(json_string_value(v), NULL,
                                                10);
                if (n <= 0) {
                    continue;
                }

                if (strcmp(key, "minWorkers") == 0) {
                    ms->min_workers = n > 256 ? 256 : n;
                } else if (strcmp(key, "batchSize") == 0) {
                    ms->batch_size = n > 1024 ? 1024 : n;
                } else if (strcmp(key, "maxBatchDelay") == 0) {
                    ms->max_batch_delay = n;
                } else if (strcmp(key, "responseTimeout") == 0) {
                    ms->response_timeout = n;
                }
            }

            break;
        }
    }

    json_decref(root);

    return 0;
}


const tsc_model_settings_t *
tsc_model_settings(const tsc_settings_t *s, const char *name)
{
    size_t  i;

    for (i = 0; i < s->nper_model; i++) {
        if (strcmp(s->per_model[i].name, name) == 0) {
            return &s->per_model[i];
        }
    }

    return NULL;
}


/*
 * enable_envvars_config=true: TS_<KEY> variables of the environment win
 * over the file's keys (allowed_urls only with use_env_allowed_urls=true),
 * as TorchServe's ConfigManager reads them.
 */
int
tsc_props_from_env(tsc_props_t *p, char *err, size_t errlen)
{
    extern char  **environ;

    size_t         i, k;
    char         **e, *key, *value;
    const char    *eq;
    int            env_urls;
    tsc_prop_t    *props;

    env_urls = 0;

    for (i = 0; i < p->n; i++) {
        if (strcmp(p->props[i].key, "use_env_allowed_urls") == 0
            && strcasecmp(p->props[i].value, "true") == 0)
        {
            env_urls = 1;
        }
    }

    for (e = environ; *e != NULL; e++) {
        if (strncmp(*e, "TS_", 3) != 0 || strncmp(*e, "TS_CONFIG_FILE=", 15)
            == 0 || (eq = strchr(*e, '=')) == NULL || eq == *e + 3)
        {
            continue;
        }

        key = strndup(*e + 3, eq - *e - 3);
        value = strdup(eq + 1);
        if (key == NULL || value == NULL) {
            free(key);
            free(value);
            snprintf(err, errlen, "out of memory");
            return -1;
        }

        for (k = 0; key[k] != '\0'; k++) {
            key[k] = (char) tolower((unsigned char) key[k]);
        }

        for (i = 0; tsc_keys[i].key != NULL; i++) {
            if (strcmp(tsc_keys[i].key, key) == 0) {
                break;
            }
        }

        /* only the keys TorchServe knows; allowed_urls only if asked for */
        if (tsc_keys[i].key == NULL
            || (strcmp(key, "allowed_urls") == 0 && !env_urls))
        {
            free(key);
            free(value);
            continue;
        }

        for (i = 0; i < p->n; i++) {
            if (strcmp(p->props[i].key, key) == 0) {
                break;
            }
        }

        if (i == p->n) {
            props = realloc(p->props, (p->n + 1) * sizeof(tsc_prop_t));
            if (props == NULL) {
                free(key);
                free(value);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            p->props = props;
            p->n++;
        } else {
            free(p->props[i].key);
            free(p->props[i].value);
        }

        p->props[i].key = key;
        p->props[i].value = value;
        p->props[i].line = 0;
    }

    return 0;
}
