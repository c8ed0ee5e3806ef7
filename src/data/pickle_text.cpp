// The unpickler's text decoders (see pickle_text.h). Each follows the CPython codec that
// pickle.load uses for the opcode, so a protocol-0 pickle reads here as it reads in Python.
#include "pickle_text.h"

namespace cma::data::pickle_text {
namespace {

// UTF-8 for a code point the callers have already checked (at most U+10FFFF, no surrogate).
void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte a one-letter escape of a Python 2 str repr stands for; -1 when `c` is not one.
int simple_escape(char c) {
  switch (c) {
    case '\\': case '\'': case '"': return c;
    case 'a': return '\a';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    default: return -1;
  }
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s.size() > 80 ? out + "..." : out;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    const size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static const uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

Decoded raw_unicode_escape_decode(std::string_view s) {
  Decoded out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '\\') {
      append_utf8(out.text, static_cast<unsigned char>(s[i++]));
      continue;
    }
    const size_t run_start = i;
    while (i < s.size() && s[i] == '\\') ++i;
    const size_t run = i - run_start;
    const bool escape = run % 2 == 1 && i < s.size() && (s[i] == 'u' || s[i] == 'U');
    out.text.append(escape ? run - 1 : run, '\\');
    if (!escape) continue;
    const size_t digits = s[i++] == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (size_t k = 0; k < digits; ++k, ++i) {
      const int d = i < s.size() ? hex_digit(s[i]) : -1;
      if (d < 0) return {"", "truncated \\u or \\U escape in a UNICODE string"};
      cp = (cp << 4) | static_cast<uint32_t>(d);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return {"", "a UNICODE string escapes a surrogate or a code point above U+10FFFF, which UTF-8 cannot hold"};
    append_utf8(out.text, cp);
  }
  return out;
}

// Python's escape_decode is byte for byte: a Python 2 str holds bytes, so an octal or \x escape
// gives one byte, never a code point to encode.
Decoded escape_decode(std::string_view s) {
  Decoded out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.text += s[i];
      continue;
    }
    if (++i == s.size()) return {"", "a STRING ends in a lone backslash"};
    const char c = s[i];
    if (c == '\n') continue;  // a backslash before a newline joins the lines
    if (const int v = simple_escape(c); v >= 0) {
      out.text += static_cast<char>(v);
    } else if (c >= '0' && c <= '7') {  // up to three octal digits
      int v = c - '0';
      for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k) v = v * 8 + (s[++i] - '0');
      out.text += static_cast<char>(v & 0xFF);
    } else if (c == 'x') {  // exactly two hex digits
      const int hi = i + 1 < s.size() ? hex_digit(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_digit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return {"", "invalid \\x escape in a STRING"};
      out.text += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out.text += '\\';
      out.text += c;
    }
  }
  return out;
}

}  // namespace cma::data::pickle_text
