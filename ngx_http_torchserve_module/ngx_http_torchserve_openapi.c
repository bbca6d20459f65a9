/*
 * ngx_http_torchserve_openapi.c: the OpenAPI 3.0 descriptions TorchServe
 * answers to "OPTIONS /" and "/api-description" on each API, and to
 * "OPTIONS /predictions/{m}[/{v}]" for one model.
 *
 * Written from our own routes (a table per API below): what a location of
 * that kind serves, with its parameters and the JSON shape of each answer.
 */

#include "ngx_http_torchserve_module.h"


/* the answers' shapes, by name (components/schemas) */
#define TS_OAS_ERROR      "Error"         /* {"code", "type", "message"} */
#define TS_OAS_STATUS     "Status"        /* {"status"} */
#define TS_OAS_ANSWER     "Prediction"    /* the handler's answer */
#define TS_OAS_V2_ERROR   "V2Error"       /* {"error"} */


typedef struct {
    const char  *path;
    const char  *method;
    const char  *summary;
    /* "name:in:type" (in: path or query; a path parameter is required) */
    const char  *params[12];
    const char  *body;              /* a request body's media type, or NULL */
    const char  *answer;            /* the 200's schema */
    const char  *error;             /* the errors' schema, or NULL */
} ngx_http_torchserve_route_t;


static const ngx_http_torchserve_route_t  ngx_http_torchserve_inference_routes[] = {
    { "/", "options", "This API's OpenAPI description", { NULL }, NULL,
      "OpenApi", NULL },
    { "/api-description", "get", "This API's OpenAPI description", { NULL },
      NULL, "OpenApi", NULL },
    { "/ping", "get", "Health: Healthy unless a model with workers is not "
      "loaded", { NULL }, NULL, TS_OAS_STATUS, TS_OAS_STATUS },
    { "/predictions/{model_name}", "post", "A prediction of the model's "
      "default version (PUT too: curl -T)", { "model_name:path:string" },
      "*/*", TS_OAS_ANSWER, TS_OAS_ERROR },
    { "/predictions/{model_name}", "options", "The model's own "
      "description", { "model_name:path:string" }, NULL, "OpenApi",
      TS_OAS_ERROR },
    { "/predictions/{model_name}/{model_version}", "post", "A prediction of "
      "that version (PUT too)", { "model_name:path:string",
      "model_version:path:string" }, "*/*", TS_OAS_ANSWER, TS_OAS_ERROR },
    { "/explanations/{model_name}", "post", "Integrated Gradients of the "
      "default version's answer for the request's target (PUT too)",
      { "model_name:path:string" }, "*/*", TS_OAS_ANSWER, TS_OAS_ERROR },
    { "/explanations/{model_name}/{model_version}", "post", "The same for "
      "that version", { "model_name:path:string",
      "model_version:path:string" }, "*/*", TS_OAS_ANSWER, TS_OAS_ERROR },
    { "/v1/models/{model_name}:explain", "post", "KServe v1: "
      "{\"instances\": [...]} -> {\"explanations\": [...]}",
      { "model_name:path:string" }, "application/json", "V1Predictions",
      TS_OAS_ERROR },
    { "/v2/models/{model_name}/explain", "post", "Open Inference Protocol: "
      "Integrated Gradients for parameters.target, as output-0",
      { "model_name:path:string" }, "application/json", "V2Infer",
      TS_OAS_V2_ERROR },
    { "/v2/models/{model_name}/versions/{model_version}/explain", "post",
      "Open Inference Protocol: explanations of that version",
      { "model_name:path:string", "model_version:path:string" },
      "application/json", "V2Infer", TS_OAS_V2_ERROR },
    { "/v1/models/{model_name}", "get", "KServe v1: is the model ready",
      { "model_name:path:string" }, NULL, "Ready", TS_OAS_ERROR },
    { "/v1/models/{model_name}:predict", "post", "KServe v1: "
      "{\"instances\": [...]} -> {\"predictions\": [...]}",
      { "model_name:path:string" }, "application/json", "V1Predictions",
      TS_OAS_ERROR },
    { "/v2", "get", "Open Inference Protocol: the server's metadata",
      { NULL }, NULL, "V2Server", TS_OAS_V2_ERROR },
    { "/v2/health/live", "get", "Open Inference Protocol: liveness",
      { NULL }, NULL, "V2Live", TS_OAS_V2_ERROR },
    { "/v2/health/ready", "get", "Open Inference Protocol: readiness",
      { NULL }, NULL, "Ready", TS_OAS_V2_ERROR },
    { "/v2/models/{model_name}", "get", "Open Inference Protocol: the "
      "model's metadata", { "model_name:path:string" }, NULL, "V2Model",
      TS_OAS_V2_ERROR },
    { "/v2/models/{model_name}/ready", "get", "Open Inference Protocol: is "
      "the model ready", { "model_name:path:string" }, NULL, "Ready",
      TS_OAS_V2_ERROR },
    { "/v2/models/{model_name}/infer", "post", "Open Inference Protocol: "
      "inference (JSON, or JSON then binary tensors)",
      { "model_name:path:string" }, "application/json", "V2Infer",
      TS_OAS_V2_ERROR },
    { "/v2/models/{model_name}/versions/{model_version}", "get", "Open "
      "Inference Protocol: that version's metadata",
      { "model_name:path:string", "model_version:path:string" }, NULL,
      "V2Model", TS_OAS_V2_ERROR },
    { "/v2/models/{model_name}/versions/{model_version}/ready", "get",
      "Open Inference Protocol: is that version ready",
      { "model_name:path:string", "model_version:path:string" }, NULL,
      "Ready", TS_OAS_V2_ERROR },
    { "/v2/models/{model_name}/versions/{model_version}/infer", "post",
      "Open Inference Protocol: inference on that version",
      { "model_name:path:string", "model_version:path:string" },
      "application/json", "V2Infer", TS_OAS_V2_ERROR },
    { NULL, NULL, NULL, { NULL }, NULL, NULL, NULL }
};


