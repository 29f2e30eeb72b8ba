#include "protobuf.h"

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>

#include "kube/base64.h"

namespace canaryd::emulator {

namespace {

using Alloc = rapidjson::Document::AllocatorType;
using rapidjson::Value;

// One protobuf field as read from the wire.
struct Field {
  uint32_t number = 0;
  uint32_t wireType = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  bool varint(uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      out |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }

  // Reads the next field; false on malformed input.
  bool next(Field& f) {
    uint64_t key;
    if (!varint(key)) return false;
    f.number = static_cast<uint32_t>(key >> 3);
    f.wireType = static_cast<uint32_t>(key & 7);
    switch (f.wireType) {
      case 0:
        return varint(f.varint);
      case 1:
        if (data_.size() - pos_ < 8) return false;
        pos_ += 8;
        return true;
      case 2: {
        uint64_t len;
        if (!varint(len) || len > data_.size() - pos_) return false;
        f.bytes = data_.substr(pos_, len);
        pos_ += len;
        return true;
      }
      case 5:
        if (data_.size() - pos_ < 4) return false;
        pos_ += 4;
        return true;
      default:
        return false;
    }
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

using FieldFn = std::function<bool(const Field&)>;

bool forEachField(std::string_view msg, const FieldFn& fn) {
  Reader r(msg);
  Field f;
  while (!r.done()) {
    if (!r.next(f) || !fn(f)) return false;
  }
  return true;
}

Value str(std::string_view s, Alloc& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

// A map<string, string|bytes> entry: key = 1, value = 2.
bool mapEntry(std::string_view msg, Value& target, bool valueIsBytes, Alloc& a) {
  std::string_view key, val;
  if (!forEachField(msg, [&](const Field& f) {
        if (f.wireType != 2) return true;
        if (f.number == 1) key = f.bytes;
        if (f.number == 2) val = f.bytes;
        return true;
      }))
    return false;
  if (!target.IsObject()) target.SetObject();
  Value v = valueIsBytes ? Value(kube::base64Encode(val).c_str(), a) : str(val, a);
  auto it = target.FindMember(str(key, a));
  if (it != target.MemberEnd())
    it->value = v;
  else
    target.AddMember(str(key, a), v, a);
  return true;
}

bool time(std::string_view msg, std::string& out) {
  int64_t seconds = 0;
  if (!forEachField(msg, [&](const Field& f) {
        if (f.number == 1 && f.wireType == 0) seconds = static_cast<int64_t>(f.varint);
        return true;
      }))
    return false;
  if (seconds == 0) return true;
  std::time_t t = seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  out = buf;
  return true;
}

bool ownerReference(std::string_view msg, Value& out, Alloc& a) {
  out.SetObject();
  return forEachField(msg, [&](const Field& f) {
    switch (f.number) {
      case 1:
        out.AddMember("kind", str(f.bytes, a), a);
        break;
      case 3:
        out.AddMember("name", str(f.bytes, a), a);
        break;
      case 4:
        out.AddMember("uid", str(f.bytes, a), a);
        break;
      case 5:
        out.AddMember("apiVersion", str(f.bytes, a), a);
        break;
      case 6:
        out.AddMember("controller", f.varint != 0, a);
        break;
      case 7:
        out.AddMember("blockOwnerDeletion", f.varint != 0, a);
        break;
      default:
        break;
    }
    return true;
  });
}

bool objectMeta(std::string_view msg, Value& meta, Alloc& a) {
  meta.SetObject();
  Value labels(rapidjson::kObjectType), annotations(rapidjson::kObjectType);
  Value owners(rapidjson::kArrayType), finalizers(rapidjson::kArrayType);
  bool ok = forEachField(msg, [&](const Field& f) {
    switch (f.number) {
      case 1:
        meta.AddMember("name", str(f.bytes, a), a);
        break;
      case 2:
        meta.AddMember("generateName", str(f.bytes, a), a);
        break;
      case 3:
        meta.AddMember("namespace", str(f.bytes, a), a);
        break;
      case 5:
        meta.AddMember("uid", str(f.bytes, a), a);
        break;
      case 6:
        meta.AddMember("resourceVersion", str(f.bytes, a), a);
        break;
      case 7:
        meta.AddMember("generation", static_cast<int64_t>(f.varint), a);
        break;
      case 8: {
        std::string ts;
        if (!time(f.bytes, ts)) return false;
        if (!ts.empty()) meta.AddMember("creationTimestamp", Value(ts.c_str(), a), a);
        break;
      }
      case 11:
        return mapEntry(f.bytes, labels, false, a);
      case 12:
        return mapEntry(f.bytes, annotations, false, a);
      case 13: {
        Value o;
        if (!ownerReference(f.bytes, o, a)) return false;
        owners.PushBack(o, a);
        break;
      }
      case 14:
        finalizers.PushBack(str(f.bytes, a), a);
        break;
      default:
        break;  // selfLink, deletion fields, managedFields: not taken from clients
    }
    return true;
  });
  if (!labels.ObjectEmpty()) meta.AddMember("labels", labels, a);
  if (!annotations.ObjectEmpty()) meta.AddMember("annotations", annotations, a);
  if (!owners.Empty()) meta.AddMember("ownerReferences", owners, a);
  if (!finalizers.Empty()) meta.AddMember("finalizers", finalizers, a);
  return ok;
}

// The "k8s\0" magic and the runtime.Unknown around the object: typeMeta = 1
// (apiVersion = 1, kind = 2), raw = 2.
struct Envelope {
  std::string_view apiVersion, kind, raw;
};

std::optional<ProtobufError> unwrap(std::string_view body, Envelope& env) {
  static constexpr std::string_view kMagic("k8s\0", 4);
  if (body.substr(0, 4) != kMagic)
    return ProtobufError{
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"};
  bool ok = forEachField(body.substr(4), [&](const Field& f) {
    if (f.wireType != 2) return true;
    if (f.number == 1) {
      return forEachField(f.bytes, [&](const Field& t) {
        if (t.number == 1) env.apiVersion = t.bytes;
        if (t.number == 2) env.kind = t.bytes;
        return true;
      });
    }
    if (f.number == 2) env.raw = f.bytes;
    return true;
  });
  if (!ok) return ProtobufError{"malformed protobuf envelope"};
  return std::nullopt;
}

}  // namespace

boost::system::result<rapidjson::Document, ProtobufError> decodeProtobufObject(
    std::string_view body, const std::string& group, const std::string& kind) {
  if (!group.empty() || (kind != "Secret" && kind != "ConfigMap" && kind != "Namespace"))
    return ProtobufError{"protobuf is not supported for " + kind, true};
  Envelope env;
  if (auto err = unwrap(body, env)) return *err;
  std::string_view raw = env.raw, apiVersion = env.apiVersion, typeKind = env.kind;
  if (!typeKind.empty() && typeKind != kind)
    return ProtobufError{"the kind in the data (" + std::string(typeKind) + ") does not match " +
                         kind};
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("apiVersion", apiVersion.empty() ? Value("v1") : str(apiVersion, a), a);
  doc.AddMember("kind", Value(kind.c_str(), a), a);
  Value meta(rapidjson::kObjectType), data(rapidjson::kObjectType), binary(rapidjson::kObjectType),
      stringData(rapidjson::kObjectType);
  std::string_view secretType;
  bool immutable = false, hasImmutable = false;
  bool isSecret = kind == "Secret";
  Value finalizers(rapidjson::kArrayType);
  bool ok = forEachField(raw, [&](const Field& f) {
    if (f.number == 1) return objectMeta(f.bytes, meta, a);
    if (kind == "Namespace") {
      // Namespace: spec = 2 (NamespaceSpec: finalizers = 1); status = 3 is server-owned.
      if (f.number == 2 && f.wireType == 2)
        return forEachField(f.bytes, [&](const Field& g) {
          if (g.number == 1 && g.wireType == 2) finalizers.PushBack(str(g.bytes, a), a);
          return true;
        });
      return true;
    }
    if (isSecret) {
      switch (f.number) {
        case 2:
          return mapEntry(f.bytes, data, true, a);
        case 3:
          secretType = f.bytes;
          break;
        case 4:
          return mapEntry(f.bytes, stringData, false, a);
        case 5:
          immutable = f.varint != 0;
          hasImmutable = true;
          break;
        default:
          break;
      }
    } else {
      switch (f.number) {
        case 2:
          return mapEntry(f.bytes, data, false, a);
        case 3:
          return mapEntry(f.bytes, binary, true, a);
        case 4:
          immutable = f.varint != 0;
          hasImmutable = true;
          break;
        default:
          break;
      }
    }
    return true;
  });
  if (!ok) return ProtobufError{"malformed protobuf " + kind};
  doc.AddMember("metadata", meta, a);
  if (!finalizers.Empty()) {
    Value spec(rapidjson::kObjectType);
    spec.AddMember("finalizers", finalizers, a);
    doc.AddMember("spec", spec, a);
  }
  if (!data.ObjectEmpty()) doc.AddMember("data", data, a);
  if (!binary.ObjectEmpty()) doc.AddMember("binaryData", binary, a);
  if (!stringData.ObjectEmpty()) doc.AddMember("stringData", stringData, a);
  if (isSecret && !secretType.empty()) doc.AddMember("type", str(secretType, a), a);
  if (hasImmutable) doc.AddMember("immutable", immutable, a);
  return doc;
}

boost::system::result<rapidjson::Document, ProtobufError> decodeProtobufDeleteOptions(
    std::string_view body) {
  Envelope env;
  if (auto err = unwrap(body, env)) return *err;
  if (!env.kind.empty() && env.kind != "DeleteOptions")
    return ProtobufError{"the kind in the data (" + std::string(env.kind) +
                         ") does not match DeleteOptions"};
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("kind", "DeleteOptions", a);
  doc.AddMember("apiVersion", env.apiVersion.empty() ? Value("v1") : str(env.apiVersion, a), a);
  Value dryRun(rapidjson::kArrayType);
  bool ok = forEachField(env.raw, [&](const Field& f) {
    switch (f.number) {
      case 1:
        if (f.wireType != 0) return false;
        doc.AddMember("gracePeriodSeconds", static_cast<int64_t>(f.varint), a);
        break;
      case 2: {
        if (f.wireType != 2) return false;
        Value pre(rapidjson::kObjectType);
        if (!forEachField(f.bytes, [&](const Field& p) {
              if (p.wireType != 2) return p.number != 1 && p.number != 2;
              if (p.number == 1) pre.AddMember("uid", str(p.bytes, a), a);
              if (p.number == 2) pre.AddMember("resourceVersion", str(p.bytes, a), a);
              return true;
            }))
          return false;
        doc.AddMember("preconditions", pre, a);
        break;
      }
      case 3:
        if (f.wireType != 0) return false;
        doc.AddMember("orphanDependents", f.varint != 0, a);
        break;
      case 4:
        if (f.wireType != 2) return false;
        doc.AddMember("propagationPolicy", str(f.bytes, a), a);
        break;
      case 5:
        if (f.wireType != 2) return false;
        dryRun.PushBack(str(f.bytes, a), a);
        break;
      default:
        break;
    }
    return true;
  });
  if (!ok) return ProtobufError{"malformed protobuf DeleteOptions"};
  if (!dryRun.Empty()) doc.AddMember("dryRun", dryRun, a);
  return doc;
}

}  // namespace canaryd::emulator
