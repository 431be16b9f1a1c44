//! Password hashing cost, natively. The component pays about twice this in wasm, once per
//! sign-in or sign-up request.

use account_portal::security::password;
use criterion::{Criterion, criterion_group, criterion_main};

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2id_owasp");
    group.sample_size(10);
    group.bench_function("hash", |b| {
        b.iter(|| password::hash_password("correct horse battery staple").expect("hash"))
    });
    let stored = password::hash_password("correct horse battery staple").expect("hash");
    group.bench_function("verify", |b| {
        b.iter(|| password::verify_password("correct horse battery staple", Some(&stored)))
    });
    group.bench_function("verify_unknown_account", |b| {
        b.iter(|| password::verify_password("correct horse battery staple", None))
    });
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
