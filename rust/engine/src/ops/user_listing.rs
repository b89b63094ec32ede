//! The pages of a users listing after its first: one `@odata.nextLink` after another, or, for a
//! tenant big enough to gain, from `userPrincipalName` ranges paged in parallel
//! ([`super::upn_ranges`]). While the ranges are being counted the listing keeps following the
//! first page's link, so the reads never wait for the plan. A user met twice (listed by the link
//! and again by its range, or renamed into another range while the listing ran) is passed over
//! by id: every listed user comes out once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::task::AbortOnDropHandle;

use super::listing::{listing_error, page_or_outage, users_url, NextLinks, Page, PAGE_SIZE};
use super::patience::Patience;
use super::upn_ranges::{self, CellPage, Plan, RangeSizing, MIN_USERS_TO_SPLIT};
use crate::error::EngineError;
use crate::events::Event;
use crate::job::{catch_panic, JobContext};
use crate::options::Scope;

/// Pages waiting for the consumer: enough to keep the ranges busy, few enough to bound memory.
const PAGES_BUFFERED: usize = 4;

/// One page of the listing, its users not yet seen.
pub struct ListedPage {
    /// 1 for the first page of the listing, counting every range's pages.
    pub number: u32,
    pub users: Vec<Value>,
    /// What `-Verbose` says about the page.
    pub description: String,
}

/// The rest of a listing whose first page was read.
pub struct UserListing {
    pages: mpsc::Receiver<Result<ListedPage, EngineError>>,
    /// The ids listed so far, when ranges may list a user again; None when the pages follow one
    /// link, which Graph never makes repeat a user.
    seen: Option<SeenIds>,
    passed_over: u64,
    _producer: AbortOnDropHandle<()>,
}

impl UserListing {
    /// The pages after `first`, the first page of `scope` selecting `select` (with the scope's
    /// `$count`); `read` names the listing in errors ("list all users"); `sizing` says how finely
    /// ranges are worth splitting.
    pub fn after_first(
        context: &JobContext,
        patience: &Patience,
        scope: Scope,
        select: &str,
        read: &str,
        first: &Page,
        sizing: RangeSizing,
    ) -> UserListing {
        let (sender, pages) = mpsc::channel(PAGES_BUFFERED);
        let total = first.count.filter(|&total| total >= MIN_USERS_TO_SPLIT && first.next_link.is_some());
        let seen = total.map(|_| {
            let mut seen = SeenIds::default();
            for id in first.users.iter().filter_map(|user| user.get("id").and_then(Value::as_str)) {
                seen.insert(id);
            }
            seen
        });
        let pager = Pager {
            context: context.clone(),
            patience: patience.clone(),
            pages: sender.clone(),
            numbers: Arc::new(AtomicU32::new(1)),
            read: read.to_string(),
        };
        let producer = produce(pager, scope, select.to_string(), first.next_link.clone(), total, sizing);
        let producer = crate::job::spawn_helper(async move {
            // A panic must not end the listing quietly, as if every user had been listed.
            if let Err(error) = catch_panic(async move {
                producer.await;
                Ok(())
            })
            .await
            {
                let _ = sender.send(Err(error)).await;
            }
        });
        UserListing { pages, seen, passed_over: 0, _producer: producer }
    }

    /// The next page with users not listed before; None when the listing is complete.
    pub async fn next(&mut self) -> Result<Option<ListedPage>, EngineError> {
        let Some(page) = self.pages.recv().await else { return Ok(None) };
        let mut page = page?;
        if let Some(seen) = &mut self.seen {
            let before = page.users.len();
            // A user without an id is kept: the caller reports it.
            page.users.retain(|user| user.get("id").and_then(Value::as_str).is_none_or(|id| seen.insert(id)));
            self.passed_over += (before - page.users.len()) as u64;
        }
        Ok(Some(page))
    }

    /// Users listed again (by their range after the first pages, or after a rename) and passed over.
    pub fn passed_over(&self) -> u64 {
        self.passed_over
    }
}

