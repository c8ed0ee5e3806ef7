// CLIP's byte-level BPE tokenizer (openai/CLIP simple_tokenizer.py), without LibTorch.
//
// Ids: 0-255 are the bytes (in GPT-2's bytes_to_unicode order), 256-511 the same bytes ending a
// word ("</w>"), then one id per merge in rank order, then <|startoftext|> and <|endoftext|>.
// The CLIP vocabulary has 48,894 merges, so SOT = 49406, EOT = 49407, vocab_size = 49408.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cma::data {

class Tokenizer {
 public:
  // Reads CLIP's bpe_simple_vocab_16e6.txt.gz. Throws cma::Error naming the file when it cannot
  // be read or is not a CLIP merges file.
  static Tokenizer clip(const std::string& vocab_gz_path);
  // Bytes only, no merges: every word is its UTF-8 bytes (the last with "</w>"); SOT = 512,
  // EOT = 513. For tests and tiny models that need no vocabulary file.
  static Tokenizer bytes_only();

  // The BPE ids of the cleaned text alone, without SOT/EOT. Safe to call from several threads;
  // copies of a Tokenizer share the vocabulary and the word cache.
  std::vector<int32_t> encode(const std::string& utf8_text) const;

  int32_t sot() const;
  int32_t eot() const;
  int32_t vocab_size() const;

  struct Caption {
    std::vector<int64_t> ids;   // [max_words]: SOT, text ids, EOT, zeros
    std::vector<int64_t> mask;  // [max_words]: 1 on SOT, text and EOT, 0 on padding
  };
  // [SOT] + encode(text)[: max_words-2] + [EOT], zero-padded to max_words (the reference's
  // caption layout). max_words must be at least 2.
  Caption encode_caption(const std::string& text, int max_words) const;

  struct Impl;  // vocabulary, merge ranks and word cache (tokenizer.cpp)

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Where CLIP's vocabulary is. A non-empty `flag_path` (--bpe-vocab) is used as given, and is an
// error naming the flag and the path when it is not a file. Otherwise, in this order:
// $CMA_BPE_VOCAB, ~/.cache/clip/bpe_simple_vocab_16e6.txt.gz, the folder holding `weights_path`
// (when non-empty), then the copy vendored in third_party/clip/ (under $CMA_HOME when that is set,
// else in the running executable's folder or one above it, as a build tree in the checkout has).
// Throws cma::Error listing every place looked when none has it.
std::string find_bpe_vocab(const std::string& flag_path, const std::string& weights_path);

}  // namespace cma::data
