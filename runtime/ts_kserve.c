/*
 * ts_kserve.c: KServe v1 and v2 requests on the C handlers' batch path.
 *
 * Each KServe request becomes as many plain requests as it carries
 * instances (v1: its "instances"; v2: the rows of its tensors' first
 * dimension), which batch with everything else; its answer is put
 * together from theirs in order.  One failing instance fails its whole
 * request, with the instance's message and status.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ts_kserve.h"
#include "ts_kserve_int.h"
#include "ts_json.h"


typedef struct {
    size_t              first;      /* its requests in the expanded array */
    size_t              count;
    json_t             *v1;         /* v1: the parsed body */
    ts_kserve_v2_t     *v2;
} ts_kserve_job_t;


static size_t ts_kserve_v1_parse(ts_request_t *req, ts_kserve_job_t *job);
static int ts_kserve_v1_expand(ts_request_t *req, ts_kserve_job_t *job,
    ts_request_t *subs);
static void ts_kserve_v1_answer(ts_request_t *req, ts_request_t *subs,
    size_t n);
static int ts_kserve_failed(ts_request_t *req, ts_request_t *subs,
    size_t n);
static void ts_kserve_no_memory(ts_request_t *reqs, size_t n);


int
ts_kserve_any(const ts_request_t *reqs, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (reqs[i].status == TS_STATUS_PENDING
            && reqs[i].protocol != TS_PROTOCOL_TORCHSERVE)
        {
            return 1;
        }
    }

    return 0;
}


void
ts_kserve_infer(ts_servable_t *s, ts_request_t *reqs, size_t n,
    void (*infer)(ts_servable_t *s, ts_request_t *reqs, size_t n))
{
    size_t            i, j, total;
    ts_value_t       *values;
    ts_request_t     *subs, *req;
    ts_kserve_job_t  *jobs, *job;

    jobs = calloc(n, sizeof(ts_kserve_job_t));
    if (jobs == NULL) {
        ts_kserve_no_memory(reqs, n);
        return;
    }

    total = 0;

    for (i = 0; i < n; i++) {
        req = &reqs[i];
        job = &jobs[i];
        job->first = total;

        if (req->status != TS_STATUS_PENDING) {
            continue;
        }

        switch (req->protocol) {

        case TS_PROTOCOL_KSERVE_V1:
            job->count = ts_kserve_v1_parse(req, job);
            break;

        case TS_PROTOCOL_KSERVE_V2:
            job->count = ts_kserve_v2_parse(s, req, &job->v2);
            break;

        default:
            job->count = 1;
        }

        total += job->count;
    }

    subs = calloc(total + 1, sizeof(ts_request_t));
    values = calloc(total + 1, sizeof(ts_value_t));

    if (subs == NULL || values == NULL) {
        free(subs);
        free(values);
        goto done;
    }

    for (i = 0; i < n; i++) {
        req = &reqs[i];
        job = &jobs[i];

        if (job->count == 0) {
            continue;
        }

        if (req->protocol == TS_PROTOCOL_TORCHSERVE) {
            subs[job->first] = *req;
            continue;
        }

        for (j = 0; j < job->count; j++) {
            subs[job->first + j].headers = req->headers;
            subs[job->first + j].headers_len = req->headers_len;
            subs[job->first + j].url_path = req->url_path;
            subs[job->first + j].explain = req->explain;
            memcpy(subs[job->first + j].request_id, req->request_id,
                   sizeof(req->request_id));
        }

        if (req->protocol == TS_PROTOCOL_KSERVE_V1) {
            if (ts_kserve_v1_expand(req, job, &subs[job->first]) != 0) {
                req->status = TS_STATUS_NO_RESOURCES;
                snprintf(req->error, TS_ERROR_LEN, "no memory");
            }
            continue;
        }

        ts_kserve_v2_expand(job->v2, &subs[job->first],
                            &values[job->first]);
    }

    infer(s, subs, total);

    for (i = 0; i < n; i++) {
        req = &reqs[i];
        job = &jobs[i];

        if (job->count == 0) {
            continue;
        }

        if (req->protocol == TS_PROTOCOL_TORCHSERVE) {
            *req = subs[job->first];
            continue;
        }

        if (req->status == TS_STATUS_PENDING
            && !ts_kserve_failed(req, &subs[job->first], job->count))
        {
            if (req->protocol == TS_PROTOCOL_KSERVE_V1) {
                ts_kserve_v1_answer(req, &subs[job->first], job->count);

            } else {
                ts_kserve_v2_answer(s, req, job->v2, &values[job->first],
                                    job->count);
            }
        }

        for (j = 0; j < job->count; j++) {
            if (req->protocol == TS_PROTOCOL_KSERVE_V1) {
                free((void *) subs[job->first + j].body);
            }

            ts_request_clear(&subs[job->first + j]);
            ts_value_clear(&values[job->first + j]);
        }
    }

    free(subs);
    free(values);

done:

    for (i = 0; i < n; i++) {
        json_decref(jobs[i].v1);
        ts_kserve_v2_free(jobs[i].v2);
    }

    free(jobs);

    /* only when an allocation failed is a request still pending here */
    ts_kserve_no_memory(reqs, n);
}


