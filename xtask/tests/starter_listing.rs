//! What the starter makes of a real exercise, snapshotted: the book's
//! "Doing the exercises" page includes this snapshot, so the listing of a
//! blanked exercise there is the generator's real output.

use std::path::Path;

use xtask::exercises::manifest::Manifest;
use xtask::exercises::starter::blanked;

#[test]
fn integer_parse_in_the_starter() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let manifest = Manifest::load(root).unwrap();
    let path = Path::new("lesson02-kv/src/integer.rs");
    let source = std::fs::read_to_string(root.join(path)).unwrap();
    let starter = blanked(path, &source, &[manifest.get("2.1").unwrap()])
        .unwrap()
        .expect("2.1 is in integer.rs");
    let from = starter.find("pub fn parse").unwrap();
    let to = from + starter[from..].find("\n}\n").unwrap() + 2;
    insta::assert_snapshot!("integer_parse", &starter[from..to]);
}
