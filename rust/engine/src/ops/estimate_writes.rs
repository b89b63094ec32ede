//! How long a bulk change would take, asked before it starts: the confirmation prompt and
//! `-WhatIf` show it. The same estimate as the apply job's first line
//! ([`super::apply_changes::up_front_estimate`]), from the write budget the session learnt and the
//! writes already in its window, so the prompt and the line after it agree.

use super::apply_changes::{describe_seconds, up_front_estimate};
use crate::error::EngineError;
use crate::events::Event;
use crate::job::JobContext;

pub async fn run(context: JobContext, writes: u64) -> Result<(), EngineError> {
    context.progress.set_total(0);
    context.progress.set_phase(format!("Estimating how long {} changes take", super::apply_changes::group(writes)));
    let (allowed, seconds) = up_front_estimate(&context, writes);
    let event = Event::WriteEstimate {
        writes,
        seconds: seconds.max(0.0).ceil() as u64,
        duration: describe_seconds(seconds),
        allowed_per_window: allowed.floor() as u64,
        window_seconds: crate::graph::throttle::Budget::Write.span().as_secs(),
    };
    context.events.send(event.to_json()).await;
    Ok(())
}
