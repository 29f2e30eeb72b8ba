// SharedInformer<T>: client-go's sharedIndexInformer over one resource. A Reflector fills
// an indexed Store<T> of transformed (trimmed) objects on a thread of its own; registered
// event handlers hear every add, update and delete (tombstones after a relist), on that
// thread, after the store has changed and without the store's read lock held, so they
// may read the cache (and should only enqueue keys). hasSynced() turns true once the
// first list is stored. Thread-safe.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <thread>

#include "informer/reflector.h"
#include "informer/store.h"
#include "informer/transform.h"
#include "kube/client.h"

namespace canaryd::informer {

// What any informer offers to waitForCacheSync.
class InformerBase {
 public:
  virtual ~InformerBase() = default;
  virtual bool hasSynced() const = 0;
};

template <HasObjectMeta T>
class SharedInformer final : public InformerBase {
 public:
  // The client must outlive the informer. `indexers` are the store's (defaultIndexers<T>()
  // gives the namespace and owner-uid indexes).
  SharedInformer(kube::Client& client, ReflectorOptions options, Transform<T> transform,
                 Indexers<T> indexers = {})
      : store_(std::move(indexers)),
        reflector_(client, store_, std::move(transform), std::move(options)) {}

  ~SharedInformer() override { stop(); }
  SharedInformer(const SharedInformer&) = delete;
  SharedInformer& operator=(const SharedInformer&) = delete;

  // Registers a handler. Added to a running informer, it first hears the cached objects
  // as adds (isInInitialList true), as client-go's AddEventHandler.
  void addEventHandler(std::shared_ptr<EventHandler<T>> handler) {
    store_.addEventHandler(std::move(handler));
  }

  // Starts listing and watching on a new thread. Idempotent.
  void start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable() || stopped_) return;
    thread_ = std::thread([this] { reflector_.run(); });
  }

  // Stops the reflector and joins its thread. Idempotent; the cache stays readable.
  void stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    reflector_.stop();
    if (thread_.joinable()) thread_.join();
  }

  bool hasSynced() const override { return store_.hasSynced(); }

  // Waits until hasSynced() or the timeout passes; returns hasSynced().
  bool waitForCacheSync(std::chrono::steady_clock::duration timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!hasSynced()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // The cache (the lister and indexer): getByKey, list, byIndex ...
  const Store<T>& store() const { return store_; }
  Store<T>& store() { return store_; }

  std::string lastSyncResourceVersion() const { return reflector_.lastSyncResourceVersion(); }
  ReflectorStats stats() const { return reflector_.stats(); }

 private:
  Store<T> store_;
  Reflector<T> reflector_;
  std::mutex mu_;
  std::thread thread_;
  bool stopped_ = false;
};

// Waits until every informer has synced or the timeout passes (cache.WaitForCacheSync);
// returns whether all did.
bool waitForCacheSync(std::initializer_list<const InformerBase*> informers,
                      std::chrono::steady_clock::duration timeout);

}  // namespace canaryd::informer
