//! Splitting a users listing into `userPrincipalName` ranges that page in parallel.
//!
//! Graph pages `/users` one `@odata.nextLink` after another, so a listing of N pages costs N
//! round trips in a row, and at long round trips the last users are listed late. A range is
//! `userPrincipalName ge 'low' and userPrincipalName le 'high'`, each range paged on its own.
//! Boundaries are made of lowercase letters and digits and never hold an '@', so no UPN equals a
//! boundary and, under any collation, every UPN lies on one side of every boundary: consecutive
//! ranges leave no gap. (Were Graph's collation to order two boundaries the other way round, two
//! ranges could overlap, never leave a gap; the listing passes over a user it already listed.)
//!
//! Graph's user reference lists `ge` and `le` for `userPrincipalName`; whether they need advanced
//! query is not stated, so the ranges are sent as advanced queries (`ConsistencyLevel: eventual`
//! and `$count=true`, as every users page of the engine is) and a refusal falls back to paging one
//! link after another.
//!
//! Sizes are learnt with `$count` (`$top=1`, one read unit each): the first character splits the
//! tenant in 37 cells, a cell bigger than a range's share is split by the next character (one
//! round of counts in parallel per level, so UPNs that all start alike cost a few more rounds),
//! then neighbouring cells are merged into ranges of about that share.
//!
//! Counts are read units too. When the listing only feeds per-user reads that the read budget
//! paces ([`RangeSizing::AheadOfReads`]), a finer split cannot end the job sooner: a cell is split
//! only if paging it one link after another would take more than half the time the reads need.
//! Otherwise a split round of 37 counts per big cell only takes budget from the reads (about 1,100
//! units, a seventh of a window, for 100,000 users, before this rule). The first round then reads
//! each first character's first page instead of a bare count (the same read unit), and a first
//! character left whole is a range paged on from that page, so its users reach the reads a round
//! trip sooner and no page is read twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::future::join_all;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use super::listing::{fetch_page, users_url, Page, Refusal, PAGE_SIZE};
use crate::error::EngineError;
use crate::graph::client::GraphClient;
use crate::graph::throttle::Budget;
use crate::graph::Notify;
use crate::options::Scope;

/// The characters a boundary is made of, in the order every collation agrees on.
const BOUNDARY_CHARS: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
/// The most ranges paged at once.
pub const MAX_RANGES: u64 = 32;
/// Tenants with fewer users page one link after another: a round of counts costs a round trip,
/// about what paging a few pages more in a row costs.
pub const MIN_USERS_TO_SPLIT: u64 = 6 * PAGE_SIZE as u64;
/// The smallest range worth its own paging: two pages.
const MIN_RANGE_USERS: u64 = 2 * PAGE_SIZE as u64;
/// Rounds of counts: a cell still too big after that is paged as it is.
const MAX_ROUNDS: u32 = 6;

/// What the ranges are for, which decides how finely a tenant is worth splitting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeSizing {
    /// The listing is the job (the states come with the users): ranges of about equal size.
    Balanced,
    /// The listing feeds per-user reads the read budget lets out at `reads_per_second`; each
    /// users page takes about `round_trip`.
    AheadOfReads { reads_per_second: f64, round_trip: Duration },
}

impl RangeSizing {
    /// For a listing whose first page carried the states (`carries_states`) or not: the reads
    /// follow at the rate the gate allows the read budget, and the pages take the connection's
    /// latest round trip (the first page's). Balanced when either is unknown.
    pub fn for_listing(client: &GraphClient, carries_states: bool) -> RangeSizing {
        if carries_states {
            return RangeSizing::Balanced;
        }
        let budget = Budget::Read;
        match (client.gate.allowed(budget), client.latest_round_trip()) {
            (Some(allowed), Some(round_trip)) if allowed > 0.0 => {
                RangeSizing::AheadOfReads { reads_per_second: allowed / budget.span().as_secs_f64(), round_trip }
            }
            _ => RangeSizing::Balanced,
        }
    }

