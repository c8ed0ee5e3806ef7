// cma: parse, dispatch, and turn every cma::Error into one clear line and a non-zero exit.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cma/app/commands.h"
#include "cma/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"cma: Cross-Modal Adapter training for CLIP video-text retrieval"};
  app.require_subcommand(1);
  cma::app::add_info_command(app);
  cma::app::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const cma::Error& e) {
    std::cerr << "cma: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "cma: internal error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
