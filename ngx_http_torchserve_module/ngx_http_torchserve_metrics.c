/*
 * ngx_http_torchserve_metrics.c: TorchServe's Prometheus metrics
 * (API.md section 4), counted in the shared zone so that the numbers
 * are those of all worker processes together, and kept across reload.
 *
 *   Requests2XX/4XX/5XX              every answer of our locations
 *   ts_inference_requests_total      per model and version label
 *   ts_inference_latency_microseconds
 *   ts_queue_latency_microseconds
 *
 * The text is simpleclient 0.9.0's: HELP and TYPE lines, labels with a
 * trailing comma, values as Java prints doubles.  `?name[]=X` keeps only
 * the named families.
 */

#include "ngx_http_torchserve_module.h"


#define NGX_HTTP_TORCHSERVE_HELP(type, unit)                                 \
    "Torchserve prometheus " type " metric with unit: " unit


static ngx_str_t  ngx_http_torchserve_prometheus_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


typedef enum {
    NGX_HTTP_TORCHSERVE_HOST_COUNTER = 0,   /* one sample, the zone's */
    NGX_HTTP_TORCHSERVE_MODEL_COUNTER,      /* a sample per model label */
    NGX_HTTP_TORCHSERVE_MODEL_HISTOGRAM,
    NGX_HTTP_TORCHSERVE_MODEL_GAUGE,        /* a sample per registered model */
    NGX_HTTP_TORCHSERVE_HOST_GAUGE          /* one sample: the zone's pages */
} ngx_http_torchserve_family_kind_e;


/* a metric family: its name, HELP text, kind, and which value it shows */
typedef struct {
    const char                         *name;
    const char                         *help;
    ngx_http_torchserve_family_kind_e   kind;
    ngx_uint_t                          index;
} ngx_http_torchserve_family_t;


/* every family in the order /metrics writes them */
static const ngx_http_torchserve_family_t  ngx_http_torchserve_families[] = {
    { "Requests2XX", NGX_HTTP_TORCHSERVE_HELP("counter", "Count"),
      NGX_HTTP_TORCHSERVE_HOST_COUNTER, 0 },
    { "Requests4XX", NGX_HTTP_TORCHSERVE_HELP("counter", "Count"),
      NGX_HTTP_TORCHSERVE_HOST_COUNTER, 1 },
    { "Requests5XX", NGX_HTTP_TORCHSERVE_HELP("counter", "Count"),
      NGX_HTTP_TORCHSERVE_HOST_COUNTER, 2 },

    { "ts_inference_requests_total",
      NGX_HTTP_TORCHSERVE_HELP("counter", "Count"),
      NGX_HTTP_TORCHSERVE_MODEL_COUNTER, 0 },
    { "ts_inference_latency_microseconds",
      NGX_HTTP_TORCHSERVE_HELP("counter", "Microseconds"),
      NGX_HTTP_TORCHSERVE_MODEL_COUNTER, 1 },
    { "ts_queue_latency_microseconds",
      NGX_HTTP_TORCHSERVE_HELP("counter", "Microseconds"),
      NGX_HTTP_TORCHSERVE_MODEL_COUNTER, 2 },

    /* ours, TorchServe has none: latency histograms in seconds */
    { "ts_queue_latency_seconds",
      "Time from a prediction's arrival in its queue to its batch's start",
      NGX_HTTP_TORCHSERVE_MODEL_HISTOGRAM, 0 },
    { "ts_inference_seconds",
      "Time in the thread: preprocess, forward, postprocess",
      NGX_HTTP_TORCHSERVE_MODEL_HISTOGRAM, 1 },
    { "ts_request_latency_seconds",
      "Time from the request's routing to its answer",
      NGX_HTTP_TORCHSERVE_MODEL_HISTOGRAM, 2 },
    { "ts_batch_size",
      "Size of the batch each prediction ran in",
      NGX_HTTP_TORCHSERVE_MODEL_HISTOGRAM, 3 },
    { "ts_model_workers",
      "Workers of a model (its batches at once) in each worker process",
      NGX_HTTP_TORCHSERVE_MODEL_GAUGE, 0 },

    /* ours: the registry's shared zone, to see it fill or leak */
    { "ts_shm_pages",
      "Pages of the torchserve_zone slab pool",
      NGX_HTTP_TORCHSERVE_HOST_GAUGE, 0 },
    { "ts_shm_free_pages",
      "Free pages of the torchserve_zone slab pool",
      NGX_HTTP_TORCHSERVE_HOST_GAUGE, 1 },

    { NULL, NULL, 0, 0 }
};


