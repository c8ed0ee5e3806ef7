// Unicode properties and mappings on utf8proc (see unicode.h). Where utf8proc's tables stop short
// of what Python does (full case mapping, the Cased property), the gap is filled here; each table
// below was checked code point by code point against ICU 72's properties.
#include "unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <memory>

#include "cma/core/error.h"
#include "cma/data/text_clean.h"

namespace cma::data::unicode {
namespace {

utf8proc_category_t category(char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)); }

// Other_Lowercase and Other_Uppercase code points (modifier letters, ordinal indicators, circled
// and squared letters) that have no case mapping and no cased category, but are Cased. These
// are all the code points where "Lu/Ll/Lt or has a case mapping" and Cased disagree (Unicode 15).
constexpr std::pair<char32_t, char32_t> kOtherCased[] = {
    {0xAA, 0xAA},       {0xBA, 0xBA},       {0x2B0, 0x2B8},     {0x2C0, 0x2C1},     {0x2E0, 0x2E4},
    {0x37A, 0x37A},     {0x10FC, 0x10FC},   {0x1D2C, 0x1D6A},   {0x1D78, 0x1D78},   {0x1D9B, 0x1DBF},
    {0x2071, 0x2071},   {0x207F, 0x207F},   {0x2090, 0x209C},   {0x2C7C, 0x2C7D},   {0xA69C, 0xA69D},
    {0xA770, 0xA770},   {0xA7F2, 0xA7F4},   {0xA7F8, 0xA7F9},   {0xAB5C, 0xAB5F},   {0xAB69, 0xAB69},
    {0x10780, 0x10780}, {0x10783, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA}, {0x1E030, 0x1E06D},
    {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
};

bool is_cased(char32_t c) {
  const utf8proc_category_t k = category(c);
  if (k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT) return true;
  const auto i = static_cast<utf8proc_int32_t>(c);
  if (utf8proc_tolower(i) != i || utf8proc_toupper(i) != i) return true;
  return std::any_of(std::begin(kOtherCased), std::end(kOtherCased),
                     [c](const auto& r) { return c >= r.first && c <= r.second; });
}

// Case_Ignorable: marks, format characters, modifiers, and Word_Break's MidLetter, MidNumLet and
// Single_Quote characters.
bool is_case_ignorable(char32_t c) {
  switch (category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK: return true;
    default: break;
  }
  switch (c) {
    case 0x27: case 0x2E: case 0x3A: case 0x5E: case 0x60: case 0xA8: case 0xAD: case 0xAF:
    case 0xB4: case 0xB7: case 0xB8: case 0x387: case 0x55F: case 0x5F4: case 0x2018: case 0x2019:
    case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E:
    case 0xFF1A: return true;
    default: return false;
  }
}

// Unicode's Final_Sigma: a cased letter (past any case-ignorables) before position i, and none
// after it.
bool final_sigma(const U32& s, std::size_t i) {
  std::size_t k = i;
  bool cased_before = false;
  while (k > 0) {
    const char32_t p = s[--k];
    if (is_case_ignorable(p)) continue;
    cased_before = is_cased(p);
    break;
  }
  if (!cased_before) return false;
  for (k = i + 1; k < s.size(); ++k) {
    if (is_case_ignorable(s[k])) continue;
    return !is_cased(s[k]);
  }
  return true;
}

}  // namespace

bool is_white_space(char32_t c) {
  return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

bool is_letter(char32_t c) {
  const utf8proc_category_t k = category(c);
  return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

bool is_number(char32_t c) {
  const utf8proc_category_t k = category(c);
  return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

bool is_decimal_digit(char32_t c) { return category(c) == UTF8PROC_CATEGORY_ND; }

U32 normalize(const U32& s, bool compat) {
  std::string utf8;
  for (char32_t c : s) append_utf8(utf8, c);
  utf8proc_uint8_t* out = nullptr;
  const int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (compat ? UTF8PROC_COMPAT : 0);
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                          static_cast<utf8proc_ssize_t>(utf8.size()), &out,
                                          static_cast<utf8proc_option_t>(options));
  const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
  require(n >= 0, std::string("Unicode normalisation failed: ") + utf8proc_errmsg(n));
  U32 result;
  result.reserve(static_cast<std::size_t>(n));
  for (utf8proc_ssize_t i = 0; i < n;) {
    utf8proc_int32_t c = 0;
    i += utf8proc_iterate(out + i, n - i, &c);
    result.push_back(static_cast<char32_t>(c));
  }
  return result;
}

U32 to_upper(char32_t c) {
  // Of the full upper-case mappings longer than one code point, only U+00DF can reach here: the
  // clean-up upper-cases HTML 4 entity values alone, and sharp s is the one among them.
  if (c == 0xDF) return U"SS";
  return U32(1, static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c))));
}

std::string to_lower_utf8(const U32& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == 0x130) {  // the one full lower-case mapping of two code points: i + combining dot
      out += "i\xCC\x87";
    } else if (c == 0x3A3) {
      append_utf8(out, final_sigma(s, i) ? 0x3C2 : 0x3C3);
    } else {
      append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

}  // namespace cma::data::unicode
