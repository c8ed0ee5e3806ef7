// CLIP's caption clean-up (see text_clean.h). Works on UTF-32 strings so that every rule reads
// as a rule about characters; plain-ASCII captions without '&' take a one-pass fast path.
#include "cma/data/text_clean.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <cstdint>

#include "cma/core/error.h"

namespace cma::data {
namespace {

using U32 = std::u32string;

struct Entity {
  const char* name;
  char32_t cp;
};

// HTML5's values for the HTML 4 names (Python's html.entities.name2codepoint), &apos;, and the
// upper-case spellings HTML5 also defines. Sorted in byte order for binary search.
// clang-format off
constexpr Entity kEntities[] = {
    {"AElig", 0xC6}, {"AMP", 0x26}, {"Aacute", 0xC1}, {"Acirc", 0xC2}, {"Agrave", 0xC0},
    {"Alpha", 0x391}, {"Aring", 0xC5}, {"Atilde", 0xC3}, {"Auml", 0xC4}, {"Beta", 0x392},
    {"COPY", 0xA9}, {"Ccedil", 0xC7}, {"Chi", 0x3A7}, {"Dagger", 0x2021}, {"Delta", 0x394},
    {"ETH", 0xD0}, {"Eacute", 0xC9}, {"Ecirc", 0xCA}, {"Egrave", 0xC8}, {"Epsilon", 0x395},
    {"Eta", 0x397}, {"Euml", 0xCB}, {"GT", 0x3E}, {"Gamma", 0x393}, {"Iacute", 0xCD},
    {"Icirc", 0xCE}, {"Igrave", 0xCC}, {"Iota", 0x399}, {"Iuml", 0xCF}, {"Kappa", 0x39A},
    {"LT", 0x3C}, {"Lambda", 0x39B}, {"Mu", 0x39C}, {"Ntilde", 0xD1}, {"Nu", 0x39D},
    {"OElig", 0x152}, {"Oacute", 0xD3}, {"Ocirc", 0xD4}, {"Ograve", 0xD2}, {"Omega", 0x3A9},
    {"Omicron", 0x39F}, {"Oslash", 0xD8}, {"Otilde", 0xD5}, {"Ouml", 0xD6}, {"Phi", 0x3A6},
    {"Pi", 0x3A0}, {"Prime", 0x2033}, {"Psi", 0x3A8}, {"QUOT", 0x22}, {"REG", 0xAE}, {"Rho", 0x3A1},
    {"Scaron", 0x160}, {"Sigma", 0x3A3}, {"THORN", 0xDE}, {"Tau", 0x3A4}, {"Theta", 0x398},
    {"Uacute", 0xDA}, {"Ucirc", 0xDB}, {"Ugrave", 0xD9}, {"Upsilon", 0x3A5}, {"Uuml", 0xDC},
    {"Xi", 0x39E}, {"Yacute", 0xDD}, {"Yuml", 0x178}, {"Zeta", 0x396}, {"aacute", 0xE1},
    {"acirc", 0xE2}, {"acute", 0xB4}, {"aelig", 0xE6}, {"agrave", 0xE0}, {"alefsym", 0x2135},
    {"alpha", 0x3B1}, {"amp", 0x26}, {"and", 0x2227}, {"ang", 0x2220}, {"apos", 0x27},
    {"aring", 0xE5}, {"asymp", 0x2248}, {"atilde", 0xE3}, {"auml", 0xE4}, {"bdquo", 0x201E},
    {"beta", 0x3B2}, {"brvbar", 0xA6}, {"bull", 0x2022}, {"cap", 0x2229}, {"ccedil", 0xE7},
    {"cedil", 0xB8}, {"cent", 0xA2}, {"chi", 0x3C7}, {"circ", 0x2C6}, {"clubs", 0x2663},
    {"cong", 0x2245}, {"copy", 0xA9}, {"crarr", 0x21B5}, {"cup", 0x222A}, {"curren", 0xA4},
    {"dArr", 0x21D3}, {"dagger", 0x2020}, {"darr", 0x2193}, {"deg", 0xB0}, {"delta", 0x3B4},
    {"diams", 0x2666}, {"divide", 0xF7}, {"eacute", 0xE9}, {"ecirc", 0xEA}, {"egrave", 0xE8},
    {"empty", 0x2205}, {"emsp", 0x2003}, {"ensp", 0x2002}, {"epsilon", 0x3B5}, {"equiv", 0x2261},
    {"eta", 0x3B7}, {"eth", 0xF0}, {"euml", 0xEB}, {"euro", 0x20AC}, {"exist", 0x2203},
    {"fnof", 0x192}, {"forall", 0x2200}, {"frac12", 0xBD}, {"frac14", 0xBC}, {"frac34", 0xBE},
    {"frasl", 0x2044}, {"gamma", 0x3B3}, {"ge", 0x2265}, {"gt", 0x3E}, {"hArr", 0x21D4},
    {"harr", 0x2194}, {"hearts", 0x2665}, {"hellip", 0x2026}, {"iacute", 0xED}, {"icirc", 0xEE},
    {"iexcl", 0xA1}, {"igrave", 0xEC}, {"image", 0x2111}, {"infin", 0x221E}, {"int", 0x222B},
    {"iota", 0x3B9}, {"iquest", 0xBF}, {"isin", 0x2208}, {"iuml", 0xEF}, {"kappa", 0x3BA},
    {"lArr", 0x21D0}, {"lambda", 0x3BB}, {"lang", 0x27E8}, {"laquo", 0xAB}, {"larr", 0x2190},
    {"lceil", 0x2308}, {"ldquo", 0x201C}, {"le", 0x2264}, {"lfloor", 0x230A}, {"lowast", 0x2217},
    {"loz", 0x25CA}, {"lrm", 0x200E}, {"lsaquo", 0x2039}, {"lsquo", 0x2018}, {"lt", 0x3C},
    {"macr", 0xAF}, {"mdash", 0x2014}, {"micro", 0xB5}, {"middot", 0xB7}, {"minus", 0x2212},
    {"mu", 0x3BC}, {"nabla", 0x2207}, {"nbsp", 0xA0}, {"ndash", 0x2013}, {"ne", 0x2260},
    {"ni", 0x220B}, {"not", 0xAC}, {"notin", 0x2209}, {"nsub", 0x2284}, {"ntilde", 0xF1},
    {"nu", 0x3BD}, {"oacute", 0xF3}, {"ocirc", 0xF4}, {"oelig", 0x153}, {"ograve", 0xF2},
    {"oline", 0x203E}, {"omega", 0x3C9}, {"omicron", 0x3BF}, {"oplus", 0x2295}, {"or", 0x2228},
    {"ordf", 0xAA}, {"ordm", 0xBA}, {"oslash", 0xF8}, {"otilde", 0xF5}, {"otimes", 0x2297},
    {"ouml", 0xF6}, {"para", 0xB6}, {"part", 0x2202}, {"permil", 0x2030}, {"perp", 0x22A5},
    {"phi", 0x3C6}, {"pi", 0x3C0}, {"piv", 0x3D6}, {"plusmn", 0xB1}, {"pound", 0xA3},
    {"prime", 0x2032}, {"prod", 0x220F}, {"prop", 0x221D}, {"psi", 0x3C8}, {"quot", 0x22},
    {"rArr", 0x21D2}, {"radic", 0x221A}, {"rang", 0x27E9}, {"raquo", 0xBB}, {"rarr", 0x2192},
    {"rceil", 0x2309}, {"rdquo", 0x201D}, {"real", 0x211C}, {"reg", 0xAE}, {"rfloor", 0x230B},
    {"rho", 0x3C1}, {"rlm", 0x200F}, {"rsaquo", 0x203A}, {"rsquo", 0x2019}, {"sbquo", 0x201A},
    {"scaron", 0x161}, {"sdot", 0x22C5}, {"sect", 0xA7}, {"shy", 0xAD}, {"sigma", 0x3C3},
    {"sigmaf", 0x3C2}, {"sim", 0x223C}, {"spades", 0x2660}, {"sub", 0x2282}, {"sube", 0x2286},
    {"sum", 0x2211}, {"sup", 0x2283}, {"sup1", 0xB9}, {"sup2", 0xB2}, {"sup3", 0xB3},
    {"supe", 0x2287}, {"szlig", 0xDF}, {"tau", 0x3C4}, {"there4", 0x2234}, {"theta", 0x3B8},
    {"thetasym", 0x3D1}, {"thinsp", 0x2009}, {"thorn", 0xFE}, {"tilde", 0x2DC}, {"times", 0xD7},
    {"trade", 0x2122}, {"uArr", 0x21D1}, {"uacute", 0xFA}, {"uarr", 0x2191}, {"ucirc", 0xFB},
    {"ugrave", 0xF9}, {"uml", 0xA8}, {"upsih", 0x3D2}, {"upsilon", 0x3C5}, {"uuml", 0xFC},
    {"weierp", 0x2118}, {"xi", 0x3BE}, {"yacute", 0xFD}, {"yen", 0xA5}, {"yuml", 0xFF},
    {"zeta", 0x3B6}, {"zwj", 0x200D}, {"zwnj", 0x200C}
};
// clang-format on

// Windows-1252 for bytes 0x80-0x9F. HTML5 (and so html.unescape) maps numeric references in that
// range this way, and ftfy's fix_c1_controls reads stray C1 controls the same way; the five
// undefined bytes stay as they are.
constexpr char32_t kWindows1252[32] = {
    0x20AC, 0x81,   0x201A, 0x192,  0x201E, 0x2026, 0x2020, 0x2021, 0x2C6,  0x2030, 0x160,
    0x2039, 0x152,  0x8D,   0x17D,  0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x2DC,  0x2122, 0x161,  0x203A, 0x153,  0x9D,   0x17E,  0x178};

const Entity* find_entity(std::string_view name) {
  const auto* end = std::end(kEntities);
  const auto* it = std::lower_bound(
      std::begin(kEntities), end, name,
      [](const Entity& e, std::string_view n) { return std::string_view(e.name) < n; });
  return (it != end && it->name == name) ? it : nullptr;
}

// The names HTML5 also accepts without a ';': the Latin-1 ones and & < > ".
bool is_legacy(const Entity& e) {
  return (e.cp >= 0xA0 && e.cp <= 0xFF) || e.cp == '"' || e.cp == '&' || e.cp == '<' || e.cp == '>';
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alnum(char32_t c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int hex_value(char32_t c) {
  if (is_digit(c)) return static_cast<int>(c - '0');
  return static_cast<int>((c | 0x20) - 'a' + 10);
}

icu::UnicodeString to_icu(const U32& s) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()),
                                       static_cast<int32_t>(s.size()));
}

U32 from_icu(const icu::UnicodeString& u) {
  U32 out;
  out.reserve(static_cast<std::size_t>(u.length()));
  const UChar* buf = u.getBuffer();
  const int32_t len = u.length();
  for (int32_t i = 0; i < len;) {
    UChar32 c;
    U16_NEXT(buf, i, len, c);
    out.push_back(static_cast<char32_t>(c));
  }
  return out;
}

const icu::Normalizer2& normalizer(bool compat) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n =
      compat ? icu::Normalizer2::getNFKCInstance(status) : icu::Normalizer2::getNFCInstance(status);
  require(U_SUCCESS(status) && n,
          std::string("ICU could not load its normaliser: ") + u_errorName(status));
  return *n;
}

