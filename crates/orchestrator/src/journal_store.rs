//! The journal on disk. A journal directory holds:
//! - `header.json`: run id, cluster identity, the plan (written once, atomically);
//! - `events.jsonl`: one [`Record`] per line, appended and fsynced before the next action;
//! - `state.json`: a snapshot of [`Progress`], replaced atomically every 256 records and
//!   at pauses, failures and the end (the log after it is replayed on open);
//! - `lock`: held (flock) by the process running or inspecting the journal for writing.
//!
//! Crash safety: a record is durable once its line and newline are fsynced; the snapshot
//! is never ahead of the log (log first, then snapshot). On open, the snapshot is loaded
//! and the log lines after it are replayed; a torn last line (a kill -9 during append) is
//! cut off - the event it held was never acknowledged, and its step is re-checked on resume.
//! Atomic replace = write temp file, fsync it, rename over, fsync the directory.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use kubeladder_core::journal::{self, Event, Header, Progress, Record, StepIds};

use crate::error::OrchestratorError;

/// The header file; its presence marks a directory as holding a journal.
pub const HEADER_FILE: &str = "header.json";
const STATE: &str = "state.json";
const EVENTS: &str = "events.jsonl";
const LOCK: &str = "lock";

/// Refresh the snapshot every this many records (and at pauses, failures and the end):
/// the log is the truth, and opening replays what the snapshot lacks.
const SNAPSHOT_EVERY: u64 = 256;

/// An open, locked journal.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    header: Header,
    steps: StepIds,
    progress: Progress,
    events: File,
    _lock: File,
}

impl Journal {
    /// Start a new journal in `dir` (created if missing). Refuses if `dir` already holds one.
    pub fn create(dir: &Path, header: Header) -> Result<Self, OrchestratorError> {
        create_private_dir(dir).map_err(|e| io(dir, "create the journal directory", e))?;
        let lock = lock(dir)?;
        if dir.join(HEADER_FILE).exists() {
            return Err(OrchestratorError::JournalExists(dir.to_owned()));
        }
        let progress = Progress::default();
        write_atomically(&dir.join(STATE), &to_json(&progress)?)?;
        let events = open_events(dir)?;
        // The header is written last: a directory without it is not a journal yet.
        write_atomically(&dir.join(HEADER_FILE), &to_json(&header)?)?;
        let steps = StepIds::of(&header.plan);
        Ok(Self { dir: dir.to_owned(), header, steps, progress, events, _lock: lock })
    }

