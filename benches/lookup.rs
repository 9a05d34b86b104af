//! Criterion bench of the pure request path: route a path, resolve it (lookup and policy view),
//! render the RDAP JSON body. No sockets, no cache.
//!
//! Run: `cargo bench --bench lookup`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use rddsd::policy::{Audience, Policy};
use rddsd::rdap::router::{route, Route};
use rddsd::rdap::{context, render_resolved, RdapConfig};
use rddsd::registry::load::load_demo;
use rddsd::resolve::resolve;
use rddsd::state::Generation;
use rddsd::whois;

fn bench(c: &mut Criterion) {
    let data = Generation::new(
        load_demo().expect("demo registry loads"),
        Policy::default_policy().expect("default policy"),
        1,
        1,
    );
    let cfg = RdapConfig::new(
        "https://rdap.nic.example/".into(),
        Some("whois.nic.example".into()),
        "https://nic.example/terms".into(),
    );

    let mut group = c.benchmark_group("rdap");
    for (label, path) in [
        ("domain_ascii", "/domain/kite-surfing.example"),
        ("domain_idn_u_label", "/domain/caf%C3%A9.example"),
        ("nameserver", "/nameserver/ns1.nic.example"),
    ] {
        group.bench_function(format!("route+lookup+redact+render/{label}"), |b| {
            b.iter(|| {
                let Route::Query(q) = route("GET", black_box(path), "") else {
                    panic!("routes")
                };
                let resolved = resolve(&data.snapshot, &data.policy, &q, Audience::Public);
                black_box(render_resolved(&resolved, &context(&cfg, &data, None)).expect("found"))
            })
        });
    }
    // The rendering share of the domain case: the lookup and redaction done once, outside.
    let Route::Query(q) = route("GET", "/domain/kite-surfing.example", "") else {
        panic!("routes")
    };
    let resolved = resolve(&data.snapshot, &data.policy, &q, Audience::Public);
    group.bench_function("render_only/domain_ascii", |b| {
        b.iter(|| {
            black_box(render_resolved(
                black_box(&resolved),
                &context(&cfg, &data, None),
            ))
        })
    });
    // The port 43 answer to the same query (lookup, redaction and text rendering).
    group.bench_function("whois_lookup+redact+render/domain_ascii", |b| {
        b.iter(|| {
            black_box(whois::answer(
                &data,
                black_box(&q),
                "https://nic.example/terms",
            ))
        })
    });
    group.bench_function("route_only/domain_idn", |b| {
        b.iter(|| route("GET", black_box("/domain/caf%C3%A9.example"), ""))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
