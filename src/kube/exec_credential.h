// Credentials from an exec plugin, as client-go's plugin/pkg/client/auth/exec: runs the
// configured command with its args and env plus KUBERNETES_EXEC_INFO (an ExecCredential
// of client.authentication.k8s.io/v1 or v1beta1), reads the ExecCredential it prints,
// and caches the result until status.expirationTimestamp passes (forever when absent)
// or until invalidate() after the server rejects it. Thread-safe: concurrent callers
// share one plugin run.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "kube/config.h"

namespace canaryd::kube {

inline constexpr std::string_view kExecApiVersionV1 = "client.authentication.k8s.io/v1";
inline constexpr std::string_view kExecApiVersionV1beta1 = "client.authentication.k8s.io/v1beta1";

// ExecCredentialSpec.cluster, sent when the plugin asks for provideClusterInfo.
struct ExecClusterInfo {
  std::string server;
  std::string tlsServerName;
  bool insecureSkipTlsVerify = false;
  std::string certificateAuthorityData;  // PEM (sent base64-encoded)
  std::string proxyUrl;
  bool disableCompression = false;
  std::string config;  // the cluster's client.authentication.k8s.io/exec extension, JSON
};

// ExecCredentialStatus.
struct ExecCredential {
  std::string token;
  std::string clientCertificateData;  // PEM
  std::string clientKeyData;          // PEM
  std::optional<Clock::WallTime> expirationTimestamp;
};

class ExecCredentialProvider {
 public:
  // `user` names the kubeconfig user in errors. `cluster` is sent only when
  // config.provideClusterInfo. The clock must outlive the provider.
  ExecCredentialProvider(ExecConfig config, std::string user,
                         std::optional<ExecClusterInfo> cluster,
                         Clock& clock = workqueue::RealClock::instance());

  // The cached credential, or a fresh one from running the plugin when there is none
  // or it has expired (now > expirationTimestamp). Errors: the command cannot be
  // started or exits non-zero (its stderr is quoted), prints something that is not an
  // ExecCredential of the configured apiVersion, or returns no token and no
  // certificate/key pair, or only half of the pair; interactiveMode Always (a daemon has
  // no terminal).
  ConfigResult<ExecCredential> credential();

  // Drops the cached credential so the next call runs the plugin (after a 401).
  void invalidate();

  // How many times the plugin has run.
  int runs() const;

  // The KUBERNETES_EXEC_INFO value given to the plugin.
  std::string execInfo() const;

 private:
  ConfigError error(std::string message) const;
  ConfigResult<ExecCredential> run();

  const ExecConfig config_;
  const std::string user_;
  const std::optional<ExecClusterInfo> cluster_;
  Clock& clock_;

  mutable std::mutex mu_;
  std::optional<ExecCredential> cached_;
  int runs_ = 0;
};

}  // namespace canaryd::kube
