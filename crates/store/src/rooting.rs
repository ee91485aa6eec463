//! Rooting GC references, as wasmtime does: [`Rooted`] is a `Copy` handle
//! kept alive by the store's LIFO root set until the [`RootScope`] it was
//! made in ends (or, outside any scope, until the store drops);
//! [`OwnedRooted`] keeps its value alive for as long as the handle itself.
//!
//! A host function called from Wasm runs in a scope of its own: the roots it
//! makes (its arguments included) are released when it returns.
//!
//! Every handle names its value through a [`RootIndex`]: a slot of the LIFO
//! root set with the generation it was made in (a slot reused after its
//! scope ended gets a new generation, so a stale handle is an error, never
//! another value), or, for an `OwnedRooted`, the value it holds itself.

use crate::externref::ExternData;
use crate::store::StoreOpaque;
use crate::{AsContext, AsContextMut, ExternRef, Result, StoreContext, StoreContextMut, bail};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

/// One slot of the LIFO root set.
struct LifoRoot {
    data: Arc<ExternData>,
    generation: u64,
}

/// A store's LIFO root set.
#[derive(Default)]
pub(crate) struct LifoRoots {
    roots: Vec<LifoRoot>,
    next_generation: u64,
}

impl LifoRoots {
    /// Number of roots, which a scope records on entry.
    pub(crate) fn len(&self) -> usize {
        self.roots.len()
    }

    /// Releases every root made since the scope that saw `len` began.
    pub(crate) fn exit_scope(&mut self, len: usize) {
        debug_assert!(len <= self.roots.len(), "scopes exit in LIFO order");
        self.roots.truncate(len);
    }

    /// Makes room for `additional` roots, or fails without allocating.
    pub(crate) fn try_reserve(&mut self, additional: usize) -> bool {
        self.roots.try_reserve(additional).is_ok()
    }

    /// Roots `data` in the innermost scope of the store with id `store_id`.
    pub(crate) fn push(&mut self, store_id: u64, data: Arc<ExternData>) -> RootIndex {
        let index = u32::try_from(self.roots.len()).expect("fewer than 2^32 LIFO roots");
        let generation = self.next_generation;
        self.next_generation += 1;
        self.roots.push(LifoRoot { data, generation });
        RootIndex {
            store_id,
            kind: RootKind::Lifo { index, generation },
        }
    }
}

impl RootIndex {
    /// The index of an [`OwnedRooted`] holding `data` in store `store_id`.
    fn owned(store_id: u64, data: &Arc<ExternData>) -> RootIndex {
        RootIndex {
            store_id,
            kind: RootKind::Owned {
                data: Arc::as_ptr(data) as usize,
            },
        }
    }

    /// The value this names, if it is still rooted in `store`.
    pub(crate) fn resolve<'a>(&self, store: &'a StoreOpaque) -> Result<&'a ExternData> {
        store.check(self.store_id)?;
        match self.kind {
            RootKind::Lifo { index, generation } => {
                match store.externrefs.lifo.roots.get(index as usize) {
                    Some(root) if root.generation == generation => Ok(&root.data),
                    _ => bail!("a `Rooted` GC reference was used after its `RootScope` ended"),
                }
            }
            // SAFETY: an owned index is only reachable through a borrow of
            // its `OwnedRooted`, whose strong reference made every
            // collection since it was made keep the store's own one (see
            // `externref::collect`); that one lives until the next
            // collection, which needs the store mutably, so at least as
            // long as the `'a` borrow of it.
            RootKind::Owned { data } => Ok(unsafe { &*(data as *const ExternData) }),
        }
    }

    /// A strong reference to the value this names (see [`Self::resolve`]).
    pub(crate) fn resolve_arc(&self, store: &StoreOpaque) -> Result<Arc<ExternData>> {
        let data: *const ExternData = self.resolve(store)?;
        // SAFETY: every `ExternData` lives in an `Arc`, and this one is
        // alive (resolved above); adding a count before `from_raw` leaves
        // the existing references intact.
        Ok(unsafe {
            Arc::increment_strong_count(data);
            Arc::from_raw(data)
        })
    }
}

mod private {
    /// What a rooted handle names: its store and where its value is rooted.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct RootIndex {
        pub(super) store_id: u64,
        pub(super) kind: RootKind,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub(super) enum RootKind {
        /// Slot `index` of the LIFO root set, made in `generation`.
        Lifo { index: u32, generation: u64 },
        /// The value held by an [`OwnedRooted`] (its `Arc::as_ptr`, as an
        /// address so handles stay `Send + Sync`); only reachable through a
        /// borrow of that handle, which keeps it alive.
        Owned { data: usize },
    }

    /// Keeps [`GcRef`](super::GcRef) closed: only Tandem's GC reference
    /// types are laid out as a [`RootIndex`].
    pub trait GcRefImpl {
        /// The reference as seen through its root.
        fn from_root(root: &RootIndex) -> &Self;
    }

