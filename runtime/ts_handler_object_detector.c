/*
 * ts_handler_object_detector.c: TorchServe's object_detector in C.
 *
 * ToTensor only (images keep their sizes: torchvision's detectors take a
 * List[Tensor]), one forward; the model answers a list of {boxes, labels,
 * scores} per image, or TorchScript detectors' (losses, detections)
 * tuple.  Each image gets its detections scoring at least the threshold
 * (0.5) as [{"<label>": [x1, y1, x2, y2], "score": s}, ...].
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_vision.h"


static int ts_detector_answer(const ts_vision_t *v, const ts_value_t *det,
    ts_request_t *r, char *err, size_t errlen);


static int
ts_detector_init(ts_servable_t *s, char *err, size_t errlen)
{
    ts_vision_t  defaults;

    ts_vision_imagenet(&defaults);

    memset(&defaults.transform, 0, sizeof(defaults.transform));

    return ts_vision_init(s, &defaults, err, errlen);
}


static const ts_value_t *
ts_detector_member(const ts_value_t *dict, const char *name)
{
    size_t  i;

    for (i = 0; i < dict->u.dict.n; i++) {
        if (dict->u.dict.keys[i].type == TS_VAL_STRING
            && strcmp(dict->u.dict.keys[i].u.str.data, name) == 0)
        {
            return &dict->u.dict.values[i];
        }
    }

    return NULL;
}


static int
ts_detector_postprocess(ts_servable_t *s, const ts_value_t *output,
    ts_request_t *reqs, const ts_batch_t *batch, char *err, size_t errlen)
{
    const ts_value_t  *list;
    size_t             i;

    list = output;

    /* TorchScript detectors: (losses, detections) */
    if (list->type == TS_VAL_TUPLE && list->u.list.n == 2) {
        list = &list->u.list.items[1];
    }

    if (list->type != TS_VAL_LIST || list->u.list.n != batch->nrows) {
        snprintf(err, errlen, "the object detector needs forward() to "
                 "answer one {boxes, labels, scores} per image");
        return -1;
    }

    for (i = 0; i < batch->nrows; i++) {
        if (ts_detector_answer(s->handler_data, &list->u.list.items[i],
                               &reqs[batch->rows[i]], err, errlen)
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
ts_detector_answer(const ts_vision_t *v, const ts_value_t *det,
    ts_request_t *r, char *err, size_t errlen)
{
    const ts_value_t   *boxes, *labels, *scores;
    const ts_tensor_t  *b, *l, *sc;
    ts_value_t          answer, *found, *keys, *values;
    const char         *label;
    char                num[24];
    size_t              i, m, n;
    float               score;
    int                 rc;

    boxes = det->type == TS_VAL_DICT ? ts_detector_member(det, "boxes")
                                     : NULL;
    labels = boxes ? ts_detector_member(det, "labels") : NULL;
    scores = labels ? ts_detector_member(det, "scores") : NULL;

    if (scores == NULL || boxes->type != TS_VAL_TENSOR
        || labels->type != TS_VAL_TENSOR || scores->type != TS_VAL_TENSOR)
    {
        snprintf(err, errlen, "a detection must be a dict of boxes, labels "
                 "and scores tensors");
        return -1;
    }

    b = &boxes->u.tensor;
    l = &labels->u.tensor;
    sc = &scores->u.tensor;
    n = (size_t) ts_tensor_numel(sc);

    if (b->ndim != 2 || b->shape[1] != 4 || (size_t) b->shape[0] != n
        || (size_t) ts_tensor_numel(l) != n)
    {
        snprintf(err, errlen, "a detection's boxes must be [n, 4], with n "
                 "labels and n scores");
        return -1;
    }

    found = calloc(n ? n : 1, sizeof(ts_value_t));
    if (found == NULL) {
        goto nomem;
    }

    m = 0;

    for (i = 0; i < n; i++) {
        /* torch compares a float32 tensor with the threshold in float32 */
        score = (float) ts_tensor_get_double(sc, (int64_t) i);

        if (!(score >= (float) v->threshold)) {
            continue;
        }

        keys = calloc(2, sizeof(ts_value_t));
        values = calloc(2, sizeof(ts_value_t));

        found[m].type = TS_VAL_DICT;
        found[m].u.dict.keys = keys;
        found[m].u.dict.values = values;
        m++;

        if (keys == NULL || values == NULL) {
            goto nomem;
        }

        found[m - 1].u.dict.n = 2;

        label = ts_vision_label(v,
                    (int64_t) ts_tensor_get_double(l, (int64_t) i), num,
                    sizeof(num));

        keys[0].type = TS_VAL_STRING;
        keys[0].u.str.data = strdup(label);
        keys[0].u.str.len = strlen(label);
        keys[1].type = TS_VAL_STRING;
        keys[1].u.str.data = strdup("score");
        keys[1].u.str.len = 5;

        values[0].type = TS_VAL_TENSOR;
        values[0].u.tensor.dtype = b->dtype;
        values[0].u.tensor.ndim = 1;
        values[0].u.tensor.shape[0] = 4;
        values[1].type = TS_VAL_DOUBLE;
        values[1].u.d = score;

        if (keys[0].u.str.data == NULL || keys[1].u.str.data == NULL
            || ts_tensor_alloc(&values[0].u.tensor) != 0)
        {
            goto nomem;
        }

        memcpy(values[0].u.tensor.data,
               (const char *) b->data + i * 4 * ts_dtype_size(b->dtype),
               4 * ts_dtype_size(b->dtype));
    }

    memset(&answer, 0, sizeof(answer));
    answer.type = TS_VAL_LIST;
    answer.u.list.items = found;
    answer.u.list.n = m;

    rc = ts_vision_answer(r, &answer);

    /* found is the answer's: released with it */
    ts_value_clear(&answer);

    if (rc != 0) {
        snprintf(err, errlen, "no memory for the response");
    }

    return rc;

nomem:

    if (found != NULL) {
        memset(&answer, 0, sizeof(answer));
        answer.type = TS_VAL_LIST;
        answer.u.list.items = found;
        answer.u.list.n = m;
        ts_value_clear(&answer);
    }

    snprintf(err, errlen, "no memory for the detections");
    return -1;
}


const ts_handler_t  ts_handler_object_detector = {
    "object_detector",
    ts_detector_init,
    ts_vision_preprocess,
    ts_detector_postprocess,
    ts_vision_free
};
