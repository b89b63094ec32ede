//! The change journal (docs/ARCHITECTURE.md §4): an append-only JSON Lines file that records a
//! bulk change before and while it happens, so an interrupted run can be finished and a finished
//! one undone.
//!
//! ```text
//! {"type":"header","format":"PerUserMfa.Journal/1","operation":"set","created":...,"requestedState":"enforced","undoOf":null,...,"check":"..."}
//! {"type":"planned","target":...,"id":...,"previousState":"disabled","requestedState":"enforced","time":...,"check":"..."}   every change, before the first PATCH
//! {"type":"sending","target":...,"id":...,"previousState":"disabled","requestedState":"enforced","time":...,"check":"..."}   right before that user's PATCH
//! {"type":"outcome","id":...,"outcome":"changed","previousState":"disabled","state":"enforced",...,"check":"..."}            once Graph answered and the state was read back
//! {"type":"resume","time":...,"tornLine":null,"check":"..."}                                                                   a later run appends to the same file
//! ```
//!
//! Durability: every record reaches the disk (`sync_data`) before the engine acts on it; a
//! `sending` record is on disk before its PATCH leaves. Writers queue records to one thread that
//! writes whatever is queued in one go and syncs once (group commit), so 40 workers cost one sync,
//! not 40. A process killed at any moment leaves at most its last line cut off; the reader ignores
//! that line with a warning, and a resumed run terminates it and says so in its `resume` record,
//! so the file stays append-only.
//!
//! Integrity: each line ends with `"check"`, a 64-bit FNV-1a hash of the previous line's check and
//! this line's text. A line changed, removed or moved by hand fails the check, and the reader names
//! the file and the line instead of acting on it. (It catches edits and corruption, not a forger:
//! anyone can recompute it.)

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;
use crate::model::MfaState;
use crate::utc;

/// The first line's `format`.
pub const FORMAT: &str = "PerUserMfa.Journal/1";

const CHECK_KEY: &str = ",\"check\":\"";