    /// Keeps [`RootedGcRef`](super::RootedGcRef) closed.
    pub trait RootedImpl {
        /// The handle's root.
        fn root(&self) -> &RootIndex;
    }
}

pub(crate) use private::RootIndex;
use private::{GcRefImpl, RootKind, RootedImpl};

/// A GC reference type that [`Rooted`] and [`OwnedRooted`] can hold: today
/// [`ExternRef`].
///
/// ```
/// fn takes_any_gc_ref<T: tandem_store::GcRef>() {}
/// takes_any_gc_ref::<tandem_store::ExternRef>();
/// ```
pub trait GcRef: GcRefImpl {}

impl GcRefImpl for ExternRef {
    fn from_root(root: &RootIndex) -> &ExternRef {
        // SAFETY: `ExternRef` is `#[repr(transparent)]` over a `RootIndex`.
        unsafe { &*std::ptr::from_ref(root).cast::<ExternRef>() }
    }
}

impl GcRef for ExternRef {}

/// Either kind of rooted handle ([`Rooted`] or [`OwnedRooted`]), as
/// [`Rooted::ref_eq`] takes them.
///
/// ```
/// use tandem_store::{Engine, ExternRef, Rooted, RootedGcRef, Store};
/// fn same(store: &Store<()>, a: &impl RootedGcRef<ExternRef>, b: &impl RootedGcRef<ExternRef>) -> bool {
///     Rooted::ref_eq(store, a, b).unwrap()
/// }
/// let mut store = Store::new(&Engine::default(), ());
/// let r = ExternRef::new(&mut store, 1).unwrap();
/// let owned = r.to_owned_rooted(&mut store).unwrap();
/// assert!(same(&store, &r, &owned));
/// ```
pub trait RootedGcRef<T: GcRef>: RootedImpl {}

impl<T: GcRef> RootedImpl for Rooted<T> {
    fn root(&self) -> &RootIndex {
        &self.inner
    }
}

impl<T: GcRef> RootedImpl for OwnedRooted<T> {
    fn root(&self) -> &RootIndex {
        &self.inner
    }
}

impl<T: GcRef> RootedGcRef<T> for Rooted<T> {}
impl<T: GcRef> RootedGcRef<T> for OwnedRooted<T> {}

/// A `Copy` handle to a GC reference, alive until the [`RootScope`] it was
/// made in ends (outside any scope: until the store drops). Use after that
/// is an error, never another value. Derefs to the reference (e.g.
/// [`ExternRef::data`]).
///
/// ```
/// use tandem_store::{Engine, ExternRef, RootScope, Rooted, Store};
/// let mut store = Store::new(&Engine::default(), ());
/// let outer = ExternRef::new(&mut store, 1u32).unwrap();
/// let inner = {
///     let mut scope = RootScope::new(&mut store);
///     let inner = ExternRef::new(&mut scope, 2u32).unwrap();
///     assert_eq!(inner.data(&scope).unwrap().unwrap().downcast_ref::<u32>(), Some(&2));
///     inner
/// };
/// assert!(inner.data(&store).is_err()); // its scope ended
/// assert!(outer.data(&store).is_ok());
/// assert!(Rooted::ref_eq(&store, &outer, &outer).unwrap());
/// ```
pub struct Rooted<T: GcRef> {
    inner: RootIndex,
    _marker: PhantomData<fn() -> T>,
}

impl<T: GcRef> Clone for Rooted<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: GcRef> Copy for Rooted<T> {}

impl<T: GcRef> std::fmt::Debug for Rooted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rooted").field("root", &self.inner).finish()
    }
}

impl<T: GcRef> Deref for Rooted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        T::from_root(&self.inner)
    }
}

impl<T: GcRef> Rooted<T> {
    pub(crate) fn from_index(inner: RootIndex) -> Self {
        Rooted {
            inner,
            _marker: PhantomData,
        }
    }

    /// Whether two handles are the same root (not merely the same value:
    /// see [`Rooted::ref_eq`]).
    ///
    /// ```
    /// use tandem_store::{Engine, ExternRef, Rooted, Store};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let a = ExternRef::new(&mut store, ()).unwrap();
    /// let b = a;
    /// assert!(Rooted::rooted_eq(a, b));
    /// ```
    pub fn rooted_eq(a: Self, b: Self) -> bool {
        a.inner == b.inner
    }

    /// Whether two rooted handles (of either kind) refer to the same value.
    ///
    /// # Errors
    ///
    /// If either handle is no longer rooted or belongs to another store.
    pub fn ref_eq(
        store: impl AsContext,
        a: &impl RootedGcRef<T>,
        b: &impl RootedGcRef<T>,
    ) -> Result<bool> {
        let store = store.as_context();
        let a = a.root().resolve(&store.0.opaque)?;
        let b = b.root().resolve(&store.0.opaque)?;
        Ok(std::ptr::eq(a, b))
    }