static const ngx_http_torchserve_route_t  ngx_http_torchserve_management_routes[] = {
    { "/", "options", "This API's OpenAPI description", { NULL }, NULL,
      "OpenApi", NULL },
    { "/api-description", "get", "This API's OpenAPI description", { NULL },
      NULL, "OpenApi", NULL },
    { "/models", "get", "The registered models, a page at a time",
      { "limit:query:integer", "next_page_token:query:integer" }, NULL,
      "ModelList", TS_OAS_ERROR },
    { "/models", "post", "Registers a model archive (the same arguments in "
      "a JSON body too)", { "url:query:string", "model_name:query:string",
      "handler:query:string", "runtime:query:string",
      "batch_size:query:integer", "max_batch_delay:query:integer",
      "batch_policy:query:string", "initial_workers:query:integer",
      "synchronous:query:boolean", "response_timeout:query:integer",
      "startup_timeout:query:integer" }, "application/json",
      TS_OAS_STATUS, TS_OAS_ERROR },
    { "/models/{model_name}", "get", "Describes the default version",
      { "model_name:path:string", "customized:query:boolean" }, NULL,
      "ModelDescriptions", TS_OAS_ERROR },
    { "/models/{model_name}", "put", "Scales the default version's workers",
      { "model_name:path:string", "min_worker:query:integer",
      "max_worker:query:integer", "synchronous:query:boolean",
      "timeout:query:integer" }, NULL, TS_OAS_STATUS, TS_OAS_ERROR },
    { "/models/{model_name}", "delete", "Unregisters the default version",
      { "model_name:path:string" }, NULL, TS_OAS_STATUS, TS_OAS_ERROR },
    { "/models/{model_name}/all", "get", "Describes every version",
      { "model_name:path:string" }, NULL, "ModelDescriptions",
      TS_OAS_ERROR },
    { "/models/{model_name}/{model_version}", "get", "Describes a version",
      { "model_name:path:string", "model_version:path:string",
      "customized:query:boolean" }, NULL, "ModelDescriptions",
      TS_OAS_ERROR },
    { "/models/{model_name}/{model_version}", "put", "Scales a version's "
      "workers", { "model_name:path:string", "model_version:path:string",
      "min_worker:query:integer", "max_worker:query:integer",
      "synchronous:query:boolean", "timeout:query:integer" }, NULL,
      TS_OAS_STATUS, TS_OAS_ERROR },
    { "/models/{model_name}/{model_version}", "delete", "Unregisters a "
      "version", { "model_name:path:string", "model_version:path:string" },
      NULL, TS_OAS_STATUS, TS_OAS_ERROR },
    { "/v1/models/{model_name}", "get", "KServe v1: is the model ready",
      { "model_name:path:string" }, NULL, "Ready", TS_OAS_ERROR },
    { "/models/{model_name}/{model_version}/set-default", "put", "Makes "
      "the version the default", { "model_name:path:string",
      "model_version:path:string" }, NULL, TS_OAS_STATUS, TS_OAS_ERROR },
    { NULL, NULL, NULL, { NULL }, NULL, NULL, NULL }
};