static void ngx_http_torchserve_counters_folded(ngx_event_t *ev);
static u_char *ngx_http_torchserve_host_sample(u_char *p, u_char *end,
    ngx_http_torchserve_main_conf_t *tmcf,
    const ngx_http_torchserve_family_t *f);
static u_char *ngx_http_torchserve_model_samples(u_char *p, u_char *end,
    const ngx_http_torchserve_family_t *f, ngx_http_torchserve_record_t *rec);


/* upper bounds in microseconds, and as Prometheus writes them */
static const uint64_t  ngx_http_torchserve_bounds[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
    250000, 500000, 1000000, 5000000
};


static const char  *ngx_http_torchserve_bound_text[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "5.0"
};


/* the batch-size histogram's upper bounds (hist[3]) */
static const uint64_t  ngx_http_torchserve_size_bounds[] = {
    1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256, 1024
};


static const char  *ngx_http_torchserve_size_text[] = {
    "1.0", "2.0", "3.0", "4.0", "6.0", "8.0", "12.0", "16.0", "24.0",
    "32.0", "64.0", "128.0", "256.0", "1024.0"
};


static void
ngx_http_torchserve_observe(ngx_http_torchserve_histogram_t *h,
    const uint64_t *bounds, uint64_t v)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_TORCHSERVE_BUCKETS; i++) {
        if (v <= bounds[i]) {
            break;
        }
    }

    h->buckets[i]++;
    h->sum_us += v;
}


/* in the log phase: every answer of an inference/management/metrics API */
ngx_int_t
ngx_http_torchserve_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                        status;
    ngx_http_torchserve_loc_conf_t   *tlcf;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_torchserve_module);

    if (!tlcf->inference && !tlcf->management && !tlcf->metrics) {
        return NGX_OK;
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    if (tmcf->sh == NULL) {
        return NGX_OK;
    }

    status = r->headers_out.status;

    /* TorchServe counts codes outside 2xx and 4xx as 5XX */
    if (status >= 200 && status < 300) {
        (void) ngx_atomic_fetch_add(&tmcf->sh->requests_2xx, 1);

    } else if (status >= 400 && status < 500) {
        (void) ngx_atomic_fetch_add(&tmcf->sh->requests_4xx, 1);

    } else {
        (void) ngx_atomic_fetch_add(&tmcf->sh->requests_5xx, 1);
    }

    return NGX_OK;
}


/*
 * A prediction is counted in its model's per-process counters, without a
 * lock, and folded into the shared record before its answer is written
 * (counters_settle: one lock for a whole batch), so that the registry
 * never lags an answer a client holds; a posted event folds what else
 * was counted (refusals, clients gone) once per turn of the event loop.
 */
void
ngx_http_torchserve_counters_init(ngx_http_torchserve_model_t *m)
{
    m->count_fold.handler = ngx_http_torchserve_counters_folded;
    m->count_fold.data = m;
    m->count_fold.log = ngx_cycle->log;
}


static void
ngx_http_torchserve_counters_folded(ngx_event_t *ev)
{
    ngx_http_torchserve_counters_fold(ev->data);
}


static void
ngx_http_torchserve_counters_add(ngx_http_torchserve_counters_t *to,
    ngx_http_torchserve_counters_t *from)
{
    ngx_uint_t  h, i;

    to->requests += from->requests;
    to->latency_us += from->latency_us;
    to->queue_us += from->queue_us;

    for (h = 0; h < 4; h++) {
        for (i = 0; i <= NGX_HTTP_TORCHSERVE_BUCKETS; i++) {
            to->hist[h].buckets[i] += from->hist[h].buckets[i];
        }

        to->hist[h].sum_us += from->hist[h].sum_us;
    }
}