    /// Open an existing journal for `cluster_uid`, recovering from a crash if needed.
    /// A journal of another cluster or another format is refused and left untouched.
    pub fn open(dir: &Path, cluster_uid: &str) -> Result<Self, OrchestratorError> {
        if !dir.join(HEADER_FILE).exists() {
            return Err(OrchestratorError::NoJournal(dir.to_owned()));
        }
        let lock = lock(dir)?;
        // Identity and format first: a journal that is not ours is left untouched.
        let header: Header = read_json(&dir.join(HEADER_FILE))?;
        check_format(dir, &header)?;
        if header.cluster_uid != cluster_uid {
            return Err(OrchestratorError::OtherCluster {
                dir: dir.to_owned(),
                journal: header.cluster_uid,
                cluster: cluster_uid.to_owned(),
            });
        }
        let progress = recover(dir, &header)?;
        let events = open_events(dir)?;
        let steps = StepIds::of(&header.plan);
        Ok(Self { dir: dir.to_owned(), header, steps, progress, events, _lock: lock })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Make `event` durable, then apply it. Returns the record written.
    pub fn record(&mut self, event: Event) -> Result<Record, OrchestratorError> {
        let record = Record { seq: self.progress.seq + 1, at: now(), event };
        let mut next = self.progress.clone();
        next.apply(&self.steps, &record).map_err(OrchestratorError::Journal)?;
        let mut line = serde_json::to_string(&record).map_err(OrchestratorError::Encode)?;
        line.push('\n');
        let path = self.dir.join(EVENTS);
        self.events.write_all(line.as_bytes()).map_err(|e| io(&path, "append to", e))?;
        self.events.sync_data().map_err(|e| io(&path, "fsync", e))?;
        self.progress = next;
        let milestone = matches!(record.event, Event::RunFinished | Event::RunPaused { .. } | Event::StepFailed { .. });
        if milestone || record.seq.is_multiple_of(SNAPSHOT_EVERY) {
            write_atomically(&self.dir.join(STATE), &to_json(&self.progress)?)?;
        }
        Ok(record)
    }
}

/// Read a journal without locking or changing it (for `status`): header and progress as
/// of the last durable record. A torn tail is ignored, not repaired.
pub fn inspect(dir: &Path) -> Result<(Header, Progress), OrchestratorError> {
    if !dir.join(HEADER_FILE).exists() {
        return Err(OrchestratorError::NoJournal(dir.to_owned()));
    }
    let header: Header = read_json(&dir.join(HEADER_FILE))?;
    check_format(dir, &header)?;
    let (records, _) = read_log(&dir.join(EVENTS))?;
    let mut progress = read_snapshot(dir, &records)?;
    let steps = StepIds::of(&header.plan);
    for record in &records {
        progress.apply(&steps, record).map_err(OrchestratorError::Journal)?;
    }
    Ok((header, progress))
}

/// Read a journal's header and every durable record without locking or changing it (for
/// `report`, which works on finished, failed, paused, crashed and running runs alike). A
/// torn last line is ignored, not repaired.
pub fn read_records(dir: &Path) -> Result<(Header, Vec<Record>), OrchestratorError> {
    if !dir.join(HEADER_FILE).exists() {
        return Err(OrchestratorError::NoJournal(dir.to_owned()));
    }
    let header: Header = read_json(&dir.join(HEADER_FILE))?;
    check_format(dir, &header)?;
    let (records, _) = read_log(&dir.join(EVENTS))?;
    Ok((header, records))
}

/// Replay the log after the snapshot, cut a torn tail, refresh the snapshot.
fn recover(dir: &Path, header: &Header) -> Result<Progress, OrchestratorError> {
    let events = dir.join(EVENTS);
    let (records, good_len) = read_log(&events)?;
    let mut progress = read_snapshot(dir, &records)?;
    let steps = StepIds::of(&header.plan);
    for record in &records {
        progress.apply(&steps, record).map_err(OrchestratorError::Journal)?;
    }
    // Cut a torn tail so the next append starts on a clean line.
    let file = OpenOptions::new().write(true).open(&events).map_err(|e| io(&events, "open", e))?;
    if file.metadata().map_err(|e| io(&events, "stat", e))?.len() != good_len {
        file.set_len(good_len).map_err(|e| io(&events, "truncate the torn tail of", e))?;
        file.sync_all().map_err(|e| io(&events, "fsync", e))?;
    }
    write_atomically(&dir.join(STATE), &to_json(&progress)?)?;
    Ok(progress)
}

/// The progress snapshot; when it is missing or damaged and the log still starts at its first
/// record, the snapshot is only a cache of the log, so replaying the whole log rebuilds it.
fn read_snapshot(dir: &Path, records: &[Record]) -> Result<Progress, OrchestratorError> {
    let path = dir.join(STATE);
    let log_is_whole = records.first().is_some_and(|r| r.seq == 1);
    match read_json::<Progress>(&path) {
        Ok(progress) => Ok(progress),
        Err(OrchestratorError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound && log_is_whole => {
            Ok(Progress::default())
        }
        Err(OrchestratorError::Decode { .. }) if log_is_whole => Ok(Progress::default()),
        Err(e) => Err(e),
    }
}

fn check_format(dir: &Path, header: &Header) -> Result<(), OrchestratorError> {
    if header.format == journal::FORMAT {
        Ok(())
    } else {
        Err(OrchestratorError::JournalFormat { dir: dir.to_owned(), found: header.format, expected: journal::FORMAT })
    }
}

/// Parse every complete line; return the records and the byte length they span. Only the
/// last line may be incomplete (no newline) or unparsable; anything else is corruption.
fn read_log(path: &Path) -> Result<(Vec<Record>, u64), OrchestratorError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io(path, "open", e)),
    };
    let mut reader = BufReader::new(file);
    let mut records = Vec::new();
    let mut good_len = 0u64;
    let mut line = String::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| io(path, "read", e))?;
        if n == 0 {
            break;
        }
        number += 1;
        let complete = line.ends_with('\n');
        match serde_json::from_str::<Record>(line.trim_end()) {
            Ok(record) if complete => {
                records.push(record);
                good_len += n as u64;
            }
            result => {
                // Torn tail: only acceptable as the very last line.
                let mut rest = String::new();
                reader.read_line(&mut rest).map_err(|e| io(path, "read", e))?;
                if !rest.is_empty() {
                    let why = result.err().map_or_else(|| "no newline".to_owned(), |e| e.to_string());
                    return Err(OrchestratorError::CorruptLog { path: path.to_owned(), line: number, why });
                }
                break;
            }
        }
    }
    Ok((records, good_len))
}

fn open_events(dir: &Path) -> Result<File, OrchestratorError> {
    let path = dir.join(EVENTS);
    let file =
        OpenOptions::new().create(true).append(true).mode(0o600).open(&path).map_err(|e| io(&path, "open", e))?;
    sync_dir(dir)?;
    Ok(file)
}

fn lock(dir: &Path) -> Result<File, OrchestratorError> {
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io(&path, "open", e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(OrchestratorError::JournalBusy(dir.to_owned())),
        Err(fs::TryLockError::Error(e)) => Err(io(&path, "lock", e)),
    }
}

/// Replace `path` with `contents` so that a crash leaves either the old or the new file.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), OrchestratorError> {
    write_private_atomically(path, contents).map_err(|(what, source)| io(path, what, source))
}

/// [`write_atomically`] for callers with their own error: the file is created 0600 whatever
/// the umask (a journal names nodes and runs; a snapshot copy holds every Secret of the
/// cluster), written through a temporary file, fsynced, renamed, and the directory fsynced.
pub fn write_private_atomically(path: &Path, contents: &[u8]) -> Result<(), (&'static str, std::io::Error)> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let mut file =
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(|e| ("create", e))?;
    file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(|e| ("chmod 0600", e))?;
    file.write_all(contents).map_err(|e| ("write", e))?;
    file.sync_all().map_err(|e| ("fsync", e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| ("rename into place", e))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| ("fsync directory", e))
}

/// Create `dir` (and its parents) 0700 whatever the umask: it holds the journal and,
/// under `snapshots/`, copies of etcd.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

fn sync_dir(dir: &Path) -> Result<(), OrchestratorError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, "fsync directory", e))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, OrchestratorError> {
    let text = fs::read(path).map_err(|e| io(path, "read", e))?;
    serde_json::from_slice(&text).map_err(|e| OrchestratorError::Decode { path: path.to_owned(), source: e })
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, OrchestratorError> {
    serde_json::to_vec(value).map_err(OrchestratorError::Encode)
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn io(path: &Path, what: &str, source: std::io::Error) -> OrchestratorError {
    OrchestratorError::Io { path: path.to_owned(), what: what.to_owned(), source }
}
