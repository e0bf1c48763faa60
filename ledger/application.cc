#include "ledger/application.h"

#include <cstdlib>

namespace tds::ledger {

void Application::Register(std::string type, std::unique_ptr<TxHandler> handler) {
  auto [it, inserted] = handlers_.emplace(std::move(type), std::move(handler));
  if (!inserted) std::abort();  // a programming error: two modules claim one type
}

const TxHandler* Application::Find(std::string_view type) const {
  auto it = handlers_.find(type);
  return it == handlers_.end() ? nullptr : it->second.get();
}

}  // namespace tds::ledger
