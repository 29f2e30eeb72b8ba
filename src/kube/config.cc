#include "kube/config.h"

#include <sys/stat.h>

#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "api/json.h"
#include "kube/base64.h"
#include "kube/exec_credential.h"

namespace canaryd::kube {

namespace fs = std::filesystem;

std::string ConfigError::toString() const {
  std::string out = source;
  if (!file.empty()) out += " " + file;
  if (!context.empty()) out += ": context \"" + context + "\"";
  if (!field.empty()) out += ": " + field;
  out += ": " + message;
  return out;
}

Environment processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

namespace {

std::string trimSpace(std::string_view s) {
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

struct ReadError {
  // Not constructible from a string, so that result<std::string, ReadError> is unambiguous.
  ReadError() = default;
  static ReadError of(std::string message) {
    ReadError e;
    e.message = std::move(message);
    return e;
  }
  std::string message;  // strerror's text
};

// Reads a whole file.
boost::system::result<std::string, ReadError> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ReadError::of(std::strerror(errno));
  std::error_code ec;
  if (fs::is_directory(path, ec)) return ReadError::of("is a directory");
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return ReadError::of("read error");
  return content.str();
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---- kubeconfig parsing ----

// Typed reads of one kubeconfig document, with the field path in errors.
class Parser {
 public:
  Parser(const std::string& file, std::string dir) : file_(file), dir_(std::move(dir)) {}

  ConfigError error(const std::string& field, std::string message) const {
    ConfigError e;
    e.file = file_;
    e.field = field;
    e.message = std::move(message);
    return e;
  }

  static const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
    auto it = obj.FindMember(name);
    if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
  }

  ConfigResult<std::string> string(const rapidjson::Value& obj, const char* name,
                                   const std::string& path) const {
    const auto* v = member(obj, name);
    if (!v) return std::string();
    if (!v->IsString()) return typeError(join(path, name), "string", *v);
    return std::string(v->GetString(), v->GetStringLength());
  }

  ConfigResult<bool> boolean(const rapidjson::Value& obj, const char* name,
                             const std::string& path) const {
    const auto* v = member(obj, name);
    if (!v) return false;
    if (!v->IsBool()) return typeError(join(path, name), "boolean", *v);
    return v->GetBool();
  }

  // A base64 []byte field, decoded.
  ConfigResult<std::string> bytes(const rapidjson::Value& obj, const char* name,
                                  const std::string& path) const {
    auto text = string(obj, name, path);
    if (!text) return text.error();
    auto decoded = base64Decode(*text);
    if (!decoded) return error(join(path, name), "illegal base64 data");
    return *decoded;
  }

  // A path field, made absolute against the file's directory.
  ConfigResult<std::string> filePath(const rapidjson::Value& obj, const char* name,
                                     const std::string& path) const {
    auto value = string(obj, name, path);
    if (!value) return value.error();
    return resolve(*value);
  }

  std::string resolve(const std::string& value) const {
    if (value.empty() || fs::path(value).is_absolute()) return value;
    return (fs::path(dir_) / value).lexically_normal().string();
  }

  ConfigResult<std::vector<std::string>> strings(const rapidjson::Value& obj, const char* name,
                                                 const std::string& path) const {
    std::vector<std::string> out;
    const auto* v = member(obj, name);
    if (!v) return out;
    if (!v->IsArray()) return typeError(join(path, name), "array", *v);
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      const auto& item = (*v)[i];
      if (!item.IsString()) {
        return typeError(join(path, name) + "[" + std::to_string(i) + "]", "string", item);
      }
      out.emplace_back(item.GetString(), item.GetStringLength());
    }
    return out;
  }

  ConfigError typeError(const std::string& field, std::string_view want,
                        const rapidjson::Value& got) const {
    return error(field,
                 "expected " + std::string(want) + ", got " + std::string(api::jsonTypeName(got)));
  }

  const std::string& file() const { return file_; }

  static std::string join(const std::string& path, const char* name) {
    return path.empty() ? std::string(name) : path + "." + name;
  }

