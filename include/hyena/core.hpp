// hyena/core.hpp: the foundations: index_t and assertions, span, signal shapes, the thread pool and execution context.
#pragma once

#include "core/config.hpp"
#include "core/execution.hpp"
#include "core/shape.hpp"
#include "core/span.hpp"
#include "core/thread_pool.hpp"
