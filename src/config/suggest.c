/* "Did you mean": the candidate nearest to a misspelt word.
 *
 * Distance is the optimal-string-alignment edit distance (insertions,
 * deletions, substitutions and swaps of two neighbouring characters, each
 * costing 1), computed case-insensitively, so "epoch" -> "epochs",
 * "batchsize" -> "batch_size", "learnign_rate" -> "learning_rate",
 * "Hidden" -> "hidden". A candidate is offered only when the distance is at
 * most a third of the longer word (at least 1) and smaller than the word
 * itself, so short unrelated words ("lr" for "all") get no suggestion. Ties go
 * to the earlier candidate. */
#include "adamix/config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define WORD_MAX 64

static size_t osa_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    /* three rows of the dynamic programme: i-2, i-1, i */
    size_t rows[3][WORD_MAX + 1];
    for (size_t j = 0; j <= m; j++)
        rows[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        /* row i is rows[i % 3] */
        size_t *cur = rows[i % 3], *prev = rows[(i + 2) % 3], *prev2 = rows[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t d = prev[j] + 1;
            if (cur[j - 1] + 1 < d) d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d) d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
        }
    }
    return rows[n % 3][m];
}

const char *amx_suggest(const char *word, const char *const *candidates, size_t n)
{
    if (!word || !candidates) return NULL;
    size_t wl = strlen(word);
    if (wl == 0 || wl > WORD_MAX) return NULL;
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        const char *c = candidates[i];
        if (!c) continue;
        size_t cl = strlen(c);
        if (cl > WORD_MAX) continue;
        size_t longer = wl > cl ? wl : cl;
        size_t limit = longer / 3 > 1 ? longer / 3 : 1;
        size_t d = osa_distance(word, c);
        if (d <= limit && d < wl && d < best_d) {
            best = c;
            best_d = d;
        }
    }
    return best;
}