/// How a record says one user's change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Graph now reports another state than before (read back).
    Changed,
    /// Graph accepted the PATCH but still reports the state from before.
    Unchanged,
    /// The user already had the requested state; nothing was sent.
    AlreadyInState,
    /// The change could not be made (or not confirmed); `error` says why.
    Failed,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Record {
    #[serde(rename_all = "camelCase")]
    Header {
        format: String,
        /// `set` or `undo`.
        operation: String,
        created: String,
        /// The state a `set` run asked for (each record has its own too).
        #[serde(default)]
        requested_state: Option<String>,
        /// The journal an `undo` run reverses.
        #[serde(default)]
        undo_of: Option<String>,
        #[serde(default)]
        engine: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Resume {
        time: String,
        /// The line a killed run left cut off, which this record's newline terminated.
        #[serde(default)]
        torn_line: Option<usize>,
        #[serde(default)]
        engine: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Planned {
        target: String,
        id: String,
        #[serde(default)]
        user_principal_name: Option<String>,
        #[serde(default)]
        display_name: Option<String>,
        previous_state: String,
        requested_state: String,
        time: String,
    },
    #[serde(rename_all = "camelCase")]
    Sending { target: String, id: String, previous_state: String, requested_state: String, time: String },
    #[serde(rename_all = "camelCase")]
    Outcome {
        target: String,
        id: String,
        #[serde(default)]
        user_principal_name: Option<String>,
        #[serde(default)]
        display_name: Option<String>,
        outcome: Outcome,
        #[serde(default)]
        previous_state: Option<String>,
        requested_state: String,
        /// The state Graph reported afterwards (read back), when known.
        #[serde(default)]
        state: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        time: String,
    },
}

fn fnv1a(previous_check: &str, body: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in previous_check.bytes().chain(std::iter::once(b'\n')).chain(body.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The line for `record` (newline included) and its check, chained to `previous_check`.
pub fn seal(previous_check: &str, record: &Record) -> (String, String) {
    let body = serde_json::to_string(record).expect("records always serialise");
    let check = fnv1a(previous_check, &body);
    let line = format!("{}{CHECK_KEY}{check}\"}}\n", &body[..body.len() - 1]);
    (line, check)
}

/// The lines for `records`, each chained to the one before it, starting from `check`; leaves
/// `check` at the last record's, for the next write to chain to.
fn seal_all<'a>(check: &mut String, records: impl IntoIterator<Item = &'a Record>) -> String {
    let mut text = String::new();
    for record in records {
        let (line, next) = seal(check, record);
        text.push_str(&line);
        *check = next;
    }
    text
}

/// Reads one line (without its newline): the record and its check, or why it is not a record.
fn unseal(line: &str, previous_check: &str) -> Result<(Record, String), String> {
    if line.trim().is_empty() {
        return Err("the line is empty".into());
    }
    let at = line.rfind(CHECK_KEY).ok_or("the line has no \"check\" value, so PerUserMfa did not write it")?;
    let rest = &line[at + CHECK_KEY.len()..];
    let check = rest.strip_suffix("\"}").filter(|c| c.len() == 16 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(check) = check else {
        return Err("the line does not end with a \"check\" value, so it is incomplete or was edited".into());
    };
    let body = format!("{}}}", &line[..at]);
    let record: Record = serde_json::from_str(&body).map_err(|e| format!("the line is not a journal record ({e})"))?;
    if fnv1a(previous_check, &body) != check {
        return Err(
            "its \"check\" value does not match: the line was changed, or a line before it was removed or reordered"
                .into(),
        );
    }
    Ok((record, check.to_string()))
}

/// One user's latest status in a journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// Planned (maybe sent) but no outcome recorded: the run was interrupted.
    Pending,
    Changed,
    Unchanged,
    AlreadyInState,
    Failed,
}

impl From<Outcome> for Status {
    fn from(outcome: Outcome) -> Status {
        match outcome {
            Outcome::Changed => Status::Changed,
            Outcome::Unchanged => Status::Unchanged,
            Outcome::AlreadyInState => Status::AlreadyInState,
            Outcome::Failed => Status::Failed,
        }
    }
}

/// What the journal says about one user, folded over its records.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub target: String,
    pub id: String,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    /// The state before the change: from the `sending` record when there is one (read right
    /// before the PATCH), else from the plan or the outcome.
    pub previous_state: Option<String>,
    pub requested_state: String,
    /// A `sending` record exists for the latest attempt: the PATCH may have gone out.
    pub sent: bool,
    pub status: Status,
    /// The state read back after the change.
    pub state: Option<String>,
    pub error: Option<String>,
    pub time: String,
    /// The line of the latest record about this user.
    pub line: usize,
}

impl Entry {
    /// A user the journal has just started to talk about at `line`: nothing sent, no outcome.
    fn pending(target: String, id: String, requested_state: String, line: usize) -> Entry {
        Entry {
            target,
            id,
            user_principal_name: None,
            display_name: None,
            previous_state: None,
            requested_state,
            sent: false,
            status: Status::Pending,
            state: None,
            error: None,
            time: String::new(),
            line,
        }
    }

    /// A resumed run must look at this user again: no outcome yet, or the change failed.
    pub fn resume_needed(&self) -> bool {
        matches!(self.status, Status::Pending | Status::Failed)
    }

    /// An undo must put this user back: the change landed, or a PATCH went out and its outcome is
    /// unknown (the undo re-reads the state and sends nothing if it did not land).
    pub fn undo_needed(&self) -> bool {
        let previous_is_settable = self.previous_state.as_deref().and_then(MfaState::parse).is_some();
        previous_is_settable
            && match self.status {
                Status::Changed => true,
                Status::Pending | Status::Failed => self.sent,
                Status::Unchanged | Status::AlreadyInState => false,
            }
    }
}

/// The header fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    pub format: String,
    pub operation: String,
    pub created: String,
    pub requested_state: Option<String>,
    pub undo_of: Option<String>,
}

/// A journal as read.
#[derive(Debug, Clone)]
pub struct Journal {
    pub header: Header,
    /// Users in the order they first appear.
    pub entries: Vec<Entry>,
    /// Things the admin should know that do not stop the read (a cut-off last line).
    pub warnings: Vec<String>,
    /// The check of the last valid record: the next record chains to it.
    pub last_check: String,
    /// Lines in the file.
    pub lines: usize,
    /// Whether the file ends with a newline (else the next write starts with one).
    pub ends_with_newline: bool,
    /// The cut-off last line, if any (1-based).
    pub torn_line: Option<usize>,
    /// How many runs resumed this journal.
    pub resumes: usize,
}

/// The error for a journal that cannot be trusted: names the file and the line.
pub fn damaged(path: &str, line: usize, why: &str) -> EngineError {
    EngineError::invalid_input(format!(
        "The journal '{path}' is damaged at line {line}: {why}. PerUserMfa writes each line once and never changes \
         it, so the file was edited or corrupted after it was written. Nothing was read from it and nothing was \
         changed in Graph; restore the journal from a copy."
    ))
}

/// Reads a journal's bytes. `path` is only used in messages.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Journal, EngineError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(EngineError::invalid_input(format!(
            "The journal '{path}' is empty: the run that created it stopped before it wrote anything, so it changed nobody."
        )));
    }
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if ends_with_newline {
        lines.pop();
    }
    // Blank lines an editor added at the end carry nothing.
    while lines.len() > 1 && lines.last().is_some_and(|l| l.iter().all(|b| b.is_ascii_whitespace())) {
        lines.pop();
    }
    let count = lines.len();
    let mut journal = Journal {
        header: Header::default(),
        entries: Vec::new(),
        warnings: Vec::new(),
        last_check: String::new(),
        lines: count,
        ends_with_newline,
        torn_line: None,
        resumes: 0,
    };
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    // A bad line is only acceptable as the cut-off last line, or when the next record is the
    // `resume` marker that terminated it.
    let mut unresolved: Option<(usize, String)> = None;
    for (i, raw) in lines.iter().enumerate() {
        let number = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let decoded = std::str::from_utf8(raw)
            .map_err(|_| "the line is not UTF-8 text".to_string())
            .and_then(|line| unseal(line, &journal.last_check));
        let (record, check) = match decoded {
            Ok(ok) => ok,
            Err(why) => {
                if number == 1 {
                    return Err(damaged(path, 1, &format!("{why}; the first line must be the journal's header")));
                }
                if let Some((line, why)) = unresolved.take() {
                    return Err(damaged(path, line, &why));
                }
                if number == count && !ends_with_newline {
                    journal.torn_line = Some(number);
                    journal.warnings.push(format!(
                        "The last line of the journal '{path}' (line {number}) is incomplete: the run that wrote it was \
                         stopped while writing it. That line is ignored; the user it was about counts as not finished."
                    ));
                    continue;
                }
                unresolved = Some((number, why));
                continue;
            }
        };
        if let Some((line, why)) = unresolved.take() {
            match &record {
                Record::Resume { torn_line: Some(torn), .. } if *torn == line => {}
                _ => return Err(damaged(path, line, &why)),
            }
        }
        journal.last_check = check;
        apply_record(path, number, record, &mut journal, &mut index)?;
    }
    if let Some((line, why)) = unresolved {
        return Err(damaged(path, line, &why));
    }
    Ok(journal)
}

