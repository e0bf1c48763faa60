#pragma once
// The console's static files (node/console/web, but its tests), embedded in the binary at build
// time (embed_web.cmake), so a node serves the pages of its own version with nothing to install.

#include <string_view>
#include <vector>

namespace tds::node::console {

struct ConsoleAsset {
  std::string_view path;  // URL path: "/index.html", "/pages/usage.js"
  std::string_view content_type;
  std::string_view body;
};

const std::vector<ConsoleAsset>& ConsoleAssets();

}  // namespace tds::node::console
