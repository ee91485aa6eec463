//! Store contexts: [`StoreContext`] and [`StoreContextMut`] borrow a store,
//! and [`AsContext`] / [`AsContextMut`] are implemented by everything that
//! can give one — the store, references to it, a host function's
//! [`Caller`], and the contexts themselves — so every API takes any of them,
//! as in wasmtime: `memory.data(&caller)`, `func.call(&mut caller, ..)`.

use crate::{Caller, Store};
use std::ops::{Deref, DerefMut};

/// A shared borrow of a [`Store`]; derefs to it.
///
/// ```
/// use tandem_store::{AsContext, Engine, Store, StoreContext};
/// let store = Store::new(&Engine::default(), 7u8);
/// let cx: StoreContext<'_, u8> = store.as_context();
/// assert_eq!(*cx.data(), 7);
/// ```
pub struct StoreContext<'a, T: 'static>(pub(crate) &'a Store<T>);

/// An exclusive borrow of a [`Store`]; derefs to it.
///
/// ```
/// use tandem_store::{AsContextMut, Engine, Store, StoreContextMut};
/// let mut store = Store::new(&Engine::default(), 7u8);
/// let mut cx: StoreContextMut<'_, u8> = store.as_context_mut();
/// *cx.data_mut() += 1;
/// assert_eq!(*store.data(), 8);
/// ```
pub struct StoreContextMut<'a, T: 'static>(pub(crate) &'a mut Store<T>);

/// Shared access to a store.
///
/// ```
/// use tandem_store::{AsContext, Engine, Store};
/// fn data_of<S: AsContext<Data = u8>>(s: S) -> u8 { *s.as_context().data() }
/// let store = Store::new(&Engine::default(), 9u8);
/// assert_eq!(data_of(&store), 9);
/// ```
pub trait AsContext {
    /// The store's data type.
    type Data: 'static;
    /// The store, borrowed.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Exclusive access to a store.
///
/// ```
/// use tandem_store::{AsContextMut, Engine, Store};
/// fn bump<S: AsContextMut<Data = u8>>(mut s: S) { *s.as_context_mut().data_mut() += 1 }
/// let mut store = Store::new(&Engine::default(), 1u8);
/// bump(&mut store);
/// assert_eq!(*store.data(), 2);
/// ```
pub trait AsContextMut: AsContext {
    /// The store, borrowed mutably.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T: 'static> Deref for StoreContext<'_, T> {
    type Target = Store<T>;
    fn deref(&self) -> &Store<T> {
        self.0
    }
}

impl<T: 'static> Deref for StoreContextMut<'_, T> {
    type Target = Store<T>;
    fn deref(&self) -> &Store<T> {
        self.0
    }
}

impl<T: 'static> DerefMut for StoreContextMut<'_, T> {
    fn deref_mut(&mut self) -> &mut Store<T> {
        self.0
    }
}

impl<T: 'static> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self)
    }
}

impl<T: 'static> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self)
    }
}

impl<T: 'static> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T: 'static> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T: 'static> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<T: 'static> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.store_ref())
    }
}

impl<T: 'static> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store())
    }
}

impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, S::Data> {
        (**self).as_context_mut()
    }
}

// The conversions behind APIs that return borrows of the store, such as
// `Memory::data(&self, store: impl Into<StoreContext<'a, T>>) -> &'a [u8]`.

impl<'a, T: 'static> From<&'a Store<T>> for StoreContext<'a, T> {
    fn from(store: &'a Store<T>) -> Self {
        StoreContext(store)
    }
}

impl<'a, T: 'static> From<&'a mut Store<T>> for StoreContext<'a, T> {
    fn from(store: &'a mut Store<T>) -> Self {
        StoreContext(store)
    }
}

impl<'a, T: 'static> From<&'a Caller<'_, T>> for StoreContext<'a, T> {
    fn from(caller: &'a Caller<'_, T>) -> Self {
        StoreContext(caller.store_ref())
    }
}

impl<'a, T: 'static> From<&'a mut Caller<'_, T>> for StoreContext<'a, T> {
    fn from(caller: &'a mut Caller<'_, T>) -> Self {
        StoreContext(caller.store_ref())
    }
}

impl<'a, T: 'static> From<StoreContextMut<'a, T>> for StoreContext<'a, T> {
    fn from(cx: StoreContextMut<'a, T>) -> Self {
        StoreContext(cx.0)
    }
}

impl<'a, T: 'static> From<&'a StoreContext<'_, T>> for StoreContext<'a, T> {
    fn from(cx: &'a StoreContext<'_, T>) -> Self {
        StoreContext(cx.0)
    }
}

impl<'a, T: 'static> From<&'a StoreContextMut<'_, T>> for StoreContext<'a, T> {
    fn from(cx: &'a StoreContextMut<'_, T>) -> Self {
        StoreContext(cx.0)
    }
}

impl<'a, T: 'static> From<&'a mut StoreContextMut<'_, T>> for StoreContext<'a, T> {
    fn from(cx: &'a mut StoreContextMut<'_, T>) -> Self {
        StoreContext(cx.0)
    }
}

impl<'a, T: 'static> From<&'a mut Store<T>> for StoreContextMut<'a, T> {
    fn from(store: &'a mut Store<T>) -> Self {
        StoreContextMut(store)
    }
}

impl<'a, T: 'static> From<&'a mut Caller<'_, T>> for StoreContextMut<'a, T> {
    fn from(caller: &'a mut Caller<'_, T>) -> Self {
        StoreContextMut(caller.store())
    }
}

impl<'a, T: 'static> From<&'a mut StoreContextMut<'_, T>> for StoreContextMut<'a, T> {
    fn from(cx: &'a mut StoreContextMut<'_, T>) -> Self {
        StoreContextMut(cx.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, Extern, Func, Instance, Module};

    /// Every store-taking API accepts the store, references, a `Caller` and
    /// the contexts: here inside a host function, through the `Caller`.
    #[test]
    fn a_caller_is_a_context_everywhere() {
        let engine = Engine::default();
        let module = Module::new(
            &engine,
            r#"(module (import "" "host" (func $h (result i32)))
                (memory (export "memory") 1) (data (i32.const 0) "\05")
                (func (export "five") (result i32) i32.const 0 i32.load8_u)
                (func (export "run") (result i32) call $h))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, 0u32);
        let host = Func::wrap(&mut store, |mut caller: Caller<'_, u32>| -> i32 {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                return -1;
            };
            let first = memory.data(&caller)[0];
            memory.data_mut(&mut caller)[1] = first;
            *caller.as_context_mut().data_mut() += 1;
            let untyped = caller.get_export("five").unwrap().into_func().unwrap();
            let five = untyped.typed::<(), i32>(&caller).unwrap();
            let mut out = [crate::Val::I32(0)];
            untyped.call(&mut caller, &[], &mut out).unwrap();
            five.call(&mut caller, ()).unwrap()
                + out[0].unwrap_i32()
                + i32::from(memory.data(&caller)[1])
        });
        let instance = Instance::new(&mut store, &module, &[host.into()]).unwrap();
        let run = instance
            .get_typed_func::<(), i32>(&mut store, "run")
            .unwrap();
        assert_eq!(run.call(&mut store, ()).unwrap(), 15);
        let mut cx = store.as_context_mut();
        assert_eq!(run.call(&mut cx, ()).unwrap(), 15);
        assert_eq!(*store.data(), 2);
    }
}
