//! Target ISAs. Tandem only runs on x86-64, so [`x64`] is the one
//! implementation of [`crate::masm::MacroAssembler`].

pub mod x64;