/// Lists the pages after the first into `pager`: along `next_link` for a small tenant (`total`
/// None); for a big one, along `next_link` while the ranges are counted, then by range. When reads
/// follow, a first character the plan leaves whole is paged on from its first page the moment that
/// page comes, while the plan still counts the others.
async fn produce(
    pager: Pager,
    scope: Scope,
    select: String,
    next_link: Option<String>,
    total: Option<u64>,
    sizing: RangeSizing,
) {
    let Some(next_link) = next_link else { return };
    let Some(total) = total else {
        pager.follow(next_link, None, None).await;
        return;
    };
    let context = pager.context.clone();
    let (stop, followed_to_the_end) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let mut pagers = JoinSet::new();
    {
        let (pager, stop, followed_to_the_end) = (pager.clone(), stop.clone(), followed_to_the_end.clone());
        pagers.spawn(async move {
            if pager.follow(next_link, None, Some(&stop)).await {
                followed_to_the_end.store(true, Ordering::SeqCst);
            }
        });
    }
    let notify = context.notify();
    context
        .events
        .send(Event::verbose(format!(
            "{total} users to list: counting them by userPrincipalName range to page the ranges in parallel, \
             following the listing's next links meanwhile."
        )))
        .await;
    // First characters left whole are paged on while the plan still waits for other answers.
    let (whole_sender, mut whole_cells) = mpsc::unbounded_channel::<CellPage>();
    let mut page_on = |(range, page): CellPage| pagers.spawn(pager.clone().page_on(page, range.describe()));
    let planning = upn_ranges::plan(&context.client, scope, &select, total, sizing, whole_sender, notify.as_ref());
    tokio::pin!(planning);
    let plan = loop {
        tokio::select! {
            plan = &mut planning => break plan,
            Some(cell) = whole_cells.recv() => { page_on(cell); }
        }
    };
    while let Ok(cell) = whole_cells.try_recv() {
        page_on(cell);
    }
    match plan {
        Plan::Refused(reason) => {
            context
                .events
                .send(Event::verbose(format!(
                    "Graph did not count a userPrincipalName range ({reason}); listing the rest one page after another."
                )))
                .await;
        }
        Plan::Ranges { .. } if followed_to_the_end.load(Ordering::SeqCst) => {}
        Plan::Ranges { ranges, whole, early, requests, rounds } => {
            stop.store(true, Ordering::SeqCst);
            let count = ranges.len();
            let whole_note = match whole {
                0 => String::new(),
                whole => format!(", {whole} of them first characters paged on from the page that counted them"),
            };
            context
                .events
                .send(Event::verbose(format!(
                    "Listing in {} userPrincipalName ranges paged in parallel (sized with {requests} $count requests \
                     in {rounds} rounds{whole_note}); users listed before are passed over when their range lists \
                     them again.",
                    whole + count
                )))
                .await;
            for (range, page) in early {
                let label = format!("{}, read while sizing the ranges", range.describe());
                if !pager.deliver(page.users, Some(&label), false).await {
                    return;
                }
            }
            for (index, range) in ranges.into_iter().enumerate() {
                let label = format!("range {} of {count}, {}", index + 1, range.describe());
                let url = users_url(&context.client, scope, &select, PAGE_SIZE, Some(&range));
                let pager = pager.clone();
                pagers.spawn(async move {
                    pager.follow(url, Some(label), None).await;
                });
            }
        }
    }
    while let Some(joined) = pagers.join_next().await {
        if let Err(failure) = joined {
            if failure.is_panic() {
                pager.send(Err(EngineError::from_panic(failure.into_panic()))).await;
            }
        }
    }
}

/// Pages one chain of next links into the listing's channel.
#[derive(Clone)]
struct Pager {
    context: JobContext,
    patience: Patience,
    pages: mpsc::Sender<Result<ListedPage, EngineError>>,
    numbers: Arc<AtomicU32>,
    read: String,
}

impl Pager {
    async fn send(&self, page: Result<ListedPage, EngineError>) -> bool {
        self.pages.send(page).await.is_ok()
    }

