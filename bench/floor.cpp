// floor.cpp: the in-process libtorch floor for bench/run.sh.
//
//   floor MODEL.pt SHAPE SECONDS [THREADS [BATCH]]
//
// Loads the TorchScript once, then one thread per core (or THREADS), each
// with at::set_num_threads(1) and torch::InferenceMode, warms up and calls
// forward() on a batch of BATCH (default 1) instances of SHAPE (e.g.
// 1,28,28) in a loop for SECONDS. Prints one line, rps in instances/s
// (calls x BATCH), latencies per call. malloc is tuned as the module's
// workers tune it (torchserve_malloc_keep 64m):
//   floor threads=T batch=B calls=N seconds=S rps=R p50_ms=A p99_ms=B
#include <torch/script.h>
#include <ATen/Parallel.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using clk = std::chrono::steady_clock;

int main(int argc, char **argv)
{
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL.pt SHAPE SECONDS [THREADS [BATCH]]\n", argv[0]);
        return 2;
    }
    int64_t batch = argc > 5 ? std::atoll(argv[5]) : 1;
    if (batch < 1) batch = 1;
    std::vector<int64_t> shape{batch};
    {
        std::stringstream ss(argv[2]);
        std::string d;
        while (std::getline(ss, d, ',')) shape.push_back(std::stoll(d));
    }
    double seconds = std::atof(argv[3]);
    unsigned nthreads = argc > 4 ? (unsigned) std::atoi(argv[4])
                                 : std::thread::hardware_concurrency();
    if (nthreads == 0) nthreads = 1;

    // the malloc tuning the module applies in its workers by default
    // (torchserve_malloc_keep 64m): without it glibc page-faults every
    // batched forward()'s activations in again
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);

    at::set_num_threads(1);
    at::set_num_interop_threads(1);
    torch::jit::script::Module module = torch::jit::load(argv[1]);
    module.eval();

    std::atomic<bool> go{false}, stop{false};
    std::atomic<unsigned> ready{0};
    std::vector<std::vector<double>> lat(nthreads);
    std::vector<std::thread> threads;

    for (unsigned t = 0; t < nthreads; t++) {
        threads.emplace_back([&, t] {
            at::set_num_threads(1);
            c10::InferenceMode guard;
            torch::Tensor x = torch::rand(shape);
            std::vector<torch::jit::IValue> in{x};
            for (int i = 0; i < 20; i++) module.forward(in);   // warm-up
            ready++;
            while (!go.load()) std::this_thread::yield();
            auto &v = lat[t];
            v.reserve(1 << 20);
            while (!stop.load(std::memory_order_relaxed)) {
                auto t0 = clk::now();
                torch::jit::IValue out = module.forward(in);
                (void) out;
                v.push_back(std::chrono::duration<double, std::milli>(clk::now() - t0).count());
            }
        });
    }
    while (ready.load() < nthreads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto start = clk::now();
    go = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto &th : threads) th.join();
    double elapsed = std::chrono::duration<double>(clk::now() - start).count();

    std::vector<double> all;
    for (auto &v : lat) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
        if (all.empty()) return 0.0;
        size_t i = (size_t) (p * (all.size() - 1) + 0.5);
        return all[i];
    };
    std::printf("floor threads=%u batch=%lld calls=%zu seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f\n",
                nthreads, (long long) batch, all.size(), elapsed,
                all.size() * (double) batch / elapsed, pct(0.50), pct(0.99));
    return 0;
}
