/*
 * ts_torch.cpp: the C ABI over libtorch: models, forward, values in and
 * out (ts_torch_vision.cpp has the vision handlers' tensor operations).
 *
 * Every exported function is noexcept and wraps its body in TS_TRY /
 * TS_CATCH, which turn c10::Error (without its backtrace),
 * std::exception and anything else into the caller's err string;
 * ts_model_run also tells the kinds apart (ts_status.h), as only this
 * file knows libtorch's exceptions.
 */

#include <torch/script.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>

#include "ts_torch.h"
#include "ts_torch_int.h"




static std::atomic<int>  ts_intra_op_threads{1};
static thread_local int  ts_thread_intra_op = 0;


void
ts_set_err(char *err, size_t errlen, const char *msg)
{
    if (err != nullptr && errlen > 0) {
        snprintf(err, errlen, "%s", msg);
    }
}


/*
 * Errors raised inside TorchScript carry the script's traceback; the
 * client wants the cause, the last "...Error: message" line block.
 */
std::string
ts_error_cause(const char *what)
{
    std::string  msg(what);
    size_t       pos, line;

    if (msg.find("Traceback of TorchScript") == std::string::npos) {
        return msg;
    }

    pos = std::string::npos;

    for (line = 0; line < msg.size(); line = msg.find('\n', line) + 1) {
        size_t  colon = msg.find("Error: ", line);
        size_t  end = msg.find('\n', line);

        if (colon != std::string::npos && (end == std::string::npos
                                           || colon < end)
            && msg.find(' ', line) > colon)
        {
            pos = line;
        }

        if (end == std::string::npos) {
            break;
        }
    }

    if (pos == std::string::npos) {
        return msg;
    }

    msg = msg.substr(pos);

    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) {
        msg.pop_back();
    }

    /* "RuntimeError: x" -> "x": the type is libtorch's, not the client's */
    pos = msg.find("Error: ");
    return msg.substr(pos + 7);
}


at::ScalarType
ts_scalar_type(ts_dtype_e dtype)
{
    switch (dtype) {
    case TS_FLOAT32: return at::kFloat;
    case TS_FLOAT64: return at::kDouble;
    case TS_FLOAT16: return at::kHalf;
    case TS_INT64:   return at::kLong;
    case TS_INT32:   return at::kInt;
    case TS_INT16:   return at::kShort;
    case TS_INT8:    return at::kChar;
    case TS_UINT8:   return at::kByte;
    case TS_BOOL:    return at::kBool;
    }
    return at::kFloat;
}


static bool
ts_dtype_of(at::ScalarType st, ts_dtype_e *out)
{
    switch (st) {
    case at::kFloat:  *out = TS_FLOAT32; return true;
    case at::kDouble: *out = TS_FLOAT64; return true;
    case at::kHalf:   *out = TS_FLOAT16; return true;
    case at::kLong:   *out = TS_INT64;   return true;
    case at::kInt:    *out = TS_INT32;   return true;
    case at::kShort:  *out = TS_INT16;   return true;
    case at::kChar:   *out = TS_INT8;    return true;
    case at::kByte:   *out = TS_UINT8;   return true;
    case at::kBool:   *out = TS_BOOL;    return true;
    default:          return false;
    }
}


static char *
ts_strdup_len(const std::string &s)
{
    char *p = static_cast<char *>(malloc(s.size() + 1));

    if (p == nullptr) {
        throw std::bad_alloc();
    }

    memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
    return p;
}


/* C tensor -> at::Tensor; the C data is borrowed, then copied to device */
at::Tensor
ts_to_torch_tensor(const ts_tensor_t *t, const torch::Device &device)
{
    std::vector<int64_t>  sizes(t->shape, t->shape + t->ndim);
    at::Tensor            view;

    view = torch::from_blob(t->data, sizes,
                            torch::TensorOptions()
                                .dtype(ts_scalar_type(t->dtype)));

    if (device.is_cpu()) {
        /* from_blob does not own t->data: the value outlives forward */
        return view;
    }

    return view.to(device);
}


