//! Port 43 throughput with one TCP connection per query, beside the physical limit of
//! connection-per-query on this machine: a bare tokio server that accepts, reads the query
//! bytes, writes a canned answer of the same size and closes.
//!
//! Run: `cargo bench --bench whois_qps` (env: `SECONDS` per measurement, default 5;
//! `CLIENTS` concurrent client connections, default 32). Loopback only.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use rddsd::config::{ConfigFile, Overrides, Settings};
use rddsd::server::Server;

const QUERY: &[u8] = b"kite-surfing.example\r\n";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The reference: accept, read once, write `answer`, close.
async fn bare_loop(listener: TcpListener, answer: Arc<Vec<u8>>, stop: CancellationToken) {
    loop {
        let (mut s, _) = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => match r { Ok(p) => p, Err(_) => continue },
        };
        let answer = Arc::clone(&answer);
        tokio::spawn(async move {
            let mut buf = [0u8; 1100];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&answer).await;
            let _ = s.shutdown().await;
        });
    }
}

async fn one_query(addr: SocketAddr) -> Option<usize> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(QUERY).await.ok()?;
    let mut out = Vec::with_capacity(4096);
    s.read_to_end(&mut out).await.ok()?;
    Some(out.len())
}

/// Queries per second with `clients` concurrent connection-per-query loops.
async fn measure(addr: SocketAddr, expect_len: usize, clients: u64, secs: u64) -> (f64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (ok, bad) = (Arc::clone(&ok), Arc::clone(&bad));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                match one_query(addr).await {
                    Some(n) if n == expect_len => ok.fetch_add(1, Ordering::Relaxed),
                    _ => bad.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let n = ok.load(Ordering::Relaxed);
    (
        n as f64 / started.elapsed().as_secs_f64(),
        bad.load(Ordering::Relaxed),
    )
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing. Either way run.
    let secs = env("SECONDS", 5);
    let clients = env("CLIENTS", 32);
    // The access log is part of rddsd's cost: format it, then throw it away.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_ansi(false)
        .try_init();

    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let stop = CancellationToken::new();

    // rddsd, in-process, demo registry.
    let flags = Overrides {
        rdap_listen: vec!["127.0.0.1:0".parse().expect("addr")],
        whois_listen: vec!["127.0.0.1:0".parse().expect("addr")],
        admin_listen: vec!["127.0.0.1:0".parse().expect("addr")],
        ..Overrides::default()
    };
    // All load comes from 127.0.0.1, so the per-client cap (3 by default) is lifted and loopback
    // is allowlisted (the harvesting budget would stop a load test within a second).
    let file = ConfigFile::parse(
        "bench",
        "[whois]\nmax_per_client = 4096\nmax_connections = 4096\n[limits]\nallow = [\"127.0.0.0/8\"]\n",
    )
    .expect("config");
    let settings = Settings::resolve(file, flags).expect("settings");
    let server = servers.block_on(Server::bind(settings)).expect("bind");
    let rddsd_addr = server.whois_addrs()[0];
    servers.spawn(server.run(stop.clone()));
    let answer_len = client
        .block_on(one_query(rddsd_addr))
        .expect("rddsd answers");

    // The bare loop, answering with the same number of bytes.
    let bare = servers
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let bare_addr = bare.local_addr().expect("addr");
    servers.spawn(bare_loop(
        bare,
        Arc::new(vec![b'x'; answer_len]),
        stop.clone(),
    ));

    println!("whois connection-per-query, {clients} concurrent clients, {secs} s each, answer {answer_len} bytes");
    let (bare_qps, bare_bad) = client.block_on(measure(bare_addr, answer_len, clients, secs));
    println!("bare tokio accept-read-write-close: {bare_qps:>9.0} queries/s ({bare_bad} failed)");
    let (rddsd_qps, rddsd_bad) = client.block_on(measure(rddsd_addr, answer_len, clients, secs));
    println!("rddsd port 43 (domain lookup):      {rddsd_qps:>9.0} queries/s ({rddsd_bad} failed)");
    println!(
        "ratio: {:.1}% of the bare loop",
        100.0 * rddsd_qps / bare_qps
    );
    stop.cancel();
}
