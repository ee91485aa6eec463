//! [`AsContext`] and [`AsContextMut`]: anything that gives access to a
//! store — the store itself, a reference to it, or a host function's
//! [`Caller`] — so APIs take either and turbofish only the types that matter.

use crate::{Caller, Store};

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
    /// The store.
    fn as_context(&self) -> &Store<Self::Data>;
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
    /// The store.
    fn as_context_mut(&mut self) -> &mut Store<Self::Data>;
}

impl<T: 'static> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> &Store<T> {
        self
    }
}

impl<T: 'static> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> &mut Store<T> {
        self
    }
}

impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> &Store<S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> &Store<S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> &mut Store<S::Data> {
        (**self).as_context_mut()
    }
}

impl<T: 'static> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> &Store<T> {
        self.store_ref()
    }
}

impl<T: 'static> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> &mut Store<T> {
        self.store()
    }
}