/* also called before the model is freed: nothing counted is lost */
void
ngx_http_torchserve_counters_fold(ngx_http_torchserve_model_t *m)
{
    ngx_uint_t                        v;
    ngx_http_torchserve_record_t     *rec;
    ngx_http_torchserve_main_conf_t  *tmcf;

    if (m->count_fold.posted) {
        ngx_delete_posted_event(&m->count_fold);
    }

    tmcf = m->tmcf;

    if (tmcf->sh == NULL) {
        return;
    }

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    /* NULL: unregistered meanwhile; nothing to count into */
    rec = ngx_http_torchserve_record_by_id_locked(tmcf, m->id);

    if (rec != NULL) {
        if (ngx_worker < NGX_HTTP_TORCHSERVE_MAX_PROCESSES) {
            /* for describe's jobQueueStatus, kept under the same lock */
            rec->procs[ngx_worker].pending = m->queued;
        }

        for (v = 0; v < 2; v++) {
            ngx_http_torchserve_counters_add(&rec->counters[v],
                                             &m->counted[v]);
        }
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    ngx_memzero(m->counted, sizeof(m->counted));

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "torchserve: model \"%V\": counters folded", &m->name);
}


/*
 * what this process counted for m and has not folded yet, into the
 * registry now: before an answer leaves, so that a scrape through another
 * process right after it sees it
 */
void
ngx_http_torchserve_counters_settle(ngx_http_torchserve_model_t *m)
{
    if (m->count_fold.posted) {
        ngx_http_torchserve_counters_fold(m);
    }
}


/* before a scrape or a describe: what this process counted in this turn */
void
ngx_http_torchserve_counters_fold_all(ngx_http_torchserve_main_conf_t *tmcf)
{
    ngx_queue_t                  *q;
    ngx_http_torchserve_model_t  *m;

    for (q = ngx_queue_head(&tmcf->local);
         q != ngx_queue_sentinel(&tmcf->local);
         q = ngx_queue_next(q))
    {
        m = ngx_queue_data(q, ngx_http_torchserve_model_t, queue);

        ngx_http_torchserve_counters_settle(m);
    }
}


static ngx_http_torchserve_counters_t *
ngx_http_torchserve_counters_of(ngx_http_torchserve_model_t *m,
    ngx_uint_t versioned)
{
    if (!m->count_fold.posted) {
        ngx_post_event(&m->count_fold, &ngx_posted_events);
    }

    return &m->counted[versioned ? 1 : 0];
}


/*
 * ts_inference_requests_total: +1 for every prediction routed to a
 * model, whatever comes of it (TorchServe counts before queueing).  An
 * answered prediction is counted with its latencies in one go
 * (count_inference); this is for those refused before they queue and
 * those whose client left unanswered.
 */
void
ngx_http_torchserve_count_request(ngx_http_torchserve_model_t *m,
    ngx_uint_t versioned)
{
    ngx_http_torchserve_counters_of(m, versioned)->requests++;
}


/* a prediction that got an answer from its queue, and its latencies */
void
ngx_http_torchserve_count_inference(ngx_http_torchserve_model_t *m,
    ngx_uint_t versioned,
    uint64_t latency_us, uint64_t queue_us, uint64_t inference_us,
    ngx_uint_t batch_size)
{
    ngx_http_torchserve_counters_t  *cnt;

    cnt = ngx_http_torchserve_counters_of(m, versioned);

    cnt->requests++;
    cnt->latency_us += latency_us;
    ngx_http_torchserve_observe(&cnt->hist[2], ngx_http_torchserve_bounds,
                                latency_us);

    /* a request answered before its batch ran has no thread times */
    if (queue_us != NGX_HTTP_TORCHSERVE_NOT_RUN) {
        cnt->queue_us += queue_us;
        ngx_http_torchserve_observe(&cnt->hist[0],
                                    ngx_http_torchserve_bounds, queue_us);
        ngx_http_torchserve_observe(&cnt->hist[1],
                                    ngx_http_torchserve_bounds, inference_us);
        ngx_http_torchserve_observe(&cnt->hist[3],
                                    ngx_http_torchserve_size_bounds,
                                    batch_size);
    }
}


/* a number as Java's Double.toString writes it: 3.0, 1.2345678E7 */
static u_char *
ngx_http_torchserve_java_double(u_char *p, uint64_t v)
{
    u_char    digits[NGX_INT64_LEN + 1], *d, *last;
    size_t    n;

    if (v < 10000000) {
        return ngx_sprintf(p, "%uL.0", v);
    }

    last = ngx_sprintf(digits, "%uL", v);
    n = last - digits;

    /* drop trailing zeros of the mantissa, keeping one digit after "." */
    while (last - 1 > digits + 1 && last[-1] == '0') {
        last--;
    }

    d = digits;
    *p++ = *d++;
    *p++ = '.';

    if (d == last) {
        *p++ = '0';
    } else {
        p = ngx_cpymem(p, d, last - d);
    }

    return ngx_sprintf(p, "E%uz", n - 1);
}