 private:
  const std::string& file_;
  const std::string dir_;
};

ConfigResult<Cluster> parseCluster(const Parser& p, const rapidjson::Value& c,
                                   const std::string& path) {
  Cluster cluster;
  cluster.locationOfOrigin = p.file();
  auto server = p.string(c, "server", path);
  if (!server) return server.error();
  cluster.server = *server;
  auto tlsServerName = p.string(c, "tls-server-name", path);
  if (!tlsServerName) return tlsServerName.error();
  cluster.tlsServerName = *tlsServerName;
  auto insecure = p.boolean(c, "insecure-skip-tls-verify", path);
  if (!insecure) return insecure.error();
  cluster.insecureSkipTlsVerify = *insecure;
  auto ca = p.filePath(c, "certificate-authority", path);
  if (!ca) return ca.error();
  cluster.certificateAuthority = *ca;
  auto caData = p.bytes(c, "certificate-authority-data", path);
  if (!caData) return caData.error();
  cluster.certificateAuthorityData = *caData;
  auto proxy = p.string(c, "proxy-url", path);
  if (!proxy) return proxy.error();
  cluster.proxyUrl = *proxy;
  auto noCompression = p.boolean(c, "disable-compression", path);
  if (!noCompression) return noCompression.error();
  cluster.disableCompression = *noCompression;
  if (const auto* extensions = Parser::member(c, "extensions")) {
    if (!extensions->IsArray()) return p.typeError(path + ".extensions", "array", *extensions);
    for (const auto& ext : extensions->GetArray()) {
      if (!ext.IsObject()) continue;
      auto name = ext.FindMember("name");
      auto value = ext.FindMember("extension");
      if (name != ext.MemberEnd() && name->value.IsString() &&
          std::string_view(name->value.GetString()) == "client.authentication.k8s.io/exec" &&
          value != ext.MemberEnd() && value->value.IsObject()) {
        cluster.execExtension = api::toJson(value->value);
      }
    }
  }
  return cluster;
}

ConfigResult<ExecConfig> parseExec(const Parser& p, const rapidjson::Value& e,
                                   const std::string& path) {
  ExecConfig exec;
  auto command = p.string(e, "command", path);
  if (!command) return command.error();
  // A bare name is looked up in PATH; only a path is resolved against the file.
  exec.command = command->find('/') != std::string::npos ? p.resolve(*command) : *command;
  auto args = p.strings(e, "args", path);
  if (!args) return args.error();
  exec.args = *args;
  if (const auto* env = Parser::member(e, "env")) {
    if (!env->IsArray()) return p.typeError(path + ".env", "array", *env);
    for (rapidjson::SizeType i = 0; i < env->Size(); ++i) {
      const auto& item = (*env)[i];
      std::string itemPath = path + ".env[" + std::to_string(i) + "]";
      if (!item.IsObject()) return p.typeError(itemPath, "object", item);
      auto name = p.string(item, "name", itemPath);
      if (!name) return name.error();
      auto value = p.string(item, "value", itemPath);
      if (!value) return value.error();
      exec.env.push_back({*name, *value});
    }
  }
  auto apiVersion = p.string(e, "apiVersion", path);
  if (!apiVersion) return apiVersion.error();
  exec.apiVersion = *apiVersion;
  auto hint = p.string(e, "installHint", path);
  if (!hint) return hint.error();
  exec.installHint = *hint;
  auto provide = p.boolean(e, "provideClusterInfo", path);
  if (!provide) return provide.error();
  exec.provideClusterInfo = *provide;
  auto interactive = p.string(e, "interactiveMode", path);
  if (!interactive) return interactive.error();
  exec.interactiveMode = *interactive;
  // clientcmd/api/v1 SetDefaults_ExecConfig: only the older API versions get a default.
  if (exec.interactiveMode.empty() && exec.apiVersion == kExecApiVersionV1beta1) {
    exec.interactiveMode = "IfAvailable";
  }
  return exec;
}

ConfigResult<AuthInfo> parseUser(const Parser& p, const rapidjson::Value& u,
                                 const std::string& path) {
  AuthInfo user;
  user.locationOfOrigin = p.file();
  struct Field {
    const char* name;
    std::string* out;
    enum { kString, kPath, kBytes } kind;
  };
  const Field fields[] = {
      {"client-certificate", &user.clientCertificate, Field::kPath},
      {"client-certificate-data", &user.clientCertificateData, Field::kBytes},
      {"client-key", &user.clientKey, Field::kPath},
      {"client-key-data", &user.clientKeyData, Field::kBytes},
      {"token", &user.token, Field::kString},
      {"tokenFile", &user.tokenFile, Field::kPath},
      {"as", &user.impersonate, Field::kString},
      {"as-uid", &user.impersonateUid, Field::kString},
      {"username", &user.username, Field::kString},
      {"password", &user.password, Field::kString},
  };
  for (const auto& f : fields) {
    auto value = f.kind == Field::kPath    ? p.filePath(u, f.name, path)
                 : f.kind == Field::kBytes ? p.bytes(u, f.name, path)
                                           : p.string(u, f.name, path);
    if (!value) return value.error();
    *f.out = std::move(*value);
  }
  auto groups = p.strings(u, "as-groups", path);
  if (!groups) return groups.error();
  user.impersonateGroups = *groups;
  if (const auto* extra = Parser::member(u, "as-user-extra")) {
    if (!extra->IsObject()) return p.typeError(path + ".as-user-extra", "object", *extra);
    for (const auto& m : extra->GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      auto values = p.strings(*extra, key.c_str(), path + ".as-user-extra");
      if (!values) return values.error();
      user.impersonateUserExtra[key] = *values;
    }
  }
  if (const auto* provider = Parser::member(u, "auth-provider")) {
    if (!provider->IsObject()) return p.typeError(path + ".auth-provider", "object", *provider);
    auto name = p.string(*provider, "name", path + ".auth-provider");
    if (!name) return name.error();
    user.authProvider = name->empty() ? "(unnamed)" : *name;
  }
  if (const auto* exec = Parser::member(u, "exec")) {
    if (!exec->IsObject()) return p.typeError(path + ".exec", "object", *exec);
    auto parsed = parseExec(p, *exec, path + ".exec");
    if (!parsed) return parsed.error();
    user.exec = std::move(*parsed);
  }
  return user;
}

ConfigResult<Context> parseContext(const Parser& p, const rapidjson::Value& c,
                                   const std::string& path) {
  Context context;
  context.locationOfOrigin = p.file();
  auto cluster = p.string(c, "cluster", path);
  if (!cluster) return cluster.error();
  context.cluster = *cluster;
  auto user = p.string(c, "user", path);
  if (!user) return user.error();
  context.user = *user;
  auto ns = p.string(c, "namespace", path);
  if (!ns) return ns.error();
  context.namespace_ = *ns;
  return context;
}

// Reads a `[{name: ..., <entry>: {...}}]` list into a map, as clientcmd's v1 conversion
// does (a repeated name is an error).
template <class T, class ParseFn>
ConfigResult<void> parseNamedList(const Parser& p, const rapidjson::Value& root, const char* list,
                                  const char* entry, ParseFn parse, std::map<std::string, T>& out) {
  const auto* items = Parser::member(root, list);
  if (!items) return {};
  if (!items->IsArray()) return p.typeError(list, "array", *items);
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const auto& item = (*items)[i];
    std::string path = std::string(list) + "[" + std::to_string(i) + "]";
    if (!item.IsObject()) return p.typeError(path, "object", item);
    auto name = p.string(item, "name", path);
    if (!name) return name.error();
    const rapidjson::Value* body = Parser::member(item, entry);
    rapidjson::Value empty(rapidjson::kObjectType);
    if (!body) body = &empty;
    if (!body->IsObject()) return p.typeError(path + "." + entry, "object", *body);
    auto parsed = parse(p, *body, path + "." + entry);
    if (!parsed) return parsed.error();
    if (!out.emplace(*name, std::move(*parsed)).second) {
      return p.error(path + ".name", "duplicate name " + quote(*name) + " in " + list);
    }
  }
  return {};
}

