// CLIP's byte-level BPE (see tokenizer.h). The reference is openai/CLIP simple_tokenizer.py; this
// port keeps its results and replaces its string-keyed structures with integer symbol ids.
#include "cma/data/tokenizer.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "cma/core/error.h"
#include "cma/data/text_clean.h"
#include "unicode.h"

namespace cma::data {
namespace {

constexpr const char* kVocabName = "bpe_simple_vocab_16e6.txt.gz";
// The reference keeps merges[1 : 49152-256-2+1]: a 49,152-entry vocabulary less the 512 byte
// symbols and the two special tokens.
constexpr std::size_t kClipMerges = 49152 - 256 - 2;
constexpr std::string_view kSot = "<|startoftext|>";
constexpr std::string_view kEot = "<|endoftext|>";

// GPT-2's bytes_to_unicode: the printable Latin-1 bytes stand for themselves and come first in
// the vocabulary; the other 68 bytes follow in byte order as U+0100 onwards.
struct ByteSymbol {
  char32_t cp = 0;
  int32_t position = 0;  // index among the vocabulary's first 256 entries
};

std::array<ByteSymbol, 256> bytes_to_unicode() {
  const auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  std::array<ByteSymbol, 256> out{};
  int32_t position = 0;
  for (int b = 0; b < 256; ++b) {
    if (printable(b)) out[b] = {static_cast<char32_t>(b), position++};
  }
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    if (!printable(b)) out[b] = {next++, position++};
  }
  return out;
}

// Merge rank and result for a pair of symbol ids: open addressing over a power-of-two table.
class PairTable {
 public:
  struct Merge {
    int32_t rank = 0;
    int32_t merged = 0;  // id of the joined symbol
  };

  void reserve(std::size_t n) {
    bits_ = 4;
    while ((std::size_t{1} << bits_) < 2 * n) ++bits_;
    slots_.assign(std::size_t{1} << bits_, Slot{});
  }
  // Later assignments win, as in the reference's dict(zip(merges, ranks)).
  void assign(int32_t a, int32_t b, Merge m) {
    const uint64_t k = key(a, b);
    std::size_t i = home(k);
    while (slots_[i].key != kEmpty && slots_[i].key != k) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = {k, m};
  }
  const Merge* find(int32_t a, int32_t b) const {
    if (slots_.empty()) return nullptr;
    const uint64_t k = key(a, b);
    for (std::size_t i = home(k);; i = (i + 1) & (slots_.size() - 1)) {
      if (slots_[i].key == k) return &slots_[i].merge;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge;
  };
  static uint64_t key(int32_t a, int32_t b) {
    return (uint64_t{static_cast<uint32_t>(a)} << 32) | static_cast<uint32_t>(b);
  }
  std::size_t home(uint64_t k) const { return (k * 0x9E3779B97F4A7C15ull) >> (64 - bits_); }
  int bits_ = 0;
  std::vector<Slot> slots_;
};

// Word -> ids, shared by every thread that encodes. Sharded so loader threads rarely contend;
// a shard that outgrows its limit starts over, which bounds memory on unbounded input.
class WordCache {
 public:
  // Appends the cached ids of `word` to `out`; false when absent.
  bool lookup(std::string_view word, std::vector<int32_t>& out) {
    Shard& shard = shard_for(word);
    std::lock_guard<std::mutex> lock(shard.mu);
    const auto it = shard.map.find(std::string(word));
    if (it == shard.map.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void insert(std::string_view word, const std::vector<int32_t>& ids) {
    Shard& shard = shard_for(word);
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.map.size() >= kShardLimit) shard.map.clear();
    shard.map.emplace(std::string(word), ids);
  }

 private:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kShardLimit = std::size_t{1} << 14;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>> map;
  };
  Shard& shard_for(std::string_view word) {
    return shards_[std::hash<std::string_view>{}(word) % kShards];
  }
  std::array<Shard, kShards> shards_;
};

}  // namespace

struct Tokenizer::Impl {
  std::array<int32_t, 256> byte_id{};      // a byte inside a word
  std::array<int32_t, 256> byte_end_id{};  // a byte ending a word ("</w>")
  PairTable merges;
  int32_t sot = 0, eot = 0, vocab_size = 0;
  mutable WordCache cache;