/* 1 if ?name[]= is absent or names this family */
static ngx_uint_t
ngx_http_torchserve_wanted(ngx_http_request_t *r, const char *name)
{
    u_char     *p, *last, *start;
    size_t      len;
    ngx_uint_t  filtered;

    filtered = 0;
    len = ngx_strlen(name);
    p = r->args.data;
    last = r->args.data + r->args.len;

    while (p < last) {
        start = p;

        while (p < last && *p != '&') {
            p++;
        }

        /* name[]= with the brackets written or percent-encoded */
        if (p - start > 7 && ngx_strncmp(start, "name[]=", 7) == 0) {
            filtered = 1;
            if ((size_t) (p - start - 7) == len
                && ngx_strncmp(start + 7, name, len) == 0)
            {
                return 1;
            }

        } else if (p - start > 11
                   && ngx_strncasecmp(start, (u_char *) "name%5B%5D=", 11)
                      == 0)
        {
            filtered = 1;
            if ((size_t) (p - start - 11) == len
                && ngx_strncmp(start + 11, name, len) == 0)
            {
                return 1;
            }
        }

        if (p < last) {
            p++;
        }
    }

    return !filtered;
}


ngx_int_t
ngx_http_torchserve_metrics_handler(ngx_http_request_t *r)
{
    u_char                              *body, *p, *end;
    size_t                               len, nrecords;
    ngx_int_t                            rc;
    ngx_queue_t                         *q;
    ngx_http_torchserve_main_conf_t     *tmcf;
    const ngx_http_torchserve_family_t  *f;

    rc = ngx_http_torchserve_api_description(r,
                                             NGX_HTTP_TORCHSERVE_API_METRICS);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    /* this turn's answers of this process, not folded yet */
    ngx_http_torchserve_counters_fold_all(tmcf);

    ngx_shmtx_lock(&tmcf->shpool->mutex);

    nrecords = ngx_http_torchserve_records_count_locked(tmcf);

    /*
     * sized under the same lock the text is written under: 3 counters
     * and 3 histograms of (buckets + 3) lines per label
     */
    len = 8192 + nrecords * 2 * (4 + 4 * (NGX_HTTP_TORCHSERVE_BUCKETS + 4))
                 * (200 + NGX_HTTP_TORCHSERVE_NAME_LEN
                    + NGX_HTTP_TORCHSERVE_VERSION_LEN
                    + ngx_cycle->hostname.len);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        ngx_shmtx_unlock(&tmcf->shpool->mutex);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = body;
    end = body + len;

    for (f = ngx_http_torchserve_families; f->name != NULL; f++) {
        if (!ngx_http_torchserve_wanted(r, f->name)) {
            continue;
        }

        p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s %s\n", f->name,
                         f->help, f->name,
                         f->kind == NGX_HTTP_TORCHSERVE_MODEL_HISTOGRAM
                         ? "histogram"
                         : f->kind == NGX_HTTP_TORCHSERVE_MODEL_GAUGE
                           || f->kind == NGX_HTTP_TORCHSERVE_HOST_GAUGE
                         ? "gauge" : "counter");

        if (f->kind == NGX_HTTP_TORCHSERVE_HOST_COUNTER
            || f->kind == NGX_HTTP_TORCHSERVE_HOST_GAUGE)
        {
            p = ngx_http_torchserve_host_sample(p, end, tmcf, f);
            continue;
        }

        for (q = ngx_queue_head(&tmcf->sh->records);
             q != ngx_queue_sentinel(&tmcf->sh->records);
             q = ngx_queue_next(q))
        {
            p = ngx_http_torchserve_model_samples(p, end, f,
                    ngx_queue_data(q, ngx_http_torchserve_record_t, queue));
        }
    }

    ngx_shmtx_unlock(&tmcf->shpool->mutex);

    return ngx_http_torchserve_send_typed(r, NGX_HTTP_OK,
                                          &ngx_http_torchserve_prometheus_type,
                                          body, p - body);
}


/*
 * Requests2XX/4XX/5XX: the zone's counter; ts_shm_pages and
 * ts_shm_free_pages: its slab pool (read under its mutex)
 */