    /// The size above which a cell of a tenant of `total` users is split, for ranges of about
    /// `target` users: `target` when the listing is the job; when reads follow, the most users a
    /// cell may hold and still be paged, one round trip per page, in half the time the reads of
    /// the whole tenant take at the budget's rate.
    fn split_above(self, total: u64, target: u64) -> u64 {
        match self {
            RangeSizing::Balanced => target,
            RangeSizing::AheadOfReads { reads_per_second, round_trip } => {
                let reading = total as f64 / reads_per_second;
                // `as` saturates: an absurd round trip or rate cannot overflow.
                let pages = (reading / 2.0 / round_trip.as_secs_f64().max(0.001)) as u64;
                target.max(pages.saturating_mul(PAGE_SIZE as u64))
            }
        }
    }
}

/// UPNs from `low` to `high` (each `None`: unbounded on that side).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpnRange {
    pub low: Option<String>,
    pub high: Option<String>,
}

impl UpnRange {
    /// The `$filter` clauses of the range; `None` for the whole tenant.
    pub fn filter(&self) -> Option<String> {
        let clauses: Vec<String> = [("ge", &self.low), ("le", &self.high)]
            .into_iter()
            .filter_map(|(op, bound)| bound.as_ref().map(|b| format!("userPrincipalName {op} '{b}'")))
            .collect();
        (!clauses.is_empty()).then(|| clauses.join(" and "))
    }

    /// How `-Verbose` names the range.
    pub fn describe(&self) -> String {
        match (&self.low, &self.high) {
            (Some(low), Some(high)) => format!("UPNs '{low}' to '{high}'"),
            (None, Some(high)) => format!("UPNs up to '{high}'"),
            (Some(low), None) => format!("UPNs from '{low}'"),
            (None, None) => "every UPN".to_string(),
        }
    }
}

/// A range of the plan and how many users Graph counted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub range: UpnRange,
    pub count: u64,
    /// The prefix the cell can be split by (every UPN in it starts with it); None if it cannot.
    split_prefix: Option<String>,
}

/// A first character and its first page, read while the plan counted it.
pub type CellPage = (UpnRange, Page);

/// The ranges to page, or why the listing pages one link after another.
pub enum Plan {
    Ranges {
        /// Ranges paged from their start: every range when the listing is the job; the pieces
        /// of split first characters when reads follow.
        ranges: Vec<UpnRange>,
        /// First characters left whole, sent as their first page came ([`plan`]).
        whole: usize,
        /// First pages of cells that were split after: their users come again from the smaller
        /// ranges (passed over there), but reach the reads a round trip or more sooner.
        early: Vec<CellPage>,
        requests: u32,
        rounds: u32,
    },
    Refused(String),
}

/// The cells `prefix` splits `low..high` into: `[low, p0]`, `[p0, p1]`, …, `[pz, high]`, each
/// but the first splittable by its own lower bound.
fn children(low: Option<&str>, prefix: &str, high: Option<&str>) -> Vec<Counted> {
    let bounds: Vec<String> = BOUNDARY_CHARS.chars().map(|c| format!("{prefix}{c}")).collect();
    let mut cells = vec![Counted {
        range: UpnRange { low: low.map(str::to_string), high: Some(bounds[0].clone()) },
        count: 0,
        split_prefix: None,
    }];
    for (index, bound) in bounds.iter().enumerate() {
        let high = bounds.get(index + 1).cloned().or_else(|| high.map(str::to_string));
        cells.push(Counted {
            range: UpnRange { low: Some(bound.clone()), high },
            count: 0,
            split_prefix: Some(bound.clone()),
        });
    }
    cells
}

/// Neighbouring cells merged into ranges of about `target` users, in order; the ranges cover
/// exactly what the cells covered.
fn merge(cells: Vec<Counted>, target: u64) -> Vec<Counted> {
    let mut ranges: Vec<Counted> = Vec::new();
    for cell in cells {
        match ranges.last_mut() {
            Some(last) if last.count == 0 || last.count + cell.count <= target => {
                last.range.high = cell.range.high;
                last.count += cell.count;
                last.split_prefix = None;
            }
            _ => ranges.push(cell),
        }
    }
    ranges
}

/// How many users a range should hold for `total` users.
fn target_size(total: u64) -> u64 {
    total.div_ceil(MAX_RANGES).max(MIN_RANGE_USERS)
}

