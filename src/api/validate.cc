#include "api/validate.h"

#include <boost/url/parse.hpp>
#include <optional>
#include <regex>
#include <set>

#include "api/json.h"

namespace canaryd::api {
namespace {

// Messages and patterns from k8s.io/apimachinery/pkg/util/validation/validation.go.
const std::regex& dns1123LabelRe() {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return re;
}
const std::regex& dns1123SubdomainRe() {
  static const std::regex re("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  return re;
}
const std::regex& dns1035LabelRe() {
  static const std::regex re("[a-z]([-a-z0-9]*[a-z0-9])?");
  return re;
}
const std::regex& qualifiedNamePartRe() {
  static const std::regex re("([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]");
  return re;
}
const std::regex& labelValueRe() {
  static const std::regex re("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  return re;
}

constexpr const char* kDns1123LabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
constexpr const char* kDns1123SubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
constexpr const char* kDns1035LabelMsg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
constexpr const char* kQualifiedNameMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
constexpr const char* kLabelValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

std::string maxLenMsg(size_t n) {
  return "must be no more than " + std::to_string(n) + " characters";
}

bool fullMatch(std::string_view s, const std::regex& re) {
  return std::regex_match(s.begin(), s.end(), re);
}

// RFC 7230 token characters, for HTTP header and cookie names.
bool isHttpToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos)
      continue;
    return false;
  }
  return true;
}

// A structural check of a regular expression (PCRE, as nginx and Envoy read it):
// balanced groups and classes, no dangling escape, no quantifier with nothing before
// it, bounded length. Compiling user patterns here would let one Rollout cost the
// controller unbounded time, so the data plane remains the final judge.
std::optional<std::string> regexSyntaxError(std::string_view re) {
  if (re.empty()) return "must not be empty";
  if (re.size() > 1024) return "must be no more than 1024 characters";
  int depth = 0;
  bool inClass = false, canQuantify = false;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      if (i + 1 == re.size()) return "trailing backslash";
      ++i;
      canQuantify = true;
      continue;
    }
    if (inClass) {
      if (c == ']' &&
          !(i > 0 && (re[i - 1] == '[' || (re[i - 1] == '^' && i > 1 && re[i - 2] == '['))))
        inClass = false, canQuantify = true;
      continue;
    }
    switch (c) {
      case '[':
        inClass = true;
        break;
      case '(':
        ++depth;
        canQuantify = false;
        break;
      case ')':
        if (--depth < 0) return "unmatched )";
        canQuantify = true;
        break;
      case '*':
      case '+':
      case '?':
        if (!canQuantify &&
            !(c == '?' && i > 0 &&
              (re[i - 1] == '(' || re[i - 1] == '*' || re[i - 1] == '+' || re[i - 1] == '?')))
          return std::string("nothing to repeat before ") + c;
        break;
      case '|':
      case '^':
        canQuantify = false;
        break;
      default:
        canQuantify = true;
    }
  }
  if (inClass) return "missing ]";
  if (depth > 0) return "missing )";
  return std::nullopt;
}

void addNameErrors(ErrorList& errors, const FieldPath& path, std::string_view value,
                   const std::vector<std::string>& details) {
  for (const auto& d : details) errors.push_back(invalidStringError(path, value, d));
}

void checkNonNegative(ErrorList& errors, const FieldPath& path, long long v) {
  if (v < 0) errors.push_back(invalidError(path, v, "must be greater than or equal to 0"));
}

void checkPositive(ErrorList& errors, const FieldPath& path, long long v) {
  if (v <= 0) errors.push_back(invalidError(path, v, "must be greater than 0"));
}

void checkRange(ErrorList& errors, const FieldPath& path, long long v, long long lo, long long hi) {
  if (v < lo || v > hi)
    errors.push_back(invalidError(
        path, v, "must be between " + std::to_string(lo) + " and " + std::to_string(hi)));
}

void checkPositiveDuration(ErrorList& errors, const FieldPath& path, Duration d) {
  if (d <= Duration::zero())
    errors.push_back(invalidStringError(path, formatDuration(d), "must be greater than 0"));
}

std::string formatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Go's %#v of a map[string]string, as Deployment validation prints template labels.
std::string goMapLiteral(const StringMap& m) {
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out += ", ";
    first = false;
    out += quoteValue(k) + ":" + quoteValue(v);
  }
  return out + "}";
}

