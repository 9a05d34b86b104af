//! Harvesting defence: one budget per client network, shared by RDAP and port 43.
//!
//! Each request is admitted or refused before any lookup, in this order:
//! 1. a denylisted network is refused outright;
//! 2. an allowlisted network (monitoring, the registry's registrars) bypasses the budget;
//! 3. a client blocked for spending its daily quota is refused until the block ends;
//! 4. the rate with burst (governor's GCRA, keyed by client network) must allow the request;
//! 5. the request is counted against the daily quota (reset at 00:00 UTC). Not-found and
//!    malformed queries count: enumeration is harvesting too. The request that exceeds the quota
//!    starts a block until the next reset; a client blocked on `escalate_after_blocks` days
//!    within `escalation_window_days` is blocked for `escalated_block_days` instead (the RIPE
//!    Database's temporary/permanent block, with an end).
//!
//! Time comes from a governor clock, so tests drive days and blocks with `FakeRelativeClock`.

pub mod client;
pub mod conns;
pub mod slots;
mod table;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use arc_swap::ArcSwap;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;

use client::NetKey;
use table::{GcraStore, Table};

const NANOS_PER_SEC: u64 = 1_000_000_000;
const DAY_SECS: u64 = 86_400;

/// Limits as configured (`[limits]`), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// Whether budgets apply at all (deny and allow lists always do).
    pub enabled: bool,
    /// Prefix length that makes one IPv4 client.
    pub ipv4_prefix: u8,
    /// Prefix length that makes one IPv6 client.
    pub ipv6_prefix: u8,
    /// Sustained queries per second.
    pub rate_per_second: NonZeroU32,
    /// Sustained queries per minute: when set, replaces `rate_per_second` (for budgets below
    /// one query a second).
    pub rate_per_minute: Option<NonZeroU32>,
    /// Queries allowed at once above the rate.
    pub burst: NonZeroU32,
    /// Queries per UTC day.
    pub daily_quota: u32,
    /// Blocked days within the window that make the next block long.
    pub escalate_after_blocks: u32,
    /// Window for counting blocked days.
    pub escalation_window_days: u32,
    /// Length of the long block, in days.
    pub escalated_block_days: u32,
    /// Most client networks tracked at once (memory bound).
    pub max_tracked_clients: usize,
    /// Networks that bypass the budget.
    pub allow: Vec<IpNet>,
    /// Networks refused outright.
    pub deny: Vec<IpNet>,
    /// Load balancers whose `X-Forwarded-For` / PROXY protocol header is believed.
    pub trusted_proxies: Vec<IpNet>,
}

impl LimitSettings {
    /// The sustained rate in words, for refusal notices: "10 queries per second".
    pub fn rate_text(&self) -> String {
        match self.rate_per_minute {
            Some(m) => format!("{m} queries per minute"),
            None => format!("{} queries per second", self.rate_per_second),
        }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ipv4_prefix: 32,
            ipv6_prefix: 64,
            rate_per_second: NonZeroU32::MIN.saturating_add(9),
            rate_per_minute: None,
            burst: NonZeroU32::MIN.saturating_add(49),
            daily_quota: 5_000,
            escalate_after_blocks: 3,
            escalation_window_days: 30,
            escalated_block_days: 7,
            max_tracked_clients: 200_000,
            allow: Vec::new(),
            deny: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The client's network is denylisted.
    Denylisted,
    /// Too fast: the rate with burst is spent for now.
    Rate,
    /// This request spent the daily quota; a block starts.
    Quota,
    /// The client is blocked (quota spent earlier, or an escalated block).
    Blocked,
}

impl Reason {
    /// Label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Denylisted => "denylist",
            Self::Rate => "rate",
            Self::Quota => "quota",
            Self::Blocked => "blocked",
        }
    }
}

/// A refusal, with when to come back (`None` for a denylisted network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    /// Why.
    pub reason: Reason,
    /// How long until a retry can succeed.
    pub retry_after: Option<Duration>,
}

impl Denial {
    /// Whole seconds for `Retry-After`, rounded up, at least 1.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .map(|s| s.max(1))
    }
}

/// A block, as the cluster shares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// Unix time (seconds) the block ends.
    pub until: u64,
    /// First day (days since 1970-01-01) of the escalation window.
    pub window_start: u32,
    /// Days blocked within that window.
    pub blocks_in_window: u32,
}

