// Independent reference for the PCG32 test: prints N outputs of Debian's
// libpcg-cpp pcg32 seeded with (state, stream), one per line.
// Usage: pcg_reference STATE STREAM N
#include <pcg_random.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv)
{
    if (argc != 4) {
        std::fprintf(stderr, "usage: pcg_reference STATE STREAM N\n");
        return 2;
    }
    unsigned long long state = std::strtoull(argv[1], nullptr, 0);
    unsigned long long stream = std::strtoull(argv[2], nullptr, 0);
    long n = std::strtol(argv[3], nullptr, 0);
    pcg32 rng(state, stream);
    for (long i = 0; i < n; i++)
        std::printf("%u\n", (unsigned)rng());
    return 0;
}
