// Private to the tokenizer's clean-up: HTML character references as Python's html.unescape and
// ftfy read them (entity table, numeric references, Windows-1252 for 0x80-0x9F).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cma::data::html {

using U32 = std::u32string;

struct Entity {
  const char* name;
  char32_t cp;
};

// The named reference `name` (without '&' and ';'), or nullptr.
const Entity* find_entity(std::string_view name);
// The names HTML5 also accepts without a ';': the Latin-1 ones and & < > ".
bool is_legacy(const Entity& e);
// Windows-1252's reading of a byte 0x80-0x9F (the five undefined bytes map to themselves).
char32_t windows1252(char32_t c);

bool is_digit(char32_t c);
bool is_hex(char32_t c);
bool is_alnum(char32_t c);

// html._replace_charref for a numeric reference whose value is `num` (saturated above 0x10FFFF).
void append_numeric_ref(U32& out, uint32_t num);
// Parses the digits of a numeric reference from s[k]; returns the position after them.
std::size_t parse_number(const U32& s, std::size_t k, bool hex, uint32_t& num);
// Python's html.unescape.
U32 unescape_u32(const U32& s);

}  // namespace cma::data::html
