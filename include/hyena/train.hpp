// hyena/train.hpp: training: fresh weights, the AdamW optimizer, gradient clipping, the learning-rate schedule, the trainable tensors, checkpoints with the optimizer's state.
#pragma once

#include "train/adamw.hpp"
#include "train/checkpoint.hpp"
#include "train/initial_weights.hpp"
#include "train/trainable_parameters.hpp"
