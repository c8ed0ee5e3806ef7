#include "cma/data/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stdlib.h>  // setenv, unsetenv
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "cma/core/error.h"
#include "cma/data/text_clean.h"
#include "test_paths.h"

namespace {

namespace fs = std::filesystem;
using cma::data::Tokenizer;

// The vocabulary vendored with the project (third_party/clip/), the tokenizer's default.
std::string vendored_vocab() {
  return std::string(CMA_SOURCE_DIR) + "/third_party/clip/bpe_simple_vocab_16e6.txt.gz";
}
std::string vocab_path() { return vendored_vocab(); }

const Tokenizer& clip() {
  static const Tokenizer tokenizer = Tokenizer::clip(vocab_path());
  return tokenizer;
}

#define REQUIRE_VOCAB()                                                              \
  ASSERT_TRUE(fs::exists(vocab_path()))                                              \
      << "CLIP's vocabulary not found at " << vocab_path()                           \
      << " (the copy vendored in third_party/clip/; see third_party/clip/README.md)"

struct Case {
  std::string text;
  std::vector<int64_t> bpe, ids, mask;
  int line = 0;
};

std::vector<Case> read_cases(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw cma::Error("cannot open tokenizer cases " + path);
  std::vector<Case> cases;
  std::string row;
  for (int line = 1; std::getline(in, row); ++line) {
    if (row.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(row);
    cases.push_back({j.at("text"), j.at("bpe"), j.at("ids"), j.at("mask"), line});
  }
  return cases;
}

// Index of the first difference between `got` and `want` (a length difference counts at the end
// of the shorter one), or nothing when they are equal.
template <class A, class B>
std::optional<std::size_t> first_difference(const std::vector<A>& got, const std::vector<B>& want) {
  const std::size_t n = std::min(got.size(), want.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (static_cast<int64_t>(got[i]) != static_cast<int64_t>(want[i])) return i;
  }
  if (got.size() != want.size()) return n;
  return std::nullopt;
}

template <class A, class B>
std::string describe(const std::vector<A>& got, const std::vector<B>& want, std::size_t i) {
  const auto at = [i](const auto& v) {
    return i < v.size() ? std::to_string(v[i])
                        : std::string("(end, length ") + std::to_string(v.size()) + ")";
  };
  return "index " + std::to_string(i) + ": got " + at(got) + ", want " + at(want);
}

// Checks every case; each failure names the file, line, text and first differing index.
int check_cases(const Tokenizer& tok, const std::vector<Case>& cases, const std::string& file) {
  int passed = 0;
  for (const Case& c : cases) {
    const std::string where =
        file + ":" + std::to_string(c.line) + " text " + nlohmann::json(c.text).dump();
    bool ok = true;
    const std::vector<int32_t> bpe = tok.encode(c.text);
    if (const auto i = first_difference(bpe, c.bpe)) {
      ADD_FAILURE() << where << ": encode() differs at " << describe(bpe, c.bpe, *i);
      ok = false;
    }
    const Tokenizer::Caption cap = tok.encode_caption(c.text, static_cast<int>(c.ids.size()));
    if (const auto i = first_difference(cap.ids, c.ids)) {
      ADD_FAILURE() << where << ": caption ids differ at " << describe(cap.ids, c.ids, *i);
      ok = false;
    }
    if (const auto i = first_difference(cap.mask, c.mask)) {
      ADD_FAILURE() << where << ": caption mask differs at " << describe(cap.mask, c.mask, *i);
      ok = false;
    }
    passed += ok ? 1 : 0;
  }
  return passed;
}

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("cma_tok_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(TokenizerClip, MatchesReferenceCases) {
  REQUIRE_VOCAB();
  const std::string file = cma::testing::fixture("clip/tokenizer_cases.jsonl");
  ASSERT_FALSE(file.empty()) << "clip/tokenizer_cases.jsonl not found in tests/data or "
                             << cma::testing::shared_dir();
  const std::vector<Case> cases = read_cases(file);
  ASSERT_FALSE(cases.empty()) << file << " holds no cases";
  const int passed = check_cases(clip(), cases, file);
  std::cout << "[tokenizer] " << passed << "/" << cases.size() << " cases of " << file
            << " match\n";
}

TEST(TokenizerClip, MatchesExtraCasesFromEnv) {
  const std::vector<std::string> files = cma::testing::env_paths("CMA_TOKENIZER_CASES");
  if (files.empty()) {
    GTEST_SKIP() << "$CMA_TOKENIZER_CASES is not set: point it at colon-separated JSON-lines "
                    "files of {text, bpe, ids, mask} to check more captions";
  }
  REQUIRE_VOCAB();
  for (const std::string& file : files) {
    const std::vector<Case> cases = read_cases(file);
    const int passed = check_cases(clip(), cases, file);
    std::cout << "[tokenizer] " << passed << "/" << cases.size() << " cases of " << file
              << " match\n";
  }
}

TEST(TokenizerClip, SpecialIdsAndVocabSize) {
  REQUIRE_VOCAB();
  EXPECT_EQ(clip().sot(), 49406);
  EXPECT_EQ(clip().eot(), 49407);
  EXPECT_EQ(clip().vocab_size(), 49408);
  // Special tokens written in the text are matched whole, as the reference's pattern does.
  EXPECT_EQ(clip().encode("a <|endoftext|> b <|startoftext|>c"),
            (std::vector<int32_t>{320, 49407, 321, 49406, 322}));
  EXPECT_EQ(clip().encode("x<|endoftext|>"), (std::vector<int32_t>{343, 49407}));
  EXPECT_TRUE(clip().encode("").empty());
  EXPECT_TRUE(clip().encode(" \t\n ").empty());
}

TEST(TokenizerClip, CaptionTruncatesAtMaxWords) {
  REQUIRE_VOCAB();
  const std::string text = "one two three four five six seven eight nine ten";
  const std::vector<int32_t> words = clip().encode(text);
  ASSERT_EQ(words.size(), 10u);
  const Tokenizer::Caption c = clip().encode_caption(text, 6);
  EXPECT_EQ(c.ids, (std::vector<int64_t>{49406, words[0], words[1], words[2], words[3], 49407}));
  EXPECT_EQ(c.mask, (std::vector<int64_t>(6, 1)));
  const Tokenizer::Caption shortest = clip().encode_caption(text, 2);
  EXPECT_EQ(shortest.ids, (std::vector<int64_t>{49406, 49407}));
  const Tokenizer::Caption padded = clip().encode_caption("one two", 5);
  EXPECT_EQ(padded.ids, (std::vector<int64_t>{49406, words[0], words[1], 49407, 0}));
  EXPECT_EQ(padded.mask, (std::vector<int64_t>{1, 1, 1, 1, 0}));
  EXPECT_THROW(clip().encode_caption(text, 1), cma::Error);
}

TEST(TokenizerClip, SameResultsFromManyThreads) {
  REQUIRE_VOCAB();
  const std::string file = cma::testing::fixture("clip/tokenizer_cases.jsonl");
  ASSERT_FALSE(file.empty());
  const std::vector<Case> cases = read_cases(file);
  const Tokenizer fresh = Tokenizer::clip(vocab_path());  // an empty cache, filled concurrently
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (const Case& c : cases) {
          if (first_difference(fresh.encode(c.text), c.bpe)) ++mismatches[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, (std::vector<int>(4, 0)));
}

TEST(TokenizerClip, UnreadableVocabularyFailsNamingTheFile) {
  const std::string missing = "/nonexistent/cma/bpe_simple_vocab_16e6.txt.gz";
  try {
    Tokenizer::clip(missing);
    FAIL() << "expected an error";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  const std::string truncated = (fresh_dir("short") / "short.txt.gz").string();
  gzFile f = gzopen(truncated.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  const std::string body = "#version: 0.2\ni n\nt h\n";
  gzwrite(f, body.data(), static_cast<unsigned>(body.size()));
  gzclose(f);
  try {
    Tokenizer::clip(truncated);
    FAIL() << "expected an error";
  } catch (const cma::Error& e) {
    EXPECT_NE(std::string(e.what()).find(truncated), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("48894"), std::string::npos) << e.what();
  }
}

TEST(TokenizerVocab, FindErrorListsEveryPlaceLooked) {
  const fs::path home = fresh_dir("home");
  const fs::path weights_dir = fresh_dir("weights");
  const fs::path cma_home = fresh_dir("cma_home");  // no third_party/clip/ inside
  ScopedEnv env("CMA_BPE_VOCAB", "/nonexistent/env/vocab.txt.gz");
  ScopedEnv home_env("HOME", home.c_str());
  ScopedEnv cma_home_env("CMA_HOME", cma_home.c_str());
  try {
    cma::data::find_bpe_vocab("", (weights_dir / "ViT-B-32.safetensors").string());
    FAIL() << "expected an error";
  } catch (const cma::Error& e) {
    const std::string msg = e.what();
    for (const std::string& place :
         {std::string("/nonexistent/env/vocab.txt.gz"),
          (home / ".cache/clip/bpe_simple_vocab_16e6.txt.gz").string(),
          (weights_dir / "bpe_simple_vocab_16e6.txt.gz").string(),
          (cma_home / "third_party/clip/bpe_simple_vocab_16e6.txt.gz").string(),
          std::string("clip/bpe_simple_vocab_16e6.txt.gz")}) {
      EXPECT_NE(msg.find(place), std::string::npos) << "message does not mention " << place << ":\n"
                                                    << msg;
    }
  }
}

TEST(TokenizerVocab, FindFollowsLookupOrder) {
  const fs::path home = fresh_dir("order_home");
  const fs::path weights_dir = fresh_dir("order_weights");
  const fs::path flag = fresh_dir("order_flag") / "given.txt.gz";
  const fs::path from_env = fresh_dir("order_env") / "env.txt.gz";
  const fs::path cached = home / ".cache/clip/bpe_simple_vocab_16e6.txt.gz";
  const fs::path beside = weights_dir / "bpe_simple_vocab_16e6.txt.gz";
  fs::create_directories(cached.parent_path());
  for (const fs::path& p : {flag, from_env, cached, beside}) std::ofstream(p) << "x";
  const std::string weights = (weights_dir / "model.safetensors").string();
  ScopedEnv home_env("HOME", home.c_str());
  {
    ScopedEnv env("CMA_BPE_VOCAB", from_env.c_str());
    EXPECT_EQ(cma::data::find_bpe_vocab(flag.string(), weights), flag.string());
    EXPECT_EQ(cma::data::find_bpe_vocab("", weights), from_env.string());
  }
  ScopedEnv no_env("CMA_BPE_VOCAB", nullptr);
  EXPECT_EQ(cma::data::find_bpe_vocab("", weights), cached.string());
  fs::remove(cached);
  EXPECT_EQ(cma::data::find_bpe_vocab("", weights), beside.string());
  // Last comes the vendored copy, here under $CMA_HOME.
  fs::remove(beside);
  const fs::path cma_home = fresh_dir("order_cma_home");
  const fs::path vendored = cma_home / "third_party/clip/bpe_simple_vocab_16e6.txt.gz";
  fs::create_directories(vendored.parent_path());
  std::ofstream(vendored) << "x";
  ScopedEnv cma_home_env("CMA_HOME", cma_home.c_str());
  EXPECT_EQ(cma::data::find_bpe_vocab("", weights), vendored.string());
}

TEST(TokenizerVocab, MissingFlagPathIsAnErrorNamingFlagAndPath) {
  // Even with a usable vocabulary elsewhere, a path the user gave is never swapped for another.
  ScopedEnv env("CMA_BPE_VOCAB", vendored_vocab().c_str());
  const std::string missing = "/nonexistent/flag/bpe_simple_vocab_16e6.txt.gz";
  try {
    cma::data::find_bpe_vocab(missing, "");
    FAIL() << "expected an error for --bpe-vocab " << missing;
  } catch (const cma::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--bpe-vocab"), std::string::npos) << msg;
    EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  }
  // A folder is not a vocabulary file either.
  const fs::path dir = fresh_dir("flag_is_dir");
  EXPECT_THROW(cma::data::find_bpe_vocab(dir.string(), ""), cma::Error);
}

TEST(TokenizerVocab, WithoutFlagOrOtherCopyUsesTheVendoredFile) {
  ASSERT_TRUE(fs::is_regular_file(vendored_vocab())) << vendored_vocab() << " is missing";
  const fs::path home = fresh_dir("vendored_home");  // no ~/.cache/clip/ in it
  const std::string weights = (fresh_dir("vendored_weights") / "model.safetensors").string();
  ScopedEnv home_env("HOME", home.c_str());
  ScopedEnv no_env("CMA_BPE_VOCAB", nullptr);
  {
    ScopedEnv cma_home_env("CMA_HOME", CMA_SOURCE_DIR);
    const std::string got = cma::data::find_bpe_vocab("", weights);
    EXPECT_TRUE(fs::equivalent(got, vendored_vocab())) << got;
    const Tokenizer tok = Tokenizer::clip(got);
    EXPECT_EQ(tok.vocab_size(), 49408);
  }
  // Without $CMA_HOME it is found by walking up from this test binary, when the build tree lies
  // inside the checkout (as build/ does).
  ScopedEnv no_cma_home("CMA_HOME", nullptr);
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  const fs::path source = fs::canonical(CMA_SOURCE_DIR);
  const std::string rel = fs::relative(fs::canonical(exe), source).string();
  if (rel.empty() || rel.rfind("..", 0) == 0) {
    GTEST_SKIP() << "this test binary (" << exe << ") is outside the checkout " << source
                 << ", so only the $CMA_HOME lookup was checked";
  }
  const std::string got = cma::data::find_bpe_vocab("", weights);
  EXPECT_TRUE(fs::equivalent(got, vendored_vocab())) << got;
}

TEST(TokenizerBytesOnly, EncodesNonAsciiAsBytes) {
  const Tokenizer tok = Tokenizer::bytes_only();
  EXPECT_EQ(tok.sot(), 512);
  EXPECT_EQ(tok.eot(), 513);
  EXPECT_EQ(tok.vocab_size(), 514);
  // bytes_to_unicode order: '!'..'~' are 0-93, 0xA1..0xAC 94-105, 0xAE..0xFF 106-187, the rest
  // follow in byte order. "Café" cleans to "café": c a f 0xC3 0xA9, the last byte ending the word.
  const int32_t c = 'c' - '!', a = 'a' - '!', f = 'f' - '!';
  const int32_t c3 = 94 + 12 + (0xC3 - 0xAE), a9_end = 256 + 94 + (0xA9 - 0xA1);
  EXPECT_EQ(tok.encode("Café"), (std::vector<int32_t>{c, a, f, c3, a9_end}));
  // Special tokens written in the text keep their ids.
  EXPECT_EQ(tok.encode("<|endoftext|> ?"), (std::vector<int32_t>{513, 256 + '?' - '!'}));
  const Tokenizer::Caption cap = tok.encode_caption("Привет", 6);
  EXPECT_EQ(cap.ids.front(), 512);
  EXPECT_EQ(cap.ids.back(), 513);
  EXPECT_EQ(cap.mask, (std::vector<int64_t>(6, 1)));
}

// Expected strings below come from ftfy 6.3.1 and Python 3's html module.
TEST(TokenizerClean, HtmlUnescapeMatchesPython) {
  using cma::data::html_unescape;
  EXPECT_EQ(
      html_unescape("&amp;amp; &lt;b&gt; &#39;x&#x27; &eacute &ampx &#0; &#128; &#x110000; &#1;|"),
      "&amp; <b> 'x' \u00e9 &x \ufffd \u20ac \ufffd |");
  EXPECT_EQ(html_unescape("&notit; &Alpha; &alpha &lang; &#65 &#xZZ; &apos &apos;"),
            "\u00acit; \u0391 &alpha \u27e8 A &#xZZ; &apos '");
}

TEST(TokenizerClean, FixTextMatchesFtfy) {
  using cma::data::fix_text;
  EXPECT_EQ(fix_text("\u201ccurly\u201d \u2018quotes\u2019 \ufb01ne \uff37\uff49\uff44\uff45 "
                     "e\u0301 \x1b[31mred\x1b[0m a\x0b"
                     "b \u0093c1\u0094\r\nx"),
            "\"curly\" 'quotes' fine Wide \u00e9 red ab \"c1\"\nx");
  EXPECT_EQ(fix_text("&EACUTE; &amp;amp; &#59; &NOT; &LTRI; &SZLIG; &MICRO; &#x41; &#65a;"),
            "\u00c9 & &#59; \u00ac &LTRI; SS \u039c A &#65a;");
  // A literal '<' means HTML: entities are left alone from that line on.
  EXPECT_EQ(fix_text("a &amp; b\n<i>&amp;</i>\n&amp;"), "a & b\n<i>&amp;</i>\n&amp;");
}

TEST(TokenizerClean, CleanTextCollapsesSpaceAndLowercases) {
  using cma::data::clean_text;
  EXPECT_EQ(clean_text("  Tab\tand\u3000ideographic\u00a0space  \u039f\u0394\u039f\u03a3 "
                       "\u0130stanbul "),
            "tab and ideographic space \u03bf\u03b4\u03bf\u03c2 i\u0307stanbul");
  EXPECT_EQ(clean_text("STRASSE \u1e9e \u00df"), "strasse \u00df \u00df");
  // Final sigma: only after a cased letter (U+00AA is one: Other_Lowercase) and before none,
  // looking past case-ignorables such as U+0301 and the apostrophe.
  EXPECT_EQ(clean_text("\u03a3 \u03a3\u0391\u03a3 \u0391\u03a3\u0391 \u00aa\u03a3 \u0391\u03a3\u0301' \u0391\u03a3'\u0391"),
            "\u03c3 \u03c3\u03b1\u03c2 \u03b1\u03c3\u03b1 \u00aa\u03c2 \u03b1\u03c2\u0301' \u03b1\u03c3'\u03b1");
  EXPECT_EQ(clean_text("\xff bad \xc3"), "\ufffd bad \ufffd");
}

}  // namespace
