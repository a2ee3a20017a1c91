//! Outside code cannot forge the policy's proofs (DESIGN.md, invariant 1 and 2): a
//! `DeliveryPermit` cannot be built by struct literal, cloned, defaulted or deserialised, and
//! a `Visible<T>` cannot be built; a permit the policy issued can still be read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn permits_and_visible_values_cannot_be_forged() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/permit_struct_literal.rs");
    t.compile_fail("tests/ui/permit_clone.rs");
    t.compile_fail("tests/ui/permit_default.rs");
    t.compile_fail("tests/ui/permit_deserialize.rs");
    t.compile_fail("tests/ui/visible_struct_literal.rs");
    t.pass("tests/ui/permit_read_only.rs");
}
