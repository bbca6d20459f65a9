/*
 * ts_vision.c: TorchServe's VisionHandler in C: its configuration, its
 * labels, and the preprocess that turns each request's image into its row
 * of the batch tensor.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_json.h"
#include "ts_model_config.h"
#include "ts_vision.h"
#include "ts_vision_input.h"


static int ts_vision_configure(ts_vision_t *v, const ts_yaml_node_t *h,
    char *err, size_t errlen);
static int ts_vision_configure_answer(ts_vision_t *v,
    const ts_yaml_node_t *h, char *err, size_t errlen);
static int ts_vision_size(const ts_yaml_node_t *n, const char *key,
    uint32_t *w, uint32_t *h, char *err, size_t errlen);
static int ts_vision_floats(const ts_yaml_node_t *n, const char *key,
    float *out, char *err, size_t errlen);
static int ts_vision_int(const ts_yaml_node_t *n, const char *key,
    int64_t min, int64_t max, int64_t *out, char *err, size_t errlen);
static int ts_vision_labels(ts_vision_t *v, const ts_archive_t *a,
    char *err, size_t errlen);
static ts_status_e ts_vision_instance(ts_servable_t *s, ts_request_t *req,
    ts_vision_input_t *in, ts_image_t *img, int64_t *shape, int *ndim);


void
ts_vision_imagenet(ts_vision_t *v)
{
    /* torch.tensor(mean) rounds Python's doubles to float32: so do we */
    static const float  mean[3] = { (float) 0.485, (float) 0.456,
                                    (float) 0.406 };
    static const float  std[3] = { (float) 0.229, (float) 0.224,
                                   (float) 0.225 };

    memset(v, 0, sizeof(*v));

    v->decode.channels = 3;
    v->decode.max_pixels = TS_IMAGE_MAX_PIXELS;
    v->transform.resize_short = 256;
    v->transform.crop_w = 224;
    v->transform.crop_h = 224;
    v->transform.normalize = 1;
    memcpy(v->transform.mean, mean, sizeof(mean));
    memcpy(v->transform.std, std, sizeof(std));
    v->topk = 5;
    v->post = TS_VISION_TOPK;
    v->threshold = 0.5;
}


int
ts_vision_init(ts_servable_t *s, const ts_vision_t *defaults, char *err,
    size_t errlen)
{
    ts_vision_t              *v;
    ts_model_config_t         cfg;
    const ts_archive_file_t  *f;
    const ts_archive_t       *a = s->archive;
    char                      msg[TS_ERROR_LEN];
    int                       rc;

    if (s->schema.nargs == 0
        || (s->schema.args[0].kind != TS_ARG_TENSOR
            && s->schema.args[0].kind != TS_ARG_TENSOR_LIST))
    {
        snprintf(err, errlen, "the %s handler needs a forward() that takes "
                 "a Tensor or a List[Tensor] first", s->handler->name);
        return -1;
    }

    v = malloc(sizeof(ts_vision_t));
    if (v == NULL) {
        snprintf(err, errlen, "no memory");
        return -1;
    }

    *v = *defaults;
    v->labels = NULL;
    v->list_input = (s->schema.args[0].kind == TS_ARG_TENSOR_LIST);
    s->handler_data = v;

    f = a->manifest.config_file != NULL
        ? ts_archive_find(a, a->manifest.config_file) : NULL;

    if (f != NULL && f->data != NULL) {
        /* the module reported the file's own errors when it read it */
        if (ts_model_config_parse((const char *) f->data, f->size, &cfg, msg,
                                  sizeof(msg))
            == 0)
        {
            rc = cfg.handler != NULL
                 ? ts_vision_configure(v, cfg.handler, err, errlen) : 0;
            ts_model_config_clear(&cfg);

            if (rc != 0) {
                return -1;
            }
        }
    }

    return ts_vision_labels(v, a, err, errlen);
}


void
ts_vision_free(ts_servable_t *s)
{
    ts_vision_t  *v = s->handler_data;

    if (v == NULL) {
        return;
    }

    if (v->labels != NULL) {
        json_decref(v->labels);
    }

    free(v);
    s->handler_data = NULL;
}


