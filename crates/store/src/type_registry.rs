//! The engine-wide type registry: every type of every module compiled in an
//! engine, and every host signature, gets a [`SharedTypeIndex`], equal for
//! equal types. Func-refs carry it, and `call_indirect` compares one id.
//!
//! Type equality is the spec's iso-recursive equivalence: a type is its
//! recursion group plus its place in it. A group is registered by its
//! *canonical form*: its types with every reference to a type of the same
//! group written [`HeapType::Concrete`] with the index relative to the
//! group's start, and every reference outside it written
//! [`HeapType::Registered`] with that type's id (groups only refer to
//! earlier groups, which are registered first). Two groups with equal
//! canonical forms are the same types, whichever modules they come from.
//!
//! Registered types are kept in *engine form*: every reference is
//! [`HeapType::Registered`]. That is how the embedding API names them.

use std::collections::HashMap;
use tandem_environ::{
    CompositeKind, FuncType, HeapType, ModuleInfo, SharedTypeIndex, TypeDef, TypeIndex,
};

/// One type as registered: what it is, and its signature (empty for a
/// struct or array type).
type Entry = (TypeDef, FuncType);

/// Every type an engine knows. Never shrinks: modules come and go, ids stay.
#[derive(Default)]
pub(crate) struct TypeRegistry {
    /// Canonical form of each registered group -> id of its first type.
    groups: HashMap<Box<[Entry]>, SharedTypeIndex>,
    /// Every registered type, by id, in engine form.
    types: Vec<Entry>,
}

impl TypeRegistry {
    /// The id of the host signature `ty` (a group of its own), if it is
    /// registered already. Its references are in engine form.
    pub(crate) fn lookup_func_type(&self, ty: &FuncType) -> Option<SharedTypeIndex> {
        self.groups.get(&[(TypeDef::FUNC, ty.clone())][..]).copied()
    }

    /// Registers the host signature `ty` (a group of its own) and returns
    /// its id.
    ///
    /// # Panics
    ///
    /// If `ty` names a module's type ([`HeapType::Concrete`]): outside a
    /// module, concrete types are [`HeapType::Registered`].
    pub(crate) fn register_func_type(&mut self, ty: &FuncType) -> SharedTypeIndex {
        assert!(
            !ty.params
                .iter()
                .chain(ty.results.iter())
                .any(|t| matches!(t, tandem_environ::ValType::Ref(r) if matches!(r.heap, HeapType::Concrete(_)))),
            "a signature outside a module names concrete types by HeapType::Registered: {ty}"
        );
        self.intern(Box::new([(TypeDef::FUNC, ty.clone())]))
    }

    /// Registers every recursion group of `module`, in order; returns the
    /// id of each of its types.
    pub(crate) fn register_module(&mut self, module: &ModuleInfo) -> Vec<SharedTypeIndex> {
        let mut ids: Vec<SharedTypeIndex> = Vec::with_capacity(module.types.len());
        for group in &module.rec_groups {
            let start = group.start.index();
            let end = start + group.len as usize;
            let relative = |t: TypeIndex| {
                if group.contains(t) {
                    HeapType::Concrete(TypeIndex::new(t.index() - start))
                } else {
                    // Validation: a type refers only to its own group and
                    // earlier ones.
                    HeapType::Registered(ids[t.index()])
                }
            };
            let canonical: Box<[Entry]> = (start..end)
                .map(|i| {
                    (
                        module.type_defs[i].map_concrete(relative),
                        module.types[i].map_concrete(relative),
                    )
                })
                .collect();
            let first = self.intern(canonical);
            ids.extend((0..group.len).map(|i| SharedTypeIndex::from_u32(first.as_u32() + i)));
        }
        debug_assert_eq!(ids.len(), module.types.len(), "groups cover the types");
        ids
    }

    /// The id of the first type of the group with this canonical form,
    /// registering it when it is new.
    fn intern(&mut self, canonical: Box<[Entry]>) -> SharedTypeIndex {
        if let Some(&first) = self.groups.get(&canonical) {
            return first;
        }
        let first = SharedTypeIndex::new(self.types.len());
        let registered = |relative: TypeIndex| {
            HeapType::Registered(SharedTypeIndex::from_u32(
                first.as_u32() + relative.as_u32(),
            ))
        };
        for (def, ty) in canonical.iter() {
            self.types
                .push((def.map_concrete(registered), ty.map_concrete(registered)));
        }
        self.groups.insert(canonical, first);
        first
    }

    /// The signature of the type with id `id`, in engine form (empty for a
    /// struct or array type).
    pub(crate) fn get(&self, id: SharedTypeIndex) -> &FuncType {
        &self.types[id.index()].1
    }

    /// Whether type `sub` is a subtype of type `sup`. No registered type
    /// declares a supertype (environ refuses them until `call_indirect`
    /// and import matching check subtypes), so that is equality.
    pub(crate) fn is_subtype(&self, sub: SharedTypeIndex, sup: SharedTypeIndex) -> bool {
        sub == sup
    }

    /// Whether heap type `sub` is a subtype of `sup` where one of them is
    /// a registered type: a function type lies between `nofunc` and
    /// `func`; a struct or array type below no abstract type Tandem knows.
    pub(crate) fn heap_subtype(&self, sub: HeapType, sup: HeapType) -> bool {
        let is_func = |id: SharedTypeIndex| self.types[id.index()].0.kind == CompositeKind::Func;
        match (sub, sup) {
            (HeapType::Registered(a), HeapType::Registered(b)) => self.is_subtype(a, b),
            (HeapType::Registered(a), HeapType::Func) => is_func(a),
            (HeapType::NoFunc, HeapType::Registered(b)) => is_func(b),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_environ::{RefType, ValType};

    fn module(wat: &str) -> ModuleInfo {
        let features =
            tandem_environ::default_features() | tandem_environ::WasmFeatures::FUNCTION_REFERENCES;
        tandem_environ::translate(&wat::parse_str(wat).unwrap(), features)
            .unwrap()
            .module
    }

    #[test]
    fn equal_signatures_of_different_modules_share_an_id() {
        let mut r = TypeRegistry::default();
        let a = r.register_module(&module(
            "(module (type (func)) (type (func (param i32) (result i64))))",
        ));
        let b = r.register_module(&module(
            "(module (type (func (param i32) (result i64))) (type (func (param f32))))",
        ));
        assert_eq!(a[1], b[0]);
        assert_ne!(a[0], b[1]);
        assert_ne!(a[0], a[1]);
        let host = FuncType::new([ValType::I32], [ValType::I64]);
        assert_eq!(r.lookup_func_type(&host), Some(a[1]));
        assert_eq!(r.register_func_type(&host), a[1]);
    }

    #[test]
    fn references_are_resolved_before_comparing() {
        let mut r = TypeRegistry::default();
        // $t refers to type 0 in both, which differ: so do the $t's.
        let a = r.register_module(&module(
            "(module (type (func)) (type $t (func (param (ref 0)))))",
        ));
        let b = r.register_module(&module(
            "(module (type (func (param i32))) (type $t (func (param (ref 0)))))",
        ));
        let c = r.register_module(&module(
            "(module (type (func (param i32))) (type (func)) (type $t (func (param (ref 1)))))",
        ));
        assert_ne!(a[1], b[1]);
        assert_eq!(a[1], c[2], "both refer to the registered (func)");
        let engine_form = r.get(a[1]);
        assert_eq!(
            engine_form.params[0],
            ValType::Ref(RefType::new(false, HeapType::Registered(a[0])))
        );
    }
}