/// Learns the sizes of `userPrincipalName` ranges of `scope` holding `total` users (the scope's
/// `$count`) and returns ranges of about equal size, splitting cells as `sizing` says they are
/// worth. When reads follow, the first round reads each first character's first page (selecting
/// `select`), which costs what a bare count does; a first character that is not to be split goes
/// to `whole_cells` the moment its page comes, so its users reach the reads a round trip sooner
/// and without waiting for the slowest of the 37 answers. Other counts are bare (`$top=1`), and
/// the cells they count are merged into ranges paged from their start. Any refusal or missing
/// count ends the plan: the listing then pages one link after another, as it would without ranges
/// (first characters already sent are paged too; the listing passes over the users twice listed).
pub async fn plan(
    client: &GraphClient,
    scope: Scope,
    select: &str,
    total: u64,
    sizing: RangeSizing,
    whole_cells: mpsc::UnboundedSender<CellPage>,
    notify: &dyn Notify,
) -> Plan {
    let target = target_size(total);
    let split_above = sizing.split_above(total, target);
    let mut cells = children(None, "", None);
    let reads_follow = matches!(sizing, RangeSizing::AheadOfReads { .. });
    let (first_select, first_top) = if reads_follow { (select, PAGE_SIZE) } else { ("id", 1) };
    let urls: Vec<String> =
        cells.iter().map(|cell| users_url(client, scope, first_select, first_top, Some(&cell.range))).collect();
    let mut answers: FuturesUnordered<_> = urls
        .into_iter()
        .enumerate()
        .map(|(index, url)| async move { (index, fetch_page(client, &url, notify).await) })
        .collect();
    let mut whole = HashSet::new();
    let mut first_pages = HashMap::new();
    while let Some((index, answer)) = answers.next().await {
        let cell = &mut cells[index];
        match counted(answer) {
            Ok((count, page)) => {
                cell.count = count;
                if !reads_follow {
                    continue;
                }
                if count <= split_above || cell.split_prefix.is_none() {
                    whole.insert(cell.range.clone());
                    let _ = whole_cells.send((cell.range.clone(), page));
                } else {
                    first_pages.insert(cell.range.clone(), page);
                }
            }
            Err(reason) => return Plan::Refused(reason),
        }
    }
    let (mut requests, mut rounds) = (cells.len() as u32, 1u32);
    while rounds < MAX_ROUNDS {
        let mut next = Vec::with_capacity(cells.len());
        let mut to_count = Vec::new();
        for cell in cells {
            match &cell.split_prefix {
                Some(prefix) if cell.count > split_above => {
                    let split = children(cell.range.low.as_deref(), prefix, cell.range.high.as_deref());
                    to_count.extend(next.len()..next.len() + split.len());
                    next.extend(split);
                }
                _ => next.push(cell),
            }
        }
        cells = next;
        if to_count.is_empty() {
            break;
        }
        rounds += 1;
        requests += to_count.len() as u32;
        let counts = join_all(to_count.iter().map(|&i| count_range(client, scope, &cells[i].range, notify))).await;
        for (&i, count) in to_count.iter().zip(counts) {
            match count {
                Ok(count) => cells[i].count = count,
                Err(reason) => return Plan::Refused(reason),
            }
        }
    }
    // Runs of cells between the first characters left whole merge into ranges.
    let mut ranges = Vec::new();
    let mut run = Vec::new();
    for cell in cells {
        if whole.contains(&cell.range) {
            ranges.extend(merge(std::mem::take(&mut run), target).into_iter().map(|c| c.range));
        } else {
            run.push(cell);
        }
    }
    ranges.extend(merge(run, target).into_iter().map(|c| c.range));
    Plan::Ranges { ranges, whole: whole.len(), early: first_pages.into_iter().collect(), requests, rounds }
}

/// A counted answer: the page's `@odata.count` and the page; or why there is none.
fn counted(answer: Result<Result<Page, Refusal>, EngineError>) -> Result<(u64, Page), String> {
    match answer {
        Ok(Ok(page)) => match page.count {
            Some(count) => Ok((count, page)),
            None => Err("Graph's answer had no @odata.count".to_string()),
        },
        Ok(Err((status, body, _))) => {
            let (code, message) = crate::graph::client::graph_error(&body);
            Err(format!("{status} {}: {}", code.unwrap_or_default(), message.unwrap_or_default()))
        }
        Err(error) => Err(error.message),
    }
}

