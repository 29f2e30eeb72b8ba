// DataPlane: what the demo's kube-emulator objects mean on this machine. Two fixed
// backends, "stable" and "canary", each one demo-app process on a fixed port (as a Service
// in front of its pods), run with the version the Service's ReplicaSet's image names; and
// an nginx split_clients file sending the canary Ingress's weight to the canary backend,
// applied with a graceful `nginx -s reload`. Not thread-safe: one caller at a time.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace canaryd::demo {

struct DataPlaneOptions {
  std::string appBinary;                                         // demo-app
  std::map<std::string, std::vector<std::string>> versionFlags;  // "v3" -> extra serve flags
  std::vector<std::string> defaultFlags;                         // flags of versions not listed
  unsigned short stablePort = 0;
  unsigned short canaryPort = 0;
  std::string splitFile;    // written with the upstreams and the split_clients block
  std::string nginxBinary;  // /usr/sbin/nginx
  std::string nginxPrefix;  // -p
  std::string nginxConf;    // -c
};

// The split_clients configuration for a canary weight (0..100) between the two local
// backends: nginx's split_clients needs percentages above 0 and below 100, so 0 and 100
// route everything with "*" alone.
std::string renderSplit(int weight, unsigned short stablePort, unsigned short canaryPort);

// The version an image names: its tag ("registry/demo-app:v2" -> "v2"), or "" without one.
std::string imageVersion(const std::string& image);

class DataPlane {
 public:
  explicit DataPlane(DataPlaneOptions options);
  ~DataPlane();  // stops the backends

  // Runs `version` on the backend ("stable" or "canary"), replacing what ran there; ""
  // stops it. Returns once the new process is listening; false (and a message on stderr)
  // if it did not start.
  bool setBackend(const std::string& backend, const std::string& version);
  const std::string& backendVersion(const std::string& backend) const;

  // Writes the split file for `weight` and reloads nginx when it runs (its pid file
  // exists). Returns whether the file was written and nginx, if running, took it.
  bool setWeight(int weight);
  int weight() const { return weight_; }

 private:
  struct Backend {
    unsigned short port = 0;
    std::string version;
    pid_t pid = -1;
  };
  void stopBackend(Backend& backend);

  DataPlaneOptions options_;
  std::map<std::string, Backend> backends_;
  int weight_ = -1;
};

}  // namespace canaryd::demo
