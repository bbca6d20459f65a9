/*
 * ts_handler_image_classifier.c: TorchServe's image_classifier in C.
 *
 * ImageNet's transforms (ts_vision.c), one forward on the stacked batch,
 * then per image what the model-config's postprocess asks for: TorchServe's
 * softmax and top 5 as {label: probability} (default), the argmax (the
 * MNIST tutorial's handler), every probability, or the raw output row.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_vision.h"


static int ts_classifier_topk(const ts_vision_t *v, const ts_tensor_t *out,
    ts_request_t *reqs, const ts_batch_t *batch, char *err, size_t errlen);
static int ts_classifier_rows(const ts_tensor_t *t, ts_request_t *reqs,
    const ts_batch_t *batch, char *err, size_t errlen);


static int
ts_classifier_init(ts_servable_t *s, char *err, size_t errlen)
{
    ts_vision_t  defaults;

    ts_vision_imagenet(&defaults);

    return ts_vision_init(s, &defaults, err, errlen);
}


static int
ts_classifier_postprocess(ts_servable_t *s, const ts_value_t *output,
    ts_request_t *reqs, const ts_batch_t *batch, char *err, size_t errlen)
{
    ts_vision_t  *v = s->handler_data;
    ts_tensor_t   t;
    int           rc;

    if (output->type != TS_VAL_TENSOR || output->u.tensor.ndim < 2
        || output->u.tensor.shape[0] != (int64_t) batch->nrows)
    {
        snprintf(err, errlen, "the image classifier needs a [batch, "
                 "classes] tensor from forward()");
        return -1;
    }

    switch (v->post) {

    case TS_VISION_TOPK:
        return ts_classifier_topk(v, &output->u.tensor, reqs, batch, err,
                                  errlen);

    case TS_VISION_ARGMAX:
        rc = ts_torch_argmax(&output->u.tensor, &t, err, errlen);
        break;

    case TS_VISION_SOFTMAX:
        rc = ts_torch_softmax(&output->u.tensor, &t, err, errlen);
        break;

    default:
        return ts_classifier_rows(&output->u.tensor, reqs, batch, err,
                                  errlen);
    }

    if (rc != 0) {
        return -1;
    }

    rc = ts_classifier_rows(&t, reqs, batch, err, errlen);
    ts_tensor_clear(&t);

    return rc;
}


/* {label: probability} for the top k, as map_class_to_label builds it */
static int
ts_classifier_topk(const ts_vision_t *v, const ts_tensor_t *out,
    ts_request_t *reqs, const ts_batch_t *batch, char *err, size_t errlen)
{
    ts_tensor_t   probs, classes;
    ts_value_t    dict;
    ts_value_t   *keys, *values;
    const float  *p;
    const char   *label;
    char          num[24];
    size_t        i, j, m, d;
    int64_t       k, *c;
    int           rc;

    /* TorchServe's topk fails past the number of classes: all of them */
    k = v->topk < out->shape[1] ? v->topk : out->shape[1];

    if (ts_torch_softmax_topk(out, (int) k, &probs, &classes, err, errlen)
        != 0)
    {
        return -1;
    }

    rc = -1;
    keys = calloc((size_t) k, sizeof(ts_value_t));
    values = calloc((size_t) k, sizeof(ts_value_t));

    if (keys == NULL || values == NULL) {
        goto nomem;
    }

    for (i = 0; i < batch->nrows; i++) {
        p = (const float *) probs.data + i * k;
        c = (int64_t *) classes.data + i * k;
        m = 0;

        for (j = 0; j < (size_t) k; j++) {
            label = ts_vision_label(v, c[j], num, sizeof(num));

            /* a dict comprehension: a repeated label keeps its first
             * place and takes the later value */
            for (d = 0; d < m; d++) {
                if (strcmp(keys[d].u.str.data, label) == 0) {
                    break;
                }
            }

            if (d == m) {
                keys[m].type = TS_VAL_STRING;
                keys[m].u.str.len = strlen(label);
                keys[m].u.str.data = strdup(label);

                if (keys[m].u.str.data == NULL) {
                    goto nomem;
                }

                m++;
            }

            values[d].type = TS_VAL_DOUBLE;
            values[d].u.d = p[j];
        }

        memset(&dict, 0, sizeof(dict));
        dict.type = TS_VAL_DICT;
        dict.u.dict.keys = keys;
        dict.u.dict.values = values;
        dict.u.dict.n = m;

        rc = ts_vision_answer(&reqs[batch->rows[i]], &dict);

        for (d = 0; d < m; d++) {
            free(keys[d].u.str.data);
            keys[d].u.str.data = NULL;
        }

        if (rc != 0) {
            goto nomem;
        }
    }

    rc = 0;
    goto done;

nomem:

    snprintf(err, errlen, "no memory for the response");
    rc = -1;

    if (keys != NULL) {
        for (j = 0; j < (size_t) k; j++) {
            free(keys[j].u.str.data);
        }
    }

done:

    free(keys);
    free(values);
    ts_tensor_clear(&probs);
    ts_tensor_clear(&classes);

    return rc;
}


/* each request its row of t: a number, or a list as tolist() gives */
static int
ts_classifier_rows(const ts_tensor_t *t, ts_request_t *reqs,
    const ts_batch_t *batch, char *err, size_t errlen)
{
    ts_value_t  row;
    size_t      i, nbytes;

    nbytes = batch->nrows > 0 ? ts_tensor_nbytes(t) / batch->nrows : 0;

    for (i = 0; i < batch->nrows; i++) {
        memset(&row, 0, sizeof(row));

        if (t->ndim == 1) {
            /* argmax: one integer per image */
            row.type = t->dtype == TS_INT64 ? TS_VAL_INT : TS_VAL_DOUBLE;

            if (row.type == TS_VAL_INT) {
                row.u.i = ((const int64_t *) t->data)[i];
            } else {
                row.u.d = ts_tensor_get_double(t, (int64_t) i);
            }

        } else {
            row.type = TS_VAL_TENSOR;
            row.u.tensor.dtype = t->dtype;
            row.u.tensor.ndim = t->ndim - 1;
            memcpy(row.u.tensor.shape, &t->shape[1],
                   (t->ndim - 1) * sizeof(int64_t));
            /* borrowed: the row is written, never released */
            row.u.tensor.data = (char *) t->data + i * nbytes;
        }

        if (ts_vision_answer(&reqs[batch->rows[i]], &row) != 0) {
            snprintf(err, errlen, "no memory for the response");
            return -1;
        }
    }

    return 0;
}


const ts_handler_t  ts_handler_image_classifier = {
    "image_classifier",
    ts_classifier_init,
    ts_vision_preprocess,
    ts_classifier_postprocess,
    ts_vision_free
};
