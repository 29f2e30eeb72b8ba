#include "kube/exec_credential.h"

#include <fcntl.h>
#include <poll.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <variant>
#include <vector>

#include "api/duration.h"
#include "api/json.h"
#include "kube/base64.h"

extern char** environ;

namespace canaryd::kube {

namespace {

// Bounds what a misbehaving plugin can make us hold.
constexpr size_t kMaxOutputBytes = 1 << 20;
// How much of the plugin's stderr an error quotes.
constexpr size_t kMaxQuotedStderr = 1024;

struct ProcessResult {
  int status = 0;
  std::string out;
  std::string err;
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Runs argv[0] (searched in PATH unless it holds a '/') with `env`, stdin from
// /dev/null, and collects stdout and stderr. Returns errno when it cannot be started.
std::variant<ProcessResult, int> runProcess(const std::vector<std::string>& argv,
                                            const std::vector<std::string>& env) {
  int outPipe[2], errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0) return errno;
  Fd outRead(outPipe[0]), outWrite(outPipe[1]);
  if (::pipe2(errPipe, O_CLOEXEC) != 0) return errno;
  Fd errRead(errPipe[0]), errWrite(errPipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, outWrite.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, errWrite.get(), 2);

  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return rc;
  outWrite.reset();
  errWrite.reset();

