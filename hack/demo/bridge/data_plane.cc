#include "data_plane.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace canaryd::demo {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);

// fork + exec with argv; the child gets SIGTERM when this process dies, so no backend
// outlives the bridge even after a SIGKILL. stdoutFd (if >= 0) becomes the child's stdout.
pid_t spawn(const std::vector<std::string>& args, int stdoutFd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls until exec.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1);
  if (stdoutFd >= 0) dup2(stdoutFd, STDOUT_FILENO);
  execv(argv[0], argv.data());
  _exit(127);
}

int waitExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Reads the child's stdout until its "listening on" line, or the timeout.
bool waitListening(int fd) {
  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (seen.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[256];
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    seen.append(buffer, static_cast<size_t>(n));
  }
  return seen.rfind("listening on ", 0) == 0;
}

}  // namespace

std::string renderSplit(int weight, unsigned short stablePort, unsigned short canaryPort) {
  std::string out =
      "# Written by demo-bridge from the canary Ingress's canary-weight annotation.\n"
      "upstream stable { server 127.0.0.1:" +
      std::to_string(stablePort) +
      "; keepalive 16; }\n"
      "upstream canary { server 127.0.0.1:" +
      std::to_string(canaryPort) +
      "; keepalive 16; }\n"
      "split_clients \"${request_id}\" $backend {\n";
  if (weight <= 0) {
    out += "    * stable;\n";
  } else if (weight >= 100) {
    out += "    * canary;\n";
  } else {
    out += "    " + std::to_string(weight) + "% canary;\n    * stable;\n";
  }
  return out + "}\n";
}

std::string imageVersion(const std::string& image) {
  const auto slash = image.rfind('/');
  const auto colon = image.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return "";
  return image.substr(colon + 1);
}

DataPlane::DataPlane(DataPlaneOptions options) : options_(std::move(options)) {
  backends_["stable"].port = options_.stablePort;
  backends_["canary"].port = options_.canaryPort;
}

DataPlane::~DataPlane() {
  for (auto& [name, backend] : backends_) stopBackend(backend);
}

const std::string& DataPlane::backendVersion(const std::string& backend) const {
  return backends_.at(backend).version;
}

void DataPlane::stopBackend(Backend& backend) {
  if (backend.pid > 0) {
    kill(backend.pid, SIGTERM);
    waitExit(backend.pid);
  }
  backend.pid = -1;
  backend.version.clear();
}

bool DataPlane::setBackend(const std::string& name, const std::string& version) {
  Backend& backend = backends_.at(name);
  if (backend.version == version && (version.empty() || backend.pid > 0)) return true;
  // The same port again: the Service's address does not change, only what serves it.
  stopBackend(backend);
  if (version.empty()) return true;
  std::vector<std::string> args{options_.appBinary,           "serve",     "--port",
                                std::to_string(backend.port), "--version", version};
  auto flags = options_.versionFlags.find(version);
  const auto& extra = flags != options_.versionFlags.end() ? flags->second : options_.defaultFlags;
  args.insert(args.end(), extra.begin(), extra.end());
  int fds[2];
  if (pipe(fds) != 0) return false;
  const pid_t pid = spawn(args, fds[1]);
  close(fds[1]);
  const bool listening = pid > 0 && waitListening(fds[0]);
  close(fds[0]);
  if (!listening) {
    std::cerr << "demo-bridge: " << name << " backend " << version << " did not start\n";
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitExit(pid);
    }
    return false;
  }
  backend.pid = pid;
  backend.version = version;
  return true;
}

bool DataPlane::setWeight(int weight) {
  {
    // Write then rename, so nginx never reads half a file.
    const std::string temporary = options_.splitFile + ".tmp";
    std::ofstream out(temporary, std::ios::trunc);
    out << renderSplit(weight, options_.stablePort, options_.canaryPort);
    out.close();
    if (!out) return false;
    std::error_code ec;
    std::filesystem::rename(temporary, options_.splitFile, ec);
    if (ec) return false;
  }
  weight_ = weight;
  if (!std::filesystem::exists(std::filesystem::path(options_.nginxPrefix) / "nginx.pid")) {
    return true;
  }
  // -s reload: the master starts workers with the new file and lets the old ones finish
  // their requests (graceful), so no request is cut.
  const pid_t pid = spawn({options_.nginxBinary, "-p", options_.nginxPrefix, "-c",
                           options_.nginxConf, "-q", "-s", "reload"},
                          -1);
  return pid > 0 && waitExit(pid) == 0;
}

}  // namespace canaryd::demo
