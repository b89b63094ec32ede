//! Reading a journal file: each line checked against the one before it, a cut-off last line
//! (a killed run) tolerated with a warning, any other bad line refused naming the file and line.

use std::path::Path;

use super::fold::{Entry, Fold, Header};
use super::record::{unseal, Record};
use crate::error::EngineError;

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
    /// The latest run (the first, or the latest resume) recorded its end. Without it the run was
    /// stopped, or lines at the journal's end were lost: users it changed may have no record.
    pub ended: bool,
    /// The process of the latest run, as its header or resume record says.
    pub pid: Option<u32>,
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
        ended: false,
        pid: None,
    };
    let mut fold = Fold::default();
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
        fold.apply(path, number, record)?;
    }
    if let Some((line, why)) = unresolved {
        return Err(damaged(path, line, &why));
    }
    journal.header = fold.header;
    journal.entries = fold.entries;
    journal.resumes = fold.resumes;
    journal.ended = fold.ended;
    journal.pid = fold.pid;
    Ok(journal)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::record::seal;
    use crate::journal::samples::*;
    use crate::journal::Status;
    use crate::utc;

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

    #[test]
    fn a_bad_line_not_followed_by_its_resume_marker_is_an_error() {
        // A cut-off line followed by anything but the marker naming it: damaged.
        let full = text(&sample());
        let torn = &full[..full.len() - 7];
        let (line, _) = seal(
            &parse("j", torn.as_bytes()).unwrap().last_check,
            &Record::Resume { time: utc::now_millis(), torn_line: Some(3), engine: None, pid: None },
        );
        let wrong = format!("{torn}\n{line}");
        assert!(parse("j", wrong.as_bytes()).unwrap_err().message.contains("line 10"));
    }
}
