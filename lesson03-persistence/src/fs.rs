//! The file layer: every byte the store puts on disk goes through
//! [`FileSystem`], so that tests can break it.
//!
//! ```text
//!   DurableStore ──► FileSystem ──┬─► RealFs    std::fs, for real
//!                                 └─► FaultyFs  RealFs, plus injected faults:
//!                                       crash after N bytes or N operations,
//!                                       short writes, failing fsyncs
//! ```
//!
//! A crash test cannot pull the power plug, but it can stop every write
//! after the N-th byte: the files then hold exactly what a machine that died
//! at that moment could have left (assuming the disk kept what `write`
//! handed it; see the book for what fsync adds). The test then reopens the
//! directory with [`RealFs`] and checks what recovery makes of it. Doing this
//! for every N is how the lesson proves its recovery rules, in-process and
//! deterministically.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

// ANCHOR: traits
/// The file operations the durable store needs.
pub trait FileSystem: Clone + Send + Sync + 'static {
    /// An open file.
    type File: WritableFile;

    /// Opens `path` for appending, creating it if it does not exist.
    fn open_append(&self, path: &Path) -> io::Result<Self::File>;
    /// Creates `path` empty, replacing any file there.
    fn create(&self, path: &Path) -> io::Result<Self::File>;
    /// Reads the whole file, or `None` if it does not exist.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Cuts the file to `len` bytes, durably.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Renames `from` to `to`, replacing `to` atomically.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes renames and new files in `dir` durable (fsync on the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// A file being written.
pub trait WritableFile: Send {
    /// Writes some of `buf`; returns how much. May write less than all.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Makes everything written so far durable (fsync).
    fn sync(&mut self) -> io::Result<()>;
}

/// Writes all of `buf`, however many calls it takes.
pub fn write_all(file: &mut impl WritableFile, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write(buf)? {
            0 => {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "the file accepted no bytes"));
            }
            n => buf = &buf[n..],
        }
    }
    Ok(())
}
// ANCHOR_END: traits

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

impl WritableFile for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Write::write(self, buf)
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
        OpenOptions::new().create(true).append(true).open(path)
    }

    fn create(&self, path: &Path) -> io::Result<File> {
        File::create(path)
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

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// Faults to inject, shared by a [`FaultyFs`] and every file it opened.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Crash once this many bytes have been written, in total: the write
    /// that crosses the limit writes only up to it.
    pub crash_after_bytes: Option<u64>,
    /// Crash before the operation with this number (every write, fsync,
    /// rename, truncate, create and directory sync counts one, from 0).
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

/// A [`RealFs`] that injects [`Faults`], and remembers how much of each
/// file was fsynced, so that [`FaultyFs::power_cut`] can throw away the
/// rest. Clones share the faults and the memory.
#[derive(Debug, Clone, Default)]
pub struct FaultyFs {
    faults: Arc<Mutex<Faults>>,
    /// For each file written through us: its length at the last fsync.
    synced: Arc<Mutex<HashMap<PathBuf, u64>>>,
}

/// A file opened through a [`FaultyFs`].
#[derive(Debug)]
pub struct FaultyFile {
    file: File,
    path: PathBuf,
    faults: Arc<Mutex<Faults>>,
    synced: Arc<Mutex<HashMap<PathBuf, u64>>>,
}

fn crashed() -> io::Error {
    io::Error::other("injected crash")
}

impl FaultyFs {
    /// A file system with these faults.
    pub fn new(faults: Faults) -> Self {
        Self { faults: Arc::new(Mutex::new(faults)), synced: Arc::default() }
    }

    // ANCHOR: power_cut
    /// Simulates losing power: every file written through this file system
    /// loses what was written after its last fsync, as the kernel's page
    /// cache would. NB: directory changes (creations, renames) are kept;
    /// modelling their loss too is left to tools like ALICE (see the book).
    pub fn power_cut(&self) {
        self.set(|f| f.crashed = true);
        for (path, len) in self.synced.lock().expect("synced lock").iter() {
            if let Ok(file) = OpenOptions::new().write(true).open(path) {
                let _ = file.set_len(*len);
            }
        }
    }
    // ANCHOR_END: power_cut

    fn file(&self, file: File, path: &Path, synced_len: u64) -> FaultyFile {
        self.synced.lock().expect("synced lock").entry(path.to_path_buf()).or_insert(synced_len);
        FaultyFile {
            file,
            path: path.to_path_buf(),
            faults: self.faults.clone(),
            synced: self.synced.clone(),
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
}

impl WritableFile for FaultyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        FaultyFs::op(&self.faults)?;
        let mut f = self.faults.lock().expect("faults lock");
        let mut n = buf.len().min(f.max_write.unwrap_or(usize::MAX));
        if let Some(limit) = f.crash_after_bytes {
            let room = limit.saturating_sub(f.bytes_written) as usize;
            if room < n {
                // The write that crosses the limit gets the bytes before it
                // onto the disk, and then the machine is gone.
                Write::write_all(&mut self.file, &buf[..room])?;
                f.bytes_written += room as u64;
                f.crashed = true;
                return Err(crashed());
            }
        }
        n = Write::write(&mut self.file, &buf[..n])?;
        f.bytes_written += n as u64;
        Ok(n)
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
        self.synced.lock().expect("synced lock").insert(self.path.clone(), len);
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

    fn create(&self, path: &Path) -> io::Result<FaultyFile> {
        FaultyFs::op(&self.faults)?;
        let file = RealFs.create(path)?;
        self.synced.lock().expect("synced lock").insert(path.to_path_buf(), 0);
        Ok(self.file(file, path, 0))
    }

    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        if self.faults.lock().expect("faults lock").crashed {
            return Err(crashed());
        }
        RealFs.read(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        FaultyFs::op(&self.faults)?;
        RealFs.truncate(path, len)?;
        self.synced.lock().expect("synced lock").insert(path.to_path_buf(), len);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        FaultyFs::op(&self.faults)?;
        RealFs.rename(from, to)?;
        let mut synced = self.synced.lock().expect("synced lock");
        if let Some(len) = synced.remove(from) {
            synced.insert(to.to_path_buf(), len);
        }
        Ok(())
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
}
