/* threaded: the `interp` bytecode interpreter of ../shared/bench (a stack
 * machine summing Collatz step counts for n = 1..N), written the way
 * tail-call interpreters are (CPython 3.14, wasm3): one function per
 * opcode, the top of the stack and the machine state in arguments, and
 * every handler ending in a `musttail` call through a table of handlers,
 * which clang -mtail-call compiles to `return_call_indirect`.
 *
 * Build (the .wat beside it is what `cargo xtask bench-programs` reads):
 *   clang --target=wasm32 -nostdlib -O2 -mtail-call -Wl,--no-entry \
 *     -Wl,--export=run -o threaded.wasm threaded.c
 *   wasm2wat --enable-tail-call threaded.wasm -o threaded.wat
 */
typedef int i32;
typedef unsigned int u32;

/* FNV-1a style mixing of 32-bit words (as ../shared/bench/src/common.h). */
static inline u32 mix32(u32 h, u32 v) {
    h ^= v;
    h *= 0x01000193u;
    h ^= h >> 15;
    return h;
}

enum {
    OP_HALT, OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_DIVU,
    OP_REMU, OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHRU, OP_LTU, OP_GTU,
    OP_EQ, OP_NE, OP_JMP, OP_JZ, OP_JNZ, OP_DUP, OP_DROP, OP_SWAP,
    OP_INC, OP_DEC, OP_NEG, OP_NOT, OP_ADDI, OP_MULI, OP_NOP, OP_ROTL,
    OP_COUNT
};

static volatile i32 PARAM_N = 60000;
static volatile i32 PARAM_REPS = 3;

static i32 code[256];
static u32 ncode;
static u32 fixups[32][2], nfix;   /* (code index, label id) */
static u32 labels[16];

static void e0(i32 op) { code[ncode++] = op; }
static void e1(i32 op, i32 a) { code[ncode++] = op; code[ncode++] = a; }
static void ej(i32 op, u32 label) { code[ncode++] = op; fixups[nfix][0] = ncode; fixups[nfix][1] = label; nfix++; code[ncode++] = 0; }
static void lbl(u32 l) { labels[l] = ncode; }

enum { L_OUTER, L_INNER, L_EVEN, L_CNT, L_INNER_END, L_END };
/* locals: 0=n 1=x 2=steps 3=total 4=N */
static void assemble(void) {
    ncode = 0; nfix = 0;
    e1(OP_PUSH, 1); e1(OP_STORE, 0);
    e1(OP_PUSH, 0); e1(OP_STORE, 3);
    lbl(L_OUTER);
    e1(OP_LOAD, 0); e1(OP_LOAD, 4); e0(OP_GTU); ej(OP_JNZ, L_END);
    e1(OP_LOAD, 0); e1(OP_STORE, 1);
    e1(OP_PUSH, 0); e1(OP_STORE, 2);
    lbl(L_INNER);
    e1(OP_LOAD, 1); e1(OP_PUSH, 1); e0(OP_EQ); ej(OP_JNZ, L_INNER_END);
    e1(OP_LOAD, 1); e1(OP_PUSH, 1); e0(OP_AND); ej(OP_JZ, L_EVEN);
    e1(OP_LOAD, 1); e0(OP_DUP); e0(OP_DUP); e0(OP_ADD); e0(OP_ADD); e1(OP_ADDI, 1); e1(OP_STORE, 1);
    ej(OP_JMP, L_CNT);
    lbl(L_EVEN);
    e1(OP_LOAD, 1); e1(OP_PUSH, 1); e0(OP_SHRU); e1(OP_STORE, 1);
    lbl(L_CNT);
    e1(OP_INC, 2);
    ej(OP_JMP, L_INNER);
    lbl(L_INNER_END);
    e1(OP_LOAD, 3); e1(OP_LOAD, 2); e0(OP_ADD); e1(OP_LOAD, 0); e1(OP_PUSH, 31); e0(OP_REMU);
    e0(OP_XOR); e1(OP_STORE, 3);
    e1(OP_INC, 0);
    ej(OP_JMP, L_OUTER);
    lbl(L_END);
    e1(OP_LOAD, 3); e0(OP_HALT);
    for (u32 i = 0; i < nfix; i++) code[fixups[i][0]] = (i32)labels[fixups[i][1]];
}

