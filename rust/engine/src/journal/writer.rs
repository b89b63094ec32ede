//! Writing a journal: created with its header (never overwriting a file), or opened to append
//! for a resumed run; locked for the whole run; every record on disk before the engine acts on
//! it, written by one thread that commits whatever is queued with one sync; an `end` record when
//! the run reaches its end.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use super::read::{parse, read, Journal};
use super::record::{seal, seal_all, Record};
use crate::error::{EngineError, ErrorKind};
use crate::utc;

struct WriteRequest {
    records: Vec<Record>,
    /// Close the file (and so release its lock) once these records are on disk.
    close: bool,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Appends records to one journal from any task; each [`JournalWriter::write`] returns once its
/// records are on disk. The writer holds an exclusive OS lock on the file from the moment it opens
/// it until [`JournalWriter::close`] (or, if the job or the process dies, until the OS closes the
/// file), so two runs never work on one journal at once.
#[derive(Clone)]
pub struct JournalWriter {
    queue: std::sync::mpsc::Sender<WriteRequest>,
    path: String,
}

impl JournalWriter {
    /// Creates a new journal with its header, on disk before this returns, and the folder it goes
    /// in when that does not exist yet. An existing file is never overwritten.
    pub fn create(path: &Path, header: Record) -> Result<JournalWriter, EngineError> {
        let shown = path.display().to_string();
        create_folder(path)?;
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // User principal names are personal data: the journal is for its owner only.
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => EngineError::invalid_input(format!(
                "The journal file '{shown}' already exists and a journal is never overwritten. Choose another \
                 -JournalPath, or finish that run with Set-PerUserMfaState -ResumeJournal '{shown}'."
            )),
            std::io::ErrorKind::NotFound => EngineError::invalid_input(format!(
                "The journal '{shown}' cannot be created: its folder does not exist."
            )),
            _ => EngineError::invalid_input(format!("The journal '{shown}' cannot be created: {e}.")),
        })?;
        lock(&file, &shown)?;
        let (line, check) = seal("", &header);
        write_durably(&mut file, &line).map_err(|e| cannot_write(&shown, e))?;
        sync_parent(path);
        Ok(JournalWriter::spawn(file, check, shown))
    }

    /// Opens an existing journal to append to (a resumed run): takes its lock, reads it again
    /// under the lock (another run may have finished users since it was last read), terminates a
    /// cut-off last line and records the resume. Returns the journal as it was.
    pub fn append(path: &Path) -> Result<(JournalWriter, Journal), EngineError> {
        let shown = path.display().to_string();
        let mut file = OpenOptions::new().read(true).append(true).open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                EngineError::invalid_input(format!("The journal '{shown}' does not exist."))
            }
            _ => EngineError::invalid_input(format!("The journal '{shown}' cannot be opened for writing: {e}.")),
        })?;
        lock(&file, &shown)?;
        // Through the locked handle: Windows refuses reads through any other while the lock is held.
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| EngineError::invalid_input(format!("The journal '{shown}' could not be read: {e}.")))?;
        let journal = parse(&shown, &bytes)?;
        let marker = Record::Resume {
            time: utc::now_millis(),
            torn_line: journal.torn_line,
            engine: Some(crate::ENGINE_VERSION.to_string()),
            pid: Some(std::process::id()),
        };
        let (line, check) = seal(&journal.last_check, &marker);
        let text = if journal.ends_with_newline { line } else { format!("\n{line}") };
        write_durably(&mut file, &text).map_err(|e| cannot_write(&shown, e))?;
        Ok((JournalWriter::spawn(file, check, shown), journal))
    }

    fn spawn(file: File, check: String, path: String) -> JournalWriter {
        let (queue, requests) = std::sync::mpsc::channel::<WriteRequest>();
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("perusermfa-journal".into())
            .spawn(move || write_loop(file, check, requests, thread_path))
            .expect("the journal thread starts");
        JournalWriter { queue, path }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Appends `records` and returns once they are on disk. An error means the journal can no
    /// longer be trusted: the caller must send no further change.
    pub async fn write(&self, records: Vec<Record>) -> Result<(), EngineError> {
        self.send(records, false).await
    }

    /// Records that the run reached its end (every user it was given has an outcome), closes the
    /// file and releases its lock before returning, so the next command can take it at once.
    pub async fn close(self) -> Result<(), EngineError> {
        self.send(vec![Record::End { time: utc::now_millis() }], true).await
    }

    async fn send(&self, records: Vec<Record>, close: bool) -> Result<(), EngineError> {
        let (done, written) = tokio::sync::oneshot::channel();
        let failed = |why: String| {
            EngineError::internal(format!(
                "The journal '{}' could not be written ({why}). No further change was sent; the journal records every \
                 change sent before this point. Free the disk or fix its permissions, then finish the run with \
                 Set-PerUserMfaState -ResumeJournal '{}'.",
                self.path, self.path
            ))
        };
        let request = WriteRequest { records, close, done };
        self.queue.send(request).map_err(|_| failed("the journal writer stopped".into()))?;
        match written.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(failed(why)),
            Err(_) => Err(failed("the journal writer stopped".into())),
        }
    }
}

/// Refuses a journal another run holds: names the process its latest header or resume record
/// gives. Nothing is read or changed.
pub fn ensure_not_in_use(path: &Path) -> Result<(), EngineError> {
    let shown = path.display().to_string();
    match File::open(path) {
        // A missing or unreadable file is the reader's to report.
        Err(_) => Ok(()),
        Ok(file) => lock(&file, &shown),
    }
}

