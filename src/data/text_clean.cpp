// CLIP's caption clean-up (see text_clean.h). Works on UTF-32 strings so that every rule reads
// as a rule about characters; plain-ASCII captions without '&' take a one-pass fast path.
#include "cma/data/text_clean.h"


#include <algorithm>
#include <cstdint>

#include "cma/core/error.h"
#include "html_entities.h"
#include "unicode.h"

namespace cma::data {
namespace {

using html::U32;
using html::append_numeric_ref;
using html::find_entity;
using html::is_alnum;
using html::is_digit;
using html::is_legacy;
using html::parse_number;
using html::unescape_u32;
using html::Entity;

U32 normalize(const U32& s, bool compat) {
  // Nothing below U+0300 composes, decomposes or reorders under NFC.
  if (!compat && std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x300; })) return s;
  return unicode::normalize(s, compat);
}

// ftfy's reading of one "&name;" or "&#...;" (its HTML_ENTITY_RE matched it). Returns false to
// leave the text as it is.
bool ftfy_entity(const U32& body, bool numeric, U32& out) {
  if (numeric) {
    // ftfy keeps a numeric reference unless html.unescape consumes all of it, ';' included.
    const bool hex = body[0] == 'x' || body[0] == 'X';
    const std::size_t from = hex ? 1 : 0;
    if (from == body.size()) return false;
    uint32_t num = 0;
    if (parse_number(body, from, hex, num) != body.size()) return false;
    U32 value;
    append_numeric_ref(value, num);
    if (value.find(U';') != U32::npos) return false;
    out += value;
    return true;
  }
  const std::string name(body.begin(), body.end());  // ASCII by construction
  if (const Entity* e = find_entity(name)) {
    out.push_back(e->cp);
    return true;
  }
  // ftfy also reads an all-caps spelling of a lower-case name (&EACUTE; as "É"), unless
  // html.unescape would read the caps spelling itself through a legacy prefix.
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  const bool has_lower =
      std::any_of(name.begin(), name.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (lower == name || has_lower) return false;
  const Entity* e = find_entity(lower);
  if (!e) return false;
  for (std::size_t x = 2; x <= name.size(); ++x) {
    const Entity* p = find_entity(std::string_view(name).substr(0, x));
    if (p && is_legacy(*p)) return false;
  }
  out += unicode::to_upper(e->cp);
  return true;
}

// ftfy.fixes.unescape_html: entities matching &#?[0-9A-Za-z]{1,24};
U32 ftfy_unescape(const U32& s) {
  if (s.find(U'&') == U32::npos) return s;
  U32 out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    const bool numeric = i + 1 < s.size() && s[i + 1] == '#';
    const std::size_t start = i + 1 + (numeric ? 1 : 0);
    std::size_t k = start;
    while (k < s.size() && k - start <= 24 && is_alnum(s[k])) ++k;
    const std::size_t len = k - start;
    if (len >= 1 && len <= 24 && k < s.size() && s[k] == ';' &&
        ftfy_entity(s.substr(start, len), numeric, out)) {
      i = k + 1;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// The per-character fixers, composed in ftfy's order: C1 controls, ligatures, width, quotes.
void append_fixed_char(U32& out, char32_t c) {
  static const struct {
    char32_t from;
    const char32_t* to;
  } kLigatures[] = {
      {0x132, U"IJ"},       {0x133, U"ij"},      {0x149, U"\u02BCn"}, {0x1C4, U"D\u017D"},
      {0x1C5, U"D\u017E"},  {0x1C6, U"d\u017E"}, {0x1C7, U"LJ"},      {0x1C8, U"Lj"},
      {0x1C9, U"lj"},       {0x1CA, U"NJ"},      {0x1CB, U"Nj"},      {0x1CC, U"nj"},
      {0x1F1, U"DZ"},       {0x1F2, U"Dz"},      {0x1F3, U"dz"},      {0xFB00, U"ff"},
      {0xFB01, U"fi"},      {0xFB02, U"fl"},     {0xFB03, U"ffi"},    {0xFB04, U"ffl"},
      {0xFB05, U"\u017Ft"}, {0xFB06, U"st"}};
  const auto uncurl = [](char32_t x) -> char32_t {
    if (x == 0x2BC || (x >= 0x2018 && x <= 0x201B)) return '\'';
    if (x >= 0x201C && x <= 0x201F) return '"';
    return x;
  };
  if (c < 0x80) return out.push_back(c);  // no fixer touches ASCII
  if (c <= 0x9F) c = html::windows1252(c);
  for (const auto& lig : kLigatures) {
    if (lig.from == c) {
      for (const char32_t* p = lig.to; *p; ++p) out.push_back(uncurl(*p));
      return;
    }
  }
  if (c == 0x3000) {
    out.push_back(' ');
  } else if (c >= 0xFF01 && c <= 0xFFEF) {
    for (char32_t w : normalize(U32(1, c), /*compat=*/true)) out.push_back(uncurl(w));
  } else {
    out.push_back(uncurl(c));
  }
}

bool is_removed_control(char32_t c) {
  return c <= 0x8 || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// Line breaks, ANSI terminal escapes (ESC [ digits-or-; letter) and invisible controls.
U32 fix_breaks_and_controls(const U32& s) {
  U32 out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == '\r') {
      if (i + 1 < s.size() && s[i + 1] == '\n') continue;
      out.push_back('\n');
    } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
      out.push_back('\n');
    } else if (c == 0x1B && i + 1 < s.size() && s[i + 1] == '[') {
      std::size_t k = i + 2;
      const auto part = [](char32_t x) { return x == ';' || unicode::is_decimal_digit(x); };
      while (k < s.size() && part(s[k])) ++k;
      const bool letter = k < s.size() && s[k] < 0x80 && is_alnum(s[k]) && !is_digit(s[k]);
      if (letter) i = k;  // the whole escape goes
      // otherwise the ESC alone goes, as a control character
    } else if (!is_removed_control(c)) {
      out.push_back(c);
    }
  }
  return out;
}

U32 fix_segment(U32 s, bool unescape) {
  while (true) {
    const U32 before = s;
    if (unescape) s = ftfy_unescape(s);
    U32 chars;
    chars.reserve(s.size());
    for (char32_t c : s) append_fixed_char(chars, c);
    s = normalize(fix_breaks_and_controls(chars), /*compat=*/false);
    if (s == before) return s;
  }
}

U32 fix_text_u32(const U32& s) {
  U32 out;
  bool unescape = true;  // ftfy's "auto": off from the first line holding a literal '<'
  for (std::size_t pos = 0; pos < s.size();) {
    const std::size_t nl = s.find(U'\n', pos);
    const std::size_t end = nl == U32::npos ? s.size() : nl + 1;
    U32 segment = s.substr(pos, end - pos);
    if (unescape && segment.find(U'<') != U32::npos) unescape = false;
    out += fix_segment(std::move(segment), unescape);
    pos = end;
  }
  return out;
}

U32 decode(std::string_view utf8) {
  U32 out;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size();) out.push_back(next_code_point(utf8, i));
  return out;
}