/// `$count` of the users of `scope` in `range`: one request for one user.
async fn count_range(client: &GraphClient, scope: Scope, range: &UpnRange, notify: &dyn Notify) -> Result<u64, String> {
    let url = users_url(client, scope, "id", 1, Some(range));
    counted(fetch_page(client, &url, notify).await).map(|(count, _)| count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covers_everything_once(ranges: &[Counted]) {
        assert_eq!(ranges.first().unwrap().range.low, None);
        assert_eq!(ranges.last().unwrap().range.high, None);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].range.high, pair[1].range.low, "neighbours share their boundary");
        }
    }

    #[test]
    fn the_first_split_covers_every_upn_with_boundaries_no_upn_can_equal() {
        let cells = children(None, "", None);
        assert_eq!(cells.len(), 37);
        covers_everything_once(&cells);
        assert!(cells.iter().flat_map(|c| [&c.range.low, &c.range.high]).flatten().all(|b| !b.contains('@')));
        assert_eq!(cells[0].split_prefix, None, "UPNs before '0' share no prefix");
        assert_eq!(cells[11].range, UpnRange { low: Some("a".into()), high: Some("b".into()) });
        assert_eq!(cells[36].range, UpnRange { low: Some("z".into()), high: None });
    }

    #[test]
    fn a_cell_splits_inside_its_own_bounds() {
        let cells = children(Some("j"), "j", Some("k"));
        assert_eq!(cells[0].range, UpnRange { low: Some("j".into()), high: Some("j0".into()) });
        assert_eq!(cells[36].range, UpnRange { low: Some("jz".into()), high: Some("k".into()) });
        assert_eq!(cells[36].split_prefix.as_deref(), Some("jz"));
        for pair in cells.windows(2) {
            assert_eq!(pair[0].range.high, pair[1].range.low);
        }
    }

    #[test]
    fn merging_keeps_coverage_and_balances() {
        let mut cells = children(None, "", None);
        for (i, cell) in cells.iter_mut().enumerate() {
            cell.count = if i == 20 { 5_000 } else { (i as u64 % 4) * 300 };
        }
        let total: u64 = cells.iter().map(|c| c.count).sum();
        let ranges = merge(cells, 2_000);
        covers_everything_once(&ranges);
        assert_eq!(ranges.iter().map(|r| r.count).sum::<u64>(), total, "no user lost or counted twice");
        assert!(ranges.iter().all(|r| r.count <= 2_000 || r.count == 5_000), "only the unsplit cell is bigger");
        for pair in ranges.windows(2) {
            assert!(pair[0].count + pair[1].count > 2_000, "no two neighbours could have been one range");
        }
    }

    #[test]
    fn when_reads_follow_a_cell_is_split_only_if_paging_it_would_lag_the_reads() {
        let reads = |ms| RangeSizing::AheadOfReads { reads_per_second: 776.0, round_trip: Duration::from_millis(ms) };
        // 100,000 reads take 129 s at 776 a second; in half of that, 42 pages of 1.5 s each.
        assert_eq!(reads(1_500).split_above(100_000, 3_125), 42 * 999);
        // At a short round trip no cell of the tenant is worth a round of counts.
        assert!(reads(220).split_above(24_000, 1_998) > 24_000);
        // Never finer than balanced ranges, whatever the round trip.
        assert_eq!(reads(60_000).split_above(24_000, 1_998), 1_998);
        assert_eq!(RangeSizing::Balanced.split_above(100_000, 3_125), 3_125);
    }

    #[test]
    fn the_filter_names_only_the_bounds_it_has() {
        let range = UpnRange { low: Some("ab".into()), high: Some("ac".into()) };
        assert_eq!(range.filter().as_deref(), Some("userPrincipalName ge 'ab' and userPrincipalName le 'ac'"));
        assert_eq!(
            UpnRange { low: None, high: Some("0".into()) }.filter().as_deref(),
            Some("userPrincipalName le '0'")
        );
        assert_eq!(UpnRange { low: None, high: None }.filter(), None);
        assert_eq!(target_size(24_000), 1_998);
        assert_eq!(target_size(1_000_000), 31_250);
    }
}