static const ngx_http_torchserve_route_t  ngx_http_torchserve_metrics_routes[] = {
    { "/", "options", "This API's OpenAPI description", { NULL }, NULL,
      "OpenApi", NULL },
    { "/api-description", "get", "This API's OpenAPI description", { NULL },
      NULL, "OpenApi", NULL },
    { "/metrics", "get", "Prometheus metrics (text format 0.0.4)",
      { "name[]:query:string" }, NULL, "Metrics", NULL },
    { NULL, NULL, NULL, { NULL }, NULL, NULL, NULL }
};


static json_t *ngx_http_torchserve_openapi(
    const ngx_http_torchserve_route_t *routes, const char *title,
    ngx_http_torchserve_model_t *m);
static json_t *ngx_http_torchserve_openapi_op(
    const ngx_http_torchserve_route_t *route);
static json_t *ngx_http_torchserve_openapi_schemas(void);
static json_t *ngx_http_torchserve_openapi_json(const char *schema,
    const char *description);


/*
 * The description of the API of this location's kind, when r asks for it
 * ("OPTIONS /", "/api-description", "OPTIONS /predictions/{m}[/{v}]");
 * NGX_DECLINED for every other request.
 */
ngx_int_t
ngx_http_torchserve_api_description(ngx_http_request_t *r, ngx_uint_t api)
{
    json_t                             *doc;
    ngx_str_t                           segs[4], none = ngx_null_string;
    ngx_uint_t                          n, name_found;
    ngx_http_torchserve_model_t        *m;
    ngx_http_torchserve_main_conf_t    *tmcf;
    const ngx_http_torchserve_route_t  *routes;
    static const char                  *titles[] = {
        "TorchServe APIs: inference (ngx_http_torchserve_module)",
        "TorchServe APIs: management (ngx_http_torchserve_module)",
        "TorchServe APIs: metrics (ngx_http_torchserve_module)"
    };

    /* the usual request, at once */
    if (r->method != NGX_HTTP_OPTIONS
        && ngx_strnstr(r->uri.data, "api-description", r->uri.len) == NULL)
    {
        return NGX_DECLINED;
    }

    n = ngx_http_torchserve_split_path(&r->uri, segs, 4);

    routes = api == NGX_HTTP_TORCHSERVE_API_INFERENCE
             ? ngx_http_torchserve_inference_routes
             : api == NGX_HTTP_TORCHSERVE_API_MANAGEMENT
               ? ngx_http_torchserve_management_routes
               : ngx_http_torchserve_metrics_routes;

    m = NULL;

    if ((n == 0 && r->method == NGX_HTTP_OPTIONS)
        || (n == 1 && segs[0].len == sizeof("api-description") - 1
            && ngx_strncmp(segs[0].data, "api-description",
                           segs[0].len) == 0))
    {
        /* the whole API */

    } else if (api == NGX_HTTP_TORCHSERVE_API_INFERENCE
               && r->method == NGX_HTTP_OPTIONS && (n == 2 || n == 3)
               && segs[0].len == sizeof("predictions") - 1
               && ngx_strncmp(segs[0].data, "predictions", segs[0].len) == 0)
    {
        tmcf = ngx_http_get_module_main_conf(r, ngx_http_torchserve_module);
        ngx_http_torchserve_models_sync((ngx_cycle_t *) ngx_cycle, tmcf);

        m = ngx_http_torchserve_model_find(tmcf, &segs[1],
                                           n == 3 ? &segs[2] : &none,
                                           &name_found);
        if (m == NULL) {
            return ngx_http_torchserve_model_not_found(r, &segs[1],
                                                       n == 3 ? &segs[2]
                                                              : &none,
                                                       name_found);
        }

    } else {
        return NGX_DECLINED;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "torchserve: the API description of \"%V\"", &r->uri);

    doc = ngx_http_torchserve_openapi(routes, titles[api], m);

    return ngx_http_torchserve_send_json(r, NGX_HTTP_OK, doc);
}


