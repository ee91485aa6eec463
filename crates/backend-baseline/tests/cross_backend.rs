//! A baseline-compiled and a Cranelift-compiled module in one store calling
//! each other both ways, through imports and through `call_indirect` on a
//! shared table, with 18 parameters mixing i32/i64/f32/f64 (stack
//! arguments in both classes) and 20 results (a return area in both
//! classes); plus a host function of the same type called from both.

use tandem_store::{
    BackendKind, Engine, Extern, Func, FuncType, Instance, Module, Store, Val, ValType,
};

/// Parameter types: i32, i64, f32, f64 four times, then two more f64.
fn params() -> Vec<ValType> {
    let mut p = Vec::new();
    for _ in 0..4 {
        p.extend([ValType::I32, ValType::I64, ValType::F32, ValType::F64]);
    }
    p.extend([ValType::F64, ValType::F64]);
    p
}

/// Result types: i32, i64, f32, f64 five times.
fn results() -> Vec<ValType> {
    let mut r = Vec::new();
    for _ in 0..5 {
        r.extend([ValType::I32, ValType::I64, ValType::F32, ValType::F64]);
    }
    r
}

fn wat_types(tys: &[ValType]) -> String {
    tys.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The body of `big`: result 4k+j is parameter (4*(k%4)+j) plus `k + salt`
/// (converted), except the last f64, which also adds both extra f64s.
fn big_body(salt: i32) -> String {
    let mut s = String::new();
    for k in 0..5 {
        let base = 4 * (k % 4);
        let add = k + salt;
        s += &format!("local.get {} i32.const {add} i32.add\n", base);
        s += &format!("local.get {} i64.const {add} i64.mul\n", base + 1);
        s += &format!("local.get {} f32.const {add} f32.sub\n", base + 2);
        if k == 4 {
            s += &format!(
                "local.get {} local.get 16 f64.add local.get 17 f64.add\n",
                base + 3
            );
        } else {
            s += &format!("local.get {} f64.const {add} f64.mul\n", base + 3);
        }
    }
    s
}

/// What `big` with `salt` computes, on the host.
fn expected(args: &[Val], salt: i32) -> Vec<Val> {
    let mut out = Vec::new();
    for k in 0..5 {
        let base = 4 * (k % 4) as usize;
        let add = k + salt;
        out.push(Val::I32(args[base].i32().unwrap().wrapping_add(add)));
        out.push(Val::I64(
            args[base + 1].i64().unwrap().wrapping_mul(i64::from(add)),
        ));
        out.push(Val::F32(
            (args[base + 2].f32().unwrap() - add as f32).to_bits(),
        ));
        let d = args[base + 3].f64().unwrap();
        let v = if k == 4 {
            d + args[16].f64().unwrap() + args[17].f64().unwrap()
        } else {
            d * f64::from(add)
        };
        out.push(Val::F64(v.to_bits()));
    }
    out
}

fn args() -> Vec<Val> {
    let mut a = Vec::new();
    for i in 0..4 {
        a.push(Val::I32(1000 * (i + 1) - 7));
        a.push(Val::I64(-(1i64 << 40) + i64::from(i)));
        a.push(Val::F32((1.5f32 + i as f32).to_bits()));
        a.push(Val::F64((-2.25f64 * f64::from(i + 1)).to_bits()));
    }
    a.push(Val::F64(0.125f64.to_bits()));
    a.push(Val::F64(1e10f64.to_bits()));
    a
}

/// Forwarding bodies: push all 18 parameters, then the call.
fn forward(call: &str) -> String {
    let mut s = String::new();
    for i in 0..18 {
        s += &format!("local.get {i} ");
    }
    s + call
}

fn same(a: &[Val], b: &[Val]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Val::I32(x), Val::I32(y)) => x == y,
            (Val::I64(x), Val::I64(y)) => x == y,
            (Val::F32(x), Val::F32(y)) => x == y,
            (Val::F64(x), Val::F64(y)) => x == y,
            _ => false,
        })
}

fn call(store: &mut Store<()>, f: &Func, args: &[Val]) -> Vec<Val> {
    let mut out = vec![Val::I32(0); 20];
    f.call(store, args, &mut out).expect("call succeeds");
    out
}

/// The module that owns the table: `big` (salt 1) at slot 0, `call_tbl`
/// (index, params) calling slot `index`, `call_host` calling the host
/// import.
fn owner_wat() -> String {
    let (p, r) = (wat_types(&params()), wat_types(&results()));
    format!(
        r#"(module
  (type $big (func (param {p}) (result {r})))
  (import "host" "big" (func $host (type $big)))
  (table (export "tbl") 4 funcref)
  (elem (i32.const 0) $big)
  (func $big (export "big") (type $big) {body})
  (func (export "call_tbl") (param i32 {p}) (result {r})
    {fwd_tbl})
  (func (export "call_host") (type $big) {fwd_host}))"#,
        body = big_body(1),
        fwd_tbl = {
            let mut s = String::new();
            for i in 1..19 {
                s += &format!("local.get {i} ");
            }
            s + "local.get 0 call_indirect (type $big)"
        },
        fwd_host = forward("call $host"),
    )
}

