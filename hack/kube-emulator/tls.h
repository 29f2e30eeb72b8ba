// Throw-away TLS material for --tls: a self-signed CA and a server certificate it signs
// for 127.0.0.1 / localhost (ECDSA P-256, valid one day), all as PEM text, plus a random
// bearer token. Pure functions; throw std::runtime_error if OpenSSL fails (start-up only).
#pragma once

#include <string>

namespace canaryd::emulator {

struct TlsMaterial {
  std::string caCertPem;
  std::string serverCertPem;
  std::string serverKeyPem;
};

TlsMaterial generateTlsMaterial();
// 32 random bytes as hex.
std::string randomToken();

}  // namespace canaryd::emulator
