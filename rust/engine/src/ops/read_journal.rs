//! Reading a journal for a resumed run or an undo: its header, then each user's latest status
//! with what a resume or an undo still has to do. A cut-off last line is a warning (a killed
//! run leaves one); a damaged line anywhere else ends the job with an error naming the file and
//! the line; a journal another run holds, or one of another tenant, is refused. No Graph calls.

use std::path::PathBuf;

use crate::error::EngineError;
use crate::events::Event;
use crate::job::JobContext;
use crate::journal;

pub async fn run(context: JobContext, path: String, tenant_id: Option<String>) -> Result<(), EngineError> {
    let file = PathBuf::from(&path);
    let journal = tokio::task::spawn_blocking(move || {
        journal::ensure_not_in_use(&file)?;
        journal::read(&file)
    })
    .await
    .map_err(|e| EngineError::internal(format!("Reading the journal stopped: {e}")))??;
    journal.header.ensure_same_tenant(tenant_id.as_deref(), &path)?;
    for warning in &journal.warnings {
        context.events.send(Event::warning(warning.clone())).await;
    }
    context.progress.set_total(journal.entries.len() as u64);
    let header = journal.header;
    context
        .events
        .send(
            Event::JournalHeader {
                path,
                format: header.format,
                operation: header.operation,
                created: header.created,
                requested_state: header.requested_state,
                undo_of: header.undo_of,
                lines: journal.lines,
                resumes: journal.resumes,
                complete: journal.ended,
                tenant_id: header.tenant_id,
                app_id: header.app_id,
                account: header.account,
                require_coverage: header.require_coverage,
            }
            .to_json(),
        )
        .await;
    for entry in journal.entries {
        let (resume_needed, undo_needed) = (entry.resume_needed(), entry.undo_needed());
        context
            .events
            .send(
                Event::JournalEntry {
                    target: entry.target,
                    id: entry.id,
                    user_principal_name: entry.user_principal_name,
                    display_name: entry.display_name,
                    status: entry.status,
                    previous_state: entry.previous_state,
                    requested_state: entry.requested_state,
                    state: entry.state,
                    sent: entry.sent,
                    error: entry.error,
                    time: entry.time,
                    line: entry.line,
                    resume_needed,
                    undo_needed,
                    verdict: entry.verdict,
                    verdict_reason: entry.verdict_reason,
                }
                .to_json(),
            )
            .await;
        context.progress.add_completed(1);
    }
    Ok(())
}
