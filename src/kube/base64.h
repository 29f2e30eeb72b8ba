// Standard base64 (RFC 4648 with padding) through OpenSSL's EVP codec, for the
// `*-data` fields of kubeconfig files and exec credentials. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace canaryd::kube {

// Decodes base64 text; line breaks are ignored, as Go's encoding/base64 ignores them.
// Returns nullopt on any other non-alphabet character or bad padding.
std::optional<std::string> base64Decode(std::string_view text);

// Encodes on one line with padding.
std::string base64Encode(std::string_view bytes);

}  // namespace canaryd::kube
