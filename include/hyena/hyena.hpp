// hyena/hyena.hpp: everything. Each folder has its own umbrella header
// (hyena/conv.hpp, hyena/operator.hpp, ...), and only hyena/io.hpp pulls in
// JSON parsing: include the narrowest one you need to compile less.
#pragma once

#include "core.hpp"
#include "fft.hpp"
#include "conv.hpp"
#include "filter.hpp"
#include "operator.hpp"
#include "model.hpp"
#include "train.hpp"
#include "io.hpp"
#include "baselines.hpp"
