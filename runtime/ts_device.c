/*
 * ts_device.c: the device names a model may be placed on ("cpu", "cuda",
 * "cuda:N").  Plain C beside the libtorch shim, so that the module's
 * configuration checks (and their fuzz targets) need no libtorch.
 */

#include <string.h>

#include "ts_torch.h"


int
ts_device_valid(const char *dev, size_t len)
{
    size_t  i;

    if (len == 3 && memcmp(dev, "cpu", 3) == 0) {
        return 1;
    }

    if (len < 4 || memcmp(dev, "cuda", 4) != 0) {
        return 0;
    }

    if (len == 4) {
        return 1;
    }

    /* "cuda:N": an index of at most 4 digits */
    if (dev[4] != ':' || len == 5 || len > 9) {
        return 0;
    }

    for (i = 5; i < len; i++) {
        if (dev[i] < '0' || dev[i] > '9') {
            return 0;
        }
    }

    return 1;
}
