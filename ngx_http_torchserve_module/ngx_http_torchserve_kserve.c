/*
 * ngx_http_torchserve_kserve.c: the KServe routes on the inference API.
 *
 *   POST /v1/models/{m}:predict         {"instances": [...]}
 *   POST /v1/models/{m}:explain         {"explanations": [...]}
 *   GET  /v1/models/{m}                 {"name", "ready"}
 *   GET  /v2                            the server's metadata
 *   GET  /v2/health/live, /v2/health/ready
 *   GET  /v2/models/{m}[/versions/{v}]  the model's metadata
 *   GET  /v2/models/{m}[/versions/{v}]/ready
 *   POST /v2/models/{m}[/versions/{v}]/infer
 *   POST /v2/models/{m}[/versions/{v}]/explain  attributions as output-0
 *
 * Predictions go through the same queue and batches as /predictions,
 * marked with their protocol: the runtime decodes them and writes their
 * answers (runtime/ts_kserve.c).  Errors on /v2 are the protocol's
 * {"error": "..."} (ngx_http_torchserve_send_error asks is_v2).
 */

#include "ngx_http_torchserve_module.h"
#include "ts_kserve.h"


#define ngx_http_torchserve_seg_is(seg, s)                                    \
    ((seg)->len == sizeof(s) - 1                                             \
     && ngx_strncmp((seg)->data, s, sizeof(s) - 1) == 0)


static ngx_int_t ngx_http_torchserve_kserve_v1(ngx_http_request_t *r,
    ngx_str_t *segs, ngx_uint_t n);
static ngx_int_t ngx_http_torchserve_kserve_v2(ngx_http_request_t *r,
    ngx_str_t *segs, ngx_uint_t n);
static ngx_int_t ngx_http_torchserve_kserve_model(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *version, ngx_str_t *action);
static ngx_int_t ngx_http_torchserve_v2_metadata(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m);
static ngx_int_t ngx_http_torchserve_kserve_method(ngx_http_request_t *r,
    ngx_uint_t methods);


ngx_int_t
ngx_http_torchserve_kserve(ngx_http_request_t *r, ngx_str_t *segs,
    ngx_uint_t n)
{
    if (segs[0].data[1] == '1') {
        return ngx_http_torchserve_kserve_v1(r, segs, n);
    }

    return ngx_http_torchserve_kserve_v2(r, segs, n);
}


/* 1 for the requests whose errors are v2's {"error": ...} */
ngx_uint_t
ngx_http_torchserve_is_v2(ngx_http_request_t *r)
{
    ngx_http_torchserve_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r, ngx_http_torchserve_module);

    return tlcf->inference == 1 && r->uri.len >= 3
           && ngx_strncmp(r->uri.data, "/v2", 3) == 0
           && (r->uri.len == 3 || r->uri.data[3] == '/');
}


/* Inference-Header-Content-Length: the JSON part of a binary body */
ngx_int_t
ngx_http_torchserve_v2_header_length(ngx_http_request_t *r, size_t *len)
{
    ngx_int_t         n;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  name = ngx_string("Inference-Header-Content-Length");

    *len = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len != name.len
                || ngx_strncasecmp(h[i].key.data, name.data, name.len) != 0)
            {
                continue;
            }

            n = ngx_atoi(h[i].value.data, h[i].value.len);
            if (n == NGX_ERROR) {
                return NGX_ERROR;
            }

            *len = (size_t) n;

            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "torchserve: v2 binary body, %uz bytes of JSON",
                           *len);
            return NGX_OK;
        }
    }

    return NGX_OK;
}


/* GET /v1/models/{m}: {"name", "ready"} (also on the management API) */
ngx_int_t
ngx_http_torchserve_kserve_v1_status(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_str_t  none = ngx_null_string;

    return ngx_http_torchserve_kserve_model(r, name, &none, &none);
}


