// Decoder for Kubernetes' protobuf request bodies (application/vnd.kubernetes.protobuf):
// the 4-byte magic "k8s\0" followed by a runtime.Unknown message (typeMeta, raw,
// contentEncoding, contentType) whose raw bytes are the object's generated.proto
// encoding. Covers what helm's release storage sends: core/v1 Secret and ConfigMap with
// their ObjectMeta, Namespace (kubectl create namespace sends protobuf), and the
// meta/v1 DeleteOptions body client-go's typed clients send with DELETE. Pure functions.
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

// Decodes a protobuf meta/v1 DeleteOptions body (envelope kind "DeleteOptions" or
// absent) into its JSON form: gracePeriodSeconds (seconds), preconditions {uid,
// resourceVersion}, orphanDependents, propagationPolicy, dryRun (generated.proto fields
// 1-5). Unknown fields are skipped, as the Go decoder does.
boost::system::result<rapidjson::Document, ProtobufError> decodeProtobufDeleteOptions(
    std::string_view body);

}  // namespace canaryd::emulator