  ProcessResult result;
  pollfd fds[2] = {{outRead.get(), POLLIN, 0}, {errRead.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open = 2;
  char buf[8192];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      if (sinks[i]->size() < kMaxOutputBytes) sinks[i]->append(buf, static_cast<size_t>(n));
    }
  }
  while (::waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

std::string stringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::string trimmed(std::string_view s) {
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

ExecCredentialProvider::ExecCredentialProvider(ExecConfig config, std::string user,
                                               std::optional<ExecClusterInfo> cluster, Clock& clock)
    : config_(std::move(config)),
      user_(std::move(user)),
      cluster_(std::move(cluster)),
      clock_(clock) {}

ConfigError ExecCredentialProvider::error(std::string message) const {
  ConfigError e;
  e.source = "exec plugin";
  e.file = config_.command;
  if (!user_.empty()) e.field = "user \"" + user_ + "\"";
  e.message = std::move(message);
  return e;
}

std::string ExecCredentialProvider::execInfo() const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("kind");
  w.String("ExecCredential");
  w.Key("apiVersion");
  w.String(config_.apiVersion);
  w.Key("spec");
  w.StartObject();
  if (config_.provideClusterInfo && cluster_) {
    // ExecCredentialSpec.Cluster: everything but server is omitempty.
    w.Key("cluster");
    w.StartObject();
    w.Key("server");
    w.String(cluster_->server);
    if (!cluster_->tlsServerName.empty()) {
      w.Key("tls-server-name");
      w.String(cluster_->tlsServerName);
    }
    if (cluster_->insecureSkipTlsVerify) {
      w.Key("insecure-skip-tls-verify");
      w.Bool(true);
    }
    if (!cluster_->certificateAuthorityData.empty()) {
      w.Key("certificate-authority-data");
      w.String(base64Encode(cluster_->certificateAuthorityData));
    }
    if (!cluster_->proxyUrl.empty()) {
      w.Key("proxy-url");
      w.String(cluster_->proxyUrl);
    }
    if (cluster_->disableCompression) {
      w.Key("disable-compression");
      w.Bool(true);
    }
    if (!cluster_->config.empty()) {
      w.Key("config");
      w.RawValue(cluster_->config.data(), cluster_->config.size(), rapidjson::kObjectType);
    }
    w.EndObject();
  }
  // A daemon never has a terminal to offer the plugin.
  w.Key("interactive");
  w.Bool(false);
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

ConfigResult<ExecCredential> ExecCredentialProvider::credential() {
  std::lock_guard lock(mu_);
  if (cached_ &&
      !(cached_->expirationTimestamp && clock_.wallNow() > *cached_->expirationTimestamp)) {
    return *cached_;
  }
  cached_.reset();
  auto fresh = run();
  if (!fresh) return fresh.error();
  cached_ = *fresh;
  return *fresh;
}

void ExecCredentialProvider::invalidate() {
  std::lock_guard lock(mu_);
  cached_.reset();
}

int ExecCredentialProvider::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

ConfigResult<ExecCredential> ExecCredentialProvider::run() {
  if (config_.interactiveMode == "Always") {
    return error("exec plugin cannot support interactive mode: standard input is not a terminal");
  }
  // The child's environment: ours, then the configured variables, then the exec info;
  // later entries replace earlier ones with the same name, as Go's os/exec dedups.
  std::map<std::string, std::string> envMap;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    envMap.insert_or_assign(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  for (const auto& v : config_.env) envMap.insert_or_assign(v.name, v.value);
  envMap.insert_or_assign("KUBERNETES_EXEC_INFO", execInfo());
  std::vector<std::string> env;
  env.reserve(envMap.size());
  for (const auto& [name, value] : envMap) env.push_back(name + "=" + value);

  std::vector<std::string> argv{config_.command};
  argv.insert(argv.end(), config_.args.begin(), config_.args.end());

  ++runs_;
  auto outcome = runProcess(argv, env);
  if (auto* err = std::get_if<int>(&outcome)) {
    if (*err == ENOENT) {
      std::string message = "exec: executable " + config_.command + " not found";
      if (!config_.installHint.empty()) message += "\n\n" + config_.installHint;
      return error(std::move(message));
    }
    return error("exec: executable " + config_.command +
                 " could not be started: " + std::strerror(*err));
  }
  auto& result = std::get<ProcessResult>(outcome);
  if (!WIFEXITED(result.status) || WEXITSTATUS(result.status) != 0) {
    std::string message = "exec: executable " + config_.command;
    if (WIFEXITED(result.status)) {
      message += " failed with exit code " + std::to_string(WEXITSTATUS(result.status));
    } else {
      message += " was killed by signal " + std::to_string(WTERMSIG(result.status));
    }
    std::string err = trimmed(result.err);
    if (err.size() > kMaxQuotedStderr) err = "..." + err.substr(err.size() - kMaxQuotedStderr);
    if (!err.empty()) message += ": " + err;
    return error(std::move(message));
  }

  auto doc = api::parseJson(result.out);
  if (!doc || !doc->IsObject()) {
    return error("decoding stdout: " +
                 (doc ? std::string("not a JSON object") : doc.error().toString()));
  }
  auto apiVersion = stringMember(*doc, "apiVersion");
  if (apiVersion != config_.apiVersion) {
    return error("exec plugin is configured to use API version " + config_.apiVersion +
                 ", plugin returned version " + (apiVersion.empty() ? "\"\"" : apiVersion));
  }
  auto kind = stringMember(*doc, "kind");
  if (kind != "ExecCredential") {
    return error("decoding stdout: kind is \"" + kind + "\", want ExecCredential");
  }
  auto status = doc->FindMember("status");
  if (status == doc->MemberEnd() || !status->value.IsObject()) {
    return error("exec plugin didn't return a status field");
  }
  ExecCredential cred;
  cred.token = stringMember(status->value, "token");
  cred.clientCertificateData = stringMember(status->value, "clientCertificateData");
  cred.clientKeyData = stringMember(status->value, "clientKeyData");
  if (cred.token.empty() && cred.clientCertificateData.empty() && cred.clientKeyData.empty()) {
    return error("exec plugin didn't return a token or cert/key pair");
  }
  if (cred.clientCertificateData.empty() != cred.clientKeyData.empty()) {
    return error("exec plugin returned only certificate or key, not both");
  }
  auto expiration = stringMember(status->value, "expirationTimestamp");
  if (!expiration.empty()) {
    auto t = api::parseTime(expiration);
    if (!t) return error("status.expirationTimestamp: invalid time \"" + expiration + "\"");
    cred.expirationTimestamp = std::chrono::time_point_cast<Clock::WallTime::duration>(*t);
  }
  return cred;
}

}  // namespace canaryd::kube
