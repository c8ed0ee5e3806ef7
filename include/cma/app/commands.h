// One registration function per subcommand (src/app/<name>.cpp); main.cpp only dispatches.
#pragma once
#include <string>

namespace CLI {
class App;
}

namespace cma::app {

void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
// `cma bench <what>`: the benchmarks behind every performance claim (one file each).
void add_bench_step(CLI::App& bench);
void add_bench_data(CLI::App& bench);
void add_bench_train(CLI::App& bench);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_prepare_command(CLI::App& app);
void add_synthetic_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_demo_command(CLI::App& app);

// The process exit code a command asks for (0 unless set; 130/143 after a signal stop).
int& exit_code();

// Selects the CPU's matrix library (`cpu_gemm`: auto | onednn | openblas, model/cpu_gemm.h) and
// sets the compute threads to match (Debian's LibTorch defaults to 1); 0 means all cores. Returns
// the thread count.
int set_threads(int threads, const std::string& cpu_gemm);

}  // namespace cma::app
