#include "informer/informer.h"

namespace canaryd::informer {

bool waitForCacheSync(std::initializer_list<const InformerBase*> informers,
                      std::chrono::steady_clock::duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (const auto* informer : informers) all = all && informer->hasSynced();
    if (all) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace canaryd::informer
