//! Minifies the hand-kept OpenAPI document (`docs/openapi.json`) into `OUT_DIR` for the Worker to
//! embed: whitespace outside strings goes, which is about a third of its bytes and a sixth of its
//! gzipped cost in the wasm. No JSON parser: `routes`' unit tests parse the original.

use std::path::Path;
use std::{env, fs};

const DOCUMENT: &str = "docs/openapi.json";

fn main() {
    println!("cargo:rerun-if-changed={DOCUMENT}");
    println!("cargo:rerun-if-changed=build.rs");
    let text = fs::read_to_string(DOCUMENT).unwrap_or_else(|e| panic!("reading {DOCUMENT}: {e}"));
    let out = env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    fs::write(Path::new(&out).join("openapi.min.json"), minify(&text))
        .unwrap_or_else(|e| panic!("writing the minified document: {e}"));
}

/// JSON text without the whitespace between tokens.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}
