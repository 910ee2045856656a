//! The file layer: every byte the store puts on disk goes through
//! [`FileSystem`], so that tests can break it.
//!
//! ```text
//!   DurableStore ──► FileSystem ──┬─► RealFs    std::fs, for real
//!   (lesson 4: Bitcask,           └─► FaultyFs  RealFs, plus injected faults:
//!    the B+tree's pager)                crash after N bytes or N operations,
//!                                       short writes, failing fsyncs,
//!                                       a power cut that drops unsynced bytes
//! ```
//!
//! A crash test cannot pull the power plug, but it can stop every write
//! after the N-th byte: the files then hold exactly what a machine that died
//! at that moment could have left (assuming the disk kept what `write`
//! handed it; see the book for what fsync adds). The test then reopens the
//! directory with [`RealFs`] and checks what recovery makes of it. Doing this
//! for every N is how the lesson proves its recovery rules, in-process and
//! deterministically.
//!
//! Lesson 3 only appends and reads whole files. Lesson 4 reads values at
//! offsets (Bitcask) and writes pages at offsets (the B+tree), so files also
//! have positioned reads and writes ([`OpenFile::read_at`],
//! [`OpenFile::write_at`]) and a length.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

// ANCHOR: traits
/// The file operations the durable stores need.
pub trait FileSystem: Clone + Send + Sync + 'static {
    /// An open file.
    type File: OpenFile;

    /// Opens `path` for appending, creating it if it does not exist.
    fn open_append(&self, path: &Path) -> io::Result<Self::File>;
    /// Opens `path` for positioned reads and writes, creating it if it does
    /// not exist.
    fn open(&self, path: &Path) -> io::Result<Self::File>;
    /// Creates `path` empty, replacing any file there.
    fn create(&self, path: &Path) -> io::Result<Self::File>;
    /// Reads the whole file, or `None` if it does not exist.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Cuts the file to `len` bytes, durably.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Renames `from` to `to`, replacing `to` atomically.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Deletes the file at `path`.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// The names of the files in `dir`, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Makes renames, removals and new files in `dir` durable (fsync on the
    /// directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// An open file.
pub trait OpenFile: Send {
    /// Writes some of `buf` at the end (append) or at the cursor; returns
    /// how much. May write less than all.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Writes some of `buf` at byte `offset`; returns how much. Only for
    /// files from [`FileSystem::open`] or [`FileSystem::create`]: on Linux,
    /// a positioned write to a file opened for appending appends.
    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize>;
    /// Reads into `buf` from byte `offset`; returns how much (0 at the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// The file's length in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Makes everything written so far durable (fsync).
    fn sync(&mut self) -> io::Result<()>;
}