/* A handler: `pc` points past its opcode, `sp` at the first free stack
 * slot below the cached top of stack `tos`. */
typedef u32 (*handler)(const i32 *pc, u32 *sp, u32 tos, u32 *locals);
static const handler OPS[OP_COUNT];

#define DISPATCH() __attribute__((musttail)) return OPS[*pc](pc + 1, sp, tos, locals)
#define HANDLER(name) static u32 name(const i32 *pc, u32 *sp, u32 tos, u32 *locals)
#define BINARY(name, expr) HANDLER(name) { u32 b = tos, a = *--sp; tos = (expr); DISPATCH(); }

HANDLER(op_halt) { (void)pc; (void)sp; (void)locals; return tos; }
HANDLER(op_push) { *sp++ = tos; tos = (u32)*pc++; DISPATCH(); }
HANDLER(op_load) { *sp++ = tos; tos = locals[*pc++]; DISPATCH(); }
HANDLER(op_store) { locals[*pc++] = tos; tos = *--sp; DISPATCH(); }
BINARY(op_add, a + b)
BINARY(op_sub, a - b)
BINARY(op_mul, a * b)
BINARY(op_divu, b ? a / b : 0)
BINARY(op_remu, b ? a % b : 0)
BINARY(op_and, a & b)
BINARY(op_or, a | b)
BINARY(op_xor, a ^ b)
BINARY(op_shl, a << (b & 31))
BINARY(op_shru, a >> (b & 31))
BINARY(op_ltu, a < b)
BINARY(op_gtu, a > b)
BINARY(op_eq, a == b)
BINARY(op_ne, a != b)
BINARY(op_rotl, (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)))
HANDLER(op_jmp) { pc = code + *pc; DISPATCH(); }
HANDLER(op_jz) { u32 c = tos; tos = *--sp; pc = c == 0 ? code + *pc : pc + 1; DISPATCH(); }
HANDLER(op_jnz) { u32 c = tos; tos = *--sp; pc = c != 0 ? code + *pc : pc + 1; DISPATCH(); }
HANDLER(op_dup) { *sp++ = tos; DISPATCH(); }
HANDLER(op_drop) { tos = *--sp; DISPATCH(); }
HANDLER(op_swap) { u32 t = sp[-1]; sp[-1] = tos; tos = t; DISPATCH(); }
HANDLER(op_inc) { locals[*pc++]++; DISPATCH(); }
HANDLER(op_dec) { locals[*pc++]--; DISPATCH(); }
HANDLER(op_neg) { tos = 0u - tos; DISPATCH(); }
HANDLER(op_not) { tos = ~tos; DISPATCH(); }
HANDLER(op_addi) { tos += (u32)*pc++; DISPATCH(); }
HANDLER(op_muli) { tos *= (u32)*pc++; DISPATCH(); }
HANDLER(op_nop) { DISPATCH(); }

static const handler OPS[OP_COUNT] = {
    op_halt, op_push, op_load, op_store, op_add, op_sub, op_mul, op_divu,
    op_remu, op_and, op_or, op_xor, op_shl, op_shru, op_ltu, op_gtu,
    op_eq, op_ne, op_jmp, op_jz, op_jnz, op_dup, op_drop, op_swap,
    op_inc, op_dec, op_neg, op_not, op_addi, op_muli, op_nop, op_rotl,
};

__attribute__((noinline)) static u32 exec(u32 *locals) {
    u32 stack[64];
    return OPS[code[0]](code + 1, stack, 0, locals);
}

i32 run(void) {
    assemble();
    i32 reps = PARAM_REPS;
    u32 h = 0;
    for (i32 r = 0; r < reps; r++) {
        u32 locals[8] = {0};
        locals[4] = (u32)PARAM_N + (u32)r;
        h = mix32(h, exec(locals));
    }
    return (i32)h;
}

#ifndef __wasm__
#include <stdio.h>
int main(void) { printf("%d\n", run()); return 0; }
#endif