    /// An [`OwnedRooted`] handle to the same value, which stays alive as
    /// long as that handle.
    ///
    /// ```
    /// use tandem_store::{Engine, ExternRef, RootScope, Store};
    /// let mut store = Store::new(&Engine::default(), ());
    /// let owned = {
    ///     let mut scope = RootScope::new(&mut store);
    ///     let r = ExternRef::new(&mut scope, "kept").unwrap();
    ///     r.to_owned_rooted(&mut scope).unwrap()
    /// };
    /// assert_eq!(owned.data(&store).unwrap().unwrap().downcast_ref::<&str>(), Some(&"kept"));
    /// ```
    ///
    /// # Errors
    ///
    /// If this handle is no longer rooted or belongs to another store.
    pub fn to_owned_rooted(&self, mut store: impl AsContextMut) -> Result<OwnedRooted<T>> {
        let store = store.as_context_mut();
        let data = self.inner.resolve_arc(&store.0.opaque)?;
        Ok(OwnedRooted {
            inner: RootIndex::owned(self.inner.store_id, &data),
            data,
            _marker: PhantomData,
        })
    }
}

/// A handle that keeps its GC reference alive for as long as it exists (a
/// clone is another such handle), even past the [`RootScope`] it was made
/// in. Derefs to the reference.
///
/// ```
/// use tandem_store::{Engine, ExternRef, OwnedRooted, Store};
/// let mut store = Store::new(&Engine::default(), ());
/// let owned: OwnedRooted<ExternRef> = ExternRef::new(&mut store, 5i64).unwrap().to_owned_rooted(&mut store).unwrap();
/// let rooted = owned.to_rooted(&mut store);
/// assert!(OwnedRooted::ref_eq(&store, &owned, &rooted).unwrap());
/// ```
pub struct OwnedRooted<T: GcRef> {
    inner: RootIndex,
    data: Arc<ExternData>,
    _marker: PhantomData<fn() -> T>,
}

impl<T: GcRef> Clone for OwnedRooted<T> {
    fn clone(&self) -> Self {
        OwnedRooted {
            inner: self.inner,
            data: self.data.clone(),
            _marker: PhantomData,
        }
    }
}

impl<T: GcRef> std::fmt::Debug for OwnedRooted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedRooted")
            .field("root", &self.inner)
            .finish()
    }
}

impl<T: GcRef> Deref for OwnedRooted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        T::from_root(&self.inner)
    }
}

impl<T: GcRef> OwnedRooted<T> {
    /// A [`Rooted`] handle to the same value, rooted in the current scope.
    ///
    /// # Panics
    ///
    /// If this handle belongs to another store.
    pub fn to_rooted(&self, mut store: impl AsContextMut) -> Rooted<T> {
        let store = store.as_context_mut();
        let opaque = &mut store.0.opaque;
        opaque.assert_same(self.inner.store_id);
        Rooted::from_index(opaque.externrefs.lifo.push(opaque.id, self.data.clone()))
    }

    /// Whether two rooted handles refer to the same value (see
    /// [`Rooted::ref_eq`]).
    ///
    /// # Errors
    ///
    /// If either handle is no longer rooted or belongs to another store.
    pub fn ref_eq(
        store: impl AsContext,
        a: &impl RootedGcRef<T>,
        b: &impl RootedGcRef<T>,
    ) -> Result<bool> {
        Rooted::<T>::ref_eq(store, a, b)
    }
}

/// A scope for [`Rooted`] handles: those made while it lives (through it,
/// as a store context) are released when it drops.
///
/// ```
/// use tandem_store::{Engine, ExternRef, RootScope, Store};
/// let mut store = Store::new(&Engine::default(), ());
/// for i in 0..10_000 {
///     let mut scope = RootScope::new(&mut store);
///     ExternRef::new(&mut scope, i).unwrap();
/// }
/// store.gc(None).unwrap();
/// assert_eq!(store.externref_count(), 0); // every scope released its root
/// ```
pub struct RootScope<C: AsContextMut> {
    store: C,
    len: usize,
}

impl<C: AsContextMut> RootScope<C> {
    /// Opens a scope in `store`.
    pub fn new(mut store: C) -> RootScope<C> {
        let len = store.as_context_mut().0.opaque.externrefs.lifo.len();
        RootScope { store, len }
    }

    /// Makes room for `additional` roots up front.
    pub fn reserve(&mut self, additional: usize) {
        let lifo = &mut self.store.as_context_mut().0.opaque.externrefs.lifo;
        lifo.roots.reserve(additional);
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        let len = self.len;
        self.store
            .as_context_mut()
            .0
            .opaque
            .externrefs
            .lifo
            .exit_scope(len);
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        self.store.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        self.store.as_context_mut()
    }
}

impl<'a, C: AsContextMut> From<&'a RootScope<C>> for StoreContext<'a, C::Data> {
    fn from(scope: &'a RootScope<C>) -> Self {
        scope.as_context()
    }
}

impl<'a, C: AsContextMut> From<&'a mut RootScope<C>> for StoreContextMut<'a, C::Data> {
    fn from(scope: &'a mut RootScope<C>) -> Self {
        scope.as_context_mut()
    }
}