static int
ts_vision_configure(ts_vision_t *v, const ts_yaml_node_t *h, char *err,
    size_t errlen)
{
    const ts_yaml_node_t  *n;
    int64_t                i;
    int                    c, nmean;

    if (h->type != TS_YAML_MAP) {
        /* a custom handler's business, not ours */
        return 0;
    }

    if (ts_vision_size(h, "resize", &v->transform.resize_w,
                       &v->transform.resize_h, err, errlen) != 0)
    {
        return -1;
    }

    /* an int is the shorter side, as transforms.Resize(int) */
    n = ts_yaml_map_get(h, "resize");
    if (n != NULL && n->type == TS_YAML_INT) {
        v->transform.resize_short = v->transform.resize_w;
        v->transform.resize_w = 0;
        v->transform.resize_h = 0;

    } else if (n != NULL) {
        v->transform.resize_short = 0;
    }

    if (ts_vision_size(h, "crop", &v->transform.crop_w, &v->transform.crop_h,
                       err, errlen) != 0)
    {
        return -1;
    }

    if (ts_vision_int(h, "channels", 1, 3, &i, err, errlen) != 0) {
        return -1;
    }

    if (ts_yaml_map_get(h, "channels") != NULL) {
        if (i == 2) {
            snprintf(err, errlen, "handler: channels must be 1 or 3");
            return -1;
        }
        v->decode.channels = (int) i;
    }

    n = ts_yaml_map_get(h, "normalize");
    if (n != NULL) {
        if (n->type != TS_YAML_BOOL) {
            snprintf(err, errlen, "handler: line %u: normalize must be true "
                     "or false", n->line);
            return -1;
        }
        v->transform.normalize = n->b;
    }

    nmean = ts_vision_floats(h, "mean", v->transform.mean, err, errlen);
    if (nmean < 0) {
        return -1;
    }

    c = ts_vision_floats(h, "std", v->transform.std, err, errlen);
    if (c < 0) {
        return -1;
    }

    if ((nmean > 0 || c > 0) && v->decode.channels == 1) {
        /* one value for the single channel */
        if ((nmean > 1) || (c > 1)) {
            snprintf(err, errlen, "handler: mean and std take one value "
                     "for channels: 1");
            return -1;
        }

    } else if ((nmean > 0 && nmean != 3) || (c > 0 && c != 3)) {
        snprintf(err, errlen, "handler: mean and std take 3 values (one "
                 "per channel)");
        return -1;
    }

    for (c = 0; v->transform.normalize && c < v->decode.channels; c++) {
        if (v->transform.std[c] == 0.0f) {
            snprintf(err, errlen, "handler: std must not be 0");
            return -1;
        }
    }

    return ts_vision_configure_answer(v, h, err, errlen);
}


/* the keys of what is answered, and of the decoder's limit */
static int
ts_vision_configure_answer(ts_vision_t *v, const ts_yaml_node_t *h,
    char *err, size_t errlen)
{
    const ts_yaml_node_t  *n;
    int64_t                i;

    if (ts_vision_int(h, "topk", 1, 1000000, &i, err, errlen) != 0) {
        return -1;
    }

    if (ts_yaml_map_get(h, "topk") != NULL) {
        v->topk = (int) i;
    }

    n = ts_yaml_map_get(h, "postprocess");
    if (n != NULL) {
        if (n->type == TS_YAML_STR && strcmp(n->str, "topk") == 0) {
            v->post = TS_VISION_TOPK;
        } else if (n->type == TS_YAML_STR && strcmp(n->str, "argmax") == 0) {
            v->post = TS_VISION_ARGMAX;
        } else if (n->type == TS_YAML_STR && strcmp(n->str, "softmax") == 0)
        {
            v->post = TS_VISION_SOFTMAX;
        } else if (n->type == TS_YAML_STR && strcmp(n->str, "raw") == 0) {
            v->post = TS_VISION_RAW;
        } else {
            snprintf(err, errlen, "handler: line %u: postprocess must be "
                     "topk, argmax, softmax or raw", n->line);
            return -1;
        }
    }

    n = ts_yaml_map_get(h, "threshold");
    if (n != NULL) {
        if (n->type != TS_YAML_FLOAT && n->type != TS_YAML_INT) {
            snprintf(err, errlen, "handler: line %u: threshold must be a "
                     "number", n->line);
            return -1;
        }
        v->threshold = n->type == TS_YAML_INT ? (double) n->i : n->d;
    }

    if (ts_vision_int(h, "max_image_pixels", 0, INT64_MAX, &i, err, errlen)
        != 0)
    {
        return -1;
    }

    if (ts_yaml_map_get(h, "max_image_pixels") != NULL) {
        v->decode.max_pixels = (uint64_t) i;
    }

    /* TorchServe's config.properties key, per model here */
    n = ts_yaml_map_get(h, "limit_max_image_pixels");
    if (n != NULL) {
        if (n->type != TS_YAML_BOOL) {
            snprintf(err, errlen, "handler: line %u: limit_max_image_pixels "
                     "must be true or false", n->line);
            return -1;
        }
        v->decode.max_pixels = n->b ? TS_IMAGE_MAX_PIXELS : 0;
    }

    return 0;
}


