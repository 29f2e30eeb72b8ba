// Decoder for Kubernetes' protobuf request bodies (application/vnd.kubernetes.protobuf):
// the 4-byte magic "k8s\0" followed by a runtime.Unknown message (typeMeta, raw,
// contentEncoding, contentType) whose raw bytes are the object's generated.proto
// encoding. Covers what helm's release storage sends: core/v1 Secret and ConfigMap with
// their ObjectMeta, and Namespace (kubectl create namespace sends protobuf). Pure functions.
#pragma once

#include <rapidjson/document.h>

#include <boost/system/result.hpp>
#include <string>
#include <string_view>

namespace canaryd::emulator {

struct ProtobufError {
  std::string message;
  bool unsupported = false;  // a kind this decoder does not know: answer 415
};

// Decodes the envelope and the object into its JSON form (apiVersion, kind, metadata,
// data ...). Secret.data and ConfigMap.binaryData bytes become base64 strings as in JSON.
boost::system::result<rapidjson::Document, ProtobufError> decodeProtobufObject(
    std::string_view body, const std::string& group, const std::string& kind);

}  // namespace canaryd::emulator
