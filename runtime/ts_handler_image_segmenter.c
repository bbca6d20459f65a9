/*
 * ts_handler_image_segmenter.c: TorchServe's image_segmenter in C.
 *
 * ImageNet's transforms, one forward; the model answers {"out": [N, K, H,
 * W]} (torchvision's segmentation models) or that tensor alone, and each
 * image gets, per pixel, [its most probable class as a float, that
 * probability]: an [H][W][2] list, as TorchServe answers.
 */

#include <stdio.h>
#include <string.h>

#include "ts_vision.h"


static int
ts_segmenter_init(ts_servable_t *s, char *err, size_t errlen)
{
    ts_vision_t  defaults;

    ts_vision_imagenet(&defaults);

    return ts_vision_init(s, &defaults, err, errlen);
}


/* the "out" member of a dict output, or the output itself */
static const ts_tensor_t *
ts_segmenter_scores(const ts_value_t *output)
{
    size_t  i;

    if (output->type == TS_VAL_TENSOR) {
        return &output->u.tensor;
    }

    if (output->type != TS_VAL_DICT) {
        return NULL;
    }

    for (i = 0; i < output->u.dict.n; i++) {
        if (output->u.dict.keys[i].type == TS_VAL_STRING
            && strcmp(output->u.dict.keys[i].u.str.data, "out") == 0
            && output->u.dict.values[i].type == TS_VAL_TENSOR)
        {
            return &output->u.dict.values[i].u.tensor;
        }
    }

    return NULL;
}


static int
ts_segmenter_postprocess(ts_servable_t *s, const ts_value_t *output,
    ts_request_t *reqs, const ts_batch_t *batch, char *err, size_t errlen)
{
    const ts_tensor_t  *scores;
    ts_tensor_t         best;
    ts_value_t          row;
    size_t              i, nbytes;

    scores = ts_segmenter_scores(output);

    if (scores == NULL || scores->ndim != 4
        || scores->shape[0] != (int64_t) batch->nrows)
    {
        snprintf(err, errlen, "the image segmenter needs forward() to "
                 "answer {\"out\": [batch, classes, height, width]}");
        return -1;
    }

    if (ts_torch_segment(scores, &best, err, errlen) != 0) {
        return -1;
    }

    nbytes = ts_tensor_nbytes(&best) / batch->nrows;

    for (i = 0; i < batch->nrows; i++) {
        memset(&row, 0, sizeof(row));
        row.type = TS_VAL_TENSOR;
        row.u.tensor.dtype = best.dtype;
        row.u.tensor.ndim = 3;
        memcpy(row.u.tensor.shape, &best.shape[1], 3 * sizeof(int64_t));
        /* borrowed: written, never released */
        row.u.tensor.data = (char *) best.data + i * nbytes;

        if (ts_vision_answer(&reqs[batch->rows[i]], &row) != 0) {
            ts_tensor_clear(&best);
            snprintf(err, errlen, "no memory for the response");
            return -1;
        }
    }

    ts_tensor_clear(&best);
    return 0;
}


const ts_handler_t  ts_handler_image_segmenter = {
    "image_segmenter",
    ts_segmenter_init,
    ts_vision_preprocess,
    ts_segmenter_postprocess,
    ts_vision_free
};
