// Label selectors (metav1.LabelSelector) as the controller needs them: matching a set of
// labels, and the string form status.selector carries for the scale subresource.
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "api/types.h"

namespace canaryd::controller {

// True when `labels` satisfy every matchLabels entry and matchExpressions requirement
// (In, NotIn, Exists, DoesNotExist; an unknown operator never matches), as
// metav1.LabelSelectorAsSelector(...).Matches. An empty selector matches everything.
bool selectorMatches(const api::LabelSelector& selector, const api::StringMap& labels);

// metav1.FormatLabelSelector's text: "app=podinfo,tier in (a,b),!x", requirements sorted
// by key as labels.Selector.String() sorts them; "" for an empty selector.
std::string formatLabelSelector(const api::LabelSelector& selector);

}  // namespace canaryd::controller
