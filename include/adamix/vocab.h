/* The network's vocabulary: the words an experiment names a network with,
 * as enums, shared by the modules that build (nn), describe (config) and run
 * (run) it. Nothing but enums and limits: config/ maps the experiment's
 * strings onto them (amx_unit_name and friends live there), nn/ computes
 * with them, and neither needs the other's header for it. */
#ifndef ADAMIX_VOCAB_H
#define ADAMIX_VOCAB_H

/* The most layer sizes a network may list (input included). */
#define AMX_MAX_LAYERS 16

/* A layer's units. softmax is a classifier's output layer only: its
 * probabilities are those of one row as a whole, never of a unit alone. */
enum amx_unit {
    AMX_UNIT_LOGISTIC,
    AMX_UNIT_LINEAR,
    AMX_UNIT_RELU,
    AMX_UNIT_TANH,
    AMX_UNIT_SOFTMAX
};

/* The fine-tuning loss. cross_entropy is the logistic outputs' binary
 * cross-entropy against pixels for an autoencoder, and -log p(label) of the
 * softmax for a classifier; squared_error is an autoencoder's only. */
enum amx_loss { AMX_LOSS_CROSS_ENTROPY, AMX_LOSS_SQUARED_ERROR };

/* What a network is trained to do (network.task): reconstruct its input
 * through a mirrored stack, or name its input's class through a softmax
 * layer on top of the stack. The run module's table of model kinds has one
 * row per task (src/run/model.c). */
enum amx_task { AMX_TASK_AUTOENCODER, AMX_TASK_CLASSIFIER };

/* Precision of the matrix products (compute.precision): fp32, or bf16
 * inputs with f32 accumulation and f32 outputs. Everything else (parameters,
 * gradients, activations as stored, errors) is f32 either way. */
enum amx_precision { AMX_PRECISION_FP32, AMX_PRECISION_BF16 };

#endif