U32 normalize(const U32& s, bool compat) {
  // Nothing below U+0300 composes, decomposes or reorders under NFC.
  if (!compat && std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x300; })) return s;
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString out = normalizer(compat).normalize(to_icu(s), status);
  require(U_SUCCESS(status), std::string("ICU normalisation failed: ") + u_errorName(status));
  return from_icu(out);
}

// html._replace_charref for a numeric reference whose value is `num` (saturated above 0x10FFFF).
void append_numeric_ref(U32& out, uint32_t num) {
  const bool invalid = (num >= 0x1 && num <= 0x8) || num == 0xB || (num >= 0xE && num <= 0x1F) ||
                       num == 0x7F || (num >= 0xFDD0 && num <= 0xFDEF) || (num & 0xFFFE) == 0xFFFE;
  if (num == 0 || (num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
    out.push_back(0xFFFD);
  } else if (num == 0xD) {
    out.push_back('\r');
  } else if (num >= 0x80 && num <= 0x9F) {
    out.push_back(kWindows1252[num - 0x80]);
  } else if (!invalid) {
    out.push_back(num);
  }
}

// Parses the digits of a numeric reference from s[k]; returns the position after them.
std::size_t parse_number(const U32& s, std::size_t k, bool hex, uint32_t& num) {
  num = 0;
  for (; k < s.size() && (hex ? is_hex(s[k]) : is_digit(s[k])); ++k) {
    const uint32_t d = static_cast<uint32_t>(hex ? hex_value(s[k]) : static_cast<int>(s[k] - '0'));
    num = std::min<uint32_t>(num * (hex ? 16 : 10) + d, 0x110000);
  }
  return k;
}

// One html.unescape match at s[i] == '&'. Appends the replacement and returns the characters
// consumed, or 0 where the pattern does not match (the caller copies the '&').
std::size_t python_charref(const U32& s, std::size_t i, U32& out) {
  const std::size_t n = s.size();
  std::size_t k = i + 1;
  if (k < n && s[k] == '#') {
    const bool hex = k + 2 < n && (s[k + 1] == 'x' || s[k + 1] == 'X') && is_hex(s[k + 2]);
    if (!hex && !(k + 1 < n && is_digit(s[k + 1]))) return 0;
    uint32_t num = 0;
    k = parse_number(s, k + (hex ? 2 : 1), hex, num);
    if (k < n && s[k] == ';') ++k;
    append_numeric_ref(out, num);
    return k - i;
  }
  const auto stops = [](char32_t c) {
    return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' ||
           c == ';';
  };
  const std::size_t start = k;
  while (k < n && k - start < 32 && !stops(s[k])) ++k;
  if (k == start) return 0;
  const bool semi = k < n && s[k] == ';';
  std::string ascii;  // the name's leading ASCII part: only that can name an entity
  for (std::size_t j = start; j < k && s[j] < 0x80; ++j) ascii.push_back(static_cast<char>(s[j]));
  const bool all_ascii = ascii.size() == k - start;
  const Entity* whole = all_ascii ? find_entity(ascii) : nullptr;
  if (whole && (semi || is_legacy(*whole))) {
    out.push_back(whole->cp);
    return k - i + (semi ? 1 : 0);
  }
  // HTML5's rule: the longest legacy name that is a proper prefix of "name[;]", rest kept.
  const std::size_t longest = std::min(ascii.size(), k - start + (semi ? 1 : 0) - 1);
  for (std::size_t x = longest; x >= 2; --x) {
    const Entity* e = find_entity(std::string_view(ascii).substr(0, x));
    if (e && is_legacy(*e)) {
      out.push_back(e->cp);
      out.append(s, start + x, k - start - x + (semi ? 1 : 0));
      return k - i + (semi ? 1 : 0);
    }
  }
  return 0;
}

U32 unescape_u32(const U32& s) {
  if (s.find(U'&') == U32::npos) return s;
  U32 out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t used = s[i] == '&' ? python_charref(s, i, out) : 0;
    if (used == 0) out.push_back(s[i++]);
    i += used;
  }
  return out;
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
  icu::UnicodeString upper(static_cast<UChar32>(e->cp));
  upper.toUpper(icu::Locale::getRoot());
  out += from_icu(upper);
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
  if (c <= 0x9F) c = kWindows1252[c - 0x80];
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
      const auto part = [](char32_t x) { return x == ';' || u_isdigit(static_cast<UChar32>(x)); };
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
    if (u_isUWhiteSpace(static_cast<UChar32>(c))) {
      pending = !out.empty();
    } else {
      if (pending) out.push_back(' ');
      pending = false;
      out.push_back(c);
    }
  }
  return out;
}

// Python's str.lower(): full lower-case mapping, final sigma included (ICU's root locale).
std::string lower_utf8(const U32& s) {
  if (std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x80; })) {
    std::string out(s.begin(), s.end());
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return out;
  }
  icu::UnicodeString u = to_icu(s);
  u.toLower(icu::Locale::getRoot());
  std::string out;
  u.toUTF8String(out);
  return out;
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
