// An unpickler for plain data. It follows CPython's pickle.load opcode by opcode (the stack, the
// MARKs, the memo, what each opcode accepts), with one difference in kind: nothing is imported or
// called, so an opcode that would is an error rather than an object.
//
// Values are built in an arena of nodes that refer to each other by index, as Python objects refer
// to each other: a pickler memoizes a list when it is created and fills it afterwards, so a later
// GET must see the filled list, not a copy taken at PUT time. The JSON is built from the arena once,
// at STOP, copying a shared value at each place it is used.
#include "cma/data/pickle.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cma/core/error.h"
#include "cma/data/annotation_files.h"
#include "pickle_text.h"

namespace cma::data {
namespace {

using json = nlohmann::json;
// The string opcodes' decoders live in pickle_text.cpp; this file is the opcode loop.
using pickle_text::Decoded;
using pickle_text::escape_decode;
using pickle_text::printable;
using pickle_text::raw_unicode_escape_decode;
using pickle_text::valid_utf8;

constexpr int kHighestProtocol = 5;  // Python 3.8's
// Building the JSON recurses once per level; plain data is nowhere near this deep.
constexpr int kMaxDepth = 1000;
// A shared value is copied wherever it is referenced, so a tiny pickle of lists that each hold
// the previous list twice would expand exponentially. The JSON is capped at this many values and
// string bytes per input byte, above a floor that real annotation files stay well under.
constexpr size_t kExpansionPerByte = 16;
constexpr size_t kExpansionFloor = size_t{1} << 20;

// Opcodes under the names of CPython's pickle module and pickletools.
namespace op {
enum : uint8_t {
  MARK = '(', STOP = '.', POP = '0', POP_MARK = '1', DUP = '2', FLOAT = 'F', INT = 'I', BININT = 'J',
  BININT1 = 'K', LONG = 'L', BININT2 = 'M', NONE = 'N', PERSID = 'P', BINPERSID = 'Q', REDUCE = 'R',
  STRING = 'S', BINSTRING = 'T', SHORT_BINSTRING = 'U', UNICODE = 'V', BINUNICODE = 'X', APPEND = 'a',
  BUILD = 'b', GLOBAL = 'c', DICT = 'd', EMPTY_DICT = '}', APPENDS = 'e', GET = 'g', BINGET = 'h',
  INST = 'i', LONG_BINGET = 'j', LIST = 'l', EMPTY_LIST = ']', OBJ = 'o', PUT = 'p', BINPUT = 'q',
  LONG_BINPUT = 'r', SETITEM = 's', TUPLE = 't', EMPTY_TUPLE = ')', SETITEMS = 'u', BINFLOAT = 'G',
  BINBYTES = 'B', SHORT_BINBYTES = 'C',
  PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86,
  TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b, SHORT_BINUNICODE = 0x8c,
  BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f, ADDITEMS = 0x90, FROZENSET = 0x91,
  NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95, BYTEARRAY8 = 0x96,
  NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98,
};
}  // namespace op

const char* kPlainData = "this reader takes only dict, list, tuple, str, bytes, int, float, bool and None";

// The opcodes that import, call or resolve something; nullptr for the others.
const char* object_opcode_name(uint8_t code) {
  switch (code) {
    case op::GLOBAL: return "GLOBAL";
    case op::STACK_GLOBAL: return "STACK_GLOBAL";
    case op::REDUCE: return "REDUCE";
    case op::BUILD: return "BUILD";
    case op::INST: return "INST";
    case op::OBJ: return "OBJ";
    case op::NEWOBJ: return "NEWOBJ";
    case op::NEWOBJ_EX: return "NEWOBJ_EX";
    case op::EXT1: return "EXT1";
    case op::EXT2: return "EXT2";
    case op::EXT4: return "EXT4";
    case op::PERSID: return "PERSID";
    case op::BINPERSID: return "BINPERSID";
    default: return nullptr;
  }
}

// Valid opcodes for values that have no JSON form; nullptr for the others.
const char* unsupported_opcode_name(uint8_t code) {
  switch (code) {
    case op::EMPTY_SET: return "EMPTY_SET (a set)";
    case op::ADDITEMS: return "ADDITEMS (a set)";
    case op::FROZENSET: return "FROZENSET (a frozenset)";
    case op::BYTEARRAY8: return "BYTEARRAY8 (a bytearray)";
    case op::NEXT_BUFFER: return "NEXT_BUFFER (an out-of-band buffer)";
    case op::READONLY_BUFFER: return "READONLY_BUFFER (an out-of-band buffer)";
    default: return nullptr;
  }
}

// One value under construction. Containers hold the arena indices of their elements, so a
// container filled after it was memoized is seen filled through every reference to it.
struct Node {
  enum class Kind : uint8_t { Scalar, List, Tuple, Dict };
  Kind kind = Kind::Scalar;
  size_t offset = 0;          // byte of the opcode that made it, for messages
  json scalar;                // Kind::Scalar
  std::vector<size_t> items;  // List, Tuple: elements; Dict: key, value, key, value, ... (keys are strings)
};

const char* kind_name(Node::Kind k) {
  switch (k) {
    case Node::Kind::List: return "list";
    case Node::Kind::Tuple: return "tuple";
    case Node::Kind::Dict: return "dict";
    case Node::Kind::Scalar: break;
  }
  return "value";
}

// A value for a message: "5 (number)" or "(a tuple)".
std::string describe(const Node& n) {
  if (n.kind != Node::Kind::Scalar) return std::string("(a ") + kind_name(n.kind) + ")";
  return printable(n.scalar.dump()) + " (" + n.scalar.type_name() + ")";
}

class Unpickler {
 public:
  Unpickler(const std::string& bytes, const std::string& path) : s_(bytes), path_(path) {}