fn apply_record(
    path: &str,
    number: usize,
    record: Record,
    journal: &mut Journal,
    index: &mut std::collections::HashMap<String, usize>,
) -> Result<(), EngineError> {
    let check_state = |state: &str| -> Result<(), EngineError> {
        if MfaState::parse(state).is_none() {
            return Err(damaged(path, number, &format!("'{state}' is not a per-user MFA state that can be requested")));
        }
        Ok(())
    };
    match record {
        Record::Header { format, operation, created, requested_state, undo_of, .. } => {
            if number != 1 {
                return Err(damaged(path, number, "a header may only be the first line"));
            }
            if format != FORMAT {
                return Err(damaged(
                    path,
                    1,
                    &format!("the format is '{format}', and this version of PerUserMfa reads '{FORMAT}'"),
                ));
            }
            journal.header = Header { format, operation, created, requested_state, undo_of };
        }
        _ if number == 1 => return Err(damaged(path, 1, "the first line must be the journal's header")),
        Record::Resume { .. } => journal.resumes += 1,
        Record::Planned { target, id, user_principal_name, display_name, previous_state, requested_state, time } => {
            check_state(&requested_state)?;
            let at = entry_for(journal, index, &id, &target, &requested_state, number);
            // A new plan for a user starts their story over: what an earlier attempt sent or
            // recorded no longer applies.
            journal.entries[at] = Entry {
                user_principal_name,
                display_name,
                previous_state: Some(previous_state),
                time,
                ..Entry::pending(target, id, requested_state, number)
            };
        }
        Record::Sending { target, id, previous_state, requested_state, time } => {
            check_state(&requested_state)?;
            let at = entry_for(journal, index, &id, &target, &requested_state, number);
            let entry = &mut journal.entries[at];
            entry.previous_state = Some(previous_state);
            entry.requested_state = requested_state;
            entry.sent = true;
            entry.status = Status::Pending;
            entry.error = None;
            entry.time = time;
            entry.line = number;
        }
        Record::Outcome {
            target,
            id,
            user_principal_name,
            display_name,
            outcome,
            previous_state,
            requested_state,
            state,
            error,
            time,
            ..
        } => {
            let at = entry_for(journal, index, &id, &target, &requested_state, number);
            let entry = &mut journal.entries[at];
            if user_principal_name.is_some() {
                entry.user_principal_name = user_principal_name;
            }
            if display_name.is_some() {
                entry.display_name = display_name;
            }
            if previous_state.is_some() {
                entry.previous_state = previous_state;
            }
            entry.requested_state = requested_state;
            entry.status = outcome.into();
            entry.state = state;
            entry.error = error;
            entry.time = time;
            entry.line = number;
        }
    }
    Ok(())
}