static c10::IValue
ts_to_ivalue(const ts_value_t *v, const torch::Device &device)
{
    switch (v->type) {

    case TS_VAL_NONE:
        return c10::IValue();

    case TS_VAL_BOOL:
        return c10::IValue(static_cast<bool>(v->u.b));

    case TS_VAL_INT:
        return c10::IValue(static_cast<int64_t>(v->u.i));

    case TS_VAL_DOUBLE:
        return c10::IValue(v->u.d);

    case TS_VAL_STRING:
        return c10::IValue(std::string(v->u.str.data, v->u.str.len));

    case TS_VAL_TENSOR:
        return c10::IValue(ts_to_torch_tensor(&v->u.tensor, device));

    case TS_VAL_LIST:
    case TS_VAL_TUPLE: {
        size_t  n = v->u.list.n;
        bool    all_tensors = n > 0, all_ints = n > 0, all_doubles = n > 0;

        for (size_t i = 0; i < n; i++) {
            ts_value_type_e  t = v->u.list.items[i].type;

            all_tensors = all_tensors && t == TS_VAL_TENSOR;
            all_ints = all_ints && t == TS_VAL_INT;
            all_doubles = all_doubles && t == TS_VAL_DOUBLE;
        }

        if (v->type == TS_VAL_TUPLE) {
            std::vector<c10::IValue>  items;

            for (size_t i = 0; i < n; i++) {
                items.push_back(ts_to_ivalue(&v->u.list.items[i], device));
            }

            return c10::ivalue::Tuple::create(std::move(items));
        }

        /* TorchScript lists are typed: build the specialised kind */
        if (all_tensors) {
            c10::List<at::Tensor>  l;

            for (size_t i = 0; i < n; i++) {
                l.push_back(ts_to_torch_tensor(&v->u.list.items[i].u.tensor,
                                               device));
            }

            return c10::IValue(l);
        }

        if (all_ints) {
            c10::List<int64_t>  l;

            for (size_t i = 0; i < n; i++) {
                l.push_back(v->u.list.items[i].u.i);
            }

            return c10::IValue(l);
        }

        if (all_doubles) {
            c10::List<double>  l;

            for (size_t i = 0; i < n; i++) {
                l.push_back(v->u.list.items[i].u.d);
            }

            return c10::IValue(l);
        }

        throw std::runtime_error("lists passed to a model must hold only "
                                 "tensors, only ints or only floats");
    }

    case TS_VAL_DICT:
        throw std::runtime_error("dict arguments are not supported");
    }

    throw std::runtime_error("unknown value type");
}


void
ts_from_torch_tensor(const at::Tensor &in, ts_tensor_t *out)
{
    at::Tensor  t = in.detach();
    ts_dtype_e  dtype;
    size_t      nbytes;

    if (!ts_dtype_of(t.scalar_type(), &dtype)) {
        /* e.g. bfloat16 or complex: JSON only knows numbers */
        t = t.to(at::kFloat);
        dtype = TS_FLOAT32;
    }

    if (!t.device().is_cpu()) {
        t = t.to(torch::kCPU);
    }

    t = t.contiguous();

    if (t.dim() > TS_MAX_DIMS) {
        throw std::runtime_error("model output has more than "
                                 + std::to_string(TS_MAX_DIMS)
                                 + " dimensions");
    }

    memset(out, 0, sizeof(*out));
    out->dtype = dtype;
    out->ndim = static_cast<int>(t.dim());

    for (int i = 0; i < out->ndim; i++) {
        out->shape[i] = t.size(i);
    }

    nbytes = t.numel() * t.element_size();
    out->data = malloc(nbytes > 0 ? nbytes : 1);

    if (out->data == nullptr) {
        throw std::bad_alloc();
    }

    if (nbytes > 0) {
        memcpy(out->data, t.data_ptr(), nbytes);
    }
}