/// What a node counted and blocked since its last cluster sync, for one client network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsynced {
    /// The client network.
    pub key: NetKey,
    /// The UTC day of `count`.
    pub day: u32,
    /// Queries counted here.
    pub count: u32,
    /// A block started here.
    pub block: Option<Block>,
}

type Gcra<C> = RateLimiter<NetKey, GcraStore, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// What reload swaps: settings and the GCRA limiter built from them.
struct Active<C: Clock> {
    settings: LimitSettings,
    gcra: Gcra<C>,
}

/// The limiter shared by both protocols.
pub struct Limiter<C: Clock = DefaultClock> {
    active: ArcSwap<Active<C>>,
    table: Arc<Table>,
    clock: C,
    start: C::Instant,
    /// Unix seconds at `start`, to place days.
    epoch_at_start: u64,
}

impl Limiter<DefaultClock> {
    /// A limiter on the real clock.
    pub fn new(settings: LimitSettings) -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self::with_clock(settings, DefaultClock::default(), epoch)
    }
}

impl<C> Limiter<C>
where
    C: Clock + Clone + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    /// A limiter on a given clock; `epoch_at_start` is the Unix time the clock's "now" stands for.
    pub fn with_clock(settings: LimitSettings, clock: C, epoch_at_start: u64) -> Self {
        let table = Arc::new(Table::new(settings.max_tracked_clients));
        let start = clock.now();
        let gcra = Self::gcra(&settings, &table, &clock, start);
        Self {
            active: ArcSwap::from_pointee(Active { settings, gcra }),
            table,
            clock,
            start,
            epoch_at_start,
        }
    }

    fn gcra(settings: &LimitSettings, table: &Arc<Table>, clock: &C, start: C::Instant) -> Gcra<C> {
        let quota = match settings.rate_per_minute {
            Some(per_minute) => Quota::per_minute(per_minute),
            None => Quota::per_second(settings.rate_per_second),
        }
        .allow_burst(settings.burst);
        let c = clock.clone();
        let now: Arc<dyn Fn() -> u64 + Send + Sync> =
            Arc::new(move || c.now().duration_since(start).as_u64());
        // governor reads the clock once more inside `new`; on a real clock the two readings
        // differ by nanoseconds, well below one rate interval.
        let offset = clock.now().duration_since(start).as_u64();
        RateLimiter::new(
            quota,
            GcraStore {
                table: Arc::clone(table),
                offset,
                now,
            },
            clock.clone(),
        )
    }

    fn active(&self) -> Arc<Active<C>> {
        self.active.load_full()
    }

    /// The settings in force.
    pub fn settings(&self) -> LimitSettings {
        self.active().settings.clone()
    }

    /// Apply new settings (SIGHUP). Counts, blocks and tracked clients are kept; the rate state
    /// is reset only if the rate or burst changed. A new `max_tracked_clients` applies at once
    /// (a smaller one evicts down to it).
    pub fn reconfigure(&self, settings: LimitSettings) {
        let old = self.active();
        if old.settings.rate_per_second != settings.rate_per_second
            || old.settings.rate_per_minute != settings.rate_per_minute
            || old.settings.burst != settings.burst
        {
            self.table.reset_rate_state();
        }
        if old.settings.max_tracked_clients != settings.max_tracked_clients {
            self.table.set_capacity(settings.max_tracked_clients);
        }
        // Governor's limiter holds no state of its own (it lives in the table, in the limiter's
        // time base), so a fresh one continues exactly where the old one stopped.
        let gcra = Self::gcra(&settings, &self.table, &self.clock, self.start);
        let fresh = Active { settings, gcra };
        self.active.store(Arc::new(fresh));
    }

    fn now(&self) -> u64 {
        self.clock.now().duration_since(self.start).as_u64()
    }

    fn day_of(&self, now: u64) -> u32 {
        u32::try_from((self.epoch_at_start + now / NANOS_PER_SEC) / DAY_SECS).unwrap_or(u32::MAX)
    }

    /// Limiter time (nanoseconds since start) at which `day` begins.
    fn day_start(&self, day: u64) -> u64 {
        (day * DAY_SECS)
            .saturating_sub(self.epoch_at_start)
            .saturating_mul(NANOS_PER_SEC)
    }

    /// The client's accounting key under the current settings.
    pub fn key(&self, ip: IpAddr) -> NetKey {
        let a = self.active();
        NetKey::of(ip, a.settings.ipv4_prefix, a.settings.ipv6_prefix)
    }

    /// Whether `ip` lies in a denylisted network (the authority route applies the denylist
    /// without spending the public budget).
    pub fn is_denied(&self, ip: IpAddr) -> bool {
        client::in_any(&self.active.load().settings.deny, ip)
    }

    /// Whether `ip` lies in an allowlisted network (`[limits] allow`, and not denylisted): it
    /// bypasses the budgets and the per-client connection caps of both listeners, but still
    /// counts toward each listener's total.
    pub fn is_allowlisted(&self, ip: IpAddr) -> bool {
        let a = self.active();
        client::in_any(&a.settings.allow, ip) && !client::in_any(&a.settings.deny, ip)
    }

    /// Whether `peer` is a trusted proxy (whose PROXY protocol header is believed).
    pub fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        client::in_any(&self.active().settings.trusted_proxies, peer)
    }

    /// The client address of an HTTP request: `X-Forwarded-For` counts only from trusted proxies.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a [u8]>,
    ) -> IpAddr {
        let active = self.active();
        client::from_forwarded_for(
            peer.to_canonical(),
            forwarded_for,
            &active.settings.trusted_proxies,
        )
    }

    /// Admit one request from `ip`, or say why not.
    ///
    /// # Errors
    /// The refusal, with its retry time.
    pub fn admit(&self, ip: IpAddr) -> Result<(), Denial> {
        let active = self.active();
        let s = &active.settings;
        if client::in_any(&s.deny, ip) {
            return Err(Denial {
                reason: Reason::Denylisted,
                retry_after: None,
            });
        }
        if !s.enabled || client::in_any(&s.allow, ip) {
            return Ok(());
        }
        let key = NetKey::of(ip, s.ipv4_prefix, s.ipv6_prefix);
        let now = self.now();
        if let Some(until) = self
            .table
            .peek(&key, |e| e.blocked_until)
            .filter(|u| *u > now)
        {
            return Err(Denial {
                reason: Reason::Blocked,
                retry_after: Some(Duration::from_nanos(until - now)),
            });
        }
        if let Err(not_until) = active.gcra.check_key(&key) {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(Denial {
                reason: Reason::Rate,
                retry_after: Some(wait),
            });
        }
        let today = self.day_of(now);
        self.table.with(&key, now, |e| {
            if e.day != today {
                e.day = today;
                e.count = 0;
                e.pending = 0;
            }
            e.count = e.count.saturating_add(1);
            e.pending = e.pending.saturating_add(1);
            if e.count <= s.daily_quota {
                return Ok(());
            }
            if today.saturating_sub(e.window_start) >= s.escalation_window_days {
                e.window_start = today;
                e.blocks_in_window = 0;
            }
            e.blocks_in_window += 1;
            let days = if e.blocks_in_window >= s.escalate_after_blocks {
                s.escalated_block_days.max(1)
            } else {
                1
            };
            e.blocked_until = self.day_start(u64::from(today) + u64::from(days));
            e.block_pending = true;
            Err(Denial {
                reason: Reason::Quota,
                retry_after: Some(Duration::from_nanos(e.blocked_until.saturating_sub(now))),
            })
        })
    }

    /// Drop entries indistinguishable from fresh clients; returns how many.
    pub fn sweep(&self) -> usize {
        let now = self.now();
        self.table.sweep(now, self.day_of(now))
    }

    /// The current UTC day (days since 1970-01-01).
    pub fn today(&self) -> u32 {
        self.day_of(self.now())
    }

    /// Limiter time to Unix seconds, and back (0 for a time before the limiter started).
    fn time_to_unix(&self, t: u64) -> u64 {
        self.epoch_at_start + t / NANOS_PER_SEC
    }

    fn unix_to_time(&self, unix: u64) -> u64 {
        unix.saturating_sub(self.epoch_at_start)
            .saturating_mul(NANOS_PER_SEC)
    }

    /// Cluster budgets: take what was counted and blocked here since the last call (clearing
    /// it), to add to the cluster's shared state. Only today's counts are taken.
    pub fn take_unsynced(&self) -> Vec<Unsynced> {
        let today = self.today();
        let mut out = Vec::new();
        self.table.for_each(|key, e| {
            let count = if e.day == today { e.pending } else { 0 };
            let block = e.block_pending.then(|| Block {
                until: self.time_to_unix(e.blocked_until),
                window_start: e.window_start,
                blocks_in_window: e.blocks_in_window,
            });
            e.pending = 0;
            e.block_pending = false;
            if count > 0 || block.is_some() {
                out.push(Unsynced {
                    key: *key,
                    day: today,
                    count,
                    block,
                });
            }
        });
        out
    }

    /// Cluster budgets: unsynced that could not be sent go back, to be sent with the next ones.
    pub fn give_back(&self, unsynced: &[Unsynced]) {
        let now = self.now();
        for d in unsynced {
            self.table.with(&d.key, now, |e| {
                if e.day == d.day {
                    e.pending = e.pending.saturating_add(d.count);
                }
                if d.block.is_some() {
                    e.block_pending = true;
                }
            });
        }
    }

    /// Cluster budgets: the cluster's total count of `day` for a client (this node's sent
    /// counts included). Its count becomes that plus what it counted since; never lower.
    pub fn apply_total(&self, key: NetKey, day: u32, total: u32) {
        if day != self.today() {
            return;
        }
        let now = self.now();
        self.table.with(&key, now, |e| {
            if e.day != day {
                e.day = day;
                e.count = 0;
                e.pending = 0;
            }
            e.count = e.count.max(total.saturating_add(e.pending));
        });
    }

    /// Cluster budgets: a block some node started (or this one, read back). Kept if it ends
    /// later than the one known here; the escalation count only grows.
    pub fn apply_block(&self, key: NetKey, block: Block) {
        let now = self.now();
        let until = self.unix_to_time(block.until);
        if until <= now && block.blocks_in_window == 0 {
            return;
        }
        self.table.with(&key, now, |e| {
            e.blocked_until = e.blocked_until.max(until);
            if block.window_start > e.window_start {
                e.window_start = block.window_start;
                e.blocks_in_window = block.blocks_in_window;
            } else if block.window_start == e.window_start {
                e.blocks_in_window = e.blocks_in_window.max(block.blocks_in_window);
            }
        });
    }

    /// Client networks tracked now, and the most that will be.
    pub fn tracked(&self) -> (usize, usize) {
        (self.table.len(), self.table.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    /// 2026-11-28T00:00:00Z
    const MIDNIGHT: u64 = 1_795_824_000;

    fn limiter(s: LimitSettings) -> (Limiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Limiter::with_clock(s, clock.clone(), MIDNIGHT), clock)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn settings() -> LimitSettings {
        LimitSettings {
            rate_per_second: NonZeroU32::new(1).expect("nz"),
            burst: NonZeroU32::new(3).expect("nz"),
            daily_quota: 10,
            ..LimitSettings::default()
        }
    }

    /// Cluster budgets: what a node counted is taken once; totals read back raise the count
    /// (never lower it); a block read back applies.
    #[test]
    fn deltas_totals_and_blocks_of_a_cluster() {
        let (l, clock) = limiter(settings());
        let a = ip("192.0.2.1");
        let key = l.key(a);
        assert_eq!(l.admit(a), Ok(()));
        assert_eq!(l.admit(a), Ok(()));
        let d = l.take_unsynced();
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].key, d[0].count, d[0].block), (key, 2, None));
        assert!(l.take_unsynced().is_empty(), "taken once");
        l.give_back(&d);
        assert_eq!(l.take_unsynced()[0].count, 2, "given back");
        // Other nodes counted 7 more: 9 in all, so the 10th is the last allowed.
        l.apply_total(key, l.today(), 9);
        l.apply_total(key, l.today(), 3);
        clock.advance(Duration::from_secs(1));
        assert_eq!(l.admit(a), Ok(()));
        clock.advance(Duration::from_secs(1));
        let denial = l.admit(a).expect_err("quota spent");
        assert_eq!(denial.reason, Reason::Quota);
        let d = l.take_unsynced();
        let block = d[0].block.expect("block");
        assert_eq!(block.until, MIDNIGHT + DAY_SECS);
        assert_eq!(block.blocks_in_window, 1);
        // A block another node started applies here.
        let b = ip("198.51.100.1");
        l.apply_block(l.key(b), block);
        assert_eq!(l.admit(b).map_err(|d| d.reason), Err(Reason::Blocked));
        // Counts of another day are ignored.
        let c = ip("203.0.113.1");
        l.apply_total(l.key(c), l.today() - 1, 100);
        assert_eq!(l.admit(c), Ok(()));
    }

    #[test]
    fn burst_then_rate() {
        // GIVEN a burst of 3 at 1/s
        let (l, clock) = limiter(settings());
        // WHEN four requests arrive at once THEN the fourth waits about a second
        for _ in 0..3 {
            assert_eq!(l.admit(ip("192.0.2.1")), Ok(()));
        }
        let r = l.admit(ip("192.0.2.1")).expect_err("limited");
        assert_eq!(r.reason, Reason::Rate);
        assert_eq!(r.retry_after_secs(), Some(1));
        // Another client is unaffected.
        assert_eq!(l.admit(ip("192.0.2.2")), Ok(()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(l.admit(ip("192.0.2.1")), Ok(()));
    }

    #[test]
    fn ipv6_slash_64_shares_a_budget() {
        let (l, _) = limiter(settings());
        for i in 0..3 {
            assert_eq!(l.admit(ip(&format!("2001:db8:1:2::{i}"))), Ok(()));
        }
        assert_eq!(
            l.admit(ip("2001:db8:1:2:ffff::1")).map_err(|r| r.reason),
            Err(Reason::Rate)
        );
        assert_eq!(l.admit(ip("2001:db8:1:3::1")), Ok(()));
    }

    #[test]
    fn daily_quota_blocks_until_midnight_utc() {
        let (l, clock) = limiter(settings());
        let c = ip("198.51.100.7");
        // 10 queries spread out so the rate never bites.
        for _ in 0..10 {
            assert_eq!(l.admit(c), Ok(()));
            clock.advance(Duration::from_secs(2));
        }
        // The 11th spends the quota: blocked until the next 00:00 UTC.
        let r = l.admit(c).expect_err("quota");
        assert_eq!(r.reason, Reason::Quota);
        assert_eq!(r.retry_after_secs(), Some(DAY_SECS - 20));
        clock.advance(Duration::from_secs(3600));
        let r = l.admit(c).expect_err("still blocked");
        assert_eq!(r.reason, Reason::Blocked);
        assert_eq!(r.retry_after_secs(), Some(DAY_SECS - 20 - 3600));
        // After midnight the budget is back.
        clock.advance(Duration::from_secs(DAY_SECS));
        assert_eq!(l.admit(c), Ok(()));
    }

    #[test]
    fn repeat_offenders_are_blocked_longer() {
        let (l, clock) = limiter(LimitSettings {
            escalate_after_blocks: 3,
            escalated_block_days: 7,
            ..settings()
        });
        let c = ip("203.0.113.66");
        let mut last = None;
        for day in 0..3 {
            for _ in 0..11 {
                let _ = l.admit(c);
                clock.advance(Duration::from_secs(2));
            }
            last = l.admit(c).err();
            assert_eq!(last.map(|r| r.reason), Some(Reason::Blocked), "day {day}");
            // Jump to 00:00:01 of the next day.
            let now_secs = MIDNIGHT + l.now() / NANOS_PER_SEC;
            clock.advance(Duration::from_secs(
                (now_secs / DAY_SECS + 1) * DAY_SECS - now_secs + 1,
            ));
        }
        // The third block lasts seven days, not one.
        let r = l.admit(c).expect_err("escalated block");
        assert_eq!(r.reason, Reason::Blocked);
        assert!(
            r.retry_after_secs().is_some_and(|s| s > 5 * DAY_SECS),
            "{r:?} after {last:?}"
        );
    }

    #[test]
    fn lists_and_disabled() {
        let s = LimitSettings {
            allow: vec!["192.0.2.0/24".parse().expect("net")],
            deny: vec![
                "198.51.100.0/24".parse().expect("net"),
                "2001:db8:dead::/48".parse().expect("net"),
            ],
            ..settings()
        };
        let (l, _) = limiter(s);
        for _ in 0..100 {
            assert_eq!(l.admit(ip("192.0.2.9")), Ok(()));
        }
        assert_eq!(
            l.admit(ip("198.51.100.1")).map_err(|r| r.reason),
            Err(Reason::Denylisted)
        );
        assert_eq!(
            l.admit(ip("::ffff:198.51.100.1")).map_err(|r| r.reason),
            Err(Reason::Denylisted)
        );
        assert_eq!(
            l.admit(ip("2001:db8:dead:1::1")).map_err(|r| r.reason),
            Err(Reason::Denylisted)
        );
        let (off, _) = limiter(LimitSettings {
            enabled: false,
            ..settings()
        });
        for _ in 0..100 {
            assert_eq!(off.admit(ip("203.0.113.1")), Ok(()));
        }
    }

    #[test]
    fn reconfigure_keeps_counts_and_blocks() {
        let (l, clock) = limiter(settings());
        let c = ip("203.0.113.5");
        for _ in 0..11 {
            let _ = l.admit(c);
            clock.advance(Duration::from_secs(2));
        }
        assert_eq!(l.admit(c).map_err(|r| r.reason), Err(Reason::Blocked));
        l.reconfigure(LimitSettings {
            burst: NonZeroU32::new(100).expect("nz"),
            ..settings()
        });
        assert_eq!(
            l.admit(c).map_err(|r| r.reason),
            Err(Reason::Blocked),
            "block survives reload"
        );
        assert_eq!(l.settings().burst.get(), 100);
        let d = ip("203.0.113.6");
        for _ in 0..5 {
            let _ = l.admit(d);
        }
        l.reconfigure(LimitSettings {
            burst: NonZeroU32::new(100).expect("nz"),
            daily_quota: 6,
            ..settings()
        });
        let _ = l.admit(d);
        assert_eq!(
            l.admit(d).map_err(|r| r.reason),
            Err(Reason::Quota),
            "count survives reload"
        );
    }

    #[test]
    fn reconfigure_after_uptime_does_not_lock_out_recent_clients() {
        // GIVEN a server up for 1000 s whose client was admitted a moment ago
        for changed in [false, true] {
            let (l, clock) = limiter(settings());
            clock.advance(Duration::from_secs(1000));
            let c = ip("203.0.113.9");
            assert_eq!(l.admit(c), Ok(()));
            clock.advance(Duration::from_secs(2));
            // WHEN the limits are reloaded, unchanged or with a new list and capacity
            let fresh = if changed {
                LimitSettings {
                    deny: vec!["198.51.100.0/24".parse().expect("net")],
                    max_tracked_clients: 5_000,
                    ..settings()
                }
            } else {
                settings()
            };
            l.reconfigure(fresh);
            // THEN its burst is still there: three at once, then the rate bites
            for i in 0..3 {
                assert_eq!(l.admit(c), Ok(()), "changed={changed}, request {i}");
            }
            assert_eq!(l.admit(c).map_err(|r| r.reason), Err(Reason::Rate));
            // AND a second reload later on keeps the time base too
            clock.advance(Duration::from_secs(500));
            l.reconfigure(settings());
            assert_eq!(l.admit(c), Ok(()), "changed={changed}");
        }
    }

    #[test]
    fn reconfigure_with_a_new_rate_starts_buckets_full() {
        let (l, clock) = limiter(settings());
        clock.advance(Duration::from_secs(1000));
        let c = ip("203.0.113.10");
        for _ in 0..3 {
            assert_eq!(l.admit(c), Ok(()));
        }
        assert!(l.admit(c).is_err());
        l.reconfigure(LimitSettings {
            burst: NonZeroU32::new(5).expect("nz"),
            ..settings()
        });
        for i in 0..5 {
            assert_eq!(l.admit(c), Ok(()), "request {i}");
        }
        assert_eq!(l.admit(c).map_err(|r| r.reason), Err(Reason::Rate));
    }

    #[test]
    fn reconfigure_applies_a_new_table_bound() {
        let (l, _) = limiter(LimitSettings {
            max_tracked_clients: 6_400,
            ..settings()
        });
        for i in 0..6_000u32 {
            let _ = l.admit(IpAddr::V4(std::net::Ipv4Addr::from(i)));
        }
        assert!(l.tracked().0 > 5_000);
        l.reconfigure(LimitSettings {
            max_tracked_clients: 640,
            ..settings()
        });
        let (len, cap) = l.tracked();
        assert_eq!(cap, 640);
        assert!(len <= 640, "{len}");
    }

    #[test]
    fn a_million_rotating_keys_stay_within_the_bound() {
        let (l, _) = limiter(LimitSettings {
            max_tracked_clients: 10_000,
            ..settings()
        });
        for i in 0..1_000_000u64 {
            let v6 = std::net::Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 64));
            let _ = l.admit(IpAddr::V6(v6));
        }
        let (len, cap) = l.tracked();
        assert!(len <= cap && cap < 11_000, "{len} of {cap}");
    }
}