/* "key: N" (both sides N), "key: [h, w]", or "key: none" (0 x 0) */
static int
ts_vision_size(const ts_yaml_node_t *h, const char *key, uint32_t *w,
    uint32_t *hh, char *err, size_t errlen)
{
    const ts_yaml_node_t  *n;

    n = ts_yaml_map_get(h, key);

    if (n == NULL) {
        return 0;
    }

    if (n->type == TS_YAML_NULL
        || (n->type == TS_YAML_BOOL && !n->b)
        || (n->type == TS_YAML_STR && strcmp(n->str, "none") == 0))
    {
        *w = 0;
        *hh = 0;
        return 0;
    }

    if (n->type == TS_YAML_INT && n->i >= 1 && n->i <= 65535) {
        *w = (uint32_t) n->i;
        *hh = (uint32_t) n->i;
        return 0;
    }

    if (n->type == TS_YAML_SEQ && n->n == 2
        && n->items[0]->type == TS_YAML_INT
        && n->items[1]->type == TS_YAML_INT
        && n->items[0]->i >= 1 && n->items[0]->i <= 65535
        && n->items[1]->i >= 1 && n->items[1]->i <= 65535)
    {
        /* torchvision's order: (height, width) */
        *hh = (uint32_t) n->items[0]->i;
        *w = (uint32_t) n->items[1]->i;
        return 0;
    }

    snprintf(err, errlen, "handler: line %u: %s must be a size from 1 to "
             "65535, [height, width], or none", n->line, key);
    return -1;
}


/* a list of up to 3 numbers into out: their count, 0 if absent, -1 */
static int
ts_vision_floats(const ts_yaml_node_t *h, const char *key, float *out,
    char *err, size_t errlen)
{
    size_t                 i;
    const ts_yaml_node_t  *n, *item;

    n = ts_yaml_map_get(h, key);

    if (n == NULL) {
        return 0;
    }

    if (n->type != TS_YAML_SEQ || n->n == 0 || n->n > 3) {
        goto invalid;
    }

    for (i = 0; i < n->n; i++) {
        item = n->items[i];

        if (item->type == TS_YAML_FLOAT && isfinite(item->d)) {
            /* torch.tensor(mean) of Python floats: float32 */
            out[i] = (float) item->d;

        } else if (item->type == TS_YAML_INT && item->i_bits != 0) {
            out[i] = (float) item->i;

        } else {
            goto invalid;
        }
    }

    return (int) n->n;

invalid:

    snprintf(err, errlen, "handler: line %u: %s must be a list of 1 or 3 "
             "numbers", n->line, key);
    return -1;
}


static int
ts_vision_int(const ts_yaml_node_t *h, const char *key, int64_t min,
    int64_t max, int64_t *out, char *err, size_t errlen)
{
    const ts_yaml_node_t  *n;

    n = ts_yaml_map_get(h, key);

    if (n == NULL) {
        return 0;
    }

    if (n->type != TS_YAML_INT || n->i_bits == 0 || n->i < min
        || n->i > max)
    {
        snprintf(err, errlen, "handler: line %u: %s must be an integer "
                 "from %lld to %lld", n->line, key, (long long) min,
                 (long long) max);
        return -1;
    }

    *out = n->i;
    return 0;
}