void validateLabels(ErrorList& errors, const FieldPath& path, const StringMap& labels) {
  for (const auto& [k, v] : labels) {
    addNameErrors(errors, path, k, isQualifiedName(k));
    addNameErrors(errors, path, v, isValidLabelValue(v));
  }
}

void validateAnnotations(ErrorList& errors, const FieldPath& path, const StringMap& annotations) {
  for (const auto& [k, v] : annotations) addNameErrors(errors, path, k, isQualifiedName(k));
}

void validateMeta(ErrorList& errors, const ObjectMeta& meta) {
  FieldPath path("metadata");
  if (meta.name.empty() && meta.generateName.empty()) {
    errors.push_back(requiredError(path.child("name"), "name or generateName is required"));
  } else if (!meta.name.empty()) {
    addNameErrors(errors, path.child("name"), meta.name, isDns1123Subdomain(meta.name));
  }
  if (!meta.namespace_.empty())
    addNameErrors(errors, path.child("namespace"), meta.namespace_,
                  isDns1123Label(meta.namespace_));
  validateLabels(errors, path.child("labels"), meta.labels);
  validateAnnotations(errors, path.child("annotations"), meta.annotations);
}

bool selectorMatches(const LabelSelector& sel, const StringMap& labels) {
  for (const auto& [k, v] : sel.matchLabels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& req : sel.matchExpressions) {
    auto it = labels.find(req.key);
    bool in = it != labels.end() &&
              std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    if (req.operator_ == "In" && !in) return false;
    if (req.operator_ == "NotIn" && in) return false;
    if (req.operator_ == "Exists" && it == labels.end()) return false;
    if (req.operator_ == "DoesNotExist" && it != labels.end()) return false;
  }
  return true;
}