std::string joinFiles(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& f : files) {
    if (!out.empty()) out += ":";
    out += f;
  }
  return out;
}

// ---- resolving a context ----

bool validProxyScheme(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return false;
  auto scheme = parsed->scheme();
  return (scheme == "http" || scheme == "https" || scheme == "socks5") && !parsed->host().empty();
}

// rest.DefaultServerURL: a server without a scheme gets https when TLS is configured.
ConfigResult<std::string> normalizeServer(const std::string& server, bool defaultTls,
                                          const std::function<ConfigError(std::string)>& err) {
  std::string url = server;
  if (url.find("://") == std::string::npos) url = (defaultTls ? "https://" : "http://") + url;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || (parsed->scheme() != "https" && parsed->scheme() != "http") ||
      parsed->host().empty()) {
    return err("server " + quote(server) + " is not a valid http(s) URL");
  }
  while (url.size() > 1 && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

ConfigResult<Kubeconfig> parseKubeconfig(std::string_view text, const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  Parser p(path, (ec ? fs::path(path) : absolute).parent_path().string());
  Kubeconfig config;
  config.files.push_back(path);
  auto docs = api::parseYamlDocuments(text);
  if (!docs) return p.error("", docs.error().toString());
  if (docs->empty()) return config;
  const rapidjson::Value& root = (*docs)[0];
  if (root.IsNull()) return config;
  if (!root.IsObject()) return p.typeError("(root)", "object", root);
  auto current = p.string(root, "current-context", "");
  if (!current) return current.error();
  config.currentContext = *current;
  if (!config.currentContext.empty()) config.currentContextOrigin = path;
  if (auto r =
          parseNamedList<Cluster>(p, root, "clusters", "cluster", parseCluster, config.clusters);
      !r) {
    return r.error();
  }
  if (auto r = parseNamedList<AuthInfo>(p, root, "users", "user", parseUser, config.users); !r) {
    return r.error();
  }
  if (auto r =
          parseNamedList<Context>(p, root, "contexts", "context", parseContext, config.contexts);
      !r) {
    return r.error();
  }
  return config;
}

ConfigResult<Kubeconfig> loadKubeconfigFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) {
    ConfigError e;
    e.file = path;
    e.message = "cannot read: " + text.error().message;
    return e;
  }
  return parseKubeconfig(*text, path);
}