    /// Hands one page of `users` to the consumer, numbered and described for `-Verbose` (`label`
    /// names the range; `more`: the chain goes on); false if the consumer left.
    async fn deliver(&self, users: Vec<Value>, label: Option<&str>, more: bool) -> bool {
        let number = self.numbers.fetch_add(1, Ordering::SeqCst) + 1;
        let description = format!(
            "Page {number} of the listing{}: {} users, {}.",
            label.map(|label| format!(" ({label})")).unwrap_or_default(),
            users.len(),
            match (more, label) {
                (true, _) => "more to come",
                (false, Some(_)) => "the range's last",
                (false, None) => "the last",
            }
        );
        self.send(Ok(ListedPage { number, users, description })).await
    }

    /// Pages a range on from its `first` page, read while the ranges were sized.
    async fn page_on(self, first: Page, label: String) {
        let more = first.next_link.is_some();
        if self.deliver(first.users, Some(&label), more).await {
            if let Some(link) = first.next_link {
                self.follow(link, Some(label), None).await;
            }
        }
    }

    /// Ends a chain with `error`, which the consumer gets unless the chain was `redundant` (the
    /// ranges took over from it, so it has nothing left to lose).
    async fn fail(&self, error: EngineError, redundant: bool) -> bool {
        if !redundant {
            self.send(Err(error)).await;
        }
        false
    }

    /// Follows `url` and its next links to the last page (true), or until `stop` is set, an error
    /// (sent to the consumer unless `stop` made the chain redundant) or the consumer leaves.
    async fn follow(&self, url: String, label: Option<String>, stop: Option<&AtomicBool>) -> bool {
        let stopped = || stop.is_some_and(|stop| stop.load(Ordering::SeqCst));
        let notify = self.context.notify();
        let mut links = NextLinks::default();
        if let Err(error) = links.follow(&url, &self.read) {
            return self.fail(error, false).await;
        }
        let mut next = Some(url);
        while let Some(url) = next.take() {
            if stopped() {
                return false;
            }
            let answer = self.patience.read(|| page_or_outage(&self.context.client, &url, notify.as_ref())).await;
            let page = match answer {
                Ok(Ok(page)) => page,
                Ok(Err((status, body, request_id))) => {
                    return self.fail(listing_error(status, &body, request_id), stopped()).await
                }
                Err(error) => return self.fail(error, stopped()).await,
            };
            next = page.next_link;
            if let Some(link) = &next {
                if let Err(error) = links.follow(link, &self.read) {
                    self.send(Err(error)).await;
                    return false;
                }
            }
            if !self.deliver(page.users, label.as_deref(), next.is_some()).await {
                return false;
            }
        }
        true
    }
}

/// Object ids seen, as 128-bit numbers when they are GUIDs (Graph's always are): a million users
/// take about 32 MB instead of about 90 as strings.
#[derive(Default)]
struct SeenIds {
    guids: HashSet<u128>,
    others: HashSet<String>,
}

impl SeenIds {
    /// True the first time `id` is seen.
    fn insert(&mut self, id: &str) -> bool {
        let hex: String = id.chars().filter(|&c| c != '-').collect();
        if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            if let Ok(bits) = u128::from_str_radix(&hex, 16) {
                return self.guids.insert(bits);
            }
        }
        self.others.insert(id.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_seen_once_whatever_its_case_or_form() {
        let mut seen = SeenIds::default();
        assert!(seen.insert("6f1d5b1e-1c2a-4a8b-9c3d-0e1f2a3b4c5d"));
        assert!(!seen.insert("6F1D5B1E-1C2A-4A8B-9C3D-0E1F2A3B4C5D"));
        assert!(seen.insert("6f1d5b1e-1c2a-4a8b-9c3d-0e1f2a3b4c5e"));
        assert!(seen.insert("not-a-guid"));
        assert!(!seen.insert("NOT-A-GUID"));
        assert!(seen.insert("+f1d5b1e-1c2a-4a8b-9c3d-0e1f2a3b4c5d"), "a sign is not a hex digit");
    }
}
