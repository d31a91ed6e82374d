//! Compile-fail cases for `#[derive(Entity)]`: each `.rs` under `ui/` must fail with its committed `.stderr`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