LoadingRules defaultLoadingRules(const Environment& env) {
  LoadingRules rules;
  auto kubeconfig = env("KUBECONFIG");
  if (kubeconfig && !kubeconfig->empty()) {
    std::set<std::string> seen;
    std::string_view rest = *kubeconfig;
    while (true) {
      auto colon = rest.find(':');
      std::string entry(rest.substr(0, colon));
      if (!entry.empty() && seen.insert(entry).second) rules.precedence.push_back(entry);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    return rules;
  }
  if (auto home = env("HOME"); home && !home->empty()) {
    rules.precedence.push_back(*home + "/.kube/config");
  }
  return rules;
}

ConfigResult<Kubeconfig> loadKubeconfig(const LoadingRules& rules) {
  std::vector<Kubeconfig> loaded;
  if (!rules.explicitPath.empty()) {
    auto one = loadKubeconfigFile(rules.explicitPath);
    if (!one) return one.error();
    return one;
  }
  for (const auto& path : rules.precedence) {
    std::error_code ec;
    // Missing files in KUBECONFIG are skipped, as kubectl does.
    if (!fs::exists(path, ec)) continue;
    auto one = loadKubeconfigFile(path);
    if (!one) return one.error();
    loaded.push_back(std::move(*one));
  }
  Kubeconfig merged;
  for (auto& config : loaded) {
    merged.files.push_back(config.files.front());
    if (merged.currentContext.empty() && !config.currentContext.empty()) {
      merged.currentContext = config.currentContext;
      merged.currentContextOrigin = config.currentContextOrigin;
    }
    // The first file to define a name keeps it, whole.
    for (auto& [name, cluster] : config.clusters) merged.clusters.try_emplace(name, cluster);
    for (auto& [name, user] : config.users) merged.users.try_emplace(name, user);
    for (auto& [name, context] : config.contexts) merged.contexts.try_emplace(name, context);
  }
  return merged;
}

// ---- FileTokenSource ----

ConfigResult<std::shared_ptr<FileTokenSource>> FileTokenSource::create(std::string path,
                                                                       Clock& clock) {
  std::shared_ptr<FileTokenSource> source(new FileTokenSource(std::move(path), clock));
  std::lock_guard lock(source->mu_);
  if (auto r = source->readLocked(); !r) return r.error();
  return source;
}

ConfigResult<void> FileTokenSource::readLocked() {
  auto fail = [&](std::string message) {
    ConfigError e;
    e.source = "token file";
    e.file = path_;
    e.message = std::move(message);
    return e;
  };
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return fail(std::strerror(errno));
  auto text = readFile(path_);
  if (!text) return fail(text.error().message);
  std::string token = trimSpace(*text);
  if (token.empty()) return fail("read empty token from file");
  token_ = std::move(token);
  identity_ =
      FileIdentity{static_cast<unsigned long long>(st.st_dev),
                   static_cast<unsigned long long>(st.st_ino), static_cast<long long>(st.st_size),
                   static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
  readAt_ = clock_.now();
  return {};
}

ConfigResult<std::string> FileTokenSource::token() {
  std::lock_guard lock(mu_);
  bool stale = clock_.now() - readAt_ >= kRereadPeriod;
  if (!stale) {
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0) {
      FileIdentity now{
          static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino),
          static_cast<long long>(st.st_size),
          static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
      stale = !(now == identity_);
    } else {
      stale = true;
    }
  }
  if (stale) {
    auto r = readLocked();
    // A failed re-read keeps serving the last token (client-go's caching token source);
    // the next call tries again.
    if (!r && token_.empty()) return r.error();
  }
  return token_;
}

// ---- RestConfig ----

ConfigResult<RequestCredentials> RestConfig::credentials() const {
  RequestCredentials c;
  c.username = username;
  c.password = password;
  c.clientCertificatePem = certData;
  c.clientKeyPem = keyData;
  // rest.Config: the token file's last read value takes precedence over BearerToken.
  if (tokenSource) {
    auto token = tokenSource->token();
    if (token) {
      c.bearerToken = *token;
    } else if (!bearerToken.empty()) {
      c.bearerToken = bearerToken;
    } else {
      return token.error();
    }
  } else {
    c.bearerToken = bearerToken;
  }
  // As client-go's exec round tripper: a request that already has credentials skips the
  // plugin.
  if (execProvider && c.bearerToken.empty() && c.username.empty()) {
    auto cred = execProvider->credential();
    if (!cred) return cred.error();
    c.bearerToken = cred->token;
    if (!cred->clientCertificateData.empty() && c.clientCertificatePem.empty()) {
      c.clientCertificatePem = cred->clientCertificateData;
      c.clientKeyPem = cred->clientKeyData;
    }
  }
  return c;
}

ConfigResult<RestConfig> buildRestConfig(const Kubeconfig& config, const ConfigOverrides& overrides,
                                         Clock& clock) {
  auto fail = [](std::string file, std::string context, std::string field, std::string message) {
    ConfigError e;
    e.file = std::move(file);
    e.context = std::move(context);
    e.field = std::move(field);
    e.message = std::move(message);
    return e;
  };
  std::string allFiles = joinFiles(config.files);

  std::string contextName = overrides.context.empty() ? config.currentContext : overrides.context;
  if (contextName.empty()) {
    return fail(allFiles, "", "",
                config.files.empty() ? "no configuration has been provided"
                                     : "current-context is not set and no context was given");
  }
  auto ctx = config.contexts.find(contextName);
  if (ctx == config.contexts.end()) {
    std::string file = overrides.context.empty() ? config.currentContextOrigin : allFiles;
    return fail(file, "", "", "context " + quote(contextName) + " not found");
  }
  const Context& context = ctx->second;
  const std::string& ctxFile = context.locationOfOrigin;

  RestConfig rest;
  rest.contextName = contextName;
  rest.clusterName = overrides.cluster.empty() ? context.cluster : overrides.cluster;
  rest.userName = overrides.user.empty() ? context.user : overrides.user;
  if (!overrides.namespace_.empty()) {
    rest.namespace_ = overrides.namespace_;
  } else if (!context.namespace_.empty()) {
    rest.namespace_ = context.namespace_;
  }

  // Cluster.
  if (rest.clusterName.empty()) {
    return fail(ctxFile, contextName, "", "cluster was not specified");
  }
  auto clusterIt = config.clusters.find(rest.clusterName);
  if (clusterIt == config.clusters.end()) {
    return fail(ctxFile, contextName, "", "cluster " + quote(rest.clusterName) + " not found");
  }
  const Cluster& cluster = clusterIt->second;
  const std::string clusterField = "cluster " + quote(rest.clusterName);
  auto clusterError = [&](std::string message) {
    return fail(cluster.locationOfOrigin, contextName, clusterField, std::move(message));
  };
  if (cluster.server.empty()) return clusterError("no server found for cluster");
  if (!cluster.certificateAuthority.empty() && !cluster.certificateAuthorityData.empty()) {
    return clusterError("certificate-authority-data and certificate-authority are both specified");
  }
  if (cluster.insecureSkipTlsVerify &&
      (!cluster.certificateAuthority.empty() || !cluster.certificateAuthorityData.empty())) {
    return clusterError(
        "specifying a root certificates file with the insecure flag is not allowed");
  }
  rest.insecure = cluster.insecureSkipTlsVerify;
  rest.tlsServerName = cluster.tlsServerName;
  rest.caFile = cluster.certificateAuthority;
  rest.caData = cluster.certificateAuthorityData;
  if (!rest.caFile.empty()) {
    auto ca = readFile(rest.caFile);
    if (!ca) {
      return fail(cluster.locationOfOrigin, contextName, clusterField + ": certificate-authority",
                  "unable to read " + rest.caFile + ": " + ca.error().message);
    }
    rest.caData = *ca;
  }
  if (!cluster.proxyUrl.empty() && !validProxyScheme(cluster.proxyUrl)) {
    return clusterError("proxy-url " + quote(cluster.proxyUrl) +
                        ": only http, https and socks5 proxies are supported");
  }
  rest.proxyUrl = cluster.proxyUrl;
  rest.disableCompression = cluster.disableCompression;

  // User (none: anonymous requests, as client-go allows).
  const AuthInfo* user = nullptr;
  if (!rest.userName.empty()) {
    auto userIt = config.users.find(rest.userName);
    if (userIt == config.users.end()) {
      return fail(ctxFile, contextName, "", "user " + quote(rest.userName) + " not found");
    }
    user = &userIt->second;
  }
  bool hasClientCert = false;
  if (user) {
    const std::string userField = "user " + quote(rest.userName);
    auto userError = [&](std::string message, std::string sub = {}) {
      return fail(user->locationOfOrigin, contextName,
                  sub.empty() ? userField : userField + ": " + sub, std::move(message));
    };
    if (!user->authProvider.empty()) {
      return userError("auth-provider " + quote(user->authProvider) +
                       " is not supported; use an exec credential plugin instead");
    }
    std::vector<std::string> methods;
    if (!user->token.empty()) methods.push_back("token");
    if (!user->username.empty() || !user->password.empty()) methods.push_back("basicAuth");
    if (methods.size() > 1) {
      return userError(
          "more than one authentication method found; found [token basicAuth], "
          "only one is allowed");
    }
    // Client certificate.
    if (!user->clientCertificate.empty() && !user->clientCertificateData.empty()) {
      return userError("client-certificate-data and client-certificate are both specified");
    }
    if (!user->clientKey.empty() && !user->clientKeyData.empty()) {
      return userError("client-key-data and client-key are both specified");
    }
    bool hasCert = !user->clientCertificate.empty() || !user->clientCertificateData.empty();
    bool hasKey = !user->clientKey.empty() || !user->clientKeyData.empty();
    if (hasCert && !hasKey) {
      return userError(
          "client-key-data or client-key must be specified to use the clientCert "
          "authentication method");
    }
    if (hasKey && !hasCert) {
      return userError(
          "client-certificate-data or client-certificate must be specified with a client key");
    }
    hasClientCert = hasCert;
    rest.certFile = user->clientCertificate;
    rest.certData = user->clientCertificateData;
    rest.keyFile = user->clientKey;
    rest.keyData = user->clientKeyData;
    if (!rest.certFile.empty()) {
      auto cert = readFile(rest.certFile);
      if (!cert) {
        return userError("unable to read " + rest.certFile + ": " + cert.error().message,
                         "client-certificate");
      }
      rest.certData = *cert;
    }
    if (!rest.keyFile.empty()) {
      auto key = readFile(rest.keyFile);
      if (!key)
        return userError("unable to read " + rest.keyFile + ": " + key.error().message,
                         "client-key");
      rest.keyData = *key;
    }
    // Tokens.
    rest.bearerToken = user->token;
    rest.bearerTokenFile = user->tokenFile;
    if (!user->tokenFile.empty()) {
      auto source = FileTokenSource::create(user->tokenFile, clock);
      if (source) {
        rest.tokenSource = *source;
      } else if (user->token.empty()) {
        return userError("unable to use " + user->tokenFile + ": " + source.error().message,
                         "tokenFile");
      } else {
        rest.warnings.push_back(source.error().toString() + "; using the token field");
      }
    }
    rest.username = user->username;
    rest.password = user->password;
    // Impersonation.
    if (user->impersonate.empty() &&
        (!user->impersonateUid.empty() || !user->impersonateGroups.empty() ||
         !user->impersonateUserExtra.empty())) {
      return userError("requesting uid, groups or user-extra without impersonating a user");
    }
    rest.impersonate = user->impersonate;
    rest.impersonateUid = user->impersonateUid;
    rest.impersonateGroups = user->impersonateGroups;
    rest.impersonateUserExtra = user->impersonateUserExtra;
  }

  bool defaultTls = !rest.caData.empty() || hasClientCert || rest.insecure;
  auto host = normalizeServer(cluster.server, defaultTls, clusterError);
  if (!host) return host.error();
  rest.host = *host;

  if (user && user->exec) {
    const ExecConfig& exec = *user->exec;
    auto execError = [&](std::string message) {
      return fail(user->locationOfOrigin, contextName, "user " + quote(rest.userName) + ": exec",
                  std::move(message));
    };
    if (exec.command.empty()) return execError("command must be specified");
    if (exec.apiVersion.empty()) return execError("apiVersion must be specified");
    if (exec.apiVersion != kExecApiVersionV1 && exec.apiVersion != kExecApiVersionV1beta1) {
      return execError("apiVersion " + quote(exec.apiVersion) + " is not supported (want " +
                       std::string(kExecApiVersionV1) + " or " +
                       std::string(kExecApiVersionV1beta1) + ")");
    }
    for (const auto& v : exec.env) {
      if (v.name.empty()) return execError("env variable name must be specified");
    }
    if (exec.interactiveMode.empty()) return execError("interactiveMode must be specified");
    if (exec.interactiveMode != "Never" && exec.interactiveMode != "IfAvailable" &&
        exec.interactiveMode != "Always") {
      return execError("invalid interactiveMode " + quote(exec.interactiveMode));
    }
    ExecClusterInfo info;
    info.server = rest.host;
    info.tlsServerName = rest.tlsServerName;
    info.insecureSkipTlsVerify = rest.insecure;
    info.certificateAuthorityData = rest.caData;
    info.proxyUrl = rest.proxyUrl;
    info.disableCompression = rest.disableCompression;
    info.config = cluster.execExtension;
    rest.execProvider = std::make_shared<ExecCredentialProvider>(exec, rest.userName, info, clock);
  }
  return rest;
}

ConfigResult<RestConfig> inClusterConfig(const InClusterOptions& options) {
  Clock& clock = options.clock ? *options.clock : workqueue::RealClock::instance();
  auto fail = [&](std::string file, std::string message) {
    ConfigError e;
    e.source = "in-cluster config";
    e.file = std::move(file);
    e.message = std::move(message);
    return e;
  };
  auto host = options.env("KUBERNETES_SERVICE_HOST");
  auto port = options.env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return fail("",
                "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and "
                "KUBERNETES_SERVICE_PORT must be defined");
  }
  const std::string dir = options.serviceAccountDir;
  RestConfig rest;
  // net.JoinHostPort: IPv6 literals are bracketed.
  std::string hostPart = host->find(':') != std::string::npos ? "[" + *host + "]" : *host;
  rest.host = "https://" + hostPart + ":" + *port;
  rest.bearerTokenFile = dir + "/token";
  auto source = FileTokenSource::create(rest.bearerTokenFile, clock);
  if (!source) return fail(rest.bearerTokenFile, source.error().message);
  rest.tokenSource = *source;
  auto token = rest.tokenSource->token();
  if (token) rest.bearerToken = *token;
  std::string caPath = dir + "/ca.crt";
  auto ca = readFile(caPath);
  if (ca && !trimSpace(*ca).empty()) {
    rest.caFile = caPath;
    rest.caData = *ca;
  } else {
    rest.warnings.push_back("in-cluster config: expected to load root CA config from " + caPath +
                            ", but got: " + (ca ? std::string("empty file") : ca.error().message) +
                            "; using the system roots");
  }
  if (auto ns = options.env("POD_NAMESPACE"); ns && !ns->empty()) {
    rest.namespace_ = *ns;
  } else if (auto file = readFile(dir + "/namespace"); file && !trimSpace(*file).empty()) {
    rest.namespace_ = trimSpace(*file);
  }
  return rest;
}

