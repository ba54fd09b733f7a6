// hyena/operator.hpp: the order-N Hyena operator, its weights and its state_dict key table.
#pragma once

#include "operator/hyena_operator.hpp"
#include "operator/state_dict.hpp"
#include "operator/weights.hpp"
