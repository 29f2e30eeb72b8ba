// How canaryd finds and authenticates to the API server, as client-go's clientcmd and
// rest.InClusterConfig: kubeconfig files (KUBECONFIG lists merged by clientcmd's rules,
// contexts, clusters, users, exec credential plugins) and the in-cluster service account.
// Errors are values naming the file, context and field. Loading functions are pure apart
// from reading files; FileTokenSource and ExecCredentialProvider are thread-safe.
#pragma once

#include <boost/system/result.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "workqueue/clock.h"

namespace canaryd::kube {

using workqueue::Clock;

// A configuration problem. toString() reads like
// `kubeconfig /x/y: context "foo": cluster "bar" not found`.
struct ConfigError {
  // Not an aggregate, so that result<std::string, ConfigError> is unambiguous.
  ConfigError() = default;

  std::string source = "kubeconfig";  // "kubeconfig", "in-cluster config", "exec plugin"
  std::string file;                   // the file (or files, ':'-joined) concerned
  std::string context;                // the context being resolved, if any
  std::string field;                  // e.g. `users[0].user.token` or `user "admin": client-key`
  std::string message;
  std::string toString() const;
};

template <class T>
using ConfigResult = boost::system::result<T, ConfigError>;

// Reads an environment variable; nullopt when unset. Tests substitute their own.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (getenv).
Environment processEnvironment();

// ---- kubeconfig (clientcmd/api v1), after loading ----

// clientcmdapi.ExecEnvVar.
struct ExecEnvVar {
  std::string name;
  std::string value;
};

// clientcmdapi.ExecConfig: a credential plugin.
struct ExecConfig {
  std::string command;  // resolved against the kubeconfig's directory when it holds a '/'
  std::vector<std::string> args;
  std::vector<ExecEnvVar> env;
  std::string apiVersion;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string installHint;
  bool provideClusterInfo = false;
  std::string interactiveMode;  // Never, IfAvailable, Always (v1beta1 defaults IfAvailable)
};

// clientcmdapi.Cluster. Paths are absolute (resolved against the file's directory).
struct Cluster {
  std::string server;
  std::string tlsServerName;
  bool insecureSkipTlsVerify = false;
  std::string certificateAuthority;      // file
  std::string certificateAuthorityData;  // decoded PEM bytes
  std::string proxyUrl;
  bool disableCompression = false;
  // The `client.authentication.k8s.io/exec` extension, as compact JSON, handed to exec
  // plugins with provideClusterInfo.
  std::string execExtension;
  std::string locationOfOrigin;  // the file it came from
};

// clientcmdapi.AuthInfo.
struct AuthInfo {
  std::string clientCertificate;      // file
  std::string clientCertificateData;  // decoded PEM
  std::string clientKey;              // file
  std::string clientKeyData;          // decoded PEM
  std::string token;
  std::string tokenFile;
  std::string impersonate;
  std::string impersonateUid;
  std::vector<std::string> impersonateGroups;
  std::map<std::string, std::vector<std::string>> impersonateUserExtra;
  std::string username;
  std::string password;
  std::string authProvider;  // the name of an auth-provider block (unsupported, see below)
  std::optional<ExecConfig> exec;
  std::string locationOfOrigin;
};

// clientcmdapi.Context.
struct Context {
  std::string cluster;
  std::string user;
  std::string namespace_;
  std::string locationOfOrigin;
};

// clientcmdapi.Config: one file, or several merged.
struct Kubeconfig {
  std::string currentContext;
  std::string currentContextOrigin;  // the file that set current-context
  std::map<std::string, Cluster> clusters;
  std::map<std::string, AuthInfo> users;
  std::map<std::string, Context> contexts;
  std::vector<std::string> files;  // the files loaded, highest precedence first
};

// Parses one kubeconfig document (`apiVersion: v1`, `kind: Config`). Unknown fields are
// ignored, as client-go does; wrong types, bad base64 and duplicate names are errors.
// Relative paths are resolved against `path`'s directory (clientcmd ResolveLocalPaths).
// Empty text is an empty config.
ConfigResult<Kubeconfig> parseKubeconfig(std::string_view text, const std::string& path);

// Reads and parses one file.
ConfigResult<Kubeconfig> loadKubeconfigFile(const std::string& path);

// Which files to read (clientcmd.ClientConfigLoadingRules).
struct LoadingRules {
  // --kubeconfig: only this file is read, and it must exist.
  std::string explicitPath;
  // KUBECONFIG's entries, or ~/.kube/config; missing files are skipped.
  std::vector<std::string> precedence;
};

// KUBECONFIG split on ':' (empty entries and repeats dropped), or $HOME/.kube/config
// when KUBECONFIG is unset or empty.
LoadingRules defaultLoadingRules(const Environment& env = processEnvironment());

// Loads and merges the files as kubectl does: the first file to set a map key (a
// cluster, user or context name) wins, with that entry taken whole from it (entries are
// not merged field by field); the first file to set current-context wins.
// Errors: an unreadable or malformed file; an explicit path that does not exist.
ConfigResult<Kubeconfig> loadKubeconfig(const LoadingRules& rules);

// ---- the resolved client configuration (rest.Config) ----

// Reads a bearer token from a file, re-reading it when the file changes (checked with
// stat on each call, so a kubelet-rotated service-account token is picked up at once)
// and at least every kRereadPeriod (client-go's cached file token source). A failed
// re-read keeps the last token. Thread-safe.
class FileTokenSource {
 public:
  static constexpr std::chrono::minutes kRereadPeriod{1};

