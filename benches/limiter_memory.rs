//! Memory of the harvesting limiter under an IPv6 rotation attack: one million distinct /64
//! client keys, each making one query, against the default limits (200,000 tracked clients).
//! Reports tracked clients, resident memory growth (from /proc/self/statm) and admission cost.
//!
//! Run: `cargo bench --bench limiter_memory` (env `KEYS`, default 1000000).

use std::net::{IpAddr, Ipv6Addr};
use std::time::Instant;

use rddsd::limit::{LimitSettings, Limiter};

fn rss_bytes() -> u64 {
    // statm: size resident shared text lib data dt, in pages.
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    let keys: u64 = std::env::var("KEYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let settings = LimitSettings::default();
    let before = rss_bytes();
    let limiter = Limiter::new(settings.clone());
    let started = Instant::now();
    let mut refused = 0u64;
    for i in 0..keys {
        // A different /64 each time, as an attacker rotating through a /32 would.
        let ip = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 64) | 1);
        if limiter.admit(IpAddr::V6(ip)).is_err() {
            refused += 1;
        }
    }
    let elapsed = started.elapsed();
    let after = rss_bytes();
    let (tracked, capacity) = limiter.tracked();
    let grown = after.saturating_sub(before);
    println!(
        "limiter under {keys} distinct IPv6 /64 keys (default limits, max_tracked_clients = {})",
        settings.max_tracked_clients
    );
    println!("tracked clients: {tracked} (capacity {capacity})");
    println!(
        "resident memory growth: {:.1} MiB ({:.0} bytes per tracked client)",
        grown as f64 / 1_048_576.0,
        grown as f64 / tracked.max(1) as f64
    );
    println!(
        "admission: {:.0} ns per query ({refused} refused)",
        elapsed.as_nanos() as f64 / keys as f64
    );
    let swept = limiter.sweep();
    println!("sweep right after: {swept} entries dropped (entries counted today are kept until the day ends)");
}