std::string encode(const U32& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

// Collapses every run of White_Space (the `regex` module's \s) to one space and strips the ends.
U32 collapse_whitespace(const U32& s) {
  U32 out;
  out.reserve(s.size());
  bool pending = false;
  for (char32_t c : s) {
    if (unicode::is_white_space(c)) {
      pending = !out.empty();
    } else {
      if (pending) out.push_back(' ');
      pending = false;
      out.push_back(c);
    }
  }
  return out;
}

// Python's str.lower(): full lower-case mapping, final sigma included.
std::string lower_utf8(const U32& s) {
  if (std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x80; })) {
    std::string out(s.begin(), s.end());
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return out;
  }
  return unicode::to_lower_utf8(s);
}

// True for ASCII text that every fixer leaves alone: printable, or whitespace other than \v, and
// no '&'. Such text only needs the whitespace collapse and an ASCII lower-case.
bool is_plain_ascii(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool printable = c >= 0x20 && c < 0x7F && c != '&';
    if (!printable && c != '\t' && c != '\n' && c != '\f' && c != '\r') return false;
  }
  return true;
}

std::string clean_plain_ascii(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (const char ch : s) {
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\f' || ch == '\r') {
      pending = !out.empty();
    } else {
      if (pending) out.push_back(' ');
      pending = false;
      out.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch);
    }
  }
  return out;
}

}  // namespace

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string fix_text(std::string_view utf8) { return encode(fix_text_u32(decode(utf8))); }

std::string html_unescape(std::string_view utf8) { return encode(unescape_u32(decode(utf8))); }

std::string clean_text(std::string_view utf8) {
  if (is_plain_ascii(utf8)) return clean_plain_ascii(utf8);
  const U32 fixed = fix_text_u32(decode(utf8));
  return lower_utf8(collapse_whitespace(unescape_u32(unescape_u32(fixed))));
}

}  // namespace cma::data