static void
ts_kserve_no_memory(ts_request_t *reqs, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (reqs[i].status == TS_STATUS_PENDING) {
            reqs[i].status = TS_STATUS_NO_RESOURCES;
            snprintf(reqs[i].error, TS_ERROR_LEN, "no memory");
        }
    }
}


/* the first failing instance fails its request: 1 if one did */
static int
ts_kserve_failed(ts_request_t *req, ts_request_t *subs, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (subs[i].status == TS_STATUS_OK) {
            continue;
        }

        req->status = subs[i].status == TS_STATUS_PENDING
                      ? TS_STATUS_INTERNAL : subs[i].status;

        if (n == 1) {
            memcpy(req->error, subs[i].error, TS_ERROR_LEN);

        } else {
            snprintf(req->error, TS_ERROR_LEN, "instance %zu: %.*s", i,
                     TS_ERROR_LEN - 32, subs[i].error);
        }

        return 1;
    }

    return 0;
}


/* v1: the number of instances (0: answered, a bad body) */
static size_t
ts_kserve_v1_parse(ts_request_t *req, ts_kserve_job_t *job)
{
    json_t  *instances;

    job->v1 = ts_json_load(req->body, req->len, req->error, TS_ERROR_LEN);
    if (job->v1 == NULL) {
        req->status = TS_STATUS_BAD_INPUT;
        return 0;
    }

    instances = json_object_get(job->v1, "instances");

    if (!json_is_array(instances) || json_array_size(instances) == 0) {
        snprintf(req->error, TS_ERROR_LEN,
                 "a KServe v1 request is a JSON object with a non-empty "
                 "\"instances\" array");
        req->status = TS_STATUS_BAD_INPUT;
        return 0;
    }

    if (json_array_size(instances) > TS_KSERVE_MAX_INSTANCES) {
        snprintf(req->error, TS_ERROR_LEN,
                 "%zu instances: at most %d in one request",
                 json_array_size(instances), TS_KSERVE_MAX_INSTANCES);
        req->status = TS_STATUS_BAD_INPUT;
        return 0;
    }

    return json_array_size(instances);
}


/* each instance as the JSON body of a request of its own */
static int
ts_kserve_v1_expand(ts_request_t *req, ts_kserve_job_t *job,
    ts_request_t *subs)
{
    char    *text;
    size_t   i;
    json_t  *instances;

    instances = json_object_get(job->v1, "instances");

    for (i = 0; i < job->count; i++) {
        text = json_dumps(json_array_get(instances, i),
                          JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        if (text == NULL) {
            return -1;
        }

        subs[i].body = (const unsigned char *) text;
        subs[i].len = strlen(text);
        subs[i].content_type = "application/json";
    }

    return 0;
}


/*
 * {"predictions": [answer, ...]} ({"explanations"} when explaining) as
 * Python's json.dumps(indent=2) writes
 * it: each answer (that text already, at depth 0) indented by 4 more
 * spaces after each of its newlines (a JSON string holds none).
 */
static void
ts_kserve_v1_answer(ts_request_t *req, ts_request_t *subs, size_t n)
{
    char    *out, *p;
    size_t   i, k, size;

    static const char  predictions[] = "{\n  \"predictions\": [\n    ";
    static const char  explanations[] = "{\n  \"explanations\": [\n    ";
    static const char  sep[] = ",\n    ";
    static const char  tail[] = "\n  ]\n}";

    const char  *head = req->explain ? explanations : predictions;
    size_t       head_len = strlen(head);

    size = head_len + sizeof(tail);

    for (i = 0; i < n; i++) {
        size += subs[i].response_len + sizeof(sep);

        for (k = 0; k < subs[i].response_len; k++) {
            size += (subs[i].response[k] == '\n') ? 4 : 0;
        }
    }

    out = malloc(size);
    if (out == NULL) {
        req->status = TS_STATUS_NO_RESOURCES;
        snprintf(req->error, TS_ERROR_LEN, "no memory for the response");
        return;
    }

    p = out;
    memcpy(p, head, head_len);
    p += head_len;

    for (i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(p, sep, sizeof(sep) - 1);
            p += sizeof(sep) - 1;
        }

        for (k = 0; k < subs[i].response_len; k++) {
            *p++ = subs[i].response[k];

            if (subs[i].response[k] == '\n') {
                memcpy(p, "    ", 4);
                p += 4;
            }
        }
    }

    memcpy(p, tail, sizeof(tail) - 1);
    p += sizeof(tail) - 1;

    req->response = out;
    req->response_len = p - out;
    req->status = TS_STATUS_OK;
}
