//! Exercise regions in the reference code, and blanking them.
//!
//! A region is the lines between two marker comments:
//!
//! ```text
//!     fn parse(bytes: &[u8]) -> Option<i64> {
//!         // exercise 2.1: begin        ◄── kept in the starter
//!         let (negative, digits) = …;   ◄── replaced by one line:
//!         …                                 todo!("exercise 2.1: … — see the book, …")
//!         // exercise 2.1: end          ◄── kept in the starter
//!     }
//! ```
//!
//! The markers stay in the starter so the student sees where to write, and
//! in the book's listings so the reader sees which code is an exercise.
//! Regions may not nest, and may not contain an `ANCHOR` line: the starter's
//! book must keep every anchor the reference's book uses.

/// One marked region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The exercise id, such as `2.1`.
    pub id: String,
    /// 0-based line of the `begin` marker.
    pub begin: usize,
    /// 0-based line of the `end` marker.
    pub end: usize,
}

/// The kind and id of a marker line, if it is one.
fn marker(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim().strip_prefix("// exercise ")?;
    let (id, kind) = rest.split_once(": ")?;
    matches!(kind.trim_end(), "begin" | "end").then(|| (kind.trim_end(), id))
}

/// Finds the regions of a source file. `name` is used in error messages.
pub fn regions(name: &str, source: &str) -> Result<Vec<Region>, String> {
    let mut found = Vec::new();
    let mut open: Option<(String, usize)> = None;
    for (i, line) in source.lines().enumerate() {
        let at = || format!("{name}:{}", i + 1);
        if let Some((kind, id)) = marker(line) {
            match (kind, open.take()) {
                ("begin", None) => open = Some((id.to_string(), i)),
                ("begin", Some((outer, _))) => {
                    return Err(format!("{}: exercise {id} begins inside exercise {outer}", at()));
                }
                ("end", Some((begun, begin))) if begun == id => {
                    if begin + 1 == i {
                        return Err(format!("{}: exercise {id} has an empty region", at()));
                    }
                    found.push(Region { id: begun, begin, end: i });
                }
                ("end", Some((begun, _))) => {
                    return Err(format!("{}: exercise {id} ends inside exercise {begun}", at()));
                }
                _ => return Err(format!("{}: exercise {id} ends without a begin", at())),
            }
        } else if line.contains("ANCHOR") && open.is_some() {
            return Err(format!(
                "{}: an ANCHOR line inside an exercise region would vanish from the starter",
                at()
            ));
        }
    }
    match open {
        Some((id, begin)) => Err(format!("{name}:{}: exercise {id} never ends", begin + 1)),
        None => Ok(found),
    }
}

/// Replaces the body of every region for which `message` returns a text
/// with one `todo!(text)` line, indented like the marker. Other regions and
/// every other line stay as they are.
pub fn blank(
    name: &str,
    source: &str,
    message: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let regions = regions(name, source)?;
    let lines: Vec<&str> = source.split('\n').collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut next = 0;
    for region in &regions {
        let Some(text) = message(&region.id) else { continue };
        out.extend(lines[next..=region.begin].iter().map(ToString::to_string));
        let marker_line = lines[region.begin];
        let indent = &marker_line[..marker_line.len() - marker_line.trim_start().len()];
        out.push(format!("{indent}todo!({text:?})"));
        next = region.end;
    }
    out.extend(lines[next..].iter().map(ToString::to_string));
    Ok(out.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "fn a() -> u32 {\n    // exercise 1.1: begin\n    let x = 1;\n    x + 1\n    // exercise 1.1: end\n}\n\
                          fn b() {\n    // exercise 1.2: begin\n    println!();\n    // exercise 1.2: end\n}\n";

    #[test]
    fn finds_regions_with_their_lines() {
        let found = regions("s.rs", SOURCE).unwrap();
        assert_eq!(
            found,
            [
                Region { id: "1.1".into(), begin: 1, end: 4 },
                Region { id: "1.2".into(), begin: 7, end: 9 }
            ]
        );
    }

    #[test]
    fn blanks_only_the_selected_regions_and_keeps_the_markers() {
        let out =
            blank("s.rs", SOURCE, |id| (id == "1.1").then(|| "exercise 1.1: \"A\"".to_string()))
                .unwrap();
        assert_eq!(
            out,
            "fn a() -> u32 {\n    // exercise 1.1: begin\n    todo!(\"exercise 1.1: \\\"A\\\"\")\n    // exercise 1.1: end\n}\n\
             fn b() {\n    // exercise 1.2: begin\n    println!();\n    // exercise 1.2: end\n}\n"
        );
        assert_eq!(
            blank("s.rs", SOURCE, |_| None).unwrap(),
            SOURCE,
            "nothing selected, nothing changed"
        );
    }

    #[test]
    fn blanking_twice_gives_the_same_starter() {
        let msg = |id: &str| Some(format!("exercise {id}"));
        let once = blank("s.rs", SOURCE, msg).unwrap();
        assert_eq!(blank("s.rs", &once, msg).unwrap(), once);
    }

    #[test]
    fn malformed_markers_are_errors_that_say_where() {
        let cases = [
            ("// exercise 1.1: begin\nx\n", "s.rs:1: exercise 1.1 never ends"),
            ("x\n// exercise 1.1: end\n", "s.rs:2: exercise 1.1 ends without a begin"),
            (
                "// exercise 1.1: begin\n// exercise 1.2: begin\n",
                "s.rs:2: exercise 1.2 begins inside exercise 1.1",
            ),
            (
                "// exercise 1.1: begin\nx\n// exercise 1.2: end\n",
                "s.rs:3: exercise 1.2 ends inside exercise 1.1",
            ),
            (
                "// exercise 1.1: begin\n// exercise 1.1: end\n",
                "s.rs:2: exercise 1.1 has an empty region",
            ),
            (
                "// exercise 1.1: begin\n// ANCHOR: x\n// exercise 1.1: end\n",
                "s.rs:2: an ANCHOR line",
            ),
        ];
        for (source, want) in cases {
            let err = regions("s.rs", source).unwrap_err();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
    }
}
