//! Compile tests of blazen's macros: every `tests/ui/<macro>/pass/*.rs` builds and runs, every
//! `tests/ui/<macro>/fail/*.rs` fails with the error in its `.stderr` file.
//!
//! Regenerate the `.stderr` files after a deliberate change with
//! `TRYBUILD=overwrite cargo test --test macros_ui`, then review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/*/pass/*.rs");
    t.compile_fail("tests/ui/*/fail/*.rs");
}
