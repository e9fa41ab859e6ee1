// pytorch_model.bin without executing it: torch.save writes a zip archive holding data.pkl (a pickle of
// the state dict) and data/<key> (the raw storages), or, in its legacy format, pickles and storages back to
// back (read_legacy). The pickle is interpreted by a small stack machine
// that knows the opcodes torch.save emits and exactly four callables (OrderedDict, _rebuild_tensor_v2,
// _rebuild_parameter and the storage types as persistent ids); any other global is refused, so a
// malicious checkpoint cannot run code.
#include "frontend/torch_pickle.h"

#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <variant>

#include "kiln/error.h"
#include "util/file.h"
#include "util/half.h"
#include "util/untrusted.h"

namespace kiln::frontend {
namespace {

// ---- zip (stored entries, as torch.save writes them) ---------------------------------------------------
struct ZipEntry {
  uint64_t offset = 0, size = 0;  // of the data
};

template <typename T> T le(std::string_view b, uint64_t at) {
  if (at > b.size() || sizeof(T) > b.size() - at) fail("truncated zip structure at offset ", at);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<uint8_t>(b[at + i])) << (8 * i);
  return v;
}

// Every offset and size read from the archive is checked against the file before it is used.
std::map<std::string, ZipEntry> read_zip(std::string_view bytes, const std::string& path) {
  if (bytes.size() < 22) fail("'", path, "' is not a zip archive (", bytes.size(), " bytes)");
  size_t eocd = std::string::npos;
  for (size_t i = bytes.size() - 22 + 1; i-- > 0 && bytes.size() - i < 22 + 65536;)
    if (le<uint32_t>(bytes, i) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) fail("'", path, "' is not a zip archive (no end-of-directory record): not a torch.save file");
  uint64_t count = le<uint16_t>(bytes, eocd + 10), cd = le<uint32_t>(bytes, eocd + 16);
  if (cd == 0xFFFFFFFFu || count == 0xFFFF) {  // zip64: the locator just before the record
    if (eocd < 20 || le<uint32_t>(bytes, eocd - 20) != 0x07064b50) fail("'", path, "': bad zip64 locator");
    const uint64_t rec = le<uint64_t>(bytes, eocd - 20 + 8);
    count = le<uint64_t>(bytes, rec + 32);
    cd = le<uint64_t>(bytes, rec + 48);
  }
  // Each central directory entry takes at least 46 bytes: a count the file cannot hold is refused up front.
  if (cd > bytes.size() || count > (bytes.size() - cd) / 46)
    fail("'", path, "': the zip central directory (", count, " entries at offset ", cd, ") does not fit in the file's ", bytes.size(), " bytes");
  std::map<std::string, ZipEntry> entries;
  uint64_t p = cd;
  for (uint64_t i = 0; i < count; ++i) {
    if (le<uint32_t>(bytes, p) != 0x02014b50) fail("'", path, "': bad zip central directory entry ", i);
    const uint16_t method = le<uint16_t>(bytes, p + 10), name_len = le<uint16_t>(bytes, p + 28), extra_len = le<uint16_t>(bytes, p + 30),
                   comment_len = le<uint16_t>(bytes, p + 32);
    uint64_t csize = le<uint32_t>(bytes, p + 20), usize = le<uint32_t>(bytes, p + 24), local = le<uint32_t>(bytes, p + 42);
    if (p + 46 + name_len + extra_len + comment_len > bytes.size()) fail("'", path, "': zip central directory entry ", i, " runs past the end of the file");
    const std::string name(bytes.substr(p + 46, name_len));
    for (size_t e = p + 46 + name_len; e + 4 <= p + 46 + name_len + extra_len;) {  // zip64 extra field
      const uint16_t id = le<uint16_t>(bytes, e), len = le<uint16_t>(bytes, e + 2);
      if (id == 1) {
        size_t q = e + 4;
        if (usize == 0xFFFFFFFFu) usize = le<uint64_t>(bytes, q), q += 8;
        if (csize == 0xFFFFFFFFu) csize = le<uint64_t>(bytes, q), q += 8;
        if (local == 0xFFFFFFFFu) local = le<uint64_t>(bytes, q);
      }
      e += 4 + len;
    }
    if (method != 0) fail("'", path, "': entry '", name, "' is compressed (method ", method, "); torch.save stores entries uncompressed");
    if (le<uint32_t>(bytes, local) != 0x04034b50) fail("'", path, "': bad zip local header for '", name, "'");
    const uint64_t data = local + 30 + le<uint16_t>(bytes, local + 26) + le<uint16_t>(bytes, local + 28);
    if (data > bytes.size() || usize > bytes.size() - data) fail("'", path, "': entry '", name, "' lies outside the file");
    entries[name] = {data, usize};
    p += 46 + name_len + extra_len + comment_len;
  }
  return entries;
}

// ---- the pickle machine ---------------------------------------------------------------------------------
struct Obj;
using Ptr = std::shared_ptr<Obj>;
struct Global { std::string module, name; };
struct StorageRef { std::string key; DType dtype; };
struct TensorRef { StorageRef storage; int64_t offset = 0; Dims size, stride; };
struct Obj {
  enum Kind { none, boolean, integer, real, text, tuple, list, dict, global, storage, tensor, mark } kind = none;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<Ptr> items;                    // tuple, list
  std::vector<std::pair<Ptr, Ptr>> pairs;    // dict
  Global g;
  StorageRef st;
  TensorRef t;
};
// Every object the machine makes, so they can all be released without recursion: a pickle can build
// cycles (a list appended to itself through the memo) and nestings millions deep, which shared_ptr alone
// would leak or free recursively until the stack overflows.
struct Objects {
  std::vector<Ptr> all;
  ~Objects() {
    for (const Ptr& o : all) {
      o->items.clear();
      o->pairs.clear();
    }
  }
};
thread_local Objects* g_objects = nullptr;

Ptr make(Obj::Kind k) {
  auto o = std::make_shared<Obj>();
  o->kind = k;
  g_objects->all.push_back(o);
  return o;
}

DType storage_dtype(const std::string& name, const std::string& path) {
  static const std::pair<const char*, DType> kinds[] = {
      {"FloatStorage", DType::f32}, {"HalfStorage", DType::f16}, {"BFloat16Storage", DType::bf16},
      {"DoubleStorage", DType::f64}, {"LongStorage", DType::i64},  {"IntStorage", DType::i32},
      {"CharStorage", DType::i8},    {"ByteStorage", DType::u8},   {"BoolStorage", DType::boolean}};
  for (const auto& [n, t] : kinds)
    if (name == n) return t;
  fail("'", path, "': storage type torch.", name, " is not supported (Float, Half, BFloat16, Double, Long, Int, Char, Byte, "
       "Bool)");
}

bool is_float(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16 || t == DType::f64; }

Dims ints_of(const Ptr& tuple, const char* what, const std::string& path) {
  if (tuple->kind != Obj::tuple) fail("'", path, "': ", what, " is not a tuple");
  Dims d;
  for (const Ptr& x : tuple->items) {
    if (x->kind != Obj::integer) fail("'", path, "': ", what, " holds a non-integer");
    d.push_back(x->i);
  }
  return d;
}

// One pickle of `b` starting at byte `p` (advanced past its STOP); `pk` names it in errors ("data.pkl").
Ptr unpickle(std::string_view b, size_t& p, const std::string& path, const std::string& pk) {
  std::vector<Ptr> stack;
  std::map<uint64_t, Ptr> memo;
  auto need = [&](size_t n) {
    if (p + n > b.size()) fail("'", path, "': ", pk, " is truncated at byte ", p);
  };
  auto pop = [&]() {
    if (stack.empty()) fail("'", path, "': ", pk, " pops an empty stack at byte ", p);
    Ptr v = stack.back();
    stack.pop_back();
    return v;
  };
  auto top = [&]() -> Obj& {
    if (stack.empty()) fail("'", path, "': ", pk, " reads an empty stack at byte ", p);
    return *stack.back();
  };
  auto pop_mark = [&]() {
    size_t m = stack.size();
    while (m > 0 && stack[m - 1]->kind != Obj::mark) --m;
    if (m == 0) fail("'", path, "': ", pk, " has no MARK at byte ", p);
    std::vector<Ptr> items(stack.begin() + static_cast<std::ptrdiff_t>(m), stack.end());
    stack.resize(m - 1);
    return items;
  };
  auto line = [&]() {
    const size_t e = b.find('\n', p);
    if (e == std::string::npos) fail("'", path, "': ", pk, " is truncated at byte ", p);
    std::string s(b.substr(p, e - p));
    p = e + 1;
    return s;
  };
  for (;;) {
    need(1);
    const uint8_t op = static_cast<uint8_t>(b[p++]);
    switch (op) {
      case 0x80: need(1); ++p; break;  // PROTO
      case 0x95: need(8); p += 8; break;  // FRAME
      case '.': return pop();  // STOP
      case '}': stack.push_back(make(Obj::dict)); break;
      case ']': stack.push_back(make(Obj::list)); break;
      case ')': stack.push_back(make(Obj::tuple)); break;
      case '(': stack.push_back(make(Obj::mark)); break;
      case 'N': stack.push_back(make(Obj::none)); break;
      case 0x88: case 0x89: { auto o = make(Obj::boolean); o->i = op == 0x88; stack.push_back(o); break; }
      case 'K': { need(1); auto o = make(Obj::integer); o->i = static_cast<uint8_t>(b[p++]); stack.push_back(o); break; }
      case 'M': { need(2); auto o = make(Obj::integer); o->i = le<uint16_t>(b, p); p += 2; stack.push_back(o); break; }
      case 'J': { need(4); auto o = make(Obj::integer); o->i = static_cast<int32_t>(le<uint32_t>(b, p)); p += 4; stack.push_back(o); break; }
      case 0x8a: {  // LONG1
        need(1);
        const size_t n = static_cast<uint8_t>(b[p++]);
        need(n);
        if (n > 8) fail("'", path, "': ", pk, " has an integer wider than 64 bits");
        uint64_t u = 0;
        for (size_t k = 0; k < n; ++k) u |= static_cast<uint64_t>(static_cast<uint8_t>(b[p + k])) << (8 * k);
        if (n && n < 8 && (static_cast<uint8_t>(b[p + n - 1]) & 0x80)) u -= uint64_t{1} << (8 * n);  // two's complement
        const int64_t v = static_cast<int64_t>(u);
        p += n;
        auto o = make(Obj::integer);
        o->i = v;
        stack.push_back(o);
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        need(8);
        uint64_t u = 0;
        for (int k = 0; k < 8; ++k) u = u << 8 | static_cast<uint8_t>(b[p + k]);
        p += 8;
        auto o = make(Obj::real);
        std::memcpy(&o->f, &u, 8);
        stack.push_back(o);
        break;
      }
      case 'X': case 0x8c: case 'U': case 'T': {  // BINUNICODE, SHORT_BINUNICODE, SHORT_BINSTRING, BINSTRING
        size_t n;
        if (op == 'X' || op == 'T') need(4), n = le<uint32_t>(b, p), p += 4;
        else need(1), n = static_cast<uint8_t>(b[p++]);
        need(n);
        auto o = make(Obj::text);
        o->s = std::string(b.substr(p, n));
        p += n;
        stack.push_back(o);
        break;
      }
      case 'c': {  // GLOBAL module\nname\n: only the callables a state dict needs
        auto o = make(Obj::global);
        o->g.module = line();
        o->g.name = line();
        const std::string full = o->g.module + "." + o->g.name;
        const bool allowed = full == "collections.OrderedDict" || full == "torch._utils._rebuild_tensor_v2" ||
                             full == "torch._utils._rebuild_parameter" || (o->g.module == "torch" && o->g.name.size() > 7 &&
                                                                            o->g.name.compare(o->g.name.size() - 7, 7, "Storage") == 0);
        if (!allowed) fail("'", path, "': ", pk, " refers to ", full, ", which is not part of a tensor state dict; Kiln does not execute pickled code");
        stack.push_back(o);
        break;
      }
      case 'q': need(1); memo[static_cast<uint8_t>(b[p++])] = stack.empty() ? nullptr : stack.back(); break;
      case 'r': need(4); memo[le<uint32_t>(b, p)] = stack.empty() ? nullptr : stack.back(); p += 4; break;
      case 0x94: memo[memo.size()] = stack.empty() ? nullptr : stack.back(); break;  // MEMOIZE
      case 'h': case 'j': {
        uint64_t k;
        if (op == 'h') need(1), k = static_cast<uint8_t>(b[p++]);
        else need(4), k = le<uint32_t>(b, p), p += 4;
        auto it = memo.find(k);
        if (it == memo.end() || !it->second) fail("'", path, "': ", pk, " reads memo ", k, " before writing it");
        stack.push_back(it->second);
        break;
      }
      case 0x85: case 0x86: case 0x87: {
        const size_t n = op - 0x84;
        auto o = make(Obj::tuple);
        for (size_t k = 0; k < n; ++k) o->items.insert(o->items.begin(), pop());
        stack.push_back(o);
        break;
      }
      case 't': { auto o = make(Obj::tuple); o->items = pop_mark(); stack.push_back(o); break; }
      case 'l': { auto o = make(Obj::list); o->items = pop_mark(); stack.push_back(o); break; }
      case 'a': { Ptr v = pop(); top().items.push_back(v); break; }
      case 'e': { std::vector<Ptr> v = pop_mark(); Obj& l = top(); l.items.insert(l.items.end(), v.begin(), v.end()); break; }
      case 's': { Ptr v = pop(), k = pop(); top().pairs.emplace_back(k, v); break; }
      case 'u': {
        std::vector<Ptr> v = pop_mark();
        if (v.size() % 2) fail("'", path, "': ", pk, " SETITEMS with an odd count");
        Obj& d = top();
        for (size_t k = 0; k < v.size(); k += 2) d.pairs.emplace_back(v[k], v[k + 1]);
        break;
      }
      case 'b': pop(); break;  // BUILD: state for an OrderedDict or a parameter; nothing to keep
      case 'Q': {  // BINPERSID: ('storage', torch.<T>Storage, key, location, numel)
        Ptr pid = pop();
        if (pid->kind != Obj::tuple || pid->items.size() < 3 || pid->items[0]->s != "storage" || pid->items[1]->kind != Obj::global)
          fail("'", path, "': ", pk, " has a persistent id that is not a storage");
        auto o = make(Obj::storage);
        o->st.dtype = storage_dtype(pid->items[1]->g.name, path);
        o->st.key = pid->items[2]->s;
        stack.push_back(o);
        break;
      }
      case 'R': {  // REDUCE: callable(*args), for the allowed callables only
        Ptr args = pop(), fn = pop();
        if (fn->kind != Obj::global || args->kind != Obj::tuple) fail("'", path, "': ", pk, " calls something that is not an allowed global");
        const std::string full = fn->g.module + "." + fn->g.name;
        if (full == "collections.OrderedDict") {
          stack.push_back(make(Obj::dict));
        } else if (full == "torch._utils._rebuild_tensor_v2") {
          if (args->items.size() < 4 || args->items[0]->kind != Obj::storage || args->items[1]->kind != Obj::integer)
            fail("'", path, "': ", pk, " rebuilds a tensor with unexpected arguments");
          auto o = make(Obj::tensor);
          o->t.storage = args->items[0]->st;
          o->t.offset = args->items[1]->i;
          o->t.size = ints_of(args->items[2], "a tensor size", path);
          o->t.stride = ints_of(args->items[3], "a tensor stride", path);
          stack.push_back(o);
        } else if (full == "torch._utils._rebuild_parameter") {
          if (args->items.empty() || args->items[0]->kind != Obj::tensor) fail("'", path, "': ", pk, " rebuilds a parameter without a tensor");
          stack.push_back(args->items[0]);
        } else {
          fail("'", path, "': ", pk, " calls ", full, ", which Kiln does not execute");
        }
        break;
      }
      default:
        fail("'", path, "': ", pk, " uses pickle opcode 0x", std::hex, static_cast<int>(op), std::dec, " at byte ", p - 1,
             ", which a torch.save state dict does not need");
    }
  }
}

// The tensor `t` views in its storage's bytes, copied out contiguous: f32 for floating storages (f16, bf16
// and f64 converted), the storage's own dtype for integer and bool ones (buffers such as position_ids).
Tensor materialize(const TensorRef& t, std::string_view storage, const std::string& what) {
  const size_t esz = dtype_size(t.storage.dtype);
  const int64_t elements = static_cast<int64_t>(storage.size() / esz);
  if (t.size.size() != t.stride.size()) fail(what, " has ", t.size.size(), " sizes and ", t.stride.size(), " strides");
  // The view must lie within its storage (checked before allocating): offset and strides non-negative,
  // the last element it reaches inside, and no more elements than the storage has (no expanded views).
  const int64_t numel = checked_numel(t.size, what);
  if (t.offset < 0) fail(what, " has a negative storage offset ", t.offset);
  if (numel > elements) fail(what, " has ", numel, " elements, more than its ", elements, "-element storage");
  if (numel > 0) {
    uint64_t last = static_cast<uint64_t>(t.offset);
    for (size_t d = 0; d < t.size.size(); ++d) {
      if (t.stride[d] < 0) fail(what, " has a negative stride ", t.stride[d]);
      last = checked_add(last, checked_mul(static_cast<uint64_t>(t.size[d] - 1), static_cast<uint64_t>(t.stride[d]), what), what);
    }
    if (last >= static_cast<uint64_t>(elements)) fail(what, " reads element ", last, " of a ", elements, "-element storage");
  }
  const DType dtype = t.storage.dtype;
  Tensor out = Tensor::uninitialized(is_float(dtype) ? DType::f32 : dtype, t.size);
  const size_t out_size = dtype_size(out.dtype());
  std::vector<int64_t> idx(t.size.size(), 0);
  for (int64_t n = 0; n < out.numel(); ++n) {
    int64_t at = t.offset;
    for (size_t d = 0; d < idx.size(); ++d) at += idx[d] * t.stride[d];
    if (at < 0 || at >= elements) fail(what, " reads element ", at, " of a ", elements, "-element storage");
    const char* src = storage.data() + at * esz;
    char* dst = static_cast<char*>(out.data()) + n * out_size;
    if (!is_float(dtype) || dtype == DType::f32) {
      std::memcpy(dst, src, esz);
    } else {
      float val;
      if (dtype == DType::f64) {
        double v;
        std::memcpy(&v, src, 8);
        val = static_cast<float>(v);
      } else {
        uint16_t h;
        std::memcpy(&h, src, 2);
        val = dtype == DType::f16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      std::memcpy(dst, &val, 4);
    }
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < t.size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// The tensors of an unpickled state dict, each from the bytes `storage(key)` returns (null: missing).
template <typename StorageOf>
std::map<std::string, Tensor> tensors_of(const Ptr& root, const std::string& path, StorageOf storage) {
  if (root->kind != Obj::dict) fail("'", path, "': the pickled object is not a state dict");
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : root->pairs) {
    if (k->kind != Obj::text || v->kind != Obj::tensor) continue;  // non-tensor entries (metadata) are skipped
    const std::optional<std::string_view> bytes = storage(v->t.storage.key);
    if (!bytes) fail("'", path, "': tensor '", k->s, "' refers to storage ", v->t.storage.key, ", which the file lacks");
    out.emplace(k->s, materialize(v->t, *bytes, "'" + path + "': tensor '" + k->s + "'"));
  }
  return out;
}

// torch.save's legacy format (_use_new_zipfile_serialization=False, the default before torch 1.6): five
// pickles back to back (the magic number, the protocol version, sys_info, the state dict, the sorted list of
// storage keys), then each storage in that order as an 8-byte little-endian element count and its bytes.
// The magic number is compared as bytes: it is a 10-byte integer, wider than the machine reads.
constexpr char kLegacyMagic[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
constexpr size_t kLegacyMagicSize = sizeof kLegacyMagic - 1;

bool is_legacy(std::string_view bytes) { return bytes.substr(0, kLegacyMagicSize) == std::string_view(kLegacyMagic, kLegacyMagicSize); }

std::map<std::string, Tensor> read_legacy(std::string_view bytes, const std::string& path) {
  size_t p = kLegacyMagicSize;
  const Ptr version = unpickle(bytes, p, path, "the legacy header");
  if (version->kind != Obj::integer || version->i != 1001)
    fail("'", path, "': legacy torch.save protocol version ", version->kind == Obj::integer ? std::to_string(version->i) : "(not an integer)",
         ", expected 1001");
  const Ptr info = unpickle(bytes, p, path, "the legacy sys_info");
  if (info->kind != Obj::dict) fail("'", path, "': the legacy sys_info is not a dict");
  for (const auto& [k, v] : info->pairs)
    if (k->kind == Obj::text && k->s == "little_endian" && !(v->kind == Obj::boolean && v->i))
      fail("'", path, "' was saved on a big-endian machine; Kiln reads little-endian checkpoints");
  const Ptr root = unpickle(bytes, p, path, "the legacy state dict pickle");
  const Ptr keys = unpickle(bytes, p, path, "the legacy storage key list");
  if (keys->kind != Obj::list) fail("'", path, "': the legacy storage key list is not a list");
  if (root->kind != Obj::dict) fail("'", path, "': the pickled object is not a state dict");
  // Element sizes by key, from the tensors that refer to them.
  std::map<std::string, DType> dtypes;
  for (const auto& [k, v] : root->pairs)
    if (v->kind == Obj::tensor) dtypes[v->t.storage.key] = v->t.storage.dtype;
  std::map<std::string, std::string_view> storages;
  for (const Ptr& key : keys->items) {
    if (key->kind != Obj::text) fail("'", path, "': the legacy storage key list holds a non-string");
    auto dt = dtypes.find(key->s);
    if (dt == dtypes.end()) fail("'", path, "': legacy storage ", key->s, " is not referred to by any tensor, so its size is unknown");
    if (bytes.size() - p < 8) fail("'", path, "': the file ends before legacy storage ", key->s);
    const uint64_t count = le<uint64_t>(bytes, p);
    p += 8;
    const uint64_t size = checked_mul(count, static_cast<uint64_t>(dtype_size(dt->second)), "'" + path + "': legacy storage " + key->s);
    if (size > bytes.size() - p)
      fail("'", path, "': legacy storage ", key->s, " of ", count, " elements runs past the end of the file (", bytes.size() - p, " bytes left)");
    storages[key->s] = bytes.substr(p, size);
    p += size;
  }
  return tensors_of(root, path, [&](const std::string& key) -> std::optional<std::string_view> {
    auto it = storages.find(key);
    if (it == storages.end()) return std::nullopt;
    return it->second;
  });
}

}  // namespace

std::map<std::string, Tensor> read_torch_state_dict(const std::string& path) {
  return read_torch_state_dict_bytes(read_file(path, "checkpoint"), path);
}

std::map<std::string, Tensor> read_torch_state_dict_bytes(std::string_view bytes, const std::string& name) {
  const std::string& path = name;
  Objects objects;
  Objects* const outer = g_objects;
  g_objects = &objects;
  struct Restore {
    Objects* outer;
    ~Restore() { g_objects = outer; }
  } restore{outer};
  if (is_legacy(bytes)) return read_legacy(bytes, path);
  const std::map<std::string, ZipEntry> zip = read_zip(bytes, path);
  std::string prefix;
  for (const auto& [name, _] : zip)
    if (name.size() >= 8 && name.compare(name.size() - 8, 8, "data.pkl") == 0) prefix = name.substr(0, name.size() - 8);
  auto pkl = zip.find(prefix + "data.pkl");
  if (pkl == zip.end()) fail("'", path, "' has no data.pkl: not a torch.save file");
  size_t p = 0;
  const Ptr root = unpickle(bytes.substr(pkl->second.offset, pkl->second.size), p, path, "data.pkl");
  return tensors_of(root, path, [&](const std::string& key) -> std::optional<std::string_view> {
    auto data = zip.find(prefix + "data/" + key);
    if (data == zip.end()) return std::nullopt;
    return bytes.substr(data->second.offset, data->second.size);
  });
}

}  // namespace kiln::frontend
