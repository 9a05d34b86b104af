//! The harvesting budget of a cluster (`[database] shared_budget = true`): daily counts, blocks
//! and escalation shared by every node through PostgreSQL. The per-second rate (GCRA) stays per
//! node.
//!
//! Every [`SYNC`] a node adds the counts it made since the last sync to `harvest_counts` (one
//! upsert for all clients), records the blocks it started in `harvest_blocks`, and reads back
//! every row that changed since it last looked (by `version`, from one sequence). A client's
//! count on a node is then the cluster's total plus what the node counted since.
//!
//! Between syncs each node decides alone, so a client can overshoot its daily quota by at most
//! what the other nodes admitted that the node has not read yet: a count reaches the others
//! within two sync intervals (sent at the next sync, read at theirs), so the overshoot is at
//! most `(nodes - 1) × (burst + rate per second × 2 × sync interval)`.
//!
//! When the database cannot be reached, the counts stay on the node and are sent with the
//! next sync that succeeds; meanwhile each node enforces the quota on its own counts.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

use super::DbError;
use crate::limit::client::NetKey;
use crate::limit::{Block, Limiter, Unsynced};

/// How often a node syncs its counts with the cluster.
pub const SYNC: Duration = Duration::from_secs(1);

/// How many past syncs' changes are read again: a row's `version` is taken when its
/// transaction writes it, and that transaction may commit after another one with a later
/// version was already read.
const LOOKBACK: usize = 3;

/// The counts and blocks of one sync, as the upsert's columns.
#[derive(Debug, Default, PartialEq)]
struct Batch {
    count_nets: Vec<IpAddr>,
    count_days: Vec<i32>,
    counts: Vec<i64>,
    block_nets: Vec<IpAddr>,
    block_until: Vec<i64>,
    block_window: Vec<i32>,
    block_count: Vec<i32>,
}

fn batch(unsynced: &[Unsynced]) -> Batch {
    let mut b = Batch::default();
    for d in unsynced {
        if d.count > 0 {
            b.count_nets.push(d.key.network());
            b.count_days.push(i32::try_from(d.day).unwrap_or(i32::MAX));
            b.counts.push(i64::from(d.count));
        }
        if let Some(block) = d.block {
            b.block_nets.push(d.key.network());
            b.block_until
                .push(i64::try_from(block.until).unwrap_or(i64::MAX));
            b.block_window
                .push(i32::try_from(block.window_start).unwrap_or(i32::MAX));
            b.block_count
                .push(i32::try_from(block.blocks_in_window).unwrap_or(i32::MAX));
        }
    }
    b
}

/// One sync: send `unsynced`, read back what changed after version `since`; the newest version
/// seen.
async fn sync_once(
    client: &mut Client,
    limiter: &crate::limit::Limiter,
    unsynced: &[Unsynced],
    since: i64,
) -> Result<i64, DbError> {
    let b = batch(unsynced);
    let tx = client
        .transaction()
        .await
        .map_err(|e| DbError::sql("cannot start a transaction", &e))?;
    if !b.counts.is_empty() {
        tx.execute(
            "INSERT INTO harvest_counts (network, day, count)
             SELECT * FROM unnest($1::inet[], $2::int[], $3::bigint[])
             ON CONFLICT (network, day) DO UPDATE
             SET count = harvest_counts.count + EXCLUDED.count,
                 version = nextval('harvest_version')",
            &[&b.count_nets, &b.count_days, &b.counts],
        )
        .await
        .map_err(|e| DbError::sql("cannot add the harvesting counts", &e))?;
    }
    if !b.block_nets.is_empty() {
        tx.execute(
            "INSERT INTO harvest_blocks (network, blocked_until, window_start, blocks_in_window)
             SELECT * FROM unnest($1::inet[], $2::bigint[], $3::int[], $4::int[])
             ON CONFLICT (network) DO UPDATE
             SET blocked_until = greatest(harvest_blocks.blocked_until, EXCLUDED.blocked_until),
                 blocks_in_window = CASE
                     WHEN EXCLUDED.window_start > harvest_blocks.window_start
                         THEN EXCLUDED.blocks_in_window
                     WHEN EXCLUDED.window_start = harvest_blocks.window_start
                         THEN greatest(harvest_blocks.blocks_in_window, EXCLUDED.blocks_in_window)
                     ELSE harvest_blocks.blocks_in_window END,
                 window_start = greatest(harvest_blocks.window_start, EXCLUDED.window_start),
                 version = nextval('harvest_version')",
            &[
                &b.block_nets,
                &b.block_until,
                &b.block_window,
                &b.block_count,
            ],
        )
        .await
        .map_err(|e| DbError::sql("cannot record the harvesting blocks", &e))?;
    }
    let today = i32::try_from(limiter.today()).unwrap_or(i32::MAX);
    let counts = tx
        .query(
            "SELECT network, count, version FROM harvest_counts
             WHERE day = $1 AND version > $2",
            &[&today, &since],
        )
        .await
        .map_err(|e| DbError::sql("cannot read the harvesting counts", &e))?;
    let blocks = tx
        .query(
            "SELECT network, blocked_until, window_start, blocks_in_window, version
             FROM harvest_blocks WHERE version > $1",
            &[&since],
        )
        .await
        .map_err(|e| DbError::sql("cannot read the harvesting blocks", &e))?;
    tx.commit()
        .await
        .map_err(|e| DbError::sql("cannot commit the harvesting sync", &e))?;
    let mut newest = since;
    let bad = |e: tokio_postgres::Error| DbError::sql("cannot read the harvesting state", &e);
    for r in &counts {
        let net: IpAddr = r.try_get(0).map_err(bad)?;
        let count: i64 = r.try_get(1).map_err(bad)?;
        newest = newest.max(r.try_get(2).map_err(bad)?);
        limiter.apply_total(
            NetKey::from_network(net),
            limiter.today(),
            u32::try_from(count).unwrap_or(u32::MAX),
        );
    }
    for r in &blocks {
        let net: IpAddr = r.try_get(0).map_err(bad)?;
        let until: i64 = r.try_get(1).map_err(bad)?;
        let window: i32 = r.try_get(2).map_err(bad)?;
        let n: i32 = r.try_get(3).map_err(bad)?;
        newest = newest.max(r.try_get(4).map_err(bad)?);
        limiter.apply_block(
            NetKey::from_network(net),
            Block {
                until: u64::try_from(until).unwrap_or(0),
                window_start: u32::try_from(window).unwrap_or(0),
                blocks_in_window: u32::try_from(n).unwrap_or(0),
            },
        );
    }
    Ok(newest)
}

