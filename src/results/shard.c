/* Which shard of an array job a run belongs to, and a run's label: what the
 * runner, the dry run and merge must agree on. */
#include "adamix/results.h"

#include <stdint.h>
#include <stdio.h>

/* splitmix64's finaliser: a bijection of 64-bit words whose output bits
 * each depend on every input bit (Steele, Lea, Flood 2014). */
static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

int amx_run_shard(const char *id, int count)
{
    if (count <= 1) return 1;
    /* The id is already a hash (hex digits of a SHA-256); as a number it
     * seeds the scores. Highest random weight (rendezvous) hashing: the run
     * goes to the shard with the largest score mix(id, shard). A run's shard
     * depends on its own id and on count only, so adding points to a sweep
     * moves no run; going from N to N+1 shards moves only the runs whose new
     * top score is shard N+1's, about 1/(N+1) of them (id modulo N would move
     * most). Each shard is equally likely for every run, so shards are
     * balanced in expectation; the spread (--dry-run reports it) is that of
     * a multinomial draw, about sqrt(runs/N) runs per shard. */
    uint64_t h = 0;
    for (const char *p = id; *p; p++) {
        int c = *p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c & 15;
        h = h * 16 + (uint64_t)d;
    }
    int best = 1;
    uint64_t best_score = 0;
    for (int s = 1; s <= count; s++) {
        uint64_t score = mix64(h ^ mix64((uint64_t)s));
        if (s == 1 || score > best_score) {
            best = s;
            best_score = score;
        }
    }
    return best;
}

bool amx_run_in_shard(const struct amx_experiment *exp, size_t run, int index, int count)
{
    if (count <= 0) return true;
    return amx_run_shard(exp->runs[run].id, count) == index;
}

void amx_run_label(const struct amx_experiment *exp, size_t run, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    const struct amx_run *r = &exp->runs[run];
    for (size_t a = 0; a < exp->n_axes && used < size; a++)
        used += (size_t)snprintf(buf + used, size - used, "%s=%s ", exp->axes[a].path,
                                 exp->axes[a].labels[r->value[a]]);
    if (used < size) snprintf(buf + used, size - used, "repeat=%d", r->repeat);
}
