// Private to the tokenizer and its caption clean-up: the few Unicode facts they need (White_Space,
// letter/number/digit categories, NFC/NFKC, Python's full case mapping), on utf8proc. utf8proc is
// ~0.5 MB with its tables, where ICU needs a ~30 MB data library, which the GPU machine does not
// have and which is too big to carry there (README, "GPUs and LibTorch 2.x").
#pragma once
#include <string>

namespace cma::data::unicode {

using U32 = std::u32string;

// The White_Space property (the `regex` module's \s): a fixed list of 25 code points.
bool is_white_space(char32_t c);
// General category L* (letters) and N* (numbers), the reference pattern's \p{L} and \p{N}.
bool is_letter(char32_t c);
bool is_number(char32_t c);
// General category Nd (Python's str.isdecimal, ICU's u_isdigit).
bool is_decimal_digit(char32_t c);

// NFC, or NFKC when `compat`. Throws cma::Error if utf8proc refuses the text.
U32 normalize(const U32& s, bool compat);

// Python's str.upper() of one HTML 4 entity value (the only code points the clean-up upper-cases):
// the simple mapping, and "SS" for U+00DF, the one among them whose full mapping is longer.
U32 to_upper(char32_t c);
// Python's str.lower() as UTF-8: full mapping, with capital sigma becoming final sigma at the end
// of a word (Unicode's Final_Sigma condition).
std::string to_lower_utf8(const U32& s);

}  // namespace cma::data::unicode