/// The module that imports the table and the owner's `big`: puts its own
/// `big` (salt 2) at slot 1, and forwards through the import and the table.
fn user_wat() -> String {
    let (p, r) = (wat_types(&params()), wat_types(&results()));
    format!(
        r#"(module
  (type $big (func (param {p}) (result {r})))
  (import "owner" "big" (func $other (type $big)))
  (import "owner" "tbl" (table 4 funcref))
  (elem (i32.const 1) $big)
  (func $big (export "big") (type $big) {body})
  (func (export "call_import") (type $big) {fwd_import})
  (func (export "call_tbl") (param i32 {p}) (result {r})
    {fwd_tbl}))"#,
        body = big_body(2),
        fwd_import = forward("call $other"),
        fwd_tbl = {
            let mut s = String::new();
            for i in 1..19 {
                s += &format!("local.get {i} ");
            }
            s + "local.get 0 call_indirect (type $big)"
        },
    )
}

fn run(owner: BackendKind, user: BackendKind) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let ty = FuncType::new(&engine, params(), results());
    let host = Func::new(&mut store, ty, |_caller, args, results| {
        for (slot, v) in results.iter_mut().zip(expected(args, 3)) {
            *slot = v;
        }
        Ok(())
    });
    let owner_module = Module::with_backend(&engine, owner_wat(), owner).expect("owner compiles");
    let user_module = Module::with_backend(&engine, user_wat(), user).expect("user compiles");
    let o = Instance::new(&mut store, &owner_module, &[Extern::Func(host)]).expect("owner");
    let big = o.get_func(&mut store, "big").expect("big");
    let tbl = o.get_table(&mut store, "tbl").expect("tbl");
    let u = Instance::new(
        &mut store,
        &user_module,
        &[Extern::Func(big), Extern::Table(tbl)],
    )
    .expect("user");
    let a = args();
    let with_index = |i: i32| {
        let mut v = vec![Val::I32(i)];
        v.extend(a.iter().cloned());
        v
    };
    let mut run = |inst: Instance, name: &str, args: &[Val]| {
        let func = inst.get_func(&mut store, name).expect("export");
        call(&mut store, &func, args)
    };
    let cases: Vec<(&str, Vec<Val>, Vec<Val>)> = vec![
        ("owner.big", run(o, "big", &a), expected(&a, 1)),
        ("user.big", run(u, "big", &a), expected(&a, 2)),
        ("owner.call_host", run(o, "call_host", &a), expected(&a, 3)),
        (
            "user.call_import",
            run(u, "call_import", &a),
            expected(&a, 1),
        ),
        (
            "user.call_tbl(0)",
            run(u, "call_tbl", &with_index(0)),
            expected(&a, 1),
        ),
        (
            "user.call_tbl(1)",
            run(u, "call_tbl", &with_index(1)),
            expected(&a, 2),
        ),
        (
            "owner.call_tbl(1)",
            run(o, "call_tbl", &with_index(1)),
            expected(&a, 2),
        ),
        (
            "owner.call_tbl(0)",
            run(o, "call_tbl", &with_index(0)),
            expected(&a, 1),
        ),
    ];
    for (name, got, want) in cases {
        assert!(
            same(&got, &want),
            "{owner:?} owner, {user:?} user: {name}\n got {got:?}\nwant {want:?}"
        );
    }
    // A null slot and a missing slot trap the same way everywhere.
    let call_tbl = u.get_func(&mut store, "call_tbl").expect("export");
    let mut out = vec![Val::I32(0); 20];
    let err = call_tbl
        .call(&mut store, &with_index(2), &mut out)
        .expect_err("null slot");
    assert_eq!(
        err.downcast_ref::<tandem_store::Trap>().copied(),
        Some(tandem_store::TrapCode::IndirectCallToNull)
    );
    let err = call_tbl
        .call(&mut store, &with_index(9), &mut out)
        .expect_err("out of bounds");
    assert_eq!(
        err.downcast_ref::<tandem_store::Trap>().copied(),
        Some(tandem_store::TrapCode::IndirectCallOutOfBounds)
    );
}

#[test]
fn baseline_owner_cranelift_user() {
    run(BackendKind::Baseline, BackendKind::Cranelift);
}

#[test]
fn cranelift_owner_baseline_user() {
    run(BackendKind::Cranelift, BackendKind::Baseline);
}

#[test]
fn baseline_only() {
    run(BackendKind::Baseline, BackendKind::Baseline);
}