/* index_to_name.json as TorchServe's load_label_mapping reads it */
static int
ts_vision_labels(ts_vision_t *v, const ts_archive_t *a, char *err,
    size_t errlen)
{
    json_t                   *map, *names, *value, *labels;
    const char               *key;
    const ts_archive_file_t  *f;
    char                      msg[TS_ERROR_LEN], index[24];
    size_t                    i;

    f = ts_archive_find(a, "index_to_name.json");

    if (f == NULL || f->data == NULL) {
        /* TorchServe warns and answers class numbers */
        return 0;
    }

    map = ts_json_load(f->data, f->size, msg, sizeof(msg));
    if (map == NULL) {
        snprintf(err, errlen, "index_to_name.json: %s", msg);
        return -1;
    }

    if (!json_is_object(map)) {
        snprintf(err, errlen, "index_to_name.json: the index->name mapping "
                 "should be in \"class\": \"label\" format");
        json_decref(map);
        return -1;
    }

    labels = json_object();
    if (labels == NULL) {
        json_decref(map);
        goto nomem;
    }

    names = json_object_get(map, "object_type_names");

    if (json_is_array(names)) {
        json_array_foreach(names, i, value) {
            snprintf(index, sizeof(index), "%zu", i);

            if (json_object_set(labels, index, value) != 0) {
                goto failed;
            }
        }

        goto done;
    }

    json_object_foreach(map, key, value) {
        if (json_is_array(value) && json_array_size(value) > 0) {
            value = json_array_get(value, json_array_size(value) - 1);
        }

        if (!json_is_string(value)) {
            snprintf(err, errlen, "index_to_name.json: the label of \"%s\" "
                     "must be a string or a list of strings", key);
            json_decref(labels);
            json_decref(map);
            return -1;
        }

        if (json_object_set(labels, key, value) != 0) {
            goto failed;
        }
    }

done:

    json_decref(map);
    v->labels = labels;
    return 0;

failed:

    json_decref(labels);
    json_decref(map);

nomem:

    snprintf(err, errlen, "no memory for index_to_name.json");
    return -1;
}


const char *
ts_vision_label(const ts_vision_t *v, int64_t cls, char *buf, size_t len)
{
    json_t  *label;

    snprintf(buf, len, "%lld", (long long) cls);

    if (v->labels == NULL) {
        return buf;
    }

    label = json_object_get(v->labels, buf);

    /* TorchServe fails on a class its mapping lacks: its number here */
    return json_is_string(label) ? json_string_value(label) : buf;
}


int
ts_vision_answer(ts_request_t *r, const ts_value_t *v)
{
    size_t  cap;

    cap = 0;
    r->response = NULL;
    r->response_len = 0;

    if (ts_json_dump_value(v, &r->response, &r->response_len, &cap) != 0) {
        free(r->response);
        r->response = NULL;
        r->response_len = 0;
        return -1;
    }

    r->status = TS_STATUS_OK;
    return 0;
}


/*
 * Where the next instance's row goes: a new item of the batch's list
 * (List[Tensor] models), or the next row of the batch tensor, allocated
 * for every pending request by the first.  NULL when the instance has
 * another shape than the batch (it waits for a later one), or with
 * *nomem set.
 */
static float *
ts_vision_row(ts_vision_t *v, ts_batch_t *batch, size_t count,
    size_t pending, const int64_t *shape, int ndim, int *nomem)
{
    int           k;
    ts_tensor_t  *t;
    ts_value_t   *item;

    *nomem = 0;

    if (v->list_input) {
        item = &batch->args[0].u.list.items[count];
        item->type = TS_VAL_TENSOR;
        item->u.tensor.dtype = TS_FLOAT32;
        item->u.tensor.ndim = ndim;
        memcpy(item->u.tensor.shape, shape, ndim * sizeof(int64_t));

        if (ts_tensor_alloc(&item->u.tensor) != 0) {
            item->type = TS_VAL_NONE;
            *nomem = 1;
            return NULL;
        }

        batch->args[0].u.list.n = count + 1;
        return item->u.tensor.data;
    }

    t = &batch->args[0].u.tensor;

    /* (a first instance whose transform failed left the tensor's shape) */
    if (t->data == NULL) {
        t->dtype = TS_FLOAT32;
        t->ndim = ndim + 1;
        t->shape[0] = (int64_t) pending;
        memcpy(&t->shape[1], shape, ndim * sizeof(int64_t));

        if (ts_tensor_alloc(t) != 0) {
            *nomem = 1;
            return NULL;
        }

        return t->data;
    }

    if (ndim + 1 != t->ndim) {
        return NULL;
    }

    for (k = 0; k < ndim; k++) {
        if (shape[k] != t->shape[k + 1]) {
            return NULL;
        }
    }

    return (float *) t->data + count * (ts_tensor_numel(t) / t->shape[0]);
}


