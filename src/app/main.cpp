// cma: parse, dispatch, and turn every cma::Error into one clear line and a non-zero exit.
#include <CLI/CLI.hpp>
#include <malloc.h>

#include <iostream>

#include "cma/app/commands.h"
#include "cma/core/error.h"

int main(int argc, char** argv) {
  // A training step allocates and frees many activation tensors of 1-30 MB. By default glibc
  // serves those with mmap, and trims freed heap memory back to the kernel, so every step
  // page-faults its activations in again. Keep them on the heap and never trim (-1 is "no limit").
  // `cma bench step` (ViT-B/32, 4 x 12 frames) measured 6.5-7.0 s per step with glibc's defaults, 5.4 s so.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, -1);

  CLI::App app{"cma: Cross-Modal Adapter training for CLIP video-text retrieval"};
  app.require_subcommand(1);
  cma::app::add_demo_command(app);
  cma::app::add_info_command(app);
  cma::app::add_bench_command(app);
  cma::app::add_train_command(app);
  cma::app::add_eval_command(app);
  cma::app::add_prepare_command(app);
  cma::app::add_synthetic_command(app);
  cma::app::add_convert_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // CLI11's "--x: At Most 1 required but received 2" is a flag given twice, or a negative
    // number read as a flag of its own.
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
      std::cerr << "(a flag was given more than once, or a value starting with '-' was read as a flag: "
                   "write it as --flag=-1)\n";
    }
    // An unknown flag: list the valid ones of the subcommand it was given to.
    if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
      for (const auto* sub : app.get_subcommands()) std::cerr << "\n" << sub->help();
    }
    return rc == 0 ? 0 : 2;  // --help is not an error; every usage error exits 2, as cma::Error does
  } catch (const cma::Error& e) {
    std::cerr << "cma: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cma: internal error: " << e.what() << "\n";
    return 3;
  }
  return cma::app::exit_code();
}