fn entry_for(
    journal: &mut Journal,
    index: &mut std::collections::HashMap<String, usize>,
    id: &str,
    target: &str,
    requested_state: &str,
    line: usize,
) -> usize {
    if let Some(&at) = index.get(id) {
        return at;
    }
    index.insert(id.to_string(), journal.entries.len());
    journal.entries.push(Entry::pending(target.to_string(), id.to_string(), requested_state.to_string(), line));
    journal.entries.len() - 1
}

/// Reads a journal file.
pub fn read(path: &Path) -> Result<Journal, EngineError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EngineError::invalid_input(format!("The journal '{shown}' does not exist.")),
        _ => EngineError::invalid_input(format!("The journal '{shown}' could not be read: {e}.")),
    })?;
    parse(&shown, &bytes)
}

struct WriteRequest {
    records: Vec<Record>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Appends records to one journal from any task; each [`JournalWriter::write`] returns once its
/// records are on disk.
#[derive(Clone)]
pub struct JournalWriter {
    queue: std::sync::mpsc::Sender<WriteRequest>,
    path: String,
}

impl JournalWriter {
    /// Creates a new journal with its header, on disk before this returns. An existing file is
    /// never overwritten.
    pub fn create(path: &Path, header: Record) -> Result<JournalWriter, EngineError> {
        let shown = path.display().to_string();
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
        let (line, check) = seal("", &header);
        write_durably(&mut file, &line).map_err(|e| cannot_write(&shown, e))?;
        sync_parent(path);
        Ok(JournalWriter::spawn(file, check, shown))
    }

