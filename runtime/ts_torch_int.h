/*
 * ts_torch_int.h: what the shim's C++ files share, never seen from C.
 */

#ifndef TS_TORCH_INT_H
#define TS_TORCH_INT_H

#include <torch/script.h>

#include <string>

#include "ts_torch.h"


struct ts_model_s {
    torch::jit::Module  rep;
    torch::Device       device{torch::kCPU};
    std::string         device_name;
};


void ts_set_err(char *err, size_t errlen, const char *msg);

/* the cause of a libtorch error, without TorchScript's traceback */
std::string ts_error_cause(const char *what);

at::ScalarType ts_scalar_type(ts_dtype_e dtype);

/* C tensor -> at::Tensor; the C data is borrowed, then copied to device */
at::Tensor ts_to_torch_tensor(const ts_tensor_t *t,
    const torch::Device &device);

/* at::Tensor -> a malloc'd, contiguous CPU copy */
void ts_from_torch_tensor(const at::Tensor &in, ts_tensor_t *out);


/*
 * Registers torchvision's C++ operators (torchvision::nms, roi_align, ...)
 * once per process, from Debian's python3-torchvision (its _C library
 * links libtorch only, not Python).  Throws when they cannot be loaded;
 * false when they were loaded already (the caller's error stands).
 */
bool ts_torchvision_ops_load();


/* every exported function's body: no exception crosses the C ABI */
#define TS_TRY  try {

#define TS_CATCH(fail)                                                       \
    } catch (const c10::Error &e) {                                         \
        ts_set_err(err, errlen,                                              \
                   ts_error_cause(e.what_without_backtrace()).c_str());      \
        return fail;                                                         \
    } catch (const std::exception &e) {                                     \
        ts_set_err(err, errlen, ts_error_cause(e.what()).c_str());           \
        return fail;                                                         \
    } catch (...) {                                                         \
        ts_set_err(err, errlen, "unknown C++ exception in libtorch");       \
        return fail;                                                         \
    }

#endif /* TS_TORCH_INT_H */
