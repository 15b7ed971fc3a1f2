/* Kaldi's newbob schedule, steps/nnet/train_scheduler.sh, as one decision
 * per epoch: the new weights are kept only if the validation loss improved
 * (or within keep_lr_iters or min_iters), the relative improvement
 * (prev - cur)/prev of the kept loss starts the halving once below
 * start_halving_impr, and once halving is on an improvement below
 * end_halving_impr stops training (not within min_iters). max_iters is the
 * run's epochs. Pure arithmetic, no I/O. */
#include "adamix/optim.h"

void amx_newbob_start(struct amx_newbob_state *s, double initial_loss)
{
    s->loss = initial_loss;
    s->halving = false;
}

struct amx_newbob_decision amx_newbob_after(const struct amx_newbob *nb, struct amx_newbob_state *s,
                                            int iter, double loss_new)
{
    struct amx_newbob_decision d = {false, false, false};
    double loss_prev = s->loss;
    d.keep = loss_new < s->loss || iter <= nb->keep_lr_iters || iter <= nb->min_iters;
    if (d.keep) s->loss = loss_new;
    if (iter <= nb->keep_lr_iters) return d; /* no halving yet */
    double rel_impr = (loss_prev - s->loss) / loss_prev;
    if (s->halving && rel_impr < nb->end_halving_impr) {
        if (iter > nb->min_iters) d.stop = true; /* else: continue, as min_iters says */
        return d;
    }
    if (rel_impr < nb->start_halving_impr) s->halving = true;
    d.halve = s->halving;
    return d;
}
