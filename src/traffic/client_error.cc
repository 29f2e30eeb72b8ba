#include "traffic/client_error.h"

namespace canaryd::traffic {

std::string_view toString(ClientError::Kind kind) {
  switch (kind) {
    case ClientError::Kind::kNotFound:
      return "NotFound";
    case ClientError::Kind::kConflict:
      return "Conflict";
    case ClientError::Kind::kForbidden:
      return "Forbidden";
    case ClientError::Kind::kOther:
      break;
  }
  return "Other";
}

}  // namespace canaryd::traffic
