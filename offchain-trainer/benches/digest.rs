//! Digest throughput: the canonical parameter digest beside raw BLAKE2b-256 of the same bytes.
//!
//! `cargo bench --manifest-path offchain-trainer/Cargo.toml --bench digest`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tessera_primitives::digest::parameters_digest;

fn digests(c: &mut Criterion) {
	// 4 MiB of weights in layers of a realistic spread of sizes.
	let layers: Vec<Vec<f32>> = [512 * 1024, 256 * 1024, 128 * 1024, 128 * 1024, 1024]
		.iter()
		.map(|len| (0..*len).map(|i| i as f32 * 1e-3).collect())
		.collect();
	let bytes: Vec<u8> = layers.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
	let mut group = c.benchmark_group("digest_4MiB");
	group.throughput(Throughput::Bytes(bytes.len() as u64));
	group.bench_function("parameters_digest", |b| {
		b.iter(|| parameters_digest(layers.iter().map(Vec::as_slice)))
	});
	group.bench_function("raw_blake2b_256", |b| {
		b.iter(|| blake2b_simd::Params::new().hash_length(32).hash(&bytes))
	});
	group.finish();
}

criterion_group!(benches, digests);
criterion_main!(benches);
