// hyena/train.hpp: training: the AdamW optimizer, gradient clipping, the learning-rate schedule, the trainable tensors.
#pragma once

#include "train/adamw.hpp"
#include "train/trainable_parameters.hpp"
