//! trybuild cases for the derives: each `ui/fail/*.rs` must fail to compile with its committed `.stderr` (the
//! messages users see), and each `ui/pass/*.rs` must compile and run.
//!
//! The `.stderr` files depend on the exact rustc; regenerate them with `TRYBUILD=overwrite cargo test -p
//! fraiseql-wire-ui-tests --test ui` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