  // The reference's bpe(): start from the word's bytes and apply the lowest-ranked adjacent merge
  // everywhere it occurs, left to right, until no adjacent pair has a rank.
  void bpe(std::string_view word, std::vector<int32_t>& symbols) const {
    symbols.clear();
    for (std::size_t i = 0; i < word.size(); ++i) {
      const auto b = static_cast<unsigned char>(word[i]);
      symbols.push_back(i + 1 == word.size() ? byte_end_id[b] : byte_id[b]);
    }
    while (symbols.size() > 1) {
      const PairTable::Merge* best = nullptr;
      int32_t first = 0, second = 0;
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        const PairTable::Merge* m = merges.find(symbols[i], symbols[i + 1]);
        if (m && (!best || m->rank < best->rank)) {
          best = m;
          first = symbols[i];
          second = symbols[i + 1];
        }
      }
      if (!best) break;
      std::size_t out = 0;
      for (std::size_t i = 0; i < symbols.size();) {
        const bool hit = i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second;
        symbols[out++] = hit ? best->merged : symbols[i];
        i += hit ? 2 : 1;
      }
      symbols.resize(out);
    }
  }

  void append_word(std::string_view word, std::vector<int32_t>& ids) const {
    if (word == kSot) return ids.push_back(sot);
    if (word == kEot) return ids.push_back(eot);
    if (cache.lookup(word, ids)) return;
    thread_local std::vector<int32_t> symbols;
    bpe(word, symbols);
    ids.insert(ids.end(), symbols.begin(), symbols.end());
    cache.insert(word, symbols);
  }
};

namespace {

// What the reference's split pattern sees in a character. U+0345 (a combining mark that case-folds
// to iota) matches none of its classes under IGNORECASE, so the scan steps over it like a space.
enum class CharClass : uint8_t { kSpace, kLetter, kNumber, kOther, kNone };

CharClass classify(char32_t c) {
  if (c < 0x80) {
    if (c == ' ' || (c >= '\t' && c <= '\r')) return CharClass::kSpace;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return CharClass::kLetter;
    if (c >= '0' && c <= '9') return CharClass::kNumber;
    return CharClass::kOther;
  }
  if (unicode::is_white_space(c)) return CharClass::kSpace;  // the `regex` module's \s
  if (c == 0x345) return CharClass::kNone;
  if (unicode::is_letter(c)) return CharClass::kLetter;
  if (unicode::is_number(c)) return CharClass::kNumber;
  return CharClass::kOther;
}

// Length in bytes of `literal` (ASCII) matched case-insensitively at text[i], or 0. Under
// IGNORECASE the `regex` module also lets U+017F (long s) match 's'.
std::size_t match_literal(std::string_view text, std::size_t i, std::string_view literal) {
  std::size_t k = i;
  for (const char want : literal) {
    if (k >= text.size()) return 0;
    char32_t c = next_code_point(text, k);
    if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
    const bool same = c == static_cast<char32_t>(want) || (want == 's' && c == 0x17F);
    if (!same) return 0;
  }
  return k - i;
}

// The reference's pattern, tried at each position in its order:
//   <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+
// Where nothing matches (whitespace) the scan moves one character on.
template <class Emit>
void split_words(std::string_view text, Emit&& emit) {
  static constexpr std::string_view kLiterals[] = {kSot,  kEot, "'s",  "'t", "'re",
                                                   "'ve", "'m", "'ll", "'d"};
  for (std::size_t i = 0; i < text.size();) {
    std::size_t len = 0;
    if (text[i] == '<' || text[i] == '\'') {
      for (const auto literal : kLiterals) {
        if ((len = match_literal(text, i, literal)) != 0) break;
      }
    }
    if (len != 0) {
      emit(text.substr(i, len));
      i += len;
      continue;
    }
    std::size_t end = i;
    const CharClass cls = classify(next_code_point(text, end));
    if (cls == CharClass::kLetter || cls == CharClass::kOther) {
      for (std::size_t k = end; k < text.size(); end = k) {
        if (classify(next_code_point(text, k)) != cls) break;
      }
    }
    if (cls != CharClass::kSpace && cls != CharClass::kNone) emit(text.substr(i, end - i));
    i = end;
  }
}

std::string read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    throw Error("cannot open CLIP's BPE vocabulary " + path + ": " + std::strerror(errno));
  }
  std::string out;
  std::vector<char> buf(1 << 16);
  int n = 0;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0)
    out.append(buf.data(), n);
  int err = Z_OK;
  const std::string why = gzerror(f, &err);
  gzclose(f);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) {
    throw Error("cannot read CLIP's BPE vocabulary " + path + ": " + why +
                " (expected a gzip file of BPE merges)");
  }
  return out;
}