void validateSelector(ErrorList& errors, const FieldPath& path, const LabelSelector& sel) {
  if (sel.matchLabels.empty() && sel.matchExpressions.empty()) {
    errors.push_back(invalidError(path, "{}", "empty selector is invalid for a Rollout"));
    return;
  }
  validateLabels(errors, path.child("matchLabels"), sel.matchLabels);
  for (size_t i = 0; i < sel.matchExpressions.size(); ++i) {
    const auto& req = sel.matchExpressions[i];
    FieldPath p = path.child("matchExpressions").index(i);
    addNameErrors(errors, p.child("key"), req.key, isQualifiedName(req.key));
    if (req.operator_ == "In" || req.operator_ == "NotIn") {
      if (req.values.empty())
        errors.push_back(requiredError(p.child("values"),
                                       "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (req.operator_ == "Exists" || req.operator_ == "DoesNotExist") {
      if (!req.values.empty())
        errors.push_back(
            forbiddenError(p.child("values"),
                           "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      errors.push_back(notSupportedError(p.child("operator"), req.operator_,
                                         {"DoesNotExist", "Exists", "In", "NotIn"}));
    }
  }
}

void validatePodTemplate(ErrorList& errors, const FieldPath& path, const PodTemplate& tpl) {
  validateLabels(errors, path.child("metadata").child("labels"), tpl.labels);
  auto doc = parseJson(tpl.json);
  if (!doc || !doc->IsObject()) return;  // the decoder produced it; cannot happen
  const auto& root = *doc;
  FieldPath specPath = path.child("spec");
  auto spec = root.FindMember("spec");
  if (spec == root.MemberEnd() || !spec->value.IsObject()) {
    errors.push_back(requiredError(specPath));
    return;
  }
  FieldPath cPath = specPath.child("containers");
  auto containers = spec->value.FindMember("containers");
  if (containers == spec->value.MemberEnd() || !containers->value.IsArray() ||
      containers->value.Empty()) {
    if (containers != spec->value.MemberEnd() && !containers->value.IsArray())
      errors.push_back(
          invalidError(cPath, renderValue(containers->value), "must be of type array"));
    else
      errors.push_back(requiredError(cPath));
    return;
  }
  std::set<std::string> names;
  for (rapidjson::SizeType i = 0; i < containers->value.Size(); ++i) {
    const auto& c = containers->value[i];
    FieldPath p = cPath.index(i);
    if (!c.IsObject()) {
      errors.push_back(invalidError(p, renderValue(c), "must be of type object"));
      continue;
    }
    auto name = c.FindMember("name");
    if (name == c.MemberEnd() || !name->value.IsString() || name->value.GetStringLength() == 0) {
      errors.push_back(requiredError(p.child("name")));
    } else {
      std::string n = name->value.GetString();
      addNameErrors(errors, p.child("name"), n, isDns1123Label(n));
      if (!names.insert(n).second) errors.push_back(duplicateError(p.child("name"), n));
    }
    auto image = c.FindMember("image");
    if (image == c.MemberEnd() || !image->value.IsString() || image->value.GetStringLength() == 0)
      errors.push_back(requiredError(p.child("image")));
  }
}

// {{ variable }} references in a custom query.
void validateQueryVariables(ErrorList& errors, const FieldPath& path, const std::string& query) {
  size_t pos = 0;
  while ((pos = query.find("{{", pos)) != std::string::npos) {
    size_t end = query.find("}}", pos + 2);
    if (end == std::string::npos) {
      errors.push_back(invalidStringError(path, query.substr(pos), "unclosed \"{{\""));
      return;
    }
    std::string name = query.substr(pos + 2, end - pos - 2);
    auto first = name.find_first_not_of(' ');
    auto last = name.find_last_not_of(' ');
    name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
    bool known = false;
    for (auto v : kQueryVariables) known = known || v == name;
    if (!known) {
      std::string supported;
      for (auto v : kQueryVariables) supported += (supported.empty() ? "" : ", ") + std::string(v);
      errors.push_back(invalidStringError(path, query.substr(pos, end + 2 - pos),
                                          "unknown variable; supported: " + supported));
    }
    pos = end + 2;
  }
}

void validateMetric(ErrorList& errors, const FieldPath& path, const Metric& m) {
  if (m.name.empty()) {
    errors.push_back(requiredError(path.child("name")));
  } else {
    addNameErrors(errors, path.child("name"), m.name, isDns1123Label(m.name));
  }
  bool builtin = !m.templateName.empty();
  if (builtin && !m.query.empty()) {
    errors.push_back(forbiddenError(path.child("query"), "may not be set with template"));
  } else if (!builtin && m.query.empty()) {
    errors.push_back(requiredError(path, "must set template or query"));
  }
  if (builtin) {
    bool known = false;
    for (auto t : kBuiltinMetricTemplates) known = known || t == m.templateName;
    if (!known)
      errors.push_back(
          notSupportedError(path.child("template"), m.templateName,
                            std::vector<std::string_view>(std::begin(kBuiltinMetricTemplates),
                                                          std::end(kBuiltinMetricTemplates))));
  }
  if (!m.query.empty()) validateQueryVariables(errors, path.child("query"), m.query);
  if (!m.min && !m.max) errors.push_back(requiredError(path, "must set min or max (or both)"));
  if (m.min && m.max && *m.min > *m.max)
    errors.push_back(invalidError(path.child("min"), formatNumber(*m.min),
                                  "must not be greater than max (" + formatNumber(*m.max) + ")"));
  bool ratio = m.templateName == "error-rate" || m.templateName == "success-rate";
  bool latency = m.templateName == "latency-p95" || m.templateName == "latency-p99";
  for (auto [key, bound] : {std::pair{"min", m.min}, std::pair{"max", m.max}}) {
    if (!bound) continue;
    if (ratio && (*bound < 0 || *bound > 1))
      errors.push_back(
          invalidError(path.child(key), formatNumber(*bound),
                       "must be between 0 and 1: " + m.templateName + " is a ratio (0.01 is 1%)"));
    if (latency && *bound < 0)
      errors.push_back(invalidError(path.child(key), formatNumber(*bound),
                                    "must be greater than or equal to 0 (seconds)"));
  }
}

void validatePrometheus(ErrorList& errors, const FieldPath& path, const PrometheusProvider& p) {
  if (p.address.empty()) {
    errors.push_back(requiredError(path.child("address")));
  } else {
    auto url = boost::urls::parse_absolute_uri(p.address);
    if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
      errors.push_back(invalidStringError(path.child("address"), p.address,
                                          "must be an http:// or https:// URL with a host"));
    } else if (url->has_query() || url->has_fragment()) {
      errors.push_back(invalidStringError(path.child("address"), p.address,
                                          "must not have a query or fragment"));
    }
  }
  checkPositiveDuration(errors, path.child("timeout"), p.timeout);
  for (const auto& [k, v] : p.headers)
    if (!isHttpToken(k))
      errors.push_back(
          invalidStringError(path.child("headers"), k, "must be a valid HTTP header name"));
  if (p.authSecretRef) {
    FieldPath sp = path.child("authSecretRef").child("name");
    if (p.authSecretRef->name.empty())
      errors.push_back(requiredError(sp));
    else
      addNameErrors(errors, sp, p.authSecretRef->name, isDns1123Subdomain(p.authSecretRef->name));
  }
}

void validateMetrics(ErrorList& errors, const FieldPath& path, const std::vector<Metric>& metrics) {
  std::set<std::string> names;
  for (size_t i = 0; i < metrics.size(); ++i) {
    FieldPath p = path.index(i);
    validateMetric(errors, p, metrics[i]);
    if (!metrics[i].name.empty() && !names.insert(metrics[i].name).second)
      errors.push_back(duplicateError(p.child("name"), metrics[i].name));
  }
}

void validateAnalysis(ErrorList& errors, const FieldPath& path, const AnalysisSpec& a, bool inStep,
                      size_t stepCount) {
  if (inStep) {
    if (a.count < 1)
      errors.push_back(invalidError(path.child("count"), a.count, "must be greater than 0"));
  } else if (a.startingStep < 0 ||
             (stepCount > 0 && static_cast<size_t>(a.startingStep) >= stepCount) ||
             (stepCount == 0 && a.startingStep != 0)) {
    long long last = stepCount == 0 ? 0 : static_cast<long long>(stepCount) - 1;
    errors.push_back(
        invalidError(path.child("startingStep"), a.startingStep,
                     "must be between 0 and " + std::to_string(last) + " (an index into steps)"));
  }
  checkPositiveDuration(errors, path.child("interval"), a.interval);
  checkNonNegative(errors, path.child("failureLimit"), a.failureLimit);
  checkNonNegative(errors, path.child("consecutiveErrorLimit"), a.consecutiveErrorLimit);
  checkNonNegative(errors, path.child("inconclusiveLimit"), a.inconclusiveLimit);
  if (a.prometheus) validatePrometheus(errors, path.child("prometheus"), *a.prometheus);
  if (a.metrics.empty() && a.templates.empty())
    errors.push_back(requiredError(path.child("metrics"), "must list metrics or templates"));
  validateMetrics(errors, path.child("metrics"), a.metrics);
  std::set<std::string> names;
  for (size_t i = 0; i < a.templates.size(); ++i) {
    FieldPath p = path.child("templates").index(i).child("name");
    const auto& name = a.templates[i].name;
    if (name.empty()) {
      errors.push_back(requiredError(p));
      continue;
    }
    addNameErrors(errors, p, name, isDns1123Subdomain(name));
    if (!names.insert(name).second) errors.push_back(duplicateError(p, name));
  }
}

void validateTrafficRouting(ErrorList& errors, const FieldPath& path, const TrafficRouting& t) {
  if (!t.nginx && !t.gatewayAPI)
    errors.push_back(requiredError(path, "must set nginx or gatewayAPI"));
  if (t.maxTrafficWeight)
    checkPositive(errors, path.child("maxTrafficWeight"), *t.maxTrafficWeight);
  if (t.nginx) {
    FieldPath np = path.child("nginx");
    const auto& n = *t.nginx;
    if (n.stableIngress.empty() && n.stableIngresses.empty())
      errors.push_back(requiredError(np.child("stableIngress"),
                                     "one of stableIngress or stableIngresses is required"));
    if (!n.stableIngress.empty() && !n.stableIngresses.empty())
      errors.push_back(
          forbiddenError(np.child("stableIngresses"), "may not be set with stableIngress"));
    if (!n.stableIngress.empty())
      addNameErrors(errors, np.child("stableIngress"), n.stableIngress,
                    isDns1123Subdomain(n.stableIngress));
    std::set<std::string> seen;
    for (size_t i = 0; i < n.stableIngresses.size(); ++i) {
      FieldPath p = np.child("stableIngresses").index(i);
      addNameErrors(errors, p, n.stableIngresses[i], isDns1123Subdomain(n.stableIngresses[i]));
      if (!seen.insert(n.stableIngresses[i]).second)
        errors.push_back(duplicateError(p, n.stableIngresses[i]));
    }
    addNameErrors(errors, np.child("annotationPrefix"), n.annotationPrefix,
                  isDns1123Subdomain(n.annotationPrefix));
    static const std::set<std::string> kManaged = {
        "canary",           "canary-weight",          "canary-weight-total",
        "canary-by-header", "canary-by-header-value", "canary-by-header-pattern",
        "canary-by-cookie"};
    for (const auto& [k, v] : n.additionalIngressAnnotations) {
      FieldPath p = np.child("additionalIngressAnnotations").key(k);
      if (kManaged.count(k)) {
        errors.push_back(forbiddenError(p, "managed by canaryd"));
        continue;
      }
      auto errs = isQualifiedName(n.annotationPrefix + "/" + k);
      addNameErrors(errors, p, k, errs);
    }
  }
  if (t.gatewayAPI) {
    FieldPath gp = path.child("gatewayAPI");
    const auto& g = *t.gatewayAPI;
    if (g.httpRoute.empty())
      errors.push_back(requiredError(gp.child("httpRoute")));
    else
      addNameErrors(errors, gp.child("httpRoute"), g.httpRoute, isDns1123Subdomain(g.httpRoute));
    std::set<std::string> seen;
    for (size_t i = 0; i < g.managedRoutes.size(); ++i) {
      FieldPath p = gp.child("managedRoutes").index(i);
      if (g.managedRoutes[i].empty()) errors.push_back(requiredError(p));
      if (!seen.insert(g.managedRoutes[i]).second)
        errors.push_back(duplicateError(p, g.managedRoutes[i]));
    }
  }
}

void validateHeaderRoute(ErrorList& errors, const FieldPath& path, const SetHeaderRouteStep& s,
                         const std::optional<TrafficRouting>& routing) {
  if (!routing) {
    errors.push_back(forbiddenError(path, "requires spec.strategy.canary.trafficRouting"));
    return;
  }
  if (!s.name.empty()) addNameErrors(errors, path.child("name"), s.name, isDns1123Label(s.name));
  bool nginx = routing->nginx.has_value();
  if (nginx && s.match.size() > 1)
    errors.push_back(tooManyError(path.child("match"), static_cast<long long>(s.match.size()), 1));
  for (size_t i = 0; i < s.match.size(); ++i) {
    const auto& m = s.match[i];
    FieldPath p = path.child("match").index(i);
    if (m.headerName.empty())
      errors.push_back(requiredError(p.child("headerName")));
    else if (!isHttpToken(m.headerName))
      errors.push_back(invalidStringError(p.child("headerName"), m.headerName,
                                          "must be a valid HTTP header name"));
    FieldPath vp = p.child("headerValue");
    if (m.headerValue.kind == StringMatch::Kind::kPrefix) {
      // Neither nginx (canary-by-header-value / -pattern) nor Gateway API HTTPHeaderMatch
      // (Exact, RegularExpression) can match a prefix.
      errors.push_back(notSupportedError(vp, "prefix", {"exact", "regex"}));
    } else if (m.headerValue.kind == StringMatch::Kind::kRegex) {
      if (auto problem = regexSyntaxError(m.headerValue.value))
        errors.push_back(invalidStringError(vp.child("regex"), m.headerValue.value,
                                            "must be a valid regular expression: " + *problem));
    }
  }
  if (!s.cookie.empty()) {
    if (!nginx)
      errors.push_back(forbiddenError(path.child("cookie"), "cookie routes require nginx"));
    else if (!isHttpToken(s.cookie))
      errors.push_back(
          invalidStringError(path.child("cookie"), s.cookie, "must be a valid cookie name"));
  }
}

void validateStep(ErrorList& errors, const FieldPath& path, const Step& step,
                  const CanaryStrategy& canary, int32_t maxWeight, size_t stepCount) {
  if (auto* w = std::get_if<SetWeightStep>(&step)) {
    checkRange(errors, path.child("setWeight"), w->weight, 0, maxWeight);
  } else if (auto* p = std::get_if<PauseStep>(&step)) {
    if (p->duration && *p->duration < Duration::zero())
      errors.push_back(invalidStringError(path.child("pause").child("duration"),
                                          formatDuration(*p->duration),
                                          "must be greater than or equal to 0"));
  } else if (auto* a = std::get_if<AnalysisStep>(&step)) {
    validateAnalysis(errors, path.child("analysis"), a->analysis, true, stepCount);
  } else if (auto* h = std::get_if<SetHeaderRouteStep>(&step)) {
    validateHeaderRoute(errors, path.child("setHeaderRoute"), *h, canary.trafficRouting);
  } else if (auto* s = std::get_if<SetCanaryScaleStep>(&step)) {
    FieldPath sp = path.child("setCanaryScale");
    int set = (s->replicas ? 1 : 0) + (s->weight ? 1 : 0) + (s->matchTrafficWeight ? 1 : 0);
    if (set == 0)
      errors.push_back(requiredError(sp, "must set one of replicas, weight, matchTrafficWeight"));
    if (set > 1)
      errors.push_back(
          forbiddenError(sp, "may not set more than one of replicas, weight, matchTrafficWeight"));
    if (s->replicas) checkNonNegative(errors, sp.child("replicas"), *s->replicas);
    if (s->weight) checkRange(errors, sp.child("weight"), *s->weight, 0, 100);
  }
}

void validateCanary(ErrorList& errors, const FieldPath& path, const CanaryStrategy& c) {
  for (auto [key, name] :
       {std::pair{"stableService", &c.stableService}, std::pair{"canaryService", &c.canaryService}})
    if (!name->empty()) addNameErrors(errors, path.child(key), *name, isDns1035Label(*name));
  if (c.trafficRouting) {
    if (c.stableService.empty())
      errors.push_back(
          requiredError(path.child("stableService"), "required when trafficRouting is set"));
    if (c.canaryService.empty())
      errors.push_back(
          requiredError(path.child("canaryService"), "required when trafficRouting is set"));
  } else if (c.stableService.empty() != c.canaryService.empty()) {
    bool missingCanary = c.canaryService.empty();
    errors.push_back(requiredError(
        path.child(missingCanary ? "canaryService" : "stableService"),
        missingCanary ? "required with stableService" : "required with canaryService"));
  }
  if (!c.stableService.empty() && c.stableService == c.canaryService)
    errors.push_back(invalidStringError(path.child("canaryService"), c.canaryService,
                                        "must differ from stableService"));
  checkNonNegative(errors, path.child("scaleDownDelaySeconds"), c.scaleDownDelaySeconds);
  checkNonNegative(errors, path.child("abortScaleDownDelaySeconds"), c.abortScaleDownDelaySeconds);
  int32_t maxWeight = kDefaultMaxTrafficWeight;
  if (c.trafficRouting) {
    validateTrafficRouting(errors, path.child("trafficRouting"), *c.trafficRouting);
    if (c.trafficRouting->maxTrafficWeight && *c.trafficRouting->maxTrafficWeight > 0)
      maxWeight = *c.trafficRouting->maxTrafficWeight;
  }
  if (c.analysis)
    validateAnalysis(errors, path.child("analysis"), *c.analysis, false, c.steps.size());
  for (size_t i = 0; i < c.steps.size(); ++i)
    validateStep(errors, path.child("steps").index(i), c.steps[i], c, maxWeight, c.steps.size());
}

// True when `field` is `prefix` or lies under it (prefix.x, prefix[3]).
bool isUnder(const std::string& field, const std::string& prefix) {
  if (prefix.empty()) return true;
  if (field.size() < prefix.size() || field.compare(0, prefix.size(), prefix) != 0) return false;
  return field.size() == prefix.size() || field[prefix.size()] == '.' ||
         field[prefix.size()] == '[';
}

template <class T>
Decoded<T> merge(Decoded<T> decoded, ErrorList validation) {
  const size_t decodeErrors = decoded.errors.size();
  for (auto& v : validation) {
    bool shadowed = false;
    for (size_t i = 0; i < decodeErrors; ++i) {
      const auto& d = decoded.errors[i];
      if (d.type != FieldError::Type::kUnknownField && isUnder(v.field, d.field)) shadowed = true;
    }
    if (!shadowed) decoded.errors.push_back(std::move(v));
  }
  return decoded;
}

}  // namespace

