/* A parameter tensor: the non-owning view of one weight matrix or bias
 * vector that a network hands its optimiser (net.h, optim.h). */
#ifndef ADAMIX_TENSOR_H
#define ADAMIX_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMX_SELECTOR_MAX 32

struct amx_param_tensor {
    char name[AMX_SELECTOR_MAX]; /* "layer3.weights" */
    int layer;                   /* 1-based over the network's dense layers */
    bool is_bias;
    /* The named part of the network the layer belongs to, a parameter group
     * of its own: "encoder" or "decoder" for an autoencoder, "softmax" for a
     * classifier's output layer; NULL for none (a classifier's hidden
     * layers). */
    const char *part;
    float *theta;
    float *grad;
    size_t n;
    /* NULL, or n bf16 copies of theta (adamix/bf16.h) that every update
     * rewrites in the same pass: theta16[i] = amx_bf16_bits(theta[i]) */
    uint16_t *theta16;
};

#endif