int
ts_vision_preprocess(ts_servable_t *s, ts_request_t *reqs, size_t n,
    ts_batch_t *batch, char *err, size_t errlen)
{
    ts_vision_t        *v = s->handler_data;
    ts_vision_input_t   in;
    ts_image_t          img;
    int64_t             shape[TS_MAX_DIMS];
    size_t              i, pending, count;
    int                 ndim, nomem;
    float              *row;
    ts_status_e         rc;
    char                msg[TS_ERROR_LEN];

    pending = 0;
    for (i = 0; i < n; i++) {
        pending += (reqs[i].status == TS_STATUS_PENDING);
    }

    batch->nargs = 1;

    if (v->list_input) {
        /* List[Tensor]: any sizes, one item per image */
        batch->args[0].type = TS_VAL_LIST;
        batch->args[0].u.list.items = calloc(pending, sizeof(ts_value_t));

        if (batch->args[0].u.list.items == NULL) {
            snprintf(err, errlen, "no memory");
            return -1;
        }

    } else {
        batch->args[0].type = TS_VAL_TENSOR;
    }

    count = 0;

    for (i = 0; i < n; i++) {
        if (reqs[i].status != TS_STATUS_PENDING) {
            continue;
        }

        rc = ts_vision_instance(s, &reqs[i], &in, &img, shape, &ndim);

        if (rc != TS_STATUS_OK) {
            reqs[i].status = rc;
            continue;
        }

        row = ts_vision_row(v, batch, count, pending, shape, ndim, &nomem);

        if (row == NULL) {
            ts_vision_input_clear(&in);
            ts_image_free(&img);

            if (nomem) {
                snprintf(err, errlen, "no memory for a batch of %zu "
                         "images", pending);
                return -1;
            }

            /* another shape waits for a batch of its own */
            continue;
        }

        if (in.kind == TS_VISION_TENSOR) {
            /* a JSON list is the tensor itself, untransformed */
            memcpy(row, in.tensor.data, ts_tensor_nbytes(&in.tensor));
            rc = TS_STATUS_OK;

        } else {
            rc = ts_image_transform(&img, &v->transform, row, msg,
                                    sizeof(msg));
        }

        ts_vision_input_clear(&in);
        ts_image_free(&img);

        if (rc != TS_STATUS_OK) {
            reqs[i].status = rc;
            snprintf(reqs[i].error, TS_ERROR_LEN, "%s", msg);

            if (v->list_input) {
                ts_value_clear(&batch->args[0].u.list.items[count]);
                batch->args[0].u.list.n = count;
            }

            continue;
        }

        batch->rows[count++] = i;
    }

    batch->nrows = count;

    if (count == 0) {
        ts_batch_clear(batch);
        return 0;
    }

    if (!v->list_input) {
        /* the rows used; the tensor's tail is never read */
        batch->args[0].u.tensor.shape[0] = (int64_t) count;
    }

    return 0;
}


/*
 * One request's input: decoded into img, with the shape of its row
 * ([C, H, W] after the transforms, or a JSON list's own shape).
 */
static ts_status_e
ts_vision_instance(ts_servable_t *s, ts_request_t *req,
    ts_vision_input_t *in, ts_image_t *img, int64_t *shape, int *ndim)
{
    ts_vision_t  *v = s->handler_data;
    uint32_t      w, h;
    ts_status_e   rc;

    memset(img, 0, sizeof(*img));

    if (ts_vision_input(req, in, req->error, TS_ERROR_LEN) != 0) {
        return TS_STATUS_BAD_INPUT;
    }

    if (in->kind == TS_VISION_TENSOR) {
        if (in->tensor.dtype != TS_FLOAT32 || in->tensor.ndim < 1
            || in->tensor.ndim >= TS_MAX_DIMS)
        {
            snprintf(req->error, TS_ERROR_LEN, "a tensor input must be a "
                     "rectangular list of numbers of at most %d "
                     "dimensions", TS_MAX_DIMS - 1);
            ts_vision_input_clear(in);
            return TS_STATUS_BAD_INPUT;
        }

        *ndim = in->tensor.ndim;
        memcpy(shape, in->tensor.shape, *ndim * sizeof(int64_t));
        return TS_STATUS_OK;
    }

    rc = ts_image_decode(in->data, in->len, &v->decode, img, req->error,
                         TS_ERROR_LEN);

    if (rc != TS_STATUS_OK) {
        ts_vision_input_clear(in);
        return rc;
    }

    ts_image_output_size(&v->transform, img->width, img->height, &w, &h);

    *ndim = 3;
    shape[0] = img->channels;
    shape[1] = h;
    shape[2] = w;
    return TS_STATUS_OK;
}