static json_t *
ngx_http_torchserve_openapi(const ngx_http_torchserve_route_t *routes,
    const char *title, ngx_http_torchserve_model_t *m)
{
    char                                path[NGX_HTTP_TORCHSERVE_NAME_LEN
                                             + NGX_HTTP_TORCHSERVE_VERSION_LEN
                                             + 32];
    json_t                             *paths, *item, *op;
    const ngx_http_torchserve_route_t  *route;

    paths = json_object();

    for (route = routes; route->path != NULL; route++) {

        if (m != NULL) {
            /* one model: its predictions only, with its name in the path */
            if (ngx_strcmp(route->method, "post") != 0
                || ngx_strncmp(route->path, "/predictions/", 13) != 0)
            {
                continue;
            }

            if (ngx_strstr(route->path, "{model_version}") != NULL) {
                ngx_sprintf((u_char *) path, "/predictions/%V/%V%Z",
                            &m->name, &m->version);
            } else {
                ngx_sprintf((u_char *) path, "/predictions/%V%Z", &m->name);
            }

            op = ngx_http_torchserve_openapi_op(route);
            json_object_del(op, "parameters");
            json_object_set_new(paths, path, json_pack("{s:o}", "post", op));
            continue;
        }

        item = json_object_get(paths, route->path);
        if (item == NULL) {
            item = json_object();
            json_object_set_new(paths, route->path, item);
        }

        json_object_set_new(item, route->method,
                            ngx_http_torchserve_openapi_op(route));
    }

    return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:o}}",
                     "openapi", "3.0.1",
                     "info", "title", title,
                     "description", m ? "One model's predictions"
                                      : "The routes this location serves",
                     "version", NGX_HTTP_TORCHSERVE_RELEASE,
                     "paths", paths,
                     "components", "schemas",
                     ngx_http_torchserve_openapi_schemas());
}


static json_t *
ngx_http_torchserve_openapi_op(const ngx_http_torchserve_route_t *route)
{
    char         name[64], type[16], in[8];
    const char  *p, *c1, *c2;
    json_t      *op, *params, *responses;
    ngx_uint_t   i;

    params = json_array();

    for (i = 0; route->params[i] != NULL; i++) {
        p = route->params[i];
        c1 = ngx_strchr(p, ':');
        c2 = ngx_strchr(c1 + 1, ':');

        ngx_cpystrn((u_char *) name, (u_char *) p,
                    ngx_min((size_t) (c1 - p) + 1, sizeof(name)));
        ngx_cpystrn((u_char *) in, (u_char *) c1 + 1,
                    ngx_min((size_t) (c2 - c1), sizeof(in)));
        ngx_cpystrn((u_char *) type, (u_char *) c2 + 1, sizeof(type));

        json_array_append_new(params,
            json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in", in,
                      "required", ngx_strcmp(in, "path") == 0,
                      "schema", "type", type));
    }

    responses = json_pack("{s:o}", "200",
                          ngx_http_torchserve_openapi_json(route->answer,
                                                           "The answer"));

    if (route->error != NULL) {
        json_object_set_new(responses, "400",
            ngx_http_torchserve_openapi_json(route->error, "Bad input"));
        json_object_set_new(responses, "404",
            ngx_http_torchserve_openapi_json(route->error,
                                             "No such model or version"));
        json_object_set_new(responses, "500",
            ngx_http_torchserve_openapi_json(route->error,
                                             "The model or handler failed"));
        json_object_set_new(responses, "503",
            ngx_http_torchserve_openapi_json(route->error,
                                             "No worker, or the queue is "
                                             "full"));
    }

    op = json_pack("{s:s, s:o, s:o}", "summary", route->summary,
                   "parameters", params, "responses", responses);

    if (route->body != NULL) {
        json_object_set_new(op, "requestBody",
            json_pack("{s:b, s:{s:{s:{}}}}", "required",
                      ngx_strcmp(route->answer, TS_OAS_ANSWER) != 0,
                      "content", route->body, "schema"));
    }

    return op;
}