std::string utf8_of(char32_t c) {
  std::string s;
  append_utf8(s, c);
  return s;
}

// The reference's vocabulary: 256 byte symbols, the same with "</w>", each merge joined, then the
// two special tokens. Ids are list positions; a string listed twice keeps its last position, as
// dict(zip(vocab, range(len(vocab)))) does.
std::shared_ptr<Tokenizer::Impl> build(
    const std::vector<std::pair<std::string, std::string>>& merges, const std::string& source) {
  const auto bytes = bytes_to_unicode();
  std::vector<std::string> vocab(512);
  for (int b = 0; b < 256; ++b) {
    vocab[bytes[b].position] = utf8_of(bytes[b].cp);
    vocab[256 + bytes[b].position] = utf8_of(bytes[b].cp) + "</w>";
  }
  for (const auto& [a, b] : merges) vocab.push_back(a + b);
  vocab.emplace_back(kSot);
  vocab.emplace_back(kEot);
  std::unordered_map<std::string_view, int32_t> encoder;
  encoder.reserve(vocab.size());
  for (std::size_t i = 0; i < vocab.size(); ++i) encoder[vocab[i]] = static_cast<int32_t>(i);

  auto impl = std::make_shared<Tokenizer::Impl>();
  for (int b = 0; b < 256; ++b) {
    impl->byte_id[b] = encoder.at(vocab[bytes[b].position]);
    impl->byte_end_id[b] = encoder.at(vocab[256 + bytes[b].position]);
  }
  impl->merges.reserve(merges.size());
  for (std::size_t r = 0; r < merges.size(); ++r) {
    const auto a = encoder.find(merges[r].first), b = encoder.find(merges[r].second);
    require(a != encoder.end() && b != encoder.end(),
            source + ": merge " + std::to_string(r + 1) + " (\"" + merges[r].first + " " +
                merges[r].second + "\") uses a symbol that no earlier entry defines");
    impl->merges.assign(a->second, b->second,
                        {static_cast<int32_t>(r), encoder.at(vocab[512 + r])});
  }
  impl->vocab_size = static_cast<int32_t>(vocab.size());
  impl->sot = impl->vocab_size - 2;
  impl->eot = impl->vocab_size - 1;
  return impl;
}

}  // namespace

Tokenizer Tokenizer::clip(const std::string& vocab_gz_path) {
  const std::string text = read_gz(vocab_gz_path);
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(kClipMerges);
  std::size_t pos = text.find('\n');  // line 1 is a "#version" header
  for (std::size_t line = 2; pos != std::string::npos && merges.size() < kClipMerges; ++line) {
    const std::size_t start = pos + 1;
    pos = text.find('\n', start);
    const std::string_view row = std::string_view(text).substr(
        start, pos == std::string::npos ? std::string::npos : pos - start);
    if (row.empty() && pos == std::string::npos) break;  // the file's final newline
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < row.size();) {
      const std::size_t k = row.find_first_of(" \t\r\v\f", i);
      const std::size_t end = k == std::string_view::npos ? row.size() : k;
      if (end > i) parts.emplace_back(row.substr(i, end - i));
      i = end + 1;
    }
    require(parts.size() == 2, vocab_gz_path + " line " + std::to_string(line) +
                                   ": expected a merge \"A B\", found \"" +
                                   std::string(row.substr(0, 80)) + "\"");
    merges.emplace_back(std::move(parts[0]), std::move(parts[1]));
  }
  require(merges.size() == kClipMerges,
          vocab_gz_path + " holds " + std::to_string(merges.size()) +
              " merges after its header; CLIP's bpe_simple_vocab_16e6.txt.gz holds at least " +
              std::to_string(kClipMerges) + ". Is this the right file, and complete?");
  return Tokenizer(build(merges, vocab_gz_path));
}

Tokenizer Tokenizer::bytes_only() { return Tokenizer(build({}, "bytes-only vocabulary")); }

std::vector<int32_t> Tokenizer::encode(const std::string& utf8_text) const {
  const std::string text = clean_text(utf8_text);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 2 + 1);
  split_words(text, [&](std::string_view word) { impl_->append_word(word, ids); });
  return ids;
}

int32_t Tokenizer::sot() const { return impl_->sot; }
int32_t Tokenizer::eot() const { return impl_->eot; }
int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

