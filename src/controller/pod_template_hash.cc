#include "controller/pod_template_hash.h"

#include <array>

namespace canaryd::controller {

void Fnv32a::write(std::string_view bytes) {
  constexpr uint32_t kPrime = 16777619u;
  for (unsigned char c : bytes) {
    hash_ ^= c;
    hash_ *= kPrime;
  }
}

std::string safeEncodeString(std::string_view s) {
  static constexpr std::string_view kAlphanums = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out.push_back(kAlphanums[c % kAlphanums.size()]);
  return out;
}

std::string computePodTemplateHash(std::string_view canonicalTemplateJson,
                                   std::optional<int32_t> collisionCount) {
  Fnv32a hasher;
  hasher.write(canonicalTemplateJson);
  return finishPodTemplateHash(hasher.sum32(), collisionCount);
}

std::string finishPodTemplateHash(uint32_t templateState, std::optional<int32_t> collisionCount) {
  Fnv32a hasher(templateState);
  if (collisionCount) {
    // binary.LittleEndian.PutUint32 into make([]byte, 8): the upper 4 bytes stay zero.
    std::array<char, 8> bytes{};
    auto v = static_cast<uint32_t>(*collisionCount);
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    hasher.write(std::string_view(bytes.data(), bytes.size()));
  }
  return safeEncodeString(std::to_string(hasher.sum32()));
}

uint32_t podTemplateState(const api::PodTemplate& tpl) {
  if (tpl.trimmedFnv32a) return *tpl.trimmedFnv32a;
  Fnv32a hasher;
  hasher.write(tpl.json);
  return hasher.sum32();
}

std::string podTemplateHash(const api::PodTemplate& tpl, std::optional<int32_t> collisionCount) {
  return finishPodTemplateHash(podTemplateState(tpl), collisionCount);
}

void trimPodTemplate(api::PodTemplate& tpl) {
  if (tpl.trimmedFnv32a) return;
  tpl.trimmedFnv32a = podTemplateState(tpl);
  std::string().swap(tpl.json);
}

}  // namespace canaryd::controller
