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
//!
//! The module by concern: [`record`] is the line format and its integrity check, [`fold`] turns a
//! user's records into one [`Entry`], [`read`] checks a file line by line, and [`writer`] creates
//! or appends to a journal from one thread with group commit.

mod fold;
mod read;
mod record;
mod writer;

#[cfg(test)]
mod samples;

pub use fold::{Entry, Header, Status};
pub use read::{damaged, parse, read, Journal};
pub use record::{seal, Connection, Outcome, Record, FORMAT};
pub use writer::{ensure_not_in_use, lock_existing, JournalWriter};