  json run() {
    if (s_.empty()) throw Error(path_ + ": empty file, not a pickle");
    while (pos_ < s_.size()) {
      at_ = pos_;
      const auto code = static_cast<uint8_t>(s_[pos_++]);
      if (code == op::STOP) return to_json(pop(), 0);  // bytes after STOP are ignored, as pickle.load does
      if (!scalar_opcode(code) && !container_opcode(code) && !stack_opcode(code)) reject(code);
    }
    fail_at(s_.size(), "missing STOP: the pickle ends before its final opcode (a truncated file?)");
  }

 private:
  [[noreturn]] void fail_at(size_t offset, const std::string& what) const {
    throw Error(path_ + ": byte " + std::to_string(offset) + ": " + what);
  }
  [[noreturn]] void fail(const std::string& what) const { fail_at(at_, what); }

  // ---- the current opcode's argument ----

  // The next n bytes, checked against what is left before anything is allocated for them.
  std::string_view take(uint64_t n, const char* what) {
    const size_t left = s_.size() - pos_;
    if (n > left)
      fail(std::string("truncated ") + what + ": needs " + std::to_string(n) + " bytes, " + std::to_string(left) +
           " left");
    const std::string_view out(s_.data() + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return out;
  }
  uint64_t read_le(size_t width, const char* what) {
    const std::string_view b = take(width, what);
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v |= uint64_t{static_cast<unsigned char>(b[i])} << (8 * i);
    return v;
  }
  int64_t read_int32(const char* what) {
    return static_cast<int32_t>(static_cast<uint32_t>(read_le(4, what)));  // two's complement
  }
  // Bytes after an unsigned little-endian length of `width` bytes.
  std::string_view counted(size_t width, const char* what) { return take(read_le(width, what), what); }
  // Bytes after a 4-byte length that Python reads as signed and rejects when negative.
  std::string_view counted_signed(const char* what) {
    const int64_t n = read_int32(what);
    if (n < 0) fail(std::string(what) + " has a negative byte count " + std::to_string(n));
    return take(static_cast<uint64_t>(n), what);
  }
  // A protocol-0 argument: the text up to the next newline.
  std::string_view read_line(const char* what) {
    const size_t nl = s_.find('\n', pos_);
    if (nl == std::string::npos) fail(std::string("truncated ") + what + ": no end of line");
    const std::string_view out(s_.data() + pos_, nl - pos_);
    pos_ = nl + 1;
    return out;
  }

  // ---- decoding arguments ----

  // A decimal integer, as Python's int() reads what repr() writes.
  int64_t parse_int(std::string_view text, const char* what) const {
    std::string_view digits = text;
    if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec == std::errc::result_out_of_range)
      fail(std::string(what) + " " + printable(text) + " does not fit in a signed 64-bit integer");
    if (ec != std::errc() || end != digits.data() + digits.size())
      fail(std::string(what) + " argument '" + printable(text) + "' is not a decimal integer");
    return v;
  }
  // LONG1/LONG4: little-endian two's complement of any length; only values within int64 are read.
  int64_t decode_long(std::string_view b) const {
    if (b.empty()) return 0;
    const bool negative = static_cast<unsigned char>(b.back()) & 0x80;
    const size_t n = std::min<size_t>(b.size(), 8);
    uint64_t u = 0;
    for (size_t i = 0; i < n; ++i) u |= uint64_t{static_cast<unsigned char>(b[i])} << (8 * i);
    if (n < 8 && negative) u |= ~uint64_t{0} << (8 * n);  // sign-extend
    // Python writes the fewest bytes, but a longer form is valid: bytes past the eighth may only
    // repeat the sign, which bit 63 must then carry.
    bool fits = b.size() <= 8 || ((u >> 63) != 0) == negative;
    for (size_t i = 8; i < b.size() && fits; ++i) fits = static_cast<unsigned char>(b[i]) == (negative ? 0xFF : 0);
    if (!fits) fail("an integer of " + std::to_string(b.size()) + " bytes does not fit in a signed 64-bit integer");
    return static_cast<int64_t>(u);
  }
  double parse_float(std::string_view text) const {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);  // locale-independent
    if (ec != std::errc() || end != text.data() + text.size())
      fail("FLOAT argument '" + printable(text) + "' is not a number");
    return v;
  }
  double binfloat(std::string_view b) const {
    uint64_t bits = 0;
    for (const char c : b) bits = (bits << 8) | static_cast<unsigned char>(c);  // big-endian
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  std::string utf8(std::string_view b, const char* what) const {
    if (!valid_utf8(b)) fail(std::string(what) + " string is not valid UTF-8");
    return std::string(b);
  }
  std::string decoded(const Decoded& d) const {
    if (d.error) fail(d.error);
    return d.text;
  }
  // Python 3 requires the same quote at both ends of a STRING argument.
  std::string quoted_string(std::string_view text) const {
    if (text.size() < 2 || text.front() != text.back() || (text.front() != '\'' && text.front() != '"'))
      fail("the STRING argument must be quoted, found '" + printable(text) + "'");
    return decoded(escape_decode(text.substr(1, text.size() - 2)));
  }
  // Protocols 0 and 1 write True and False as INT 01 and 00.
  json int_line(std::string_view text) const {
    if (text == "01" || text == "00") return text == "01";
    return parse_int(text, "INT");
  }
  int64_t long_line(std::string_view text) const {
    if (!text.empty() && text.back() == 'L') text.remove_suffix(1);  // Python 2's long suffix
    return parse_int(text, "LONG");
  }

  // ---- opcode groups; each returns false for an opcode outside its group ----

  bool scalar_opcode(uint8_t code) {
    switch (code) {
      case op::NONE: return push_scalar(nullptr);
      case op::NEWTRUE: return push_scalar(true);
      case op::NEWFALSE: return push_scalar(false);
      case op::INT: return push_scalar(int_line(read_line("INT")));
      case op::BININT: return push_scalar(read_int32("BININT"));
      case op::BININT1: return push_scalar(static_cast<int64_t>(read_le(1, "BININT1")));
      case op::BININT2: return push_scalar(static_cast<int64_t>(read_le(2, "BININT2")));
      case op::LONG: return push_scalar(long_line(read_line("LONG")));
      case op::LONG1: return push_scalar(decode_long(counted(1, "LONG1")));
      case op::LONG4: return push_scalar(decode_long(counted_signed("LONG4")));
      case op::FLOAT: return push_scalar(parse_float(read_line("FLOAT")));
      case op::BINFLOAT: return push_scalar(binfloat(take(8, "BINFLOAT")));
      case op::UNICODE: return push_scalar(decoded(raw_unicode_escape_decode(read_line("UNICODE"))));
      case op::SHORT_BINUNICODE: return push_scalar(utf8(counted(1, "SHORT_BINUNICODE"), "SHORT_BINUNICODE"));
      case op::BINUNICODE: return push_scalar(utf8(counted(4, "BINUNICODE"), "BINUNICODE"));
      case op::BINUNICODE8: return push_scalar(utf8(counted(8, "BINUNICODE8"), "BINUNICODE8"));
      // Python 2 str and Python 3 bytes: their bytes as they are (Python 3 decodes a Python 2
      // str as ASCII unless told otherwise; UTF-8 text passes through here unchanged).
      case op::STRING: return push_scalar(quoted_string(read_line("STRING")));
      case op::SHORT_BINSTRING: return push_scalar(std::string(counted(1, "SHORT_BINSTRING")));
      case op::BINSTRING: return push_scalar(std::string(counted_signed("BINSTRING")));
      case op::SHORT_BINBYTES: return push_scalar(std::string(counted(1, "SHORT_BINBYTES")));
      case op::BINBYTES: return push_scalar(std::string(counted(4, "BINBYTES")));
      case op::BINBYTES8: return push_scalar(std::string(counted(8, "BINBYTES8")));
      default: return false;
    }
  }

  bool container_opcode(uint8_t code) {
    switch (code) {
      case op::EMPTY_LIST: return push_container(Node::Kind::List, {});
      case op::EMPTY_TUPLE: return push_container(Node::Kind::Tuple, {});
      case op::EMPTY_DICT: return push_container(Node::Kind::Dict, {});
      case op::LIST: return push_container(Node::Kind::List, pop_mark());
      case op::TUPLE: return push_container(Node::Kind::Tuple, pop_mark());
      case op::TUPLE1: return push_container(Node::Kind::Tuple, pop_n(1));
      case op::TUPLE2: return push_container(Node::Kind::Tuple, pop_n(2));
      case op::TUPLE3: return push_container(Node::Kind::Tuple, pop_n(3));
      case op::DICT: return make_dict(pop_mark());
      case op::APPEND: return append(pop_n(1));
      case op::APPENDS: return append(pop_mark());
      case op::SETITEM: return set_items(pop_n(2));
      case op::SETITEMS: return set_items(pop_mark());
      default: return false;
    }
  }
  bool make_dict(const std::vector<size_t>& items) {
    push_container(Node::Kind::Dict, {});
    return set_items(items);
  }
  // Onto the list on top of the stack (below the values just popped).
  bool append(const std::vector<size_t>& items) {
    Node& list = nodes_[top()];
    if (list.kind != Node::Kind::List)
      fail(std::string("cannot append to a ") + kind_name(list.kind) + ", only to a list");
    list.items.insert(list.items.end(), items.begin(), items.end());
    return true;
  }
  // Key, value pairs into the dict on top of the stack (below the values just popped).
  bool set_items(const std::vector<size_t>& items) {
    Node& dict = nodes_[top()];
    if (dict.kind != Node::Kind::Dict)
      fail(std::string("cannot set items of a ") + kind_name(dict.kind) + ", only of a dict");
    if (items.size() % 2 != 0) fail("a dict needs key, value pairs; found an odd number of values");
    for (size_t i = 0; i < items.size(); i += 2) {
      const Node& key = nodes_[items[i]];
      if (key.kind != Node::Kind::Scalar || !key.scalar.is_string())
        fail("dict key " + describe(key) + " is not a string (JSON object keys are strings)");
    }
    dict.items.insert(dict.items.end(), items.begin(), items.end());
    return true;
  }

  bool stack_opcode(uint8_t code) {
    switch (code) {
      case op::PROTO: return check_protocol(read_le(1, "PROTO"));
      case op::FRAME: return check_frame(read_le(8, "FRAME"));
      case op::MARK: marks_.push_back(stack_.size()); return true;
      case op::POP: return pop_or_pop_mark();
      case op::POP_MARK: pop_mark(); return true;
      case op::DUP: stack_.push_back(top()); return true;
      case op::PUT: return memoize(memo_key(read_line("PUT"), "PUT"));
      case op::BINPUT: return memoize(read_le(1, "BINPUT"));
      case op::LONG_BINPUT: return memoize(read_le(4, "LONG_BINPUT"));
      case op::MEMOIZE: return memoize(memo_.size());
      case op::GET: return push_memo(memo_key(read_line("GET"), "GET"));
      case op::BINGET: return push_memo(read_le(1, "BINGET"));
      case op::LONG_BINGET: return push_memo(read_le(4, "LONG_BINGET"));
      default: return false;
    }
  }
  bool check_protocol(uint64_t protocol) const {
    if (protocol > kHighestProtocol)
      fail("unsupported pickle protocol " + std::to_string(protocol) + " (this reader knows 0 to " +
           std::to_string(kHighestProtocol) + ")");
    return true;
  }
  // Protocol 4's frames only group opcodes for buffered reading; the opcodes run on regardless.
  bool check_frame(uint64_t size) const {
    if (size > s_.size() - pos_)
      fail("truncated FRAME: claims " + std::to_string(size) + " bytes, " + std::to_string(s_.size() - pos_) + " left");
    return true;
  }
  uint64_t memo_key(std::string_view text, const char* what) const {
    const int64_t key = parse_int(text, what);
    if (key < 0) fail(std::string("negative ") + what + " argument " + std::to_string(key));
    return static_cast<uint64_t>(key);
  }
  bool memoize(uint64_t key) {
    memo_[key] = top();
    return true;
  }
  bool push_memo(uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo entry " + std::to_string(key) + " is read before anything was stored in it");
    stack_.push_back(it->second);
    return true;
  }
  // Python's POP takes the MARK itself when nothing was pushed after it.
  bool pop_or_pop_mark() {
    if (stack_.size() > stack_floor() || marks_.empty()) {
      pop();
    } else {
      marks_.pop_back();
    }
    return true;
  }

  [[noreturn]] void reject(uint8_t code) const {
    if (const char* name = object_opcode_name(code))
      fail(std::string("opcode ") + name + imported_name(code) +
           " imports or calls Python code: the file holds Python objects, not plain data (" + kPlainData + ")");
    if (const char* name = unsupported_opcode_name(code))
      fail(std::string("opcode ") + name + " is not supported: " + kPlainData);
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", code);
    fail(std::string("unknown opcode ") + hex + " (not a pickle, or a corrupt one)");
  }
  // " (module.name)" that a GLOBAL, INST or STACK_GLOBAL would import, so the message names the class.
  std::string imported_name(uint8_t code) const {
    std::string module, name;
    if (code == op::GLOBAL || code == op::INST) {  // two lines follow the opcode
      const size_t nl1 = s_.find('\n', pos_);
      const size_t nl2 = nl1 == std::string::npos ? nl1 : s_.find('\n', nl1 + 1);
      if (nl2 == std::string::npos) return "";
      module = s_.substr(pos_, nl1 - pos_);
      name = s_.substr(nl1 + 1, nl2 - nl1 - 1);
    } else if (code == op::STACK_GLOBAL && stack_.size() >= stack_floor() + 2) {  // two strings on the stack
      const json& m = nodes_[stack_[stack_.size() - 2]].scalar;
      const json& n = nodes_[stack_.back()].scalar;
      if (!m.is_string() || !n.is_string()) return "";
      module = m.get<std::string>();
      name = n.get<std::string>();
    } else {
      return "";
    }
    return " (" + printable(module) + "." + printable(name) + ")";
  }

  // ---- the stack: an opcode pops only values pushed since the last MARK, as in Python ----

  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  bool push_scalar(json value) {
    nodes_.push_back(Node{Node::Kind::Scalar, at_, std::move(value), {}});
    stack_.push_back(nodes_.size() - 1);
    return true;
  }
  bool push_container(Node::Kind kind, std::vector<size_t> items) {
    nodes_.push_back(Node{kind, at_, nullptr, std::move(items)});
    stack_.push_back(nodes_.size() - 1);
    return true;
  }
  size_t top() const {
    if (stack_.size() <= stack_floor()) fail("stack underflow: the opcode needs a value above the last MARK");
    return stack_.back();
  }
  size_t pop() {
    const size_t id = top();
    stack_.pop_back();
    return id;
  }
  std::vector<size_t> pop_n(size_t n) {
    if (stack_.size() < stack_floor() + n)
      fail("stack underflow: the opcode needs " + std::to_string(n) + " values above the last MARK, found " +
           std::to_string(stack_.size() - stack_floor()));
    std::vector<size_t> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    return items;
  }
  std::vector<size_t> pop_mark() {
    if (marks_.empty()) fail("the opcode needs a MARK and there is none on the stack");
    std::vector<size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  // ---- the result ----

  json to_json(size_t id, int depth) {
    const Node& n = nodes_[id];
    if (depth > kMaxDepth) fail_at(n.offset, "values nested deeper than " + std::to_string(kMaxDepth) + " levels");
    if (n.kind == Node::Kind::Scalar) {
      charge(1 + (n.scalar.is_string() ? n.scalar.get_ref<const std::string&>().size() : 0));
      return n.scalar;
    }
    if (open_.empty()) open_.assign(nodes_.size(), false);
    if (open_[id])
      fail_at(n.offset, std::string("the ") + kind_name(n.kind) + " made here contains itself, which JSON cannot hold");
    open_[id] = true;
    charge(1);
    json out = n.kind == Node::Kind::Dict ? json::object() : json::array();
    for (size_t i = 0; i < n.items.size(); ++i) {
      if (n.kind != Node::Kind::Dict) {
        out.push_back(to_json(n.items[i], depth + 1));
      } else if (i % 2 == 0) {  // a later value of the same key wins, as in a Python dict
        const std::string& key = nodes_[n.items[i]].scalar.get_ref<const std::string&>();
        charge(key.size());
        out[key] = to_json(n.items[i + 1], depth + 1);
      }
    }
    open_[id] = false;
    return out;
  }
  void charge(size_t units) {
    const size_t limit = std::max(kExpansionFloor, kExpansionPerByte * s_.size());
    expanded_ += units;
    if (expanded_ > limit)
      throw Error(path_ + ": the pickle's shared values expand to more than " + std::to_string(limit) +
                  " JSON values and string bytes (one value referenced over and over); refusing to expand it");
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;  // the next byte to read
  size_t at_ = 0;   // the current opcode's byte, for messages
  std::vector<Node> nodes_;
  std::vector<size_t> stack_;                  // node ids
  std::vector<size_t> marks_;                  // stack_ sizes at the open MARKs
  std::unordered_map<uint64_t, size_t> memo_;  // memo key -> node id
  std::vector<bool> open_;                     // nodes being converted, to catch a cycle
  size_t expanded_ = 0;                        // JSON values and string bytes built so far
};

}  // namespace

json parse_pickle(const std::string& bytes, const std::string& path) { return Unpickler(bytes, path).run(); }

json read_pickle(const std::string& path) { return parse_pickle(read_text_file(path, "pickle file"), path); }

}  // namespace cma::data