/* fills *out; on exception, what was filled so far is released by caller */
static void
ts_from_ivalue(const c10::IValue &iv, ts_value_t *out)
{
    memset(out, 0, sizeof(*out));

    if (iv.isNone()) {
        out->type = TS_VAL_NONE;

    } else if (iv.isTensor()) {
        out->type = TS_VAL_TENSOR;
        ts_from_torch_tensor(iv.toTensor(), &out->u.tensor);

    } else if (iv.isBool()) {
        out->type = TS_VAL_BOOL;
        out->u.b = iv.toBool();

    } else if (iv.isInt()) {
        out->type = TS_VAL_INT;
        out->u.i = iv.toInt();

    } else if (iv.isDouble()) {
        out->type = TS_VAL_DOUBLE;
        out->u.d = iv.toDouble();

    } else if (iv.isString()) {
        const std::string &s = iv.toStringRef();

        out->u.str.data = ts_strdup_len(s);
        out->u.str.len = s.size();
        out->type = TS_VAL_STRING;

    } else if (iv.isTuple() || iv.isList()) {
        std::vector<c10::IValue>  items;

        if (iv.isTuple()) {
            const auto &elems = iv.toTupleRef().elements();
            items.assign(elems.begin(), elems.end());
        } else {
            for (const c10::IValue &e : iv.toListRef()) {
                items.push_back(e);
            }
        }

        out->type = iv.isTuple() ? TS_VAL_TUPLE : TS_VAL_LIST;
        out->u.list.n = 0;
        out->u.list.items = static_cast<ts_value_t *>(
            calloc(items.size() + 1, sizeof(ts_value_t)));

        if (out->u.list.items == nullptr) {
            throw std::bad_alloc();
        }

        for (size_t i = 0; i < items.size(); i++) {
            out->u.list.n = i + 1;
            ts_from_ivalue(items[i], &out->u.list.items[i]);
        }

    } else if (iv.isGenericDict()) {
        auto    dict = iv.toGenericDict();
        size_t  n = dict.size(), i = 0;

        out->type = TS_VAL_DICT;
        out->u.dict.n = 0;
        out->u.dict.keys = static_cast<ts_value_t *>(
            calloc(n + 1, sizeof(ts_value_t)));
        out->u.dict.values = static_cast<ts_value_t *>(
            calloc(n + 1, sizeof(ts_value_t)));

        if (out->u.dict.keys == nullptr || out->u.dict.values == nullptr) {
            throw std::bad_alloc();
        }

        for (const auto &entry : dict) {
            out->u.dict.n = i + 1;
            ts_from_ivalue(entry.key(), &out->u.dict.keys[i]);
            ts_from_ivalue(entry.value(), &out->u.dict.values[i]);
            i++;
        }

    } else {
        throw std::runtime_error("model returned a value of type "
                                 + iv.tagKind()
                                 + " that cannot be turned into JSON");
    }
}


static ts_arg_kind_e
ts_arg_kind(const c10::TypePtr &type, int *optional)
{
    c10::TypePtr  t = type;

    *optional = 0;

    if (auto opt = t->cast<c10::OptionalType>()) {
        *optional = 1;
        t = opt->getElementType();
    }

    if (t->kind() == c10::TypeKind::TensorType) {
        return TS_ARG_TENSOR;
    }

    if (t->kind() == c10::TypeKind::IntType) {
        return TS_ARG_INT;
    }

    if (t->kind() == c10::TypeKind::FloatType) {
        return TS_ARG_FLOAT;
    }

    if (t->kind() == c10::TypeKind::BoolType) {
        return TS_ARG_BOOL;
    }

    if (t->kind() == c10::TypeKind::StringType) {
        return TS_ARG_STRING;
    }

    if (auto list = t->cast<c10::ListType>()) {
        c10::TypeKind  k = list->getElementType()->kind();

        if (k == c10::TypeKind::IntType) {
            return TS_ARG_INT_LIST;
        }

        if (k == c10::TypeKind::FloatType) {
            return TS_ARG_FLOAT_LIST;
        }

        if (k == c10::TypeKind::TensorType) {
            return TS_ARG_TENSOR_LIST;
        }
    }

    return TS_ARG_OTHER;
}