ConfigResult<RestConfig> loadRestConfig(const LoadOptions& options) {
  Clock& clock = options.clock ? *options.clock : workqueue::RealClock::instance();
  auto fromRules = [&](const LoadingRules& rules) -> ConfigResult<RestConfig> {
    auto config = loadKubeconfig(rules);
    if (!config) return config.error();
    return buildRestConfig(*config, options.overrides, clock);
  };
  if (!options.kubeconfig.empty()) {
    LoadingRules rules;
    rules.explicitPath = options.kubeconfig;
    return fromRules(rules);
  }
  if (auto env = options.env("KUBECONFIG"); env && !env->empty()) {
    return fromRules(defaultLoadingRules(options.env));
  }
  std::optional<ConfigError> inClusterError;
  if (auto host = options.env("KUBERNETES_SERVICE_HOST"); host && !host->empty()) {
    InClusterOptions inCluster;
    inCluster.serviceAccountDir = options.serviceAccountDir;
    inCluster.env = options.env;
    inCluster.clock = &clock;
    auto rest = inClusterConfig(inCluster);
    if (rest) {
      if (!options.overrides.namespace_.empty()) rest->namespace_ = options.overrides.namespace_;
      return rest;
    }
    inClusterError = rest.error();
  }
  LoadingRules home = defaultLoadingRules(options.env);
  std::error_code ec;
  if (!home.precedence.empty() && fs::exists(home.precedence.front(), ec)) {
    return fromRules(home);
  }
  if (inClusterError) return *inClusterError;
  ConfigError e;
  e.message =
      "no configuration found: set --kubeconfig or KUBECONFIG, run in a cluster, or create "
      "~/.kube/config";
  return e;
}

}  // namespace canaryd::kube