    /// Opens an existing journal to append to (a resumed run): checks it, terminates a cut-off
    /// last line and records the resume. Returns the journal as it was.
    pub fn append(path: &Path) -> Result<(JournalWriter, Journal), EngineError> {
        let shown = path.display().to_string();
        let journal = read(path)?;
        let mut file = OpenOptions::new().append(true).open(path).map_err(|e| {
            EngineError::invalid_input(format!("The journal '{shown}' cannot be opened for writing: {e}."))
        })?;
        let marker = Record::Resume {
            time: utc::now_millis(),
            torn_line: journal.torn_line,
            engine: Some(crate::ENGINE_VERSION.to_string()),
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
        let (done, written) = tokio::sync::oneshot::channel();
        let failed = |why: String| {
            EngineError::internal(format!(
                "The journal '{}' could not be written ({why}). No further change was sent; the journal records every \
                 change sent before this point. Free the disk or fix its permissions, then finish the run with \
                 Set-PerUserMfaState -ResumeJournal '{}'.",
                self.path, self.path
            ))
        };
        self.queue.send(WriteRequest { records, done }).map_err(|_| failed("the journal writer stopped".into()))?;
        match written.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(failed(why)),
            Err(_) => Err(failed("the journal writer stopped".into())),
        }
    }
}

fn write_loop(mut file: File, mut check: String, requests: std::sync::mpsc::Receiver<WriteRequest>, path: String) {
    let mut broken: Option<String> = None;
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        while let Ok(more) = requests.try_recv() {
            group.push(more);
        }
        let result = match &broken {
            Some(why) => Err(why.clone()),
            None => {
                let text = seal_all(&mut check, group.iter().flat_map(|request| &request.records));
                write_durably(&mut file, &text).map_err(|e| {
                    let why = format!("{e} while writing '{path}'");
                    broken = Some(why.clone());
                    why
                })
            }
        };
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

    fn header() -> Record {
        Record::Header {
            format: FORMAT.into(),
            operation: "set".into(),
            created: utc::now_millis(),
            requested_state: Some("enforced".into()),
            undo_of: None,
            engine: None,
        }
    }

    fn planned(id: &str, previous: &str) -> Record {
        Record::Planned {
            target: format!("{id}@contoso.com"),
            id: id.into(),
            user_principal_name: Some(format!("{id}@contoso.com")),
            display_name: Some(id.to_uppercase()),
            previous_state: previous.into(),
            requested_state: "enforced".into(),
            time: utc::now_millis(),
        }
    }

    fn sending(id: &str, previous: &str) -> Record {
        Record::Sending {
            target: format!("{id}@contoso.com"),
            id: id.into(),
            previous_state: previous.into(),
            requested_state: "enforced".into(),
            time: utc::now_millis(),
        }
    }

    fn outcome(id: &str, outcome: Outcome, previous: &str, state: &str) -> Record {
        Record::Outcome {
            target: format!("{id}@contoso.com"),
            id: id.into(),
            user_principal_name: None,
            display_name: None,
            outcome,
            previous_state: Some(previous.into()),
            requested_state: "enforced".into(),
            state: Some(state.into()),
            error: None,
            note: None,
            time: utc::now_millis(),
        }
    }

    fn text(records: &[Record]) -> String {
        seal_all(&mut String::new(), records)
    }

    fn sample() -> Vec<Record> {
        vec![
            header(),
            planned("a", "disabled"),
            planned("b", "enabled"),
            planned("c", "disabled"),
            planned("d", "disabled"),
            sending("a", "disabled"),
            outcome("a", Outcome::Changed, "disabled", "enforced"),
            sending("b", "enabled"),
            sending("c", "disabled"),
            outcome("c", Outcome::Failed, "disabled", "disabled"),
        ]
    }

    #[test]
    fn lines_are_json_with_a_chained_check() {
        let text = text(&sample());
        let mut previous = String::new();
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(value["type"].is_string());
            let (_, check) = unseal(line, &previous).unwrap();
            assert_eq!(value["check"], check.as_str());
            previous = check;
        }
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["format"], FORMAT);
    }

    #[test]
    fn fold_gives_each_users_latest_status_and_what_resume_and_undo_need() {
        let journal = parse("j", text(&sample()).as_bytes()).unwrap();
        assert_eq!(journal.header.operation, "set");
        assert_eq!(journal.header.requested_state.as_deref(), Some("enforced"));
        assert!(journal.warnings.is_empty());
        let by_id = |id: &str| journal.entries.iter().find(|e| e.id == id).unwrap().clone();
        let a = by_id("a");
        assert_eq!((a.status, a.sent, a.state.as_deref()), (Status::Changed, true, Some("enforced")));
        assert!(!a.resume_needed() && a.undo_needed());
        let b = by_id("b");
        assert_eq!((b.status, b.sent, b.previous_state.as_deref()), (Status::Pending, true, Some("enabled")));
        assert!(b.resume_needed() && b.undo_needed(), "sent without outcome: may have landed");
        let c = by_id("c");
        assert_eq!(c.status, Status::Failed);
        assert!(c.resume_needed() && c.undo_needed());
        let d = by_id("d");
        assert_eq!((d.status, d.sent), (Status::Pending, false));
        assert!(d.resume_needed() && !d.undo_needed(), "never sent: nothing to undo");
        assert_eq!(journal.entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    }

    #[test]
    fn already_in_state_and_unchanged_need_neither_resume_nor_undo() {
        let records = vec![
            header(),
            outcome("x", Outcome::AlreadyInState, "enforced", "enforced"),
            planned("y", "disabled"),
            sending("y", "disabled"),
            outcome("y", Outcome::Unchanged, "disabled", "disabled"),
        ];
        let journal = parse("j", text(&records).as_bytes()).unwrap();
        assert!(journal.entries.iter().all(|e| !e.resume_needed() && !e.undo_needed()));
        assert_eq!(journal.entries[0].target, "x@contoso.com");
    }

    #[test]
    fn a_cut_off_last_line_is_ignored_with_a_warning() {
        let full = text(&sample());
        for cut in [2, 10, 40] {
            let torn = &full[..full.len() - cut];
            let journal = parse("/tmp/j.jsonl", torn.as_bytes()).unwrap();
            assert_eq!(journal.torn_line, Some(10));
            assert_eq!(journal.warnings.len(), 1);
            assert!(journal.warnings[0].contains("/tmp/j.jsonl") && journal.warnings[0].contains("line 10"));
            let c = journal.entries.iter().find(|e| e.id == "c").unwrap();
            assert_eq!((c.status, c.sent), (Status::Pending, true), "the cut outcome does not count");
        }
        // Cut just before the newline: the record is complete and counts.
        let journal = parse("j", &full.as_bytes()[..full.len() - 1]).unwrap();
        assert!(journal.warnings.is_empty() && !journal.ends_with_newline);
        // Cut inside a multi-byte character.
        let mut bytes = text(&[header(), planned("é", "disabled")]).into_bytes();
        let at = bytes.iter().rposition(|&b| b == 0xC3).unwrap();
        bytes.truncate(at + 1);
        assert_eq!(parse("j", &bytes).unwrap().torn_line, Some(2));
    }

    #[test]
    fn an_edited_middle_line_is_an_error_naming_file_and_line() {
        let full = text(&sample());
        let lines: Vec<&str> = full.lines().collect();
        let edits = [
            lines[3].replace("\"disabled\"", "\"enabled\""), // valid JSON, changed value
            lines[3][..lines[3].len() / 2].to_string(),      // cut in the middle of the file
            "this is not json".to_string(),
            String::new(),
        ];
        for edit in edits {
            let mut edited = lines.clone();
            edited[3] = &edit;
            let text = edited.join("\n") + "\n";
            let error = parse("/data/j.jsonl", text.as_bytes()).unwrap_err();
            assert_eq!(error.kind, crate::error::ErrorKind::InvalidInput);
            assert!(error.message.contains("'/data/j.jsonl'") && error.message.contains("line 4"), "{}", error.message);
        }
        // A removed line shows at the next line.
        let mut removed = lines.clone();
        removed.remove(3);
        let error = parse("j", (removed.join("\n") + "\n").as_bytes()).unwrap_err();
        assert!(error.message.contains("line 4") && error.message.contains("removed"), "{}", error.message);
    }

    #[test]
    fn a_bad_header_or_format_is_refused_at_line_1() {
        let error = parse("j", b"{\"type\":\"planned\"}\n").unwrap_err();
        assert!(error.message.contains("line 1"));
        let mut other = header();
        if let Record::Header { format, .. } = &mut other {
            *format = "PerUserMfa.Journal/9".into();
        }
        let error = parse("j", text(&[other]).as_bytes()).unwrap_err();
        assert!(error.message.contains("PerUserMfa.Journal/9"));
        let error = parse("j", text(&[planned("a", "disabled")]).as_bytes()).unwrap_err();
        assert!(error.message.contains("line 1"));
        assert!(parse("j", b"").unwrap_err().message.contains("empty"));
    }

    #[test]
    fn crlf_and_a_byte_order_mark_from_an_editor_are_tolerated() {
        let text = text(&sample()).replace('\n', "\r\n");
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes(), b"\r\n\r\n"].concat();
        assert_eq!(parse("j", &with_bom).unwrap().entries.len(), 4);
    }

    fn temp_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pumfa-journal-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

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
        // A second resume of the now valid file works as well.
        let (again, _) = JournalWriter::append(&path).unwrap();
        again.write(vec![outcome("b", Outcome::Changed, "enabled", "enforced")]).await.unwrap();
        assert_eq!(read(&path).unwrap().resumes, 2);
    }

    #[test]
    fn a_bad_line_not_followed_by_its_resume_marker_is_an_error() {
        // A cut-off line followed by anything but the marker naming it: damaged.
        let full = text(&sample());
        let torn = &full[..full.len() - 7];
        let (line, _) = seal(
            &parse("j", torn.as_bytes()).unwrap().last_check,
            &Record::Resume { time: utc::now_millis(), torn_line: Some(3), engine: None },
        );
        let wrong = format!("{torn}\n{line}");
        assert!(parse("j", wrong.as_bytes()).unwrap_err().message.contains("line 10"));
    }
}