static u_char *
ngx_http_torchserve_host_sample(u_char *p, u_char *end,
    ngx_http_torchserve_main_conf_t *tmcf,
    const ngx_http_torchserve_family_t *f)
{
    uint64_t       v;
    ngx_atomic_t  *host[3];

    if (f->kind == NGX_HTTP_TORCHSERVE_HOST_GAUGE) {
        v = f->index == 0
            ? (uint64_t) (tmcf->shpool->end - tmcf->shpool->start)
              / ngx_pagesize
            : (uint64_t) tmcf->shpool->pfree;

        p = ngx_slprintf(p, end, "%s{Level=\"Host\",Hostname=\"%V\",} ",
                         f->name, &ngx_cycle->hostname);
        p = ngx_http_torchserve_java_double(p, v);
        *p++ = '\n';

        return p;
    }

    host[0] = &tmcf->sh->requests_2xx;
    host[1] = &tmcf->sh->requests_4xx;
    host[2] = &tmcf->sh->requests_5xx;

    p = ngx_slprintf(p, end, "%s{Level=\"Host\",Hostname=\"%V\",} ",
                     f->name, &ngx_cycle->hostname);
    p = ngx_http_torchserve_java_double(p, *host[f->index]);
    *p++ = '\n';

    return p;
}


/*
 * A model's samples of family f, one per label it has counts for:
 * model_version "default" (URLs without a version) and its version.
 */
static u_char *
ngx_http_torchserve_model_samples(u_char *p, u_char *end,
    const ngx_http_torchserve_family_t *f, ngx_http_torchserve_record_t *rec)
{
    u_char                           labels[512], *lp;
    uint64_t                         v, cum;
    ngx_uint_t                       i, b;
    const char                     **text;
    ngx_http_torchserve_counters_t  *cnt;
    ngx_http_torchserve_histogram_t *h;

    /* ts_model_workers: every registered model, counted or not */
    if (f->kind == NGX_HTTP_TORCHSERVE_MODEL_GAUGE) {
        p = ngx_slprintf(p, end, "%s{model_name=\"%s\",model_version=\"%s\","
                         "hostname=\"%V\",} ", f->name, rec->name,
                         rec->version, &ngx_cycle->hostname);
        p = ngx_http_torchserve_java_double(p, rec->min_workers);
        *p++ = '\n';
        return p;
    }

    for (i = 0; i < 2; i++) {
        cnt = &rec->counters[i];

        if (cnt->requests == 0) {
            continue;
        }

        lp = ngx_snprintf(labels, sizeof(labels) - 1,
                          "model_name=\"%s\",model_version=\"%s\","
                          "hostname=\"%V\",", rec->name,
                          i == 0 ? (u_char *) "default" : rec->version,
                          &ngx_cycle->hostname);
        *lp = '\0';

        if (f->kind == NGX_HTTP_TORCHSERVE_MODEL_COUNTER) {
            v = f->index == 0 ? cnt->requests
                : f->index == 1 ? cnt->latency_us : cnt->queue_us;

            p = ngx_slprintf(p, end, "%s{%s} ", f->name, labels);
            p = ngx_http_torchserve_java_double(p, v);
            *p++ = '\n';
            continue;
        }

        h = &cnt->hist[f->index];
        text = f->index == 3 ? ngx_http_torchserve_size_text
                             : ngx_http_torchserve_bound_text;
        cum = 0;

        for (b = 0; b <= NGX_HTTP_TORCHSERVE_BUCKETS; b++) {
            cum += h->buckets[b];
            p = ngx_slprintf(p, end, "%s_bucket{%sle=\"%s\",} ", f->name,
                             labels,
                             b < NGX_HTTP_TORCHSERVE_BUCKETS ? text[b]
                                                             : "+Inf");
            p = ngx_http_torchserve_java_double(p, cum);
            *p++ = '\n';
        }

        p = ngx_slprintf(p, end, "%s_count{%s} ", f->name, labels);
        p = ngx_http_torchserve_java_double(p, cum);

        if (f->index == 3) {
            /* sizes: their sum as a count */
            p = ngx_slprintf(p, end, "\n%s_sum{%s} ", f->name, labels);
            p = ngx_http_torchserve_java_double(p, h->sum_us);
            *p++ = '\n';
            continue;
        }

        p = ngx_slprintf(p, end, "\n%s_sum{%s} %uL.%06uL\n", f->name, labels,
                         (uint64_t) h->sum_us / 1000000,
                         (uint64_t) h->sum_us % 1000000);
    }

    return p;
}