/// Writes all of `buf`, however many calls it takes.
pub fn write_all(file: &mut impl OpenFile, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write(buf)? {
            0 => return Err(write_zero()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`, however many calls it takes.
pub fn write_all_at(file: &mut impl OpenFile, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write_at(buf, offset)? {
            0 => return Err(write_zero()),
            n => {
                buf = &buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

/// Fills `buf` from `offset`; an `UnexpectedEof` error if the file ends first.
pub fn read_exact_at(file: &impl OpenFile, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, offset)? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the file ends before byte {}", offset + buf.len() as u64),
                ));
            }
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}
// ANCHOR_END: traits

fn write_zero() -> io::Error {
    io::Error::new(io::ErrorKind::WriteZero, "the file accepted no bytes")
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl OpenFile for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Write::write(self, buf)
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize> {
        FileExt::write_at(self, buf, offset)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    fn sync(&mut self) -> io::Result<()> {
        // sync_data: the contents and the length, without the access times
        // that a full fsync would also write.
        self.sync_data()
    }
}

impl FileSystem for RealFs {
    type File = File;

    fn open_append(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().create(true).append(true).read(true).open(path)
    }

    fn open(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)
    }

    fn create(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().create(true).truncate(true).read(true).write(true).open(path)
    }

    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// Faults to inject, shared by a [`FaultyFs`] and every file it opened.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Crash once this many bytes have been written, in total: the write
    /// that crosses the limit writes only up to it (a torn record, or a
    /// torn page).
    pub crash_after_bytes: Option<u64>,
    /// Crash before the operation with this number (every write, fsync,
    /// rename, truncate, remove, open, create and directory sync counts
    /// one, from 0).
    pub crash_before_op: Option<u64>,
    /// Each write call writes at most this many bytes.
    pub max_write: Option<usize>,
    /// Every fsync (of a file or a directory) fails.
    pub fail_sync: bool,
    /// Every file fsync takes at least this long: a slow disk, for testing
    /// that concurrent writers share fsyncs.
    pub sync_delay: Option<std::time::Duration>,
    /// Bytes written so far.
    pub bytes_written: u64,
    /// Operations so far.
    pub ops: u64,
    /// Successful file fsyncs so far.
    pub syncs: u64,
    /// Whether the crash happened: from then on, every operation fails.
    pub crashed: bool,
}

/// What a power cut would leave of one file: its length at the last fsync,
/// and the old contents of every byte overwritten since (an undo log).
#[derive(Debug, Default)]
struct Durable {
    synced_len: u64,
    undo: Vec<(u64, Vec<u8>)>,
}

type DurableMap = Arc<Mutex<HashMap<PathBuf, Durable>>>;

/// A [`RealFs`] that injects [`Faults`], and remembers what of each file
/// was fsynced, so that [`FaultyFs::power_cut`] can throw away the rest.
/// Clones share the faults and the memory.
#[derive(Debug, Clone, Default)]
pub struct FaultyFs {
    faults: Arc<Mutex<Faults>>,
    durable: DurableMap,
}

/// A file opened through a [`FaultyFs`].
#[derive(Debug)]
pub struct FaultyFile {
    file: File,
    path: PathBuf,
    faults: Arc<Mutex<Faults>>,
    durable: DurableMap,
}

fn crashed() -> io::Error {
    io::Error::other("injected crash")
}

impl FaultyFs {
    /// A file system with these faults.
    pub fn new(faults: Faults) -> Self {
        Self { faults: Arc::new(Mutex::new(faults)), durable: Arc::default() }
    }

    // ANCHOR: power_cut
    /// Simulates losing power: every file written through this file system
    /// loses what was written after its last fsync, as the kernel's page
    /// cache would: appended bytes are cut off, and bytes overwritten in
    /// place get their old contents back. NB: a real disk may keep some
    /// unsynced writes and not others, in any order; this model drops them
    /// all. Directory changes (creations, renames) are kept; modelling their
    /// loss too is left to tools like ALICE (see the book).
    pub fn power_cut(&self) {
        self.set(|f| f.crashed = true);
        for (path, durable) in self.durable.lock().expect("durable lock").iter_mut() {
            if let Ok(file) = OpenOptions::new().write(true).open(path) {
                for (offset, old) in durable.undo.drain(..).rev() {
                    let _ = FileExt::write_all_at(&file, &old, offset);
                }
                let _ = file.set_len(durable.synced_len);
            }
        }
    }
    // ANCHOR_END: power_cut

    fn file(&self, file: File, path: &Path, synced_len: u64) -> FaultyFile {
        self.durable
            .lock()
            .expect("durable lock")
            .entry(path.to_path_buf())
            .or_insert(Durable { synced_len, undo: Vec::new() });
        FaultyFile {
            file,
            path: path.to_path_buf(),
            faults: self.faults.clone(),
            durable: self.durable.clone(),
        }
    }

    /// The faults and counters, as they are now.
    pub fn faults(&self) -> Faults {
        self.faults.lock().expect("faults lock").clone()
    }

    /// Changes the faults (the counters keep counting).
    pub fn set(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.faults.lock().expect("faults lock"));
    }

    /// Counts one operation; fails if the machine has crashed or crashes now.
    fn op(faults: &Mutex<Faults>) -> io::Result<()> {
        let mut f = faults.lock().expect("faults lock");
        if f.crashed || f.crash_before_op.is_some_and(|n| f.ops >= n) {
            f.crashed = true;
            return Err(crashed());
        }
        f.ops += 1;
        Ok(())
    }

    fn check_alive(&self) -> io::Result<()> {
        if self.faults.lock().expect("faults lock").crashed { Err(crashed()) } else { Ok(()) }
    }
}

impl FaultyFile {
    /// Writes `buf` at `offset` (or appends, for `None`), with the faults
    /// applied: a write may be cut short, or crash part-way.
    fn faulty_write(&mut self, buf: &[u8], offset: Option<u64>) -> io::Result<usize> {
        FaultyFs::op(&self.faults)?;
        let mut f = self.faults.lock().expect("faults lock");
        let mut n = buf.len().min(f.max_write.unwrap_or(usize::MAX));
        let mut crash = false;
        if let Some(limit) = f.crash_after_bytes {
            let room = limit.saturating_sub(f.bytes_written) as usize;
            if room < n {
                // The write that crosses the limit gets the bytes before it
                // onto the disk, and then the machine is gone.
                n = room;
                crash = true;
            }
        }
        if let Some(offset) = offset {
            self.remember_overwritten(offset, n)?;
        }
        let written = match offset {
            Some(offset) => {
                if crash {
                    FileExt::write_all_at(&self.file, &buf[..n], offset)?;
                    n
                } else {
                    FileExt::write_at(&self.file, &buf[..n], offset)?
                }
            }
            None if crash => {
                Write::write_all(&mut self.file, &buf[..n])?;
                n
            }
            None => Write::write(&mut self.file, &buf[..n])?,
        };
        f.bytes_written += written as u64;
        if crash {
            f.crashed = true;
            return Err(crashed());
        }
        Ok(written)
    }

    /// Saves the synced bytes that a write of `len` bytes at `offset` is
    /// about to overwrite, so that a power cut can put them back.
    fn remember_overwritten(&self, offset: u64, len: usize) -> io::Result<()> {
        let mut durable = self.durable.lock().expect("durable lock");
        let entry = durable.entry(self.path.clone()).or_default();
        let end = (offset + len as u64).min(entry.synced_len);
        if end > offset {
            let mut old = vec![0; (end - offset) as usize];
            FileExt::read_exact_at(&self.file, &mut old, offset)?;
            entry.undo.push((offset, old));
        }
        Ok(())
    }
}

impl OpenFile for FaultyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.faulty_write(buf, None)
    }

    fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.faulty_write(buf, Some(offset))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if self.faults.lock().expect("faults lock").crashed {
            return Err(crashed());
        }
        FileExt::read_at(&self.file, buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        if self.faults.lock().expect("faults lock").crashed {
            return Err(crashed());
        }
        Ok(self.file.metadata()?.len())
    }

    fn sync(&mut self) -> io::Result<()> {
        FaultyFs::op(&self.faults)?;
        let mut f = self.faults.lock().expect("faults lock");
        if f.fail_sync {
            return Err(io::Error::other("injected fsync failure"));
        }
        f.syncs += 1;
        let delay = f.sync_delay;
        drop(f); // others may write while this fsync is slow
        // Only what was written before the fsync began is surely covered.
        let len = self.file.metadata()?.len();
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
        self.file.sync_data()?;
        let mut durable = self.durable.lock().expect("durable lock");
        let entry = durable.entry(self.path.clone()).or_default();
        entry.synced_len = len;
        entry.undo.clear();
        Ok(())
    }
}

impl FileSystem for FaultyFs {
    type File = FaultyFile;

    fn open_append(&self, path: &Path) -> io::Result<FaultyFile> {
        FaultyFs::op(&self.faults)?;
        let file = RealFs.open_append(path)?;
        // What was there before we saw it counts as synced.
        let len = file.metadata()?.len();
        Ok(self.file(file, path, len))
    }

    fn open(&self, path: &Path) -> io::Result<FaultyFile> {
        FaultyFs::op(&self.faults)?;
        let file = RealFs.open(path)?;
        let len = file.metadata()?.len();
        Ok(self.file(file, path, len))
    }

    fn create(&self, path: &Path) -> io::Result<FaultyFile> {
        FaultyFs::op(&self.faults)?;
        let file = RealFs.create(path)?;
        self.durable.lock().expect("durable lock").insert(path.to_path_buf(), Durable::default());
        Ok(self.file(file, path, 0))
    }

    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        self.check_alive()?;
        RealFs.read(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        FaultyFs::op(&self.faults)?;
        RealFs.truncate(path, len)?;
        // RealFs's truncate syncs the whole file.
        self.durable
            .lock()
            .expect("durable lock")
            .insert(path.to_path_buf(), Durable { synced_len: len, undo: Vec::new() });
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        FaultyFs::op(&self.faults)?;
        RealFs.rename(from, to)?;
        let mut durable = self.durable.lock().expect("durable lock");
        if let Some(entry) = durable.remove(from) {
            durable.insert(to.to_path_buf(), entry);
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        FaultyFs::op(&self.faults)?;
        RealFs.remove(path)?;
        self.durable.lock().expect("durable lock").remove(path);
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.check_alive()?;
        RealFs.list(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        FaultyFs::op(&self.faults)?;
        if self.faults.lock().expect("faults lock").fail_sync {
            return Err(io::Error::other("injected fsync failure"));
        }
        RealFs.sync_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_after_n_bytes_leaves_exactly_n_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let fs = FaultyFs::new(Faults { crash_after_bytes: Some(5), ..Faults::default() });
        let mut file = fs.open_append(&path).unwrap();
        write_all(&mut file, b"abc").unwrap();
        assert!(write_all(&mut file, b"defgh").is_err());
        assert!(write_all(&mut file, b"i").is_err(), "after the crash, nothing works");
        assert!(fs.rename(&path, &dir.path().join("g")).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"abcde");
    }

    #[test]
    fn short_writes_still_write_everything_through_write_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let fs = FaultyFs::new(Faults { max_write: Some(3), ..Faults::default() });
        let mut file = fs.create(&path).unwrap();
        assert_eq!(file.write(b"abcdefgh").unwrap(), 3);
        write_all(&mut file, b"defgh").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcdefgh");
    }

    #[test]
    fn a_crash_before_op_n_lets_exactly_n_operations_through() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultyFs::new(Faults { crash_before_op: Some(2), ..Faults::default() });
        let mut file = fs.create(&dir.path().join("f")).unwrap(); // op 0
        file.sync().unwrap(); // op 1
        assert!(file.sync().is_err()); // op 2: crash
        assert!(fs.faults().crashed);
    }

    #[test]
    fn a_power_cut_keeps_only_what_was_fsynced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let fs = FaultyFs::default();
        let mut file = fs.create(&path).unwrap();
        write_all(&mut file, b"durable").unwrap();
        file.sync().unwrap();
        write_all(&mut file, b" and not").unwrap();
        fs.power_cut();
        assert_eq!(std::fs::read(&path).unwrap(), b"durable");
        assert!(write_all(&mut file, b"x").is_err(), "nothing works after a power cut");
    }

    #[test]
    fn failing_fsync_reports_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultyFs::new(Faults { fail_sync: true, ..Faults::default() });
        let mut file = fs.create(&dir.path().join("f")).unwrap();
        assert!(file.sync().is_err());
        assert!(fs.sync_dir(dir.path()).is_err());
        assert_eq!(fs.faults().syncs, 0);
    }

    #[test]
    fn positioned_writes_and_reads_meet_in_the_middle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut file = RealFs.open(&path).unwrap();
        write_all_at(&mut file, b"0123456789", 0).unwrap();
        write_all_at(&mut file, b"ab", 4).unwrap();
        let mut buf = [0; 4];
        read_exact_at(&file, &mut buf, 3).unwrap();
        assert_eq!(&buf, b"3ab6");
        assert_eq!(file.size().unwrap(), 10);
        let err = read_exact_at(&file, &mut buf, 8).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        drop(file);
        let file = RealFs.open(&path).unwrap();
        assert_eq!(file.size().unwrap(), 10, "open keeps what is there");
    }

    #[test]
    fn a_crash_in_a_positioned_write_tears_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"old page!").unwrap();
        let fs = FaultyFs::new(Faults { crash_after_bytes: Some(3), ..Faults::default() });
        let mut file = fs.open(&path).unwrap();
        assert!(write_all_at(&mut file, b"NEW PAGE!", 0).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"NEW page!", "a torn page");
    }

    #[test]
    fn a_power_cut_undoes_unsynced_overwrites_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let fs = FaultyFs::default();
        let mut file = fs.create(&path).unwrap();
        write_all_at(&mut file, b"aaaabbbb", 0).unwrap();
        file.sync().unwrap();
        write_all_at(&mut file, b"XX", 2).unwrap();
        write_all_at(&mut file, b"YYYY", 3).unwrap(); // overlaps the first
        write_all_at(&mut file, b"tail", 8).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"aaXYYYYbtail");
        fs.power_cut();
        assert_eq!(std::fs::read(&path).unwrap(), b"aaaabbbb");
    }

    #[test]
    fn fsync_makes_overwrites_survive_a_power_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let fs = FaultyFs::default();
        let mut file = fs.create(&path).unwrap();
        write_all_at(&mut file, b"aaaa", 0).unwrap();
        file.sync().unwrap();
        write_all_at(&mut file, b"bb", 1).unwrap();
        file.sync().unwrap();
        write_all_at(&mut file, b"c", 0).unwrap();
        fs.power_cut();
        assert_eq!(std::fs::read(&path).unwrap(), b"abba");
    }

    #[test]
    fn remove_and_list_count_as_operations() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultyFs::new(Faults { crash_before_op: Some(3), ..Faults::default() });
        fs.create(&dir.path().join("b")).unwrap(); // op 0
        fs.create(&dir.path().join("a")).unwrap(); // op 1
        assert_eq!(fs.list(dir.path()).unwrap(), ["a", "b"]);
        fs.remove(&dir.path().join("b")).unwrap(); // op 2
        assert!(fs.remove(&dir.path().join("a")).is_err()); // op 3: crash
        assert!(fs.list(dir.path()).is_err(), "nothing works after the crash");
    }
}
