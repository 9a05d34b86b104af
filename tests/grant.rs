//! The type gate around personal data: outside the crate, an authority view cannot be asked
//! for without a grant, and a grant cannot be made without the authority module's checks.

#[test]
fn an_authority_view_needs_a_grant_that_only_the_authority_module_issues() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
