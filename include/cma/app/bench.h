// `cma bench <what>`: the benchmarks behind every performance claim (one file each).
#pragma once

namespace CLI {
class App;
}

namespace cma::app {

void add_bench_step(CLI::App& bench);
void add_bench_data(CLI::App& bench);

}  // namespace cma::app