/// Rows no node needs any more: counts of past days, and blocks that ended longer ago than
/// the escalation window.
async fn clean(client: &Client, limiter: &crate::limit::Limiter) -> Result<(), DbError> {
    let today = i32::try_from(limiter.today()).unwrap_or(i32::MAX);
    let window = i64::from(limiter.settings().escalation_window_days.max(1)) * 86_400;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let horizon = i64::try_from(now).unwrap_or(i64::MAX) - window;
    client
        .execute("DELETE FROM harvest_counts WHERE day < $1", &[&today])
        .await
        .map_err(|e| DbError::sql("cannot delete old harvesting counts", &e))?;
    client
        .execute(
            "DELETE FROM harvest_blocks WHERE blocked_until < $1",
            &[&horizon],
        )
        .await
        .map_err(|e| DbError::sql("cannot delete old harvesting blocks", &e))?;
    Ok(())
}

/// One sync on the kept connection (made if there is none); a connection that failed is
/// dropped.
async fn sync_on(
    client: &mut Option<Client>,
    url: &str,
    limiter: &crate::limit::Limiter,
    unsynced: &[Unsynced],
    since: i64,
    rounds: u64,
) -> Result<i64, DbError> {
    let c = match client.take() {
        Some(c) if !c.is_closed() => c,
        _ => super::connect(url).await?,
    };
    let c = client.insert(c);
    let r = async {
        let newest = tokio::time::timeout(SYNC * 5, sync_once(c, limiter, unsynced, since))
            .await
            .unwrap_or_else(|_| Err(DbError::Io("the harvesting sync timed out".into())))?;
        if rounds.is_multiple_of(600) {
            clean(c, limiter).await?;
        }
        Ok(newest)
    }
    .await;
    if r.is_err() {
        *client = None;
    }
    r
}

/// Sync the node's budget with the cluster every [`SYNC`] until shutdown (the first at once,
/// so a restarted node knows the blocks and counts of the day right away).
pub async fn follow(limiter: Arc<Limiter>, url: String, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(SYNC);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut client: Option<Client> = None;
    // The newest version seen at each of the last syncs; changes after the oldest are read.
    let mut seen = [0i64; LOOKBACK];
    let mut failing = false;
    let mut rounds: u64 = 0;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let unsynced = limiter.take_unsynced();
        let since = seen[0];
        // A kept connection the server ended since is found out only when used: then the
        // sync is tried at once on a new one (a failed one wrote nothing: it is one
        // transaction).
        let reused = client.as_ref().is_some_and(|c| !c.is_closed());
        let mut result = sync_on(&mut client, &url, &limiter, &unsynced, since, rounds).await;
        if result.is_err() && reused {
            result = sync_on(&mut client, &url, &limiter, &unsynced, since, rounds).await;
        }
        rounds += 1;
        match result {
            Ok(newest) => {
                seen.rotate_left(1);
                seen[LOOKBACK - 1] = newest;
                if failing {
                    tracing::info!("harvesting budget synchronised with the cluster again");
                    failing = false;
                }
            }
            Err(e) => {
                client = None;
                limiter.give_back(&unsynced);
                if !failing {
                    tracing::warn!(error = %e, "cannot synchronise the harvesting budget with the cluster; each node counts alone meanwhile");
                    failing = true;
                }
            }
        }
    }
    // Counts of the last second are not lost on a clean shutdown.
    let unsynced = limiter.take_unsynced();
    if !unsynced.is_empty() {
        if let Some(mut c) = client.filter(|c| !c.is_closed()) {
            let _ =
                tokio::time::timeout(SYNC, sync_once(&mut c, &limiter, &unsynced, i64::MAX)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_holds_counts_and_blocks_by_network() {
        let key = NetKey::of("192.0.2.7".parse().expect("ip"), 24, 64);
        let b = batch(&[
            Unsynced {
                key,
                day: 20_000,
                count: 3,
                block: None,
            },
            Unsynced {
                key,
                day: 20_000,
                count: 0,
                block: Some(Block {
                    until: 1_728_086_400,
                    window_start: 19_990,
                    blocks_in_window: 2,
                }),
            },
        ]);
        let net: IpAddr = "192.0.2.0".parse().expect("ip");
        assert_eq!(b.count_nets, vec![net]);
        assert_eq!((b.count_days[0], b.counts[0]), (20_000, 3));
        assert_eq!(b.block_nets, vec![net]);
        assert_eq!(
            (b.block_until[0], b.block_window[0], b.block_count[0]),
            (1_728_086_400, 19_990, 2)
        );
        assert_eq!(NetKey::from_network(net), key);
        let v6 = NetKey::of("2001:db8::1".parse().expect("ip"), 24, 64);
        assert_eq!(NetKey::from_network(v6.network()), v6);
    }
}
