//! `schema.sql` is the whole schema in one file for readers; the migrations are what runs.
//! This keeps the two from drifting.

use std::fs;
use std::path::Path;

#[test]
fn schema_sql_is_the_concatenation_of_the_migrations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<_> = fs::read_dir(root.join("migrations"))
        .expect("migrations/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    names.sort();
    let joined: String = names
        .iter()
        .map(|p| fs::read_to_string(p).expect("readable migration"))
        .collect::<Vec<_>>()
        .join("\n");
    let schema = fs::read_to_string(root.join("schema.sql")).expect("schema.sql exists");
    assert_eq!(schema, joined, "regenerate schema.sql: make schema");
}
