// Private to the unpickler (pickle.cpp): how its string opcodes turn bytes into text. Protocol 0
// writes strings as escaped text on a line (UNICODE in Python's raw-unicode-escape codec, STRING as
// a Python 2 repr), the binary protocols as counted UTF-8; these decoders read them as CPython
// does, so that the unpickler's opcode loop stays about the stack and the memo. Kept apart from
// cma/data/pickle.h, whose only promise is parse_pickle. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace cma::data::pickle_text {

// Text from the file, made safe and short enough to quote in a message: bytes outside printable
// ASCII become '?', and more than 80 bytes are cut with "...".
std::string printable(std::string_view s);

// Strict UTF-8: no overlong forms, no surrogates (Python pickles a lone surrogate with
// "surrogatepass", but JSON text cannot hold one), nothing above U+10FFFF.
bool valid_utf8(std::string_view s);

// Text decoded from a protocol-0 argument, or what is wrong with it. `error` points at a string
// literal; the unpickler adds the file and byte offset.
struct Decoded {
  std::string text;
  const char* error = nullptr;
};

// A protocol-0 UNICODE argument, as Python's raw-unicode-escape codec reads it: bytes are Latin-1
// characters except \uXXXX and \UXXXXXXXX, which are escapes only after an odd number of
// backslashes (Python 3's pickler writes a backslash itself as \u005c). The text is UTF-8; an
// escaped surrogate or a code point above U+10FFFF is an error.
Decoded raw_unicode_escape_decode(std::string_view s);

// A protocol-0 STRING argument (a Python 2 str's repr between its quotes), as Python's
// codecs.escape_decode reads it. The result is bytes, not checked to be UTF-8. An unknown escape
// keeps its backslash, as Python does; a lone final backslash and a bad \x escape are errors.
Decoded escape_decode(std::string_view s);

}  // namespace cma::data::pickle_text