/* /v1/models/{m}:predict and GET /v1/models/{m} */
static ngx_int_t
ngx_http_torchserve_kserve_v1(ngx_http_request_t *r, ngx_str_t *segs,
    ngx_uint_t n)
{
    u_char     *colon;
    ngx_str_t   name, verb, none = ngx_null_string;

    if (n != 3 || !ngx_http_torchserve_seg_is(&segs[1], "models")) {
        return ngx_http_torchserve_send_no_api(r);
    }

    name = segs[2];
    ngx_str_null(&verb);

    colon = ngx_strlchr(name.data, name.data + name.len, ':');
    if (colon != NULL) {
        verb.data = colon + 1;
        verb.len = name.data + name.len - verb.data;
        name.len = colon - name.data;
    }

    if (verb.len == 0 && colon == NULL) {
        return ngx_http_torchserve_kserve_model(r, &name, &none, &verb);
    }

    if (ngx_http_torchserve_seg_is(&verb, "predict")) {
        return ngx_http_torchserve_predictions(r, &name, &none,
                                               TS_PROTOCOL_KSERVE_V1, 0);
    }

    if (ngx_http_torchserve_seg_is(&verb, "explain")) {
        return ngx_http_torchserve_predictions(r, &name, &none,
                                               TS_PROTOCOL_KSERVE_V1, 1);
    }

    return ngx_http_torchserve_send_no_api(r);
}


static ngx_int_t
ngx_http_torchserve_kserve_v2(ngx_http_request_t *r, ngx_str_t *segs,
    ngx_uint_t n)
{
    ngx_int_t                         rc;
    ngx_str_t                        *action, none = ngx_null_string;
    ngx_http_torchserve_main_conf_t  *tmcf;

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    if (n == 1) {
        rc = ngx_http_torchserve_kserve_method(r, NGX_HTTP_GET|NGX_HTTP_HEAD);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_torchserve_send_json(r, NGX_HTTP_OK,
                   json_pack("{s:s, s:s, s:[s]}", "name", "torchserve",
                             "version", NGX_HTTP_TORCHSERVE_RELEASE,
                             "extensions", "binary_tensor_data"));
    }

    if (n == 3 && ngx_http_torchserve_seg_is(&segs[1], "health")) {
        rc = ngx_http_torchserve_kserve_method(r, NGX_HTTP_GET|NGX_HTTP_HEAD);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_http_torchserve_seg_is(&segs[2], "live")) {
            return ngx_http_torchserve_send_json(r, NGX_HTTP_OK,
                       json_pack("{s:b}", "live", 1));
        }

        if (ngx_http_torchserve_seg_is(&segs[2], "ready")) {
            if (ngx_http_torchserve_healthy(tmcf, 1)) {
                return ngx_http_torchserve_send_json(r, NGX_HTTP_OK,
                           json_pack("{s:b}", "ready", 1));
            }

            return ngx_http_torchserve_send_json(r,
                       NGX_HTTP_SERVICE_UNAVAILABLE,
                       json_pack("{s:b}", "ready", 0));
        }

        return ngx_http_torchserve_send_no_api(r);
    }

    if (n < 3 || !ngx_http_torchserve_seg_is(&segs[1], "models")) {
        return ngx_http_torchserve_send_no_api(r);
    }

    /* models/{m}[/versions/{v}][/ready|/infer] */
    if (n >= 5 && ngx_http_torchserve_seg_is(&segs[3], "versions")) {
        if (n > 6) {
            return ngx_http_torchserve_send_no_api(r);
        }

        action = (n == 6) ? &segs[5] : &none;
        return ngx_http_torchserve_kserve_model(r, &segs[2], &segs[4], action);
    }

    if (n > 4) {
        return ngx_http_torchserve_send_no_api(r);
    }

    action = (n == 4) ? &segs[3] : &none;

    return ngx_http_torchserve_kserve_model(r, &segs[2], &none, action);
}


