// hyena/io.hpp: files: safetensors reading and writing, operator and LM weights (read and written), the LM config (JSON), FASTA.
#pragma once

#include "io/dtype.hpp"
#include "io/fasta.hpp"
#include "io/lm_config.hpp"
#include "io/lm_loader.hpp"
#include "io/lm_writer.hpp"
#include "io/operator_weights.hpp"
#include "io/safetensors_error.hpp"
#include "io/safetensors_reader.hpp"
#include "io/safetensors_writer.hpp"
#include "io/sh2_loader.hpp"