/// Opens an existing journal and takes its lock (an undo holds the lock of the journal it undoes):
/// the lock lasts until the returned file is dropped.
pub fn lock_existing(path: &Path) -> Result<File, EngineError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EngineError::invalid_input(format!("The journal '{shown}' does not exist.")),
        _ => EngineError::invalid_input(format!("The journal '{shown}' could not be opened: {e}.")),
    })?;
    lock(&file, &shown)?;
    Ok(file)
}

/// Takes the exclusive lock on an open journal, or says which process holds it.
fn lock(file: &File, shown: &str) -> Result<(), EngineError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(in_use(shown)),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(EngineError::invalid_input(format!("The journal '{shown}' could not be locked: {e}.")))
        }
    }
}

fn in_use(shown: &str) -> EngineError {
    // Another handle reads fine on Unix (the lock is advisory); on Windows the read fails and
    // the process cannot be named.
    let holder = read(Path::new(shown))
        .ok()
        .and_then(|journal| journal.pid)
        .map(|pid| format!("process {pid}"))
        .unwrap_or_else(|| "another process".to_string());
    EngineError::new(
        ErrorKind::JournalInUse,
        format!(
            "The journal '{shown}' is in use by {holder}: another Set-PerUserMfaState or Undo-PerUserMfaChange is \
             working on it. Nothing was changed. Wait for that run to end (or end that process), then run the command \
             again; it reads the journal afresh."
        ),
    )
}

fn write_loop(file: File, mut check: String, requests: std::sync::mpsc::Receiver<WriteRequest>, path: String) {
    let mut file = Some(file);
    let mut broken: Option<String> = None;
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        while let Ok(more) = requests.try_recv() {
            group.push(more);
        }
        let result = match (&broken, file.as_mut()) {
            (Some(why), _) => Err(why.clone()),
            (None, None) => Err(format!("'{path}' was already closed")),
            (None, Some(open)) => {
                let text = seal_all(&mut check, group.iter().flat_map(|request| &request.records));
                write_durably(open, &text).map_err(|e| {
                    let why = format!("{e} while writing '{path}'");
                    broken = Some(why.clone());
                    why
                })
            }
        };
        if group.iter().any(|request| request.close) {
            // Dropping the file releases the lock before the closer hears back.
            file = None;
        }
        for request in group {
            let _ = request.done.send(result.clone());
        }
    }
}

/// Appends `text` and returns once it is on disk: the engine acts on a record only after this.
fn write_durably(file: &mut File, text: &str) -> std::io::Result<()> {
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Creates the folder a new journal goes in (and its parents), readable by its owner only on Unix.
fn create_folder(path: &Path) -> Result<(), EngineError> {
    let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if folder.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(folder).map_err(|e| {
        EngineError::invalid_input(format!(
            "The journal folder '{}' cannot be created: {e}. Nothing was changed; give another -JournalPath.",
            folder.display()
        ))
    })
}

fn cannot_write(shown: &str, error: std::io::Error) -> EngineError {
    EngineError::invalid_input(format!("The journal '{shown}' cannot be written: {error}."))
}

/// Makes a new file's directory entry durable too (Unix; best effort).
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::fold::Status;
    use crate::journal::parse;
    use crate::journal::record::Outcome;
    use crate::journal::samples::*;

    #[tokio::test]
    async fn writer_syncs_each_write_and_never_overwrites() {
        let path = temp_path("j.jsonl");
        let writer = JournalWriter::create(&path, header()).unwrap();
        // The header is on disk before create returns.
        assert_eq!(parse("j", &std::fs::read(&path).unwrap()).unwrap().lines, 1);
        writer.write(vec![planned("a", "disabled"), planned("b", "disabled")]).await.unwrap();
        writer.write(vec![sending("a", "disabled")]).await.unwrap();
        // Written means readable from the file, by anyone, right away.
        let journal = read(&path).unwrap();
        assert_eq!(journal.lines, 4);
        assert!(journal.entries[0].sent && !journal.entries[1].sent);
        let many: Vec<_> = (0..50)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.write(vec![planned(&format!("u{i}"), "disabled")]).await })
            })
            .collect();
        for task in many {
            task.await.unwrap().unwrap();
        }
        assert_eq!(read(&path).unwrap().entries.len(), 52);
        let error = JournalWriter::create(&path, header()).err().unwrap();
        assert!(error.message.contains("already exists") && error.message.contains("-ResumeJournal"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn append_terminates_a_cut_off_line_and_the_file_stays_valid() {
        let path = temp_path("torn.jsonl");
        let full = text(&sample());
        std::fs::write(&path, &full[..full.len() - 7]).unwrap();
        let (writer, before) = JournalWriter::append(&path).unwrap();
        assert_eq!(before.torn_line, Some(10));
        writer.write(vec![outcome("c", Outcome::Changed, "disabled", "enforced")]).await.unwrap();
        let after = read(&path).unwrap();
        assert_eq!(after.resumes, 1);
        assert_eq!(after.torn_line, None);
        assert_eq!(after.warnings, Vec::<String>::new());
        assert_eq!(after.entries.iter().find(|e| e.id == "c").unwrap().status, Status::Changed);
        // The cut-off text is still in the file: nothing was removed.
        assert!(std::fs::read_to_string(&path).unwrap().starts_with(&full[..full.len() - 7]));
        // A second resume of the now valid file works as well, once the first has closed it.
        writer.close().await.unwrap();
        let (again, _) = JournalWriter::append(&path).unwrap();
        again.write(vec![outcome("b", Outcome::Changed, "enabled", "enforced")]).await.unwrap();
        assert_eq!(read(&path).unwrap().resumes, 2);
    }
}
