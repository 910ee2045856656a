//! Hint files: opening from them gives the same keydir as scanning the
//! segments, without reading the values.

use std::path::Path;

use lesson01_intro::KeyRange;
use lesson04_indexing::bitcask::{Bitcask, BitcaskOptions};

fn options() -> BitcaskOptions {
    BitcaskOptions { max_segment_bytes: 512, sync_every_write: false }
}

/// A merged store: 200 keys, overwritten and some deleted, then merged.
fn merged_store(dir: &Path) -> usize {
    let (mut store, _) = Bitcask::open(dir, options()).unwrap();
    for round in 0..3 {
        for i in 0..200u32 {
            store
                .set(format!("key{i:03}").into_bytes(), format!("v{round}-{i}").into_bytes())
                .unwrap();
        }
    }
    for i in (0..200u32).step_by(3) {
        assert!(store.delete(format!("key{i:03}").as_bytes()).unwrap());
    }
    let report = store.merge().unwrap();
    assert_eq!(report.after.stale_bytes, 0, "{report}");
    report.written.len()
}

#[test]
fn bitcask_open_from_hints_matches_a_scan_of_the_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let written = merged_store(tmp.path());
    assert!(written >= 3, "the merge wrote {written} segments");

    let (store, report) = Bitcask::open(tmp.path(), options()).unwrap();
    assert_eq!(report.from_hints, written, "{report}");
    assert_eq!(report.scanned, 1, "only the empty active segment is scanned: {report}");
    assert!(report.to_string().contains(&format!("({written} from hint files, 1 scanned)")));
    let from_hints = (store.scan(&KeyRange::all()).unwrap(), store.keydir_view(), store.stats());
    assert_eq!(from_hints.0.len(), 133);
    drop(store);

    for name in std::fs::read_dir(tmp.path()).unwrap() {
        let path = name.unwrap().path();
        if path.extension().is_some_and(|e| e == "hint") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let (store, report) = Bitcask::open(tmp.path(), options()).unwrap();
    assert_eq!(report.from_hints, 0, "{report}");
    assert_eq!(report.scanned, written + 1, "{report}");
    let scanned = (store.scan(&KeyRange::all()).unwrap(), store.keydir_view(), store.stats());
    assert_eq!(scanned, from_hints, "hints and scans disagree");
}

#[test]
fn bitcask_a_hint_for_a_segment_of_another_length_is_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    merged_store(tmp.path());
    let (store, _) = Bitcask::open(tmp.path(), options()).unwrap();
    let want = store.scan(&KeyRange::all()).unwrap();
    let first = store.segment_ids()[0];
    drop(store);
    // Cut the segment's last record: the hint still lists it.
    let path = tmp.path().join(lesson04_indexing::bitcask::segment::data_name(first));
    let len = std::fs::metadata(&path).unwrap().len();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..len as usize - 5]).unwrap();
    match Bitcask::open(tmp.path(), options()) {
        Err(lesson04_indexing::Error::Corrupt { path: p, .. }) => assert_eq!(p, path),
        Err(e) => panic!("{e}"),
        Ok((_, report)) => panic!("a cut merged segment opened: {report}"),
    }
    // Put it back: the hint is trusted again, and the state is whole.
    std::fs::write(&path, &bytes).unwrap();
    let (store, report) = Bitcask::open(tmp.path(), options()).unwrap();
    assert!(report.hints_rejected.is_empty(), "{report}");
    assert_eq!(store.scan(&KeyRange::all()).unwrap(), want);
}
