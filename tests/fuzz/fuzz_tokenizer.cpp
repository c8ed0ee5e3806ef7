// Fuzzes the caption path: any bytes -> clean_text (ftfy, html.unescape, whitespace, lower-case)
// -> word split -> BPE, with CLIP's vendored vocabulary and with the bytes-only tokenizer.
// Checks that every id is in the vocabulary, that a second encode (served by the word cache)
// gives the same ids, that encode_caption is SOT + encode()[:max_words-2] + EOT, zero-padded,
// and that the clean-up functions return valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "cma/core/error.h"
#include "cma/data/text_clean.h"
#include "cma/data/tokenizer.h"
#include "fuzz_util.h"

namespace {

using cma::data::Tokenizer;

std::string vocab_path() {
  if (const char* p = std::getenv("CMA_BPE_VOCAB"); p && *p) return p;
  return std::string(CMA_SOURCE_DIR) + "/third_party/clip/bpe_simple_vocab_16e6.txt.gz";
}

const Tokenizer& clip() {
  static const Tokenizer t = Tokenizer::clip(vocab_path());
  return t;
}
const Tokenizer& bytes() {
  static const Tokenizer t = Tokenizer::bytes_only();
  return t;
}

// Strict UTF-8: shortest forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    size_t k = i;
    const char32_t c = cma::data::next_code_point(s, k);
    if (c == 0xFFFD && !(k == i + 3 && static_cast<unsigned char>(s[i]) == 0xEF &&
                         static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                         static_cast<unsigned char>(s[i + 2]) == 0xBD)) {
      return false;  // next_code_point replaced an invalid sequence
    }
    i = k;
  }
  return true;
}

void check(const Tokenizer& tok, const std::string& text, int max_words) {
  const std::vector<int32_t> ids = tok.encode(text);
  for (const int32_t id : ids) CMA_FUZZ_CHECK(id >= 0 && id < tok.vocab_size());
  CMA_FUZZ_CHECK(tok.encode(text) == ids);  // the word cache gives the same answer

  const Tokenizer::Caption c = tok.encode_caption(text, max_words);
  CMA_FUZZ_CHECK(c.ids.size() == static_cast<size_t>(max_words) && c.mask.size() == c.ids.size());
  const size_t kept = std::min(ids.size(), static_cast<size_t>(max_words) - 2);
  CMA_FUZZ_CHECK(c.ids[0] == tok.sot() && c.ids[kept + 1] == tok.eot());
  for (size_t i = 0; i < kept; ++i) CMA_FUZZ_CHECK(c.ids[i + 1] == ids[i]);
  for (size_t i = 0; i < c.ids.size(); ++i) {
    CMA_FUZZ_CHECK(c.mask[i] == (i < kept + 2 ? 1 : 0));
    if (i >= kept + 2) CMA_FUZZ_CHECK(c.ids[i] == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cma::fuzz::quiet_logs();
  clip();  // read the vocabulary once, outside the timed runs
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // max_words from the input's length: every caption length from 2 to 77 (CLIP's context) comes up.
  const int max_words = 2 + static_cast<int>(size % 76);
  CMA_FUZZ_CHECK(valid_utf8(cma::data::clean_text(text)));
  CMA_FUZZ_CHECK(valid_utf8(cma::data::fix_text(text)));
  CMA_FUZZ_CHECK(valid_utf8(cma::data::html_unescape(text)));
  check(clip(), text, max_words);
  check(bytes(), text, max_words);
  for (const int32_t id : bytes().encode(text)) CMA_FUZZ_CHECK(id < 514);  // bytes, bytes</w>, SOT, EOT
  return 0;
}
