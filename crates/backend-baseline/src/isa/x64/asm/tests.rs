//! Encoder tests: a table of instruction forms with their exact bytes
//! (checked against `objdump -M intel`, whose reading is in each row), and
//! a property test that decodes random memory operands back and checks
//! that each prefix, SIB byte and displacement is present exactly when the
//! operands need it.

use super::Asm;
use crate::isa::x64::regs::Reg;
use crate::masm::{Address, AluOp, Cond, FloatBitOp, FloatOp, FloatSize, ShiftOp, Size};
use proptest::prelude::*;

fn g(n: u8) -> Reg {
    Reg::gpr(n)
}

fn x(n: u8) -> Reg {
    Reg::xmm(n)
}

fn bd(base: u8, disp: i32) -> Address {
    Address::base_disp(g(base), disp)
}

fn ix(base: u8, index: u8, scale: u8, disp: i32) -> Address {
    Address::indexed(g(base), g(index), scale, disp)
}

/// The bytes `f` emits.
fn code(f: impl FnOnce(&mut Asm)) -> Vec<u8> {
    let mut asm = Asm::default();
    f(&mut asm);
    let mut out = Vec::new();
    asm.take_code(&mut out).expect("labels resolve");
    out
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `(what objdump reads, expected bytes, emitter)`.
type Case = (&'static str, &'static str, fn(&mut Asm));

const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;
const RBX: u8 = 3;
const RSP: u8 = 4;
const RBP: u8 = 5;
const RSI: u8 = 6;
const RDI: u8 = 7;
const R8: u8 = 8;
const R9: u8 = 9;
const R10: u8 = 10;
const R11: u8 = 11;
const R12: u8 = 12;
const R13: u8 = 13;
const R14: u8 = 14;
const R15: u8 = 15;

#[rustfmt::skip]
const INTEGER_CASES: &[Case] = &[
    // Memory operands: every base/index edge.
    ("mov eax,[rbp-0x28]", "8b 45 d8", |a| a.load(Size::S32, g(RAX), bd(RBP, -0x28))),
    ("mov r11,[r14+0x8]", "4d 8b 5e 08", |a| a.load(Size::S64, g(R11), bd(R14, 8))),
    ("mov eax,[rsp]", "8b 04 24", |a| a.load(Size::S32, g(RAX), bd(RSP, 0))),
    ("mov eax,[rsp+0x8]", "8b 44 24 08", |a| a.load(Size::S32, g(RAX), bd(RSP, 8))),
    ("mov rax,[r12]", "49 8b 04 24", |a| a.load(Size::S64, g(RAX), bd(R12, 0))),
    ("mov eax,[rbp+0x0]", "8b 45 00", |a| a.load(Size::S32, g(RAX), bd(RBP, 0))),
    ("mov eax,[r13+0x0]", "41 8b 45 00", |a| a.load(Size::S32, g(RAX), bd(R13, 0))),
    ("mov eax,[rax]", "8b 00", |a| a.load(Size::S32, g(RAX), bd(RAX, 0))),
    ("mov ecx,[rax+0x1000]", "8b 88 00 10 00 00", |a| a.load(Size::S32, g(RCX), bd(RAX, 0x1000))),
    ("mov eax,[rax-0x80]", "8b 40 80", |a| a.load(Size::S32, g(RAX), bd(RAX, -128))),
    ("mov eax,[rax+0x80]", "8b 80 80 00 00 00", |a| a.load(Size::S32, g(RAX), bd(RAX, 128))),
    ("mov eax,[rax-0x80000000]", "8b 80 00 00 00 80", |a| a.load(Size::S32, g(RAX), bd(RAX, i32::MIN))),
    ("mov eax,[r15+rax*1]", "41 8b 04 07", |a| a.load(Size::S32, g(RAX), ix(R15, RAX, 1, 0))),
    ("mov rdx,[rbx+r12*8+0x10]", "4a 8b 54 e3 10", |a| a.load(Size::S64, g(RDX), ix(RBX, R12, 8, 0x10))),
    ("mov eax,[rbp+rcx*4+0x0]", "8b 44 8d 00", |a| a.load(Size::S32, g(RAX), ix(RBP, RCX, 4, 0))),
    ("mov eax,[r13+r9*1+0x0]", "43 8b 44 0d 00", |a| a.load(Size::S32, g(RAX), ix(R13, R9, 1, 0))),
    ("mov eax,[rsp+rax*2+0x12345678]", "8b 84 44 78 56 34 12", |a| a.load(Size::S32, g(RAX), ix(RSP, RAX, 2, 0x1234_5678))),
    ("mov r8d,[r12+r12*1]", "47 8b 04 24", |a| a.load(Size::S32, g(R8), ix(R12, R12, 1, 0))),
    // Stores, including the byte registers that need an empty REX.
    ("mov [rax],sil", "40 88 30", |a| a.store(1, bd(RAX, 0), g(RSI))),
    ("mov [rax],dil", "40 88 38", |a| a.store(1, bd(RAX, 0), g(RDI))),
    ("mov [rax],cl", "88 08", |a| a.store(1, bd(RAX, 0), g(RCX))),
    ("mov [rdi],r8b", "44 88 07", |a| a.store(1, bd(RDI, 0), g(R8))),
    ("mov [rax],dx", "66 89 10", |a| a.store(2, bd(RAX, 0), g(RDX))),
    ("mov [r9+0x2],ax", "66 41 89 41 02", |a| a.store(2, bd(R9, 2), g(RAX))),
    ("mov [rbx+0x4],ecx", "89 4b 04", |a| a.store(4, bd(RBX, 4), g(RCX))),
    ("mov [rsp+0x10],rax", "48 89 44 24 10", |a| a.store(8, bd(RSP, 0x10), g(RAX))),
    ("mov byte [rax],0xff", "c6 00 ff", |a| a.store_imm(1, bd(RAX, 0), -1)),
    ("mov word [rax],0x1234", "66 c7 00 34 12", |a| a.store_imm(2, bd(RAX, 0), 0x1234)),
    ("mov dword [rbp-0x8],0x7", "c7 45 f8 07 00 00 00", |a| a.store_imm(4, bd(RBP, -8), 7)),
    ("mov qword [r14+0x100],-2", "49 c7 86 00 01 00 00 fe ff ff ff", |a| a.store_imm(8, bd(R14, 0x100), -2)),
    // Register moves and constants (never `xor`: the flags stay).
    ("mov eax,ecx", "89 c8", |a| a.mov_rr(Size::S32, g(RAX), g(RCX))),
    ("mov r8,rax", "49 89 c0", |a| a.mov_rr(Size::S64, g(R8), g(RAX))),
    ("mov ecx,r10d", "44 89 d1", |a| a.mov_rr(Size::S32, g(RCX), g(R10))),
    ("mov eax,0x0", "b8 00 00 00 00", |a| a.mov_ri32(g(RAX), 0)),
    ("mov r9d,0x5", "41 b9 05 00 00 00", |a| a.mov_ri32(g(R9), 5)),
    ("mov rax,-1", "48 c7 c0 ff ff ff ff", |a| a.mov_ri64_s32(g(RAX), -1)),
    ("movabs r11,0x123456789", "49 bb 89 67 45 23 01 00 00 00", |a| a.mov_ri64(g(R11), 0x1_2345_6789)),
    ("xor edx,edx", "31 d2", |a| a.zero_clobbering_flags(g(RDX))),
    // Widening loads and register extensions.
    ("movzx eax,byte [rdi+0x1]", "0f b6 47 01", |a| a.load_u8(g(RAX), bd(RDI, 1))),
    ("movzx r9d,word [rax]", "44 0f b7 08", |a| a.load_u16(g(R9), bd(RAX, 0))),
    ("movsx rax,byte [rcx]", "48 0f be 01", |a| a.load_s8(Size::S64, g(RAX), bd(RCX, 0))),
    ("movsx eax,word [rcx]", "0f bf 01", |a| a.load_s16(Size::S32, g(RAX), bd(RCX, 0))),
    ("movsxd rax,dword [rcx]", "48 63 01", |a| a.load_s32(g(RAX), bd(RCX, 0))),
    ("lea rax,[rax+rax*4]", "48 8d 04 80", |a| a.lea(g(RAX), ix(RAX, RAX, 4, 0))),
    ("lea r11,[rsp-0x10]", "4c 8d 5c 24 f0", |a| a.lea(g(R11), bd(RSP, -16))),
    ("movzx eax,sil", "40 0f b6 c6", |a| a.extend_rr(false, 8, Size::S32, g(RAX), g(RSI))),
    ("movzx esi,al", "0f b6 f0", |a| a.extend_rr(false, 8, Size::S32, g(RSI), g(RAX))),
    ("movzx r8d,r9b", "45 0f b6 c1", |a| a.extend_rr(false, 8, Size::S64, g(R8), g(R9))),
    ("movzx eax,cx", "0f b7 c1", |a| a.extend_rr(false, 16, Size::S32, g(RAX), g(RCX))),
    ("mov eax,ecx", "89 c8", |a| a.extend_rr(false, 32, Size::S64, g(RAX), g(RCX))),
    ("movsx rax,dil", "48 0f be c7", |a| a.extend_rr(true, 8, Size::S64, g(RAX), g(RDI))),
    ("movsx ecx,dx", "0f bf ca", |a| a.extend_rr(true, 16, Size::S32, g(RCX), g(RDX))),
    ("movsxd rax,ecx", "48 63 c1", |a| a.extend_rr(true, 32, Size::S64, g(RAX), g(RCX))),
    // ALU, compare, test.
    ("add eax,ecx", "01 c8", |a| a.alu_rr(AluOp::Add, Size::S32, g(RAX), g(RCX))),
    ("sub r8,r9", "4d 29 c8", |a| a.alu_rr(AluOp::Sub, Size::S64, g(R8), g(R9))),
    ("add ecx,0x1", "83 c1 01", |a| a.alu_ri(AluOp::Add, Size::S32, g(RCX), 1)),
    ("and rax,0x1000", "48 25 00 10 00 00", |a| a.alu_ri(AluOp::And, Size::S64, g(RAX), 0x1000)),
    ("xor edx,0x1000", "81 f2 00 10 00 00", |a| a.alu_ri(AluOp::Xor, Size::S32, g(RDX), 0x1000)),
    ("or r10,-1", "49 83 ca ff", |a| a.alu_ri(AluOp::Or, Size::S64, g(R10), -1)),
    ("sub eax,0x80", "2d 80 00 00 00", |a| a.alu_ri(AluOp::Sub, Size::S32, g(RAX), 128)),
    ("add eax,[rbp-0x8]", "03 45 f8", |a| a.alu_rm(AluOp::Add, Size::S32, g(RAX), bd(RBP, -8))),
    ("xor r9,[rsp]", "4c 33 0c 24", |a| a.alu_rm(AluOp::Xor, Size::S64, g(R9), bd(RSP, 0))),
    ("sub qword [r14+0x20],0x1", "49 83 6e 20 01", |a| a.alu_mi(AluOp::Sub, Size::S64, bd(R14, 0x20), 1)),
    ("add dword [rax],0x3e8", "81 00 e8 03 00 00", |a| a.alu_mi(AluOp::Add, Size::S32, bd(RAX, 0), 1000)),
    ("cmp eax,ecx", "39 c8", |a| a.cmp_rr(Size::S32, g(RAX), g(RCX))),
    ("cmp eax,0x3e8", "3d e8 03 00 00", |a| a.cmp_ri(Size::S32, g(RAX), 1000)),
    ("cmp rcx,0x0", "48 83 f9 00", |a| a.cmp_ri(Size::S64, g(RCX), 0)),
    ("cmp r12d,0x3e8", "41 81 fc e8 03 00 00", |a| a.cmp_ri(Size::S32, g(R12), 1000)),
    ("cmp rax,[r14+0x8]", "49 3b 46 08", |a| a.cmp_rm(Size::S64, g(RAX), bd(R14, 8))),
    ("cmp [rbp-0x4],edx", "39 55 fc", |a| a.cmp_mr(Size::S32, bd(RBP, -4), g(RDX))),
    ("cmp dword [rsp],0x5", "83 3c 24 05", |a| a.cmp_mi(Size::S32, bd(RSP, 0), 5)),
    ("cmp qword [rax],0x10000", "48 81 38 00 00 01 00", |a| a.cmp_mi(Size::S64, bd(RAX, 0), 0x10000)),
    ("test eax,eax", "85 c0", |a| a.test_rr(Size::S32, g(RAX), g(RAX))),
    ("test r8,rdx", "49 85 d0", |a| a.test_rr(Size::S64, g(R8), g(RDX))),
    // Multiply, divide, shifts, bits.
    ("imul rax,r9", "49 0f af c1", |a| a.imul_rr(Size::S64, g(RAX), g(R9))),
    ("imul ecx,[rbp-0x4]", "0f af 4d fc", |a| a.imul_rm(Size::S32, g(RCX), bd(RBP, -4))),
    ("imul eax,eax,0xa", "6b c0 0a", |a| a.imul_ri(Size::S32, g(RAX), 10)),
    ("imul r8,r8,0x3e8", "4d 69 c0 e8 03 00 00", |a| a.imul_ri(Size::S64, g(R8), 1000)),
    ("shl eax,cl", "d3 e0", |a| a.shift(ShiftOp::Shl, Size::S32, g(RAX), None)),
    ("sar rax,1", "48 d1 f8", |a| a.shift(ShiftOp::Sar, Size::S64, g(RAX), Some(1))),
    ("shr r8d,1", "41 d1 e8", |a| a.shift(ShiftOp::Shr, Size::S32, g(R8), Some(33))),
    ("rol rdx,0x8", "48 c1 c2 08", |a| a.shift(ShiftOp::Rol, Size::S64, g(RDX), Some(8))),
    ("ror ecx,0x0", "c1 c9 00", |a| a.shift(ShiftOp::Ror, Size::S32, g(RCX), Some(32))),
    ("cdq", "99", |a| a.sign_extend_rax(Size::S32)),
    ("cqo", "48 99", |a| a.sign_extend_rax(Size::S64)),
    ("div ecx", "f7 f1", |a| a.div_r(false, Size::S32, g(RCX))),
    ("idiv r9", "49 f7 f9", |a| a.div_r(true, Size::S64, g(R9))),
    ("idiv dword [rbp-0x8]", "f7 7d f8", |a| a.div_m(true, Size::S32, bd(RBP, -8))),
    ("div qword [r12+0x8]", "49 f7 74 24 08", |a| a.div_m(false, Size::S64, bd(R12, 8))),
    ("neg rax", "48 f7 d8", |a| a.neg(Size::S64, g(RAX))),
    ("bsr eax,ecx", "0f bd c1", |a| a.bit_scan(0, Size::S32, g(RAX), g(RCX))),
    ("bsf rax,rcx", "48 0f bc c1", |a| a.bit_scan(1, Size::S64, g(RAX), g(RCX))),
    ("popcnt r8,rax", "f3 4c 0f b8 c0", |a| a.bit_scan(2, Size::S64, g(R8), g(RAX))),
    ("btc rax,0x3f", "48 0f ba f8 3f", |a| a.btc(g(RAX), 63)),
    ("sete al", "0f 94 c0", |a| a.setcc(Cond::Eq, g(RAX))),
    ("setne sil", "40 0f 95 c6", |a| a.setcc(Cond::Ne, g(RSI))),
    ("setl r9b", "41 0f 9c c1", |a| a.setcc(Cond::Lt, g(R9))),
    ("cmove eax,ecx", "0f 44 c1", |a| a.cmov_rr(Cond::Eq, Size::S32, g(RAX), g(RCX))),
    ("cmovne r11,rax", "4c 0f 45 d8", |a| a.cmov_rr(Cond::Ne, Size::S64, g(R11), g(RAX))),
    // Control flow.
    ("jmp r11", "41 ff e3", |a| a.jmp_r(g(R11))),
    ("call rax", "ff d0", |a| a.call_r(g(RAX))),
    ("call qword [r14+0x40]", "41 ff 56 40", |a| a.call_m(bd(R14, 0x40))),
    ("call qword [rbx]", "ff 13", |a| a.call_m(bd(RBX, 0))),
    ("push rbp", "55", |a| a.push(g(RBP))),
    ("push r14", "41 56", |a| a.push(g(R14))),
    ("pop r15", "41 5f", |a| a.pop(g(R15))),
    ("ret", "c3", |a| a.ret(0)),
    ("ret 0x10", "c2 10 00", |a| a.ret(16)),
    ("ud2", "0f 0b", |a| a.ud2()),
];

#[rustfmt::skip]
const FLOAT_CASES: &[Case] = &[
    ("movaps xmm1,xmm2", "0f 28 ca", |a| a.movaps(x(1), x(2))),
    ("movaps xmm8,xmm15", "45 0f 28 c7", |a| a.movaps(x(8), x(15))),
    ("movss xmm0,[rbp-0x8]", "f3 0f 10 45 f8", |a| a.fload(FloatSize::F32, x(0), bd(RBP, -8))),
    ("movsd xmm9,[rsp+0x8]", "f2 44 0f 10 4c 24 08", |a| a.fload(FloatSize::F64, x(9), bd(RSP, 8))),
    ("movsd [rax+rcx*8],xmm1", "f2 0f 11 0c c8", |a| a.fstore(FloatSize::F64, ix(RAX, RCX, 8, 0), x(1))),
    ("movss [r15+r10*1+0x4],xmm12", "f3 47 0f 11 64 17 04", |a| a.fstore(FloatSize::F32, ix(R15, R10, 1, 4), x(12))),
    ("movd xmm0,eax", "66 0f 6e c0", |a| a.movd_to_xmm(FloatSize::F32, x(0), g(RAX))),
    ("movq xmm1,r11", "66 49 0f 6e cb", |a| a.movd_to_xmm(FloatSize::F64, x(1), g(R11))),
    ("movq rax,xmm15", "66 4c 0f 7e f8", |a| a.movd_from_xmm(FloatSize::F64, g(RAX), x(15))),
    ("movd r9d,xmm2", "66 41 0f 7e d1", |a| a.movd_from_xmm(FloatSize::F32, g(R9), x(2))),
    ("addsd xmm0,xmm1", "f2 0f 58 c1", |a| a.fop_rr(FloatOp::Add, FloatSize::F64, x(0), x(1))),
    ("sqrtss xmm2,xmm2", "f3 0f 51 d2", |a| a.fop_rr(FloatOp::Sqrt, FloatSize::F32, x(2), x(2))),
    ("maxsd xmm10,xmm3", "f2 44 0f 5f d3", |a| a.fop_rr(FloatOp::Max, FloatSize::F64, x(10), x(3))),
    ("mulss xmm3,[rbp-0x4]", "f3 0f 59 5d fc", |a| a.fop_rm(FloatOp::Mul, FloatSize::F32, x(3), bd(RBP, -4))),
    ("divsd xmm0,[r13+0x0]", "f2 41 0f 5e 45 00", |a| a.fop_rm(FloatOp::Div, FloatSize::F64, x(0), bd(R13, 0))),
    ("xorps xmm0,xmm0", "0f 57 c0", |a| a.fbit(FloatBitOp::Xor, x(0), x(0))),
    ("andnps xmm1,xmm15", "41 0f 55 cf", |a| a.fbit(FloatBitOp::AndNot, x(1), x(15))),
    ("roundsd xmm0,xmm1,0x9", "66 0f 3a 0b c1 09", |a| a.fround(1, FloatSize::F64, x(0), x(1))),
    ("roundss xmm8,xmm8,0xb", "66 45 0f 3a 0a c0 0b", |a| a.fround(3, FloatSize::F32, x(8), x(8))),
    ("ucomiss xmm0,xmm1", "0f 2e c1", |a| a.ucomi_rr(FloatSize::F32, x(0), x(1))),
    ("ucomisd xmm0,[rax]", "66 0f 2e 00", |a| a.ucomi_rm(FloatSize::F64, x(0), bd(RAX, 0))),
    ("cvtsi2sd xmm0,rax", "f2 48 0f 2a c0", |a| a.cvtsi2f(Size::S64, FloatSize::F64, x(0), g(RAX))),
    ("cvtsi2ss xmm8,ecx", "f3 44 0f 2a c1", |a| a.cvtsi2f(Size::S32, FloatSize::F32, x(8), g(RCX))),
    ("cvttsd2si eax,xmm1", "f2 0f 2c c1", |a| a.cvttf2si(FloatSize::F64, Size::S32, g(RAX), x(1))),
    ("cvttss2si r10,xmm9", "f3 4d 0f 2c d1", |a| a.cvttf2si(FloatSize::F32, Size::S64, g(R10), x(9))),
    ("cvtss2sd xmm0,xmm1", "f3 0f 5a c1", |a| a.cvtf2f(FloatSize::F64, x(0), x(1))),
    ("cvtsd2ss xmm1,xmm0", "f2 0f 5a c8", |a| a.cvtf2f(FloatSize::F32, x(1), x(0))),
];

fn check(cases: &[Case]) {
    let mut bad = Vec::new();
    for (text, want, f) in cases {
        let got = hex(&code(f));
        if got != *want {
            bad.push(format!("{text}: got {got}, want {want}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn integer_forms_have_exact_bytes() {
    check(INTEGER_CASES);
}

#[test]
fn float_forms_have_exact_bytes() {
    check(FLOAT_CASES);
}

#[test]
fn label_forms_resolve() {
    let bytes = code(|a| {
        let l = a.new_label();
        a.lea_label(g(R11), l);
        a.jmp(l);
        a.jcc(Cond::Ne, l);
        a.bind(l);
        a.jmp(l);
    });
    // lea r11,[rip+0xb]; jmp +6; jne +0; jmp -5
    assert_eq!(
        hex(&bytes),
        "4c 8d 1d 0b 00 00 00 e9 06 00 00 00 0f 85 00 00 00 00 e9 fb ff ff ff"
    );
}

#[test]
fn rip_relative_float_forms_resolve() {
    let bytes = code(|a| {
        let l = a.new_label();
        a.fload_label(FloatSize::F64, x(8), l);
        a.fop_label(FloatOp::Mul, FloatSize::F32, x(1), l);
        a.ucomi_label(FloatSize::F64, x(15), l);
        a.bind(l);
    });
    // movsd xmm8,[rip+0x11]; mulss xmm1,[rip+0x9]; ucomisd xmm15,[rip+0x0]
    assert_eq!(
        hex(&bytes),
        "f2 44 0f 10 05 11 00 00 00 f3 0f 59 0d 09 00 00 00 66 44 0f 2e 3d 00 00 00 00"
    );
}

#[test]
fn label_misuse_is_an_error_and_leaves_the_encoder_empty() {
    let mut asm = Asm::default();
    let mut out = Vec::new();
    let unbound = asm.new_label();
    asm.jmp(unbound);
    assert!(asm.take_code(&mut out).is_err(), "unbound label");
    let l = asm.new_label();
    asm.bind(l);
    asm.ud2();
    asm.bind(l);
    assert!(asm.take_code(&mut out).is_err(), "label bound twice");
    assert!(out.is_empty());
    // The next function starts from an empty buffer.
    let l = asm.new_label();
    asm.bind(l);
    asm.jmp(l);
    asm.take_code(&mut out).expect("labels resolve");
    assert_eq!(hex(&out), "e9 fb ff ff ff");
}

/// A memory-operand instruction as read back by [`decode`].
#[derive(Debug, PartialEq, Eq)]
struct Decoded {
    prefix: Option<u8>,
    rex: Option<u8>,
    reg: u8,
    base: u8,
    index: Option<u8>,
    scale: u8,
    disp: i32,
    disp_len: usize,
    has_sib: bool,
    /// Bytes after the displacement (the immediate).
    rest: Vec<u8>,
}

/// Reads `[prefix] [REX] opcode ModRM [SIB] [disp]` where the opcode is
/// `opcode_len` bytes; a small decoder for memory forms only.
fn decode(b: &[u8], opcode_len: usize) -> Decoded {
    let mut p = 0;
    let prefix = matches!(b[p], 0x66 | 0xf2 | 0xf3).then(|| {
        p += 1;
        b[p - 1]
    });
    let rex = (b[p] & 0xf0 == 0x40).then(|| {
        p += 1;
        b[p - 1]
    });
    let r = rex.unwrap_or(0);
    p += opcode_len;
    let modrm = b[p];
    p += 1;
    let md = modrm >> 6;
    assert_ne!(md, 3, "not a memory form");
    let reg = (modrm >> 3 & 7) | (r & 4) << 1;
    let (mut base, mut index, mut scale, has_sib) = (modrm & 7, None, 1, modrm & 7 == 4);
    if has_sib {
        let sib = b[p];
        p += 1;
        scale = 1 << (sib >> 6);
        let idx = (sib >> 3 & 7) | (r & 2) << 2;
        index = (idx != 4).then_some(idx);
        base = sib & 7;
    }
    assert!(!(md == 0 && base == 5), "no-base / RIP-relative form");
    base |= (r & 1) << 3;
    let disp_len = [0, 1, 4][usize::from(md)];
    let disp = match disp_len {
        0 => 0,
        1 => i32::from(b[p] as i8),
        _ => i32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]),
    };
    p += disp_len;
    Decoded {
        prefix,
        rex,
        reg,
        base,
        index,
        scale,
        disp,
        disp_len,
        has_sib,
        rest: b[p..].to_vec(),
    }
}

/// Memory forms under test: `(emitter, prefix, opcode length, REX.W, byte
/// register in ModRM.reg, immediate bytes)`.
fn emit_form(form: u8, reg: u8, a: Address) -> (Vec<u8>, Option<u8>, usize, bool, bool, usize) {
    let r = g(reg);
    match form {
        0 => (code(|m| m.load(Size::S32, r, a)), None, 1, false, false, 0),
        1 => (code(|m| m.load(Size::S64, r, a)), None, 1, true, false, 0),
        2 => (code(|m| m.store(1, a, r)), None, 1, false, true, 0),
        3 => (code(|m| m.store(2, a, r)), Some(0x66), 1, false, false, 0),
        4 => (code(|m| m.lea(r, a)), None, 1, true, false, 0),
        5 => (code(|m| m.load_u8(r, a)), None, 2, false, false, 0),
        6 => (
            code(|m| m.fload(FloatSize::F64, x(reg), a)),
            Some(0xf2),
            2,
            false,
            false,
            0,
        ),
        7 => (
            code(|m| m.fop_rm(FloatOp::Add, FloatSize::F32, x(reg), a)),
            Some(0xf3),
            2,
            false,
            false,
            0,
        ),
        8 => (
            code(|m| m.store_imm(2, a, 0x1234)),
            Some(0x66),
            1,
            false,
            false,
            2,
        ),
        _ => (
            code(|m| m.alu_mi(AluOp::Sub, Size::S64, a, 3)),
            None,
            1,
            true,
            false,
            1,
        ),
    }
}

fn arb_disp() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(0),
        -128i32..128,
        any::<i32>(),
        Just(127),
        Just(128),
        Just(-129)
    ]
}

fn arb_index() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![
        Just(None),
        (0u8..16)
            .prop_filter("rsp is no index", |&i| i != 4)
            .prop_map(Some)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Every memory operand decodes back to itself, and each optional
    /// byte is present exactly when the operands require it.
    #[test]
    fn memory_operands_are_minimal_and_round_trip(
        form in 0u8..10,
        reg in 0u8..16,
        base in 0u8..16,
        index in arb_index(),
        scale in prop_oneof![Just(1u8), Just(2), Just(4), Just(8)],
        disp in arb_disp(),
    ) {
        let a = Address { base: g(base), index: index.map(g), scale, disp };
        let (bytes, prefix, opcode_len, w, byte_reg, imm_len) = emit_form(form, reg, a);
        let d = decode(&bytes, opcode_len);
        // Forms 8 and 9 put an opcode extension in ModRM.reg.
        let reg = match form { 8 => 0, 9 => 5, _ => reg };
        prop_assert_eq!(d.prefix, prefix);
        prop_assert_eq!(d.reg, reg);
        prop_assert_eq!(d.base, base);
        prop_assert_eq!(d.index, index);
        if index.is_some() {
            prop_assert_eq!(d.scale, scale);
        }
        prop_assert_eq!(d.disp, disp);
        prop_assert_eq!(d.rest.len(), imm_len);
        let needs_rex = w
            || reg >= 8
            || base >= 8
            || index.is_some_and(|i| i >= 8)
            || (byte_reg && (4..8).contains(&reg));
        prop_assert_eq!(d.rex.is_some(), needs_rex);
        if let Some(r) = d.rex {
            prop_assert_eq!(r & 8 != 0, w);
        }
        prop_assert_eq!(d.has_sib, index.is_some() || base & 7 == 4);
        let want_disp = if disp == 0 && base & 7 != 5 {
            0
        } else if i8::try_from(disp).is_ok() {
            1
        } else {
            4
        };
        prop_assert_eq!(d.disp_len, want_disp);
    }
}
