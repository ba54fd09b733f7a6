// hyena/operator.hpp: the order-N Hyena operator, its decoding state, its weights and its state_dict key table.
#pragma once

#include "operator/decoder_state.hpp"
#include "operator/hyena_operator.hpp"
#include "operator/hyena_operator_backward.hpp"
#include "operator/state_dict.hpp"
#include "operator/step_filters.hpp"
#include "operator/weights.hpp"
