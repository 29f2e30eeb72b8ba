// demo-bridge: keeps the demo's local data plane in step with the kube-emulator.
//   demo-bridge --kubeconfig F --namespace demo --canary-ingress web-web-canary
//     --stable-service web-stable --canary-service web-canary --app demo-app
//     --stable-port P --canary-port P --version-flags 'v3=--error-rate 0.08'
//     --split-file F --nginx /usr/sbin/nginx --nginx-prefix D --nginx-conf F
// Watches the canary Ingress (list + watch, as an informer would) and follows the two
// Services' pod-template-hash selectors to their ReplicaSets' images. Prints "ready" once
// the split file exists, then one line per change ("backend canary v2", "weight 30").
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "data_plane.h"
#include "kube/config.h"
#include "kube/http_client.h"
#include "kube/watch.h"

namespace {

using canaryd::kube::Client;
namespace resources = canaryd::kube::resources;

constexpr std::string_view kHashLabel = "canaryd.io/pod-template-hash";

std::atomic<bool> stopping{false};
std::mutex mu;
std::condition_variable changed;
int ingressWeight = 0;  // guarded by mu

// The canary-weight annotation of an Ingress (0 when absent or not a number).
int weightOf(const rapidjson::Value& ingress, const std::string& annotation) {
  const auto& meta = ingress["metadata"];
  if (!meta.HasMember("annotations") || !meta["annotations"].IsObject()) return 0;
  const auto& annotations = meta["annotations"];
  auto it = annotations.FindMember(annotation.c_str());
  if (it == annotations.MemberEnd() || !it->value.IsString()) return 0;
  try {
    return std::clamp(std::stoi(it->value.GetString()), 0, 100);
  } catch (const std::exception&) {
    return 0;
  }
}

void setIngressWeight(int weight) {
  {
    std::lock_guard lock(mu);
    ingressWeight = weight;
  }
  changed.notify_all();
}

// List, then watch from the list's resourceVersion; on any end of the stream, again.
void watchIngress(Client& client, const std::string& ns, const std::string& name,
                  const std::string& annotation) {
  while (!stopping) {
    canaryd::kube::ListOptions options;
    options.fieldSelector = "metadata.name=" + name;
    auto page = client.list(resources::kIngresses, ns, options);
    if (!page) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    const auto& items = page->items();
    setIngressWeight(items.Empty() ? 0 : weightOf(items[0], annotation));
    options.resourceVersion = page->resourceVersion;
    options.allowWatchBookmarks = true;
    options.timeoutSeconds = 60;
    auto watch = client.watch(resources::kIngresses, ns, options);
    if (!watch) continue;
    while (!stopping) {
      auto event = (*watch)->next();
      if (!event || !*event) break;
      using Type = canaryd::kube::WatchEventType;
      if ((*event)->type == Type::kBookmark) continue;
      setIngressWeight((*event)->type == Type::kDeleted ? 0
                                                        : weightOf(*(*event)->object, annotation));
    }
  }
}

// The image tag of the ReplicaSet a Service's hash selector picks ("" when none).
std::string serviceVersion(Client& client, const std::string& ns, const std::string& service) {
  auto svc = client.get(resources::kServices, ns, service);
  if (!svc) return "";
  const auto& spec = (**svc)["spec"];
  if (!spec.HasMember("selector") || !spec["selector"].IsObject()) return "";
  auto hash = spec["selector"].FindMember(kHashLabel.data());
  if (hash == spec["selector"].MemberEnd() || !hash->value.IsString()) return "";
  canaryd::kube::ListOptions options;
  options.labelSelector = std::string(kHashLabel) + "=" + hash->value.GetString();
  auto page = client.list(resources::kReplicaSets, ns, options);
  if (!page || page->items().Empty()) return "";
  const auto& containers = page->items()[0]["spec"]["template"]["spec"]["containers"];
  if (!containers.IsArray() || containers.Empty()) return "";
  return canaryd::demo::imageVersion(containers[0]["image"].GetString());
}

std::vector<std::string> splitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"demo-bridge: the canary Ingress's weight and the Services' versions, on nginx"};
  std::string kubeconfig, ns = "demo", canaryIngress, stableService, canaryService;
  std::string annotation = "nginx.ingress.kubernetes.io/canary-weight";
  std::string defaultFlags;
  std::vector<std::string> versionFlags;
  canaryd::demo::DataPlaneOptions options;
  options.nginxBinary = "/usr/sbin/nginx";
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig of the cluster")->required();
  app.add_option("--namespace", ns, "namespace of the objects")->capture_default_str();
  app.add_option("--canary-ingress", canaryIngress, "the canary Ingress canaryd owns")->required();
  app.add_option("--weight-annotation", annotation, "annotation holding the canary weight")
      ->capture_default_str();
  app.add_option("--stable-service", stableService, "stable Service")->required();
  app.add_option("--canary-service", canaryService, "canary Service")->required();
  app.add_option("--app", options.appBinary, "demo-app binary")->required();
  app.add_option("--stable-port", options.stablePort, "port of the stable backend")->required();
  app.add_option("--canary-port", options.canaryPort, "port of the canary backend")->required();
  app.add_option("--version-flags", versionFlags,
                 "VERSION=FLAGS: demo-app serve flags of one version (repeatable)");
  app.add_option("--default-flags", defaultFlags, "demo-app serve flags of other versions");
  app.add_option("--split-file", options.splitFile, "nginx file to write")->required();
  app.add_option("--nginx", options.nginxBinary, "nginx binary")->capture_default_str();
  app.add_option("--nginx-prefix", options.nginxPrefix, "nginx -p (holds nginx.pid)")->required();
  app.add_option("--nginx-conf", options.nginxConf, "nginx -c")->required();
  CLI11_PARSE(app, argc, argv);
  for (const auto& entry : versionFlags) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) {
      std::cerr << "demo-bridge: --version-flags must be VERSION=FLAGS, got " << entry << "\n";
      return 2;
    }
    options.versionFlags[entry.substr(0, eq)] = splitWords(entry.substr(eq + 1));
  }
  options.defaultFlags = splitWords(defaultFlags);

  canaryd::kube::LoadOptions load;
  load.kubeconfig = kubeconfig;
  auto config = canaryd::kube::loadRestConfig(load);
  if (!config) {
    std::cerr << "demo-bridge: " << config.error().message << "\n";
    return 1;
  }
  canaryd::kube::HttpClientOptions clientOptions;
  clientOptions.qps = 0;  // a local emulator: polling every 100 ms must not be throttled
  // The next poll is the retry: a call that fails must not keep the loop (and a stop
  // signal) waiting through backoffs.
  clientOptions.maxRetries = 0;
  clientOptions.requestTimeout = std::chrono::seconds(2);
  auto client = canaryd::kube::HttpClient::create(*config, clientOptions);
  if (!client) {
    std::cerr << "demo-bridge: " << client.error().message << "\n";
    return 1;
  }

  // SIGINT/SIGTERM end the loop; the DataPlane destructor then stops the backends.
  struct sigaction action {};
  action.sa_handler = [](int) { stopping = true; };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto plane = std::make_unique<canaryd::demo::DataPlane>(options);
  if (!plane->setWeight(0)) {
    std::cerr << "demo-bridge: cannot write " << options.splitFile << "\n";
    return 1;
  }
  std::cout << "ready" << std::endl;
  std::thread watcher([&] { watchIngress(**client, ns, canaryIngress, annotation); });

  while (!stopping) {
    int weight;
    {
      std::unique_lock lock(mu);
      // Services are polled (the Ingress is watched): a change there is at most 100 ms old.
      changed.wait_for(lock, std::chrono::milliseconds(100));
      weight = ingressWeight;
    }
    // Backends first, the weight last: traffic never moves to a version not yet running.
    for (const auto& [backend, service] : {std::pair{std::string("stable"), stableService},
                                           {std::string("canary"), canaryService}}) {
      const std::string version = serviceVersion(**client, ns, service);
      if (version == plane->backendVersion(backend)) continue;
      if (plane->setBackend(backend, version)) {
        std::cout << "backend " << backend << " " << (version.empty() ? "-" : version) << std::endl;
      }
    }
    if (weight != plane->weight()) {
      if (plane->setWeight(weight)) {
        std::cout << "weight " << weight << std::endl;
      } else {
        std::cerr << "demo-bridge: nginx reload for weight " << weight << " failed\n";
      }
    }
  }
  plane.reset();  // stops the backends
  std::cout.flush();
  // The watcher may be blocked in a watch for up to a minute; ending the process ends it.
  watcher.detach();
  _exit(0);
}