Tokenizer::Caption Tokenizer::encode_caption(const std::string& text, int max_words) const {
  require(max_words >= 2, "max_words " + std::to_string(max_words) +
                              " leaves no room for the start and end tokens; use 2 or more");
  const std::vector<int32_t> words = encode(text);
  const std::size_t kept = std::min(words.size(), static_cast<std::size_t>(max_words) - 2);
  Caption c{std::vector<int64_t>(max_words, 0), std::vector<int64_t>(max_words, 0)};
  c.ids[0] = sot();
  std::copy(words.begin(), words.begin() + kept, c.ids.begin() + 1);
  c.ids[kept + 1] = eot();
  std::fill(c.mask.begin(), c.mask.begin() + kept + 2, 1);
  return c;
}

namespace {

// The copy vendored in third_party/clip/ (see third_party/clip/README.md). The library is built
// without knowing where the checkout is, so it looks in $CMA_HOME/third_party/clip/ when
// $CMA_HOME is set (and only there, so a set $CMA_HOME is never second-guessed), and otherwise in
// third_party/clip/ of the running executable's folder and of every folder above it: a build tree
// inside the checkout (build/cma, build/tests/...) finds it that way. Returns "" when absent,
// after adding the places looked to `looked`.
std::string vendored_bpe_vocab(std::string& looked) {
  namespace fs = std::filesystem;
  const fs::path rel = fs::path("third_party") / "clip" / kVocabName;
  std::error_code ec;
  if (const char* home = std::getenv("CMA_HOME"); home && *home) {
    const std::string p = (fs::path(home) / rel).string();
    looked += "  " + p + "  (the vendored copy under $CMA_HOME)\n";
    return fs::is_regular_file(p, ec) ? p : std::string();
  }
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) {
    looked += "  " + rel.string() + "  (the vendored copy: no $CMA_HOME, no executable path)\n";
    return "";
  }
  for (fs::path dir = exe.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    const fs::path p = dir / rel;
    if (fs::is_regular_file(p, ec)) return p.string();
    if (dir == dir.root_path()) break;
  }
  looked += "  " + rel.string() + " in " + exe.parent_path().string() +
            " or a folder above it  (the vendored copy; $CMA_HOME not set)\n";
  return "";
}

}  // namespace

std::string find_bpe_vocab(const std::string& flag_path, const std::string& weights_path) {
  namespace fs = std::filesystem;
  std::string looked;
  const auto found = [&](const std::string& path, const std::string& what) {
    looked += "  " + path + "  (" + what + ")\n";
    std::error_code ec;
    return fs::is_regular_file(path, ec);
  };
  if (!flag_path.empty()) {
    // A path the user typed is never replaced by another file behind their back.
    std::error_code ec;
    require(fs::is_regular_file(flag_path, ec),
            "--bpe-vocab " + flag_path + " (data.bpe_vocab) does not exist or is not a file: " +
                "give the path of " + kVocabName +
                ", or leave the option out to use the vendored copy");
    return flag_path;
  }
  const char* env = std::getenv("CMA_BPE_VOCAB");
  if (env && *env) {
    if (found(env, "$CMA_BPE_VOCAB")) return env;
  } else {
    looked += "  $CMA_BPE_VOCAB  (not set)\n";
  }
  const char* home = std::getenv("HOME");
  if (home && *home) {
    const std::string p = (fs::path(home) / ".cache" / "clip" / kVocabName).string();
    if (found(p, "CLIP's download cache")) return p;
  } else {
    looked += "  ~/.cache/clip/" + std::string(kVocabName) + "  ($HOME not set)\n";
  }
  if (!weights_path.empty()) {
    fs::path dir = fs::path(weights_path).parent_path();
    if (dir.empty()) dir = ".";
    const std::string p = (dir / kVocabName).string();
    if (found(p, "beside the weights")) return p;
  }
  if (std::string p = vendored_bpe_vocab(looked); !p.empty()) return p;
  throw Error(std::string("CLIP's BPE vocabulary ") + kVocabName + " was not found. Looked in:\n" +
              looked + "The checkout ships it as third_party/clip/" + kVocabName +
              ": set $CMA_HOME to the checkout, pass --bpe-vocab, or set $CMA_BPE_VOCAB. It also "
              "ships with OpenAI's CLIP repository as clip/" + kVocabName + ".");
}

}  // namespace cma::data
