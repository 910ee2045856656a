//! The measurement half of the drift check, on a copy of the committed data
//! and what it rendered: it passes as committed, and fails when a data file
//! is removed, a rendered table is edited by hand, or a file appears that
//! no data explains.

use std::path::Path;

use xtask::measure;

/// A copy of the repository's `measurements/` and `book/src/measured/`.
fn copy_of_the_repository() -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["measurements", measure::OUTPUT_DIR] {
        let to = tmp.path().join(dir);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(repo.join(dir)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    tmp
}

#[test]
fn the_committed_data_renders_exactly_the_committed_tables() {
    let root = copy_of_the_repository();
    assert_eq!(measure::render(root.path(), true).unwrap(), Vec::<String>::new());
}

#[test]
fn a_missing_data_file_fails_the_check() {
    let root = copy_of_the_repository();
    std::fs::remove_file(root.path().join("measurements/lesson03-log.json")).unwrap();
    let problems = measure::render(root.path(), true).unwrap();
    assert!(
        problems.iter().any(|p| p.contains("lesson03-log") && p.contains("has no data")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("lesson03-log.md") && p.contains("no data file explains it")),
        "{problems:?}"
    );
}

#[test]
fn a_number_edited_by_hand_in_a_rendered_table_fails_the_check() {
    let root = copy_of_the_repository();
    let table = root.path().join(measure::OUTPUT_DIR).join("lesson01-lookup.md");
    let text = std::fs::read_to_string(&table).unwrap();
    let edited = text.replacen(" ns |", "1 ns |", 1);
    assert_ne!(text, edited);
    std::fs::write(&table, edited).unwrap();
    let problems = measure::render(root.path(), true).unwrap();
    assert!(
        problems.iter().any(|p| p.contains("lesson01-lookup.md") && p.contains("edited by hand")),
        "{problems:?}"
    );
}

#[test]
fn a_plot_no_data_explains_fails_the_check() {
    let root = copy_of_the_repository();
    std::fs::write(root.path().join(measure::OUTPUT_DIR).join("lesson09-made-up.svg"), "<svg/>")
        .unwrap();
    let problems = measure::render(root.path(), true).unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("lesson09-made-up.svg"));
}

#[test]
fn data_that_contradicts_the_prose_fails_to_render() {
    let root = copy_of_the_repository();
    let path = root.path().join("measurements/lesson01-lookup.json");
    let mut data = measure::data::DataFile::load(&path).unwrap();
    // The chapter says that at ten keys the list beats the hash map.
    let hash = data.results["lookup/hash_map/10"];
    data.results.get_mut("lookup/linear_scan/10").unwrap().value = hash.value * 2.0;
    data.save(&path).unwrap();
    let problems = measure::render(root.path(), true).unwrap();
    assert!(
        problems.iter().any(|p| p.contains("contradicts") && p.contains("beats the hash map")),
        "{problems:?}"
    );
}

#[test]
fn a_quick_runs_data_is_not_the_books() {
    let root = copy_of_the_repository();
    let path = root.path().join("measurements/lesson01-lookup.json");
    let mut data = measure::data::DataFile::load(&path).unwrap();
    data.quick = true;
    data.save(&path).unwrap();
    let problems = measure::render(root.path(), true).unwrap();
    assert!(problems.iter().any(|p| p.contains("quick run")), "{problems:?}");
}

#[test]
fn the_chapters_hold_no_number_typed_by_hand_in_a_measure_it_section() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("book");
    assert_eq!(measure::hand_numbers::check_book(&book), Vec::<String>::new());
}

#[test]
fn a_number_typed_into_a_chapter_is_found_and_the_rendered_fragments_are_not_chapters() {
    let book = tempfile::tempdir().unwrap();
    let src = book.path().join("src");
    std::fs::create_dir_all(src.join("lesson09")).unwrap();
    std::fs::create_dir_all(src.join("measured")).unwrap();
    std::fs::write(src.join("lesson09/run.md"), "# Run\n\n## Measure it\n\nIt takes 3 ms.\n")
        .unwrap();
    std::fs::write(src.join("measured/lesson09-x.md"), "## Measure it\n\n| get | 20 ns | 1.5× |\n")
        .unwrap();
    let problems = measure::hand_numbers::check_book(book.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("book/src/lesson09/run.md:5: `3`"), "{problems:?}");
}