/* a model's routes: metadata, ready, infer (v2); status (v1) */
static ngx_int_t
ngx_http_torchserve_kserve_model(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *version, ngx_str_t *action)
{
    ngx_int_t                         rc;
    ngx_uint_t                        name_found, ready, v2;
    ngx_http_torchserve_model_t      *m;
    ngx_http_torchserve_main_conf_t  *tmcf;

    v2 = ngx_http_torchserve_is_v2(r);

    if (ngx_http_torchserve_seg_is(action, "infer")) {
        return ngx_http_torchserve_predictions(r, name, version,
                                               TS_PROTOCOL_KSERVE_V2, 0);
    }

    if (ngx_http_torchserve_seg_is(action, "explain")) {
        return ngx_http_torchserve_predictions(r, name, version,
                                               TS_PROTOCOL_KSERVE_V2, 1);
    }

    if (action->len && !ngx_http_torchserve_seg_is(action, "ready")) {
        return ngx_http_torchserve_send_no_api(r);
    }

    rc = ngx_http_torchserve_kserve_method(r, NGX_HTTP_GET|NGX_HTTP_HEAD);
    if (rc != NGX_OK) {
        return rc;
    }

    tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);

    ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

    m = ngx_http_torchserve_model_find(tmcf, name, version, &name_found);

    if (m == NULL) {
        return ngx_http_torchserve_model_not_found(r, name, version,
                                                   name_found);
    }

    ready = (m->status == NGX_HTTP_TORCHSERVE_READY && m->workers > 0);

    if (v2 && action->len == 0) {
        return ngx_http_torchserve_v2_metadata(r, tmcf, m);
    }

    /* v1's answer, and v2's ready: 200 either way, as KServe's servers */
    return ngx_http_torchserve_send_json(r, NGX_HTTP_OK,
               json_pack("{s:s%, s:b}", "name", m->name.data, m->name.len,
                         "ready", (int) ready));
}


static ngx_int_t
ngx_http_torchserve_v2_metadata(ngx_http_request_t *r,
    ngx_http_torchserve_main_conf_t *tmcf, ngx_http_torchserve_model_t *m)
{
    json_t                       *versions, *meta, *sig;
    ngx_queue_t                  *q;
    ngx_http_torchserve_name_t   *n;
    ngx_http_torchserve_model_t  *v;

    versions = json_array();
    if (versions == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_http_torchserve_name_find(&tmcf->local_names, &m->name);

    for (q = ngx_queue_head(&n->versions);
         q != ngx_queue_sentinel(&n->versions);
         q = ngx_queue_next(q))
    {
        v = ngx_queue_data(q, ngx_http_torchserve_model_t, sibling);
        json_array_append_new(versions,
                              json_stringn((char *) v->version.data,
                                           v->version.len));
    }

    /* the signature is the loaded servable's: empty while not loaded */
    sig = (m->status == NGX_HTTP_TORCHSERVE_READY && m->servable != NULL)
          ? ts_kserve_v2_signature(m->servable) : NULL;

    meta = json_pack("{s:s%, s:o, s:s, s:o, s:o}",
                     "name", m->name.data, m->name.len,
                     "versions", versions,
                     "platform",
                     (m->servable && m->servable->kind == TS_SERVABLE_PYTHON)
                     ? "python" : "pytorch_torchscript",
                     "inputs", sig ? json_incref(json_object_get(sig,
                                                                 "inputs"))
                                   : json_array(),
                     "outputs", sig ? json_incref(json_object_get(sig,
                                                                  "outputs"))
                                    : json_array());
    json_decref(sig);

    return ngx_http_torchserve_send_json(r, NGX_HTTP_OK, meta);
}


static ngx_int_t
ngx_http_torchserve_kserve_method(ngx_http_request_t *r, ngx_uint_t methods)
{
    if (r->method & methods) {
        return NGX_OK;
    }

    return ngx_http_torchserve_send_bad_method(r);
}
