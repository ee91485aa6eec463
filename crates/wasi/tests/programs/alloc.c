/* Large allocations: 96 MiB in one block and 64 blocks of 1 MiB, written
 * and read back, so linear memory grows well past 64 MiB. */
#include <stdint.h>
#include "check.h"

int main(void) {
    size_t big = 96u << 20;
    uint8_t *p = malloc(big);
    CHECK(p != NULL);
    for (size_t i = 0; i < big; i += 4096)
        p[i] = (uint8_t)(i >> 12);
    for (size_t i = 0; i < big; i += 4096)
        CHECK(p[i] == (uint8_t)(i >> 12));
    uint8_t *blocks[64];
    for (int i = 0; i < 64; i++) {
        blocks[i] = malloc(1u << 20);
        CHECK(blocks[i] != NULL);
        memset(blocks[i], i, 1u << 20);
    }
    for (int i = 0; i < 64; i++) {
        CHECK(blocks[i][12345] == i);
        free(blocks[i]);
    }
    free(p);
    printf("memory: %zu MiB\n", __builtin_wasm_memory_size(0) * 65536 >> 20);
    return 0;
}