/* the method, or nothing with a message that names it */
static c10::optional<torch::jit::Method>
ts_find_method(ts_model_t *m, const char *method, char *err, size_t errlen)
{
    auto  meth = m->rep.find_method(method);

    if (!meth.has_value()) {
        ts_set_err(err, errlen,
                   (std::string("model has no method \"") + method + "\"")
                       .c_str());
    }

    return meth;
}


extern "C" {


const char *
ts_torch_version(void) noexcept
{
    return TORCH_VERSION;
}


int
ts_torch_set_intra_op_threads(int n, char *err, size_t errlen) noexcept
{
    TS_TRY

    if (n < 1) {
        ts_set_err(err, errlen, "intra-op threads must be at least 1");
        return -1;
    }

    ts_intra_op_threads.store(n);
    at::set_num_threads(n);
    ts_thread_intra_op = n;
    return 0;

    TS_CATCH(-1)
}


void
ts_torch_set_executor(int profiling, int optimize) noexcept
{
    try {
        torch::jit::getProfilingMode() = profiling != 0;
        torch::jit::getExecutorMode() = profiling != 0;
        torch::jit::setGraphExecutorOptimize(optimize != 0);
    } catch (...) {
        /* knobs only: the defaults stay */
    }
}


int
ts_torch_cuda_available(void) noexcept
{
    try {
        return torch::cuda::is_available() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}


ts_model_t *
ts_model_load(const void *buf, size_t len, const char *device, char *err,
    size_t errlen) noexcept
{
    TS_TRY

    std::string  dev = (device == nullptr || *device == '\0') ? "cpu"
                                                               : device;
    torch::Device  target(torch::kCPU);

    if (!ts_device_valid(dev.data(), dev.size())) {
        ts_set_err(err, errlen, ("unknown device \"" + dev + "\": "
                                 TS_DEVICE_RULE).c_str());
        return nullptr;
    }

    if (dev != "cpu") {
        if (!torch::cuda::is_available()) {
            ts_set_err(err, errlen,
                       ("device \"" + dev + "\" was asked for, but CUDA is "
                        "not available: this libtorch has no CUDA support "
                        "or no GPU is visible").c_str());
            return nullptr;
        }

        target = torch::Device(dev);

        if (target.has_index()
            && target.index() >= static_cast<int>(torch::cuda::device_count()))
        {
            ts_set_err(err, errlen,
                       ("device \"" + dev + "\" does not exist: "
                        + std::to_string(torch::cuda::device_count())
                        + " CUDA device(s) visible").c_str());
            return nullptr;
        }
    }

    std::string  bytes(static_cast<const char *>(buf), len);

    /* freed by its destructor if anything below throws */
    std::unique_ptr<ts_model_s>  m(new ts_model_s);

    m->device = target;
    m->device_name = target.str();

    try {
        std::istringstream  in(bytes);

        m->rep = torch::jit::load(in, target);

    } catch (const std::exception &e) {
        /* torchvision's detectors call its C++ operators (nms, roi_align);
         * an unknown operator is a torch::jit::ErrorReport */
        if (strstr(e.what(), "torchvision::") == nullptr
            || !ts_torchvision_ops_load())
        {
            throw;
        }

        std::istringstream  in(bytes);

        m->rep = torch::jit::load(in, target);
    }

    m->rep.eval();

    return m.release();

    TS_CATCH(nullptr)
}


void
ts_model_free(ts_model_t *m) noexcept
{
    try {
        delete m;
    } catch (...) {
        /* a destructor that throws leaves nothing we can do */
    }
}


const char *
ts_model_device(const ts_model_t *m) noexcept
{
    return m->device_name.c_str();
}


int
ts_model_has_method(ts_model_t *m, const char *method) noexcept
{
    try {
        return m->rep.find_method(method).has_value() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}


int
ts_model_schema(ts_model_t *m, const char *method, ts_schema_t *out,
    char *err, size_t errlen) noexcept
{
    TS_TRY

    auto  meth = ts_find_method(m, method, err, errlen);

    if (!meth.has_value()) {
        return -1;
    }

    const c10::FunctionSchema &schema = meth->function().getSchema();
    const auto                &args = schema.arguments();

    memset(out, 0, sizeof(*out));

    /* argument 0 is self */
    for (size_t i = 1; i < args.size(); i++) {
        ts_schema_arg_t  *a;

        if (out->nargs == TS_SCHEMA_MAX_ARGS) {
            ts_set_err(err, errlen, "model method has too many arguments");
            return -1;
        }

        a = &out->args[out->nargs++];
        snprintf(a->name, sizeof(a->name), "%s", args[i].name().c_str());
        snprintf(a->type_str, sizeof(a->type_str), "%s",
                 args[i].type()->annotation_str().c_str());
        a->kind = ts_arg_kind(args[i].type(), &a->optional);
        a->has_default = args[i].default_value().has_value();
    }

    if (!schema.returns().empty()) {
        snprintf(out->returns, sizeof(out->returns), "%s",
                 schema.returns()[0].type()->annotation_str().c_str());
    }

    return 0;

    TS_CATCH(-1)
}


void
ts_torch_apply_intra_op_threads(void) noexcept
{
    int  want = ts_intra_op_threads.load();

    /* OpenMP's thread count is per calling thread: apply it in each */
    if (ts_thread_intra_op == want) {
        return;
    }

    try {
        at::set_num_threads(want);
        ts_thread_intra_op = want;

    } catch (...) {
        /* keep the default; the next call tries again */
    }
}


ts_status_e
ts_model_run(ts_model_t *m, const char *method, const ts_value_t *args,
    size_t nargs, ts_value_t *out, char *err, size_t errlen) noexcept
{
    memset(out, 0, sizeof(*out));

    TS_TRY

    ts_torch_apply_intra_op_threads();

    /* thread-local guard: must be set in the thread that runs forward */
    c10::InferenceMode  guard;

    auto  meth = ts_find_method(m, method, err, errlen);

    if (!meth.has_value()) {
        return TS_STATUS_INTERNAL;
    }

    std::vector<c10::IValue>  inputs;

    inputs.reserve(nargs);

    for (size_t i = 0; i < nargs; i++) {
        inputs.push_back(ts_to_ivalue(&args[i], m->device));
    }

    c10::IValue  result = (*meth)(std::move(inputs));

    try {
        ts_from_ivalue(result, out);
    } catch (...) {
        ts_value_clear(out);
        throw;
    }

    return TS_STATUS_OK;

    } catch (const c10::OutOfMemoryError &e) {
        ts_set_err(err, errlen, ts_error_cause(e.what_without_backtrace())
                                    .c_str());
        return TS_STATUS_NO_RESOURCES;
    } catch (const std::bad_alloc &e) {
        ts_set_err(err, errlen, "out of memory");
        return TS_STATUS_NO_RESOURCES;
    } catch (const c10::Error &e) {
        std::string  cause = ts_error_cause(e.what_without_backtrace());

        ts_set_err(err, errlen, cause.c_str());

        /* libtorch 1.13's CPU allocator throws a plain c10::Error */
        if (cause.find("not enough memory") != std::string::npos) {
            return TS_STATUS_NO_RESOURCES;
        }

        /* the model loaded and warmed up: what fails now is the input */
        return TS_STATUS_BAD_INPUT;
    } catch (const std::exception &e) {
        ts_set_err(err, errlen, ts_error_cause(e.what()).c_str());
        return TS_STATUS_BAD_INPUT;
    } catch (...) {
        ts_set_err(err, errlen, "unknown C++ exception in libtorch");
        return TS_STATUS_INTERNAL;
    }
}


} /* extern "C" */
