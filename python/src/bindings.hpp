// python/src/bindings.hpp: the parts of the hyena Python module, one per
// source file, each adding its classes and functions to the module.
#pragma once

#include <pybind11/pybind11.h>

namespace hyena::python {

void bind_conv(pybind11::module_& m);       // conv.cpp: causal_conv, FFTFilter
void bind_operator(pybind11::module_& m);   // operator.cpp: Operator, PreparedFilters, DecoderState
void bind_lm(pybind11::module_& m);         // lm.cpp: LM, LMState, Score, Tokenizer
void bind_io(pybind11::module_& m);         // io.cpp: load_safetensors, save_safetensors
void bind_attention(pybind11::module_& m);  // attention.cpp: Attention

}  // namespace hyena::python
