// One registration function per subcommand (src/app/<name>.cpp); main.cpp only dispatches.
#pragma once

namespace CLI {
class App;
}

namespace cma::app {

void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);

// Sets LibTorch's intra-op threads (Debian's build defaults to 1); 0 means all cores.
void set_threads(int threads);

}  // namespace cma::app
