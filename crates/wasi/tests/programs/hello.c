/* Hello, world: the smallest real WASI program (start-up benchmark). */
#include <stdio.h>

int main(void) {
    printf("Hello, world!\n");
    return 0;
}