/* {"description", "content": {"application/json": {"schema": $ref}}} */
static json_t *
ngx_http_torchserve_openapi_json(const char *schema, const char *description)
{
    char         ref[64];
    const char  *type;

    ngx_sprintf((u_char *) ref, "#/components/schemas/%s%Z", schema);

    type = ngx_strcmp(schema, "Metrics") == 0 ? "text/plain"
                                              : "application/json";

    return json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", description,
                     "content", type, "schema", "$ref", ref);
}


/* {"type": "object", "properties": {name: {"type": type}, ...}} */
static json_t *
ngx_http_torchserve_openapi_object(const char **props)
{
    json_t  *properties;

    properties = json_object();

    for ( /* void */ ; props[0] != NULL; props += 2) {
        json_object_set_new(properties, props[0],
                            json_pack("{s:s}", "type", props[1]));
    }

    return json_pack("{s:s, s:o}", "type", "object", "properties",
                     properties);
}


static json_t *
ngx_http_torchserve_openapi_schemas(void)
{
    json_t      *schemas, *error;
    ngx_uint_t   i;

    static const char  *error_props[] = { "code", "integer", "type", "string",
                                          "message", "string", NULL };
    static const char  *shapes[][13] = {
        { TS_OAS_STATUS, "status", "string", NULL },
        { TS_OAS_V2_ERROR, "error", "string", NULL },
        { "OpenApi", "openapi", "string", "info", "object", "paths",
          "object", NULL },
        { "ModelList", "models", "array", "nextPageToken", "string", NULL },
        { "V1Predictions", "predictions", "array", "explanations", "array",
          NULL },
        { "Ready", "name", "string", "ready", "boolean", NULL },
        { "V2Live", "live", "boolean", NULL },
        { "V2Server", "name", "string", "version", "string", "extensions",
          "array", NULL },
        { "V2Model", "name", "string", "versions", "array", "platform",
          "string", "inputs", "array", "outputs", "array", NULL },
        { "V2Infer", "model_name", "string", "model_version", "string",
          "id", "string", "outputs", "array", NULL },
        { NULL }
    };

    schemas = json_object();

    error = ngx_http_torchserve_openapi_object(error_props);
    json_object_set_new(error, "required",
                        json_pack("[s,s,s]", "code", "type", "message"));
    json_object_set_new(schemas, TS_OAS_ERROR, error);

    for (i = 0; shapes[i][0] != NULL; i++) {
        json_object_set_new(schemas, shapes[i][0],
                            ngx_http_torchserve_openapi_object(&shapes[i][1]));
    }

    json_object_set_new(schemas, TS_OAS_ANSWER,
        json_pack("{s:s}", "description", "What the model's handler "
                  "answers: JSON for the built-in handlers"));
    json_object_set_new(schemas, "ModelDescriptions",
        json_pack("{s:s, s:{s:s}}", "type", "array", "items", "type",
                  "object"));
    json_object_set_new(schemas, "Metrics",
                        json_pack("{s:s}", "type", "string"));

    return schemas;
}