  // Reads the file now. The clock must outlive the source.
  static ConfigResult<std::shared_ptr<FileTokenSource>> create(
      std::string path, Clock& clock = workqueue::RealClock::instance());

  // The current token (whitespace trimmed). Errors only if no token was ever read.
  ConfigResult<std::string> token();
  const std::string& path() const { return path_; }

 private:
  struct FileIdentity {
    unsigned long long dev = 0, ino = 0;
    long long size = 0, mtimeNs = 0;
    bool operator==(const FileIdentity&) const = default;
  };
  FileTokenSource(std::string path, Clock& clock) : path_(std::move(path)), clock_(clock) {}
  ConfigResult<void> readLocked();

  const std::string path_;
  Clock& clock_;
  std::mutex mu_;
  std::string token_;
  FileIdentity identity_;
  Clock::TimePoint readAt_{};
};

class ExecCredentialProvider;

// What the transport attaches to a request.
struct RequestCredentials {
  std::string bearerToken;
  std::string username;
  std::string password;
  std::string clientCertificatePem;
  std::string clientKeyPem;
};

// rest.Config: where the API server is and how to authenticate. Files named here have
// been read already (their content is in the *Data fields) and checked to exist.
struct RestConfig {
  std::string host;                                // URL with scheme, e.g. https://10.0.0.1:443
  std::string contextName, clusterName, userName;  // for messages; empty in-cluster
  std::string namespace_ = "default";              // the context's (or the pod's) namespace

  // TLS.
  bool insecure = false;
  std::string tlsServerName;
  std::string caFile, caData;  // PEM
  std::string certFile, certData;
  std::string keyFile, keyData;

  // Authentication: at most one of token / basic auth / exec (client certificates may
  // accompany any of them).
  std::string bearerToken;
  std::string bearerTokenFile;
  std::shared_ptr<FileTokenSource> tokenSource;  // set when bearerTokenFile is
  std::string username, password;
  std::shared_ptr<ExecCredentialProvider> execProvider;

  // Impersonation headers (Impersonate-User, -Uid, -Group, -Extra-*).
  std::string impersonate;
  std::string impersonateUid;
  std::vector<std::string> impersonateGroups;
  std::map<std::string, std::vector<std::string>> impersonateUserExtra;

  std::string proxyUrl;
  bool disableCompression = false;

  // Things worth logging that did not stop loading (e.g. an unreadable in-cluster CA).
  std::vector<std::string> warnings;

  // The credentials for the next request: the token file's or exec plugin's current
  // token (running the plugin if its cached credential expired), or the static ones.
  ConfigResult<RequestCredentials> credentials() const;
};

// Overrides of the kubeconfig's choices (kubectl's --context, --cluster, --user, -n).
struct ConfigOverrides {
  std::string context;
  std::string cluster;
  std::string user;
  std::string namespace_;
};

// Resolves the context (the override or current-context) into a RestConfig, validating
// as clientcmd's ConfirmUsable: a server is required; certificate-authority and its -data
// are exclusive, as are client-certificate/-key and their -data; a client certificate
// needs a key; token and basic auth are exclusive; an exec plugin needs a command, a
// supported apiVersion and an interactiveMode; insecure-skip-tls-verify excludes a CA;
// auth-provider blocks are rejected (client-go removed them). Files are read here.
ConfigResult<RestConfig> buildRestConfig(const Kubeconfig& config,
                                         const ConfigOverrides& overrides = {},
                                         Clock& clock = workqueue::RealClock::instance());

inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

struct InClusterOptions {
  // Holds token, ca.crt and namespace; overridable for tests.
  std::string serviceAccountDir = std::string(kServiceAccountDir);
  Environment env = processEnvironment();
  Clock* clock = nullptr;  // RealClock when null
};

// rest.InClusterConfig: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the
// service-account token (re-read as it rotates) and CA (a warning, not an error, when
// unreadable, as client-go). The namespace comes from POD_NAMESPACE, then the namespace
// file, then "default". Errors: either variable unset; the token unreadable or empty.
ConfigResult<RestConfig> inClusterConfig(const InClusterOptions& options = {});

struct LoadOptions {
  std::string kubeconfig;  // --kubeconfig
  ConfigOverrides overrides;
  std::string serviceAccountDir = std::string(kServiceAccountDir);
  Environment env = processEnvironment();
  Clock* clock = nullptr;
};

// The configuration a controller uses, in controller-runtime's order: --kubeconfig,
// then KUBECONFIG, then in-cluster (when KUBERNETES_SERVICE_HOST is set), then
// ~/.kube/config.
ConfigResult<RestConfig> loadRestConfig(const LoadOptions& options = {});

}  // namespace canaryd::kube
