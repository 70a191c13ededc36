//! The committed `schema.graphql` is what the code exports.

#[test]
fn schema_graphql_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let exported = tandem::graphql::sdl();
    assert!(
        committed == exported,
        "schema.graphql is out of date: run `cargo run -- print-schema > schema.graphql`"
    );
}