std::vector<std::string> isDns1123Label(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > 63) errs.push_back(maxLenMsg(63));
  if (!fullMatch(v, dns1123LabelRe())) errs.push_back(kDns1123LabelMsg);
  return errs;
}

std::vector<std::string> isDns1035Label(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > 63) errs.push_back(maxLenMsg(63));
  if (!fullMatch(v, dns1035LabelRe())) errs.push_back(kDns1035LabelMsg);
  return errs;
}

std::vector<std::string> isDns1123Subdomain(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > 253) errs.push_back(maxLenMsg(253));
  if (!fullMatch(v, dns1123SubdomainRe())) errs.push_back(kDns1123SubdomainMsg);
  return errs;
}

std::vector<std::string> isQualifiedName(std::string_view v) {
  std::vector<std::string> errs;
  std::string_view name = v;
  auto slash = v.find('/');
  if (slash != std::string_view::npos) {
    if (v.find('/', slash + 1) != std::string_view::npos) {
      errs.push_back(
          "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
          "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
          "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') "
          "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return errs;
    }
    std::string_view prefix = v.substr(0, slash);
    name = v.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      for (auto& e : isDns1123Subdomain(prefix)) errs.push_back("prefix part " + e);
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else {
    if (name.size() > 63) errs.push_back("name part " + maxLenMsg(63));
    if (!fullMatch(name, qualifiedNamePartRe())) errs.push_back(kQualifiedNameMsg);
  }
  return errs;
}

std::vector<std::string> isValidLabelValue(std::string_view v) {
  std::vector<std::string> errs;
  if (v.size() > 63) errs.push_back(maxLenMsg(63));
  if (!fullMatch(v, labelValueRe())) errs.push_back(kLabelValueMsg);
  return errs;
}

ErrorList validateRollout(const Rollout& r) {
  ErrorList errors;
  validateMeta(errors, r.metadata);
  FieldPath spec("spec");
  checkNonNegative(errors, spec.child("replicas"), r.spec.replicas);
  if (!r.spec.selector) {
    errors.push_back(requiredError(spec.child("selector")));
  } else {
    validateSelector(errors, spec.child("selector"), *r.spec.selector);
  }
  if (!r.spec.podTemplate) {
    errors.push_back(requiredError(spec.child("template")));
  } else {
    validatePodTemplate(errors, spec.child("template"), *r.spec.podTemplate);
    if (r.spec.selector &&
        !(r.spec.selector->matchLabels.empty() && r.spec.selector->matchExpressions.empty()) &&
        !selectorMatches(*r.spec.selector, r.spec.podTemplate->labels))
      errors.push_back(invalidError(spec.child("template").child("metadata").child("labels"),
                                    goMapLiteral(r.spec.podTemplate->labels),
                                    "`selector` does not match template `labels`"));
  }
  checkNonNegative(errors, spec.child("revisionHistoryLimit"), r.spec.revisionHistoryLimit);
  checkPositive(errors, spec.child("progressDeadlineSeconds"), r.spec.progressDeadlineSeconds);
  if (!r.spec.strategy.canary) {
    errors.push_back(
        requiredError(spec.child("strategy").child("canary"), "the canary strategy is required"));
  } else {
    validateCanary(errors, spec.child("strategy").child("canary"), *r.spec.strategy.canary);
  }
  return errors;
}

ErrorList validateAnalysisTemplate(const AnalysisTemplate& t) {
  ErrorList errors;
  validateMeta(errors, t.metadata);
  FieldPath spec("spec");
  if (t.spec.prometheus) validatePrometheus(errors, spec.child("prometheus"), *t.spec.prometheus);
  if (t.spec.metrics.empty()) errors.push_back(requiredError(spec.child("metrics")));
  validateMetrics(errors, spec.child("metrics"), t.spec.metrics);
  return errors;
}

Decoded<Rollout> checkRollout(const rapidjson::Value& value, DecodeOptions options) {
  auto decoded = decodeRollout(value, options);
  if (!value.IsObject()) return decoded;
  auto validation = validateRollout(decoded.object);
  return merge(std::move(decoded), std::move(validation));
}

Decoded<AnalysisTemplate> checkAnalysisTemplate(const rapidjson::Value& value,
                                                DecodeOptions options) {
  auto decoded = decodeAnalysisTemplate(value, options);
  if (!value.IsObject()) return decoded;
  auto validation = validateAnalysisTemplate(decoded.object);
  return merge(std::move(decoded), std::move(validation));
}

}  // namespace canaryd::api
