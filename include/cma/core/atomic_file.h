// Crash-safe file writes: write to a temporary name beside the target, flush, fsync, rename.
// A crash at any point leaves either the old file or the new one, never a torn one.
#pragma once
#include <functional>
#include <string>

namespace cma {

// Opens "<path>.tmp.<pid>", lets `fill` write into it through the FILE*, then fsyncs and renames.
// Throws cma::Error naming the path when any step fails; the temporary file is removed then.
void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& fill);

// Convenience: writes a whole string.
void write_text_atomic(const std::string& path, const std::string& text);

// Reads a whole file; throws cma::Error naming it when it cannot be read.
std::string read_text(const std::string& path);

}  // namespace cma
