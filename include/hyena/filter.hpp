// hyena/filter.hpp: the implicit long filters: positional features, the sine MLP, the exponential window, filter layouts; the modal (pole-residue) filter of StripedHyena 2.
#pragma once

#include "filter/exponential_modulation.hpp"
#include "filter/implicit_filter.hpp"
#include "filter/implicit_filter_backward.hpp"
#include "filter/layout.hpp"
#include "filter/modal_filter.hpp"
#include "filter/positional_features.hpp"
