// The text clean-up CLIP's tokenizer runs before it splits a caption into words. The reference
// (openai/CLIP simple_tokenizer.py) does: ftfy.fix_text, html.unescape twice, strip, collapse
// whitespace runs to one space, strip, str.lower(). Everything here works on Unicode code points
// and uses utf8proc (src/data/unicode.h) for character properties, normalisation and case mapping.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace cma::data {

// ftfy.fix_text with its default settings, except mojibake repair (fix_encoding), which this port
// does not attempt: HTML entities (skipped from the first line that holds a literal '<' on, as
// ftfy's "auto" does), C1 controls read as Windows-1252, Latin ligatures split, full/half-width
// forms made standard, curly quotes straightened, line breaks made '\n', terminal escapes and
// invisible control characters removed, then NFC; repeated until nothing changes.
std::string fix_text(std::string_view utf8);

// Python's html.unescape: numeric references (&#NN; &#xNN;, ';' optional) with HTML5's
// replacements for invalid ones, and named references, including the HTML5 prefix rule for the
// legacy names that may omit ';' ("&ampx" -> "&x"). Named references cover the HTML 4 set
// (252 names) plus &apos; — every name a caption realistically holds, not all 2,231 of HTML5.
std::string html_unescape(std::string_view utf8);

// The whole clean-up, in the reference's order. Invalid UTF-8 bytes read as U+FFFD.
std::string clean_text(std::string_view utf8);

// Decodes the code point starting at byte `i` of `s` and moves `i` past it. An invalid or
// truncated sequence yields U+FFFD and advances one byte.
inline char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = 0;
  char32_t c = 0, min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, c = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, c = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, c = b0 & 0x07, min = 0x10000;
  }
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    c = (c << 6) | (b & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    ++i;
    return 0xFFFD;
  }
  i += len;
  return c;
}

// Appends the UTF-8 encoding of `c` to `out`.
void append_utf8(std::string& out, char32_t c);

}  // namespace cma::data
