//! Training throughput (samples per second) of each model on the CPU backends.
//!
//! `cargo bench --manifest-path offchain-trainer/Cargo.toml --bench training`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tessera_trainer::{
	backend::Backend,
	data::Builtin,
	model::Architecture,
	store::ContentStore,
	train::{HyperParameters, Session},
};

const STEPS: u64 = 20;
const BATCH: usize = 64;

fn training(c: &mut Criterion) {
	let digits = Builtin::Digits.load();
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let hyper = HyperParameters {
		learning_rate: 0.05,
		batch_size: BATCH,
		steps: STEPS,
		checkpoint_every: STEPS,
		seed: 1,
		optimizer: tessera_trainer::optim::Optimizer::Sgd,
	};
	let mut group = c.benchmark_group("train_digits");
	group.throughput(Throughput::Elements(STEPS * BATCH as u64)).sample_size(10);
	for (name, architecture) in [
		("mlp-64", Architecture::Mlp { hidden: vec![64] }),
		("cnn-8-16", Architecture::Cnn { channels: [8, 16] }),
	] {
		for backend in [Backend::Reference, Backend::Cpu] {
			group.bench_with_input(
				BenchmarkId::new(name, backend.name()),
				&architecture,
				|b, architecture| {
					b.iter(|| {
						let mut session = Session::start(
							architecture.clone(),
							&digits,
							hyper.clone(),
							backend,
							&store,
						)
						.unwrap();
						session.run_until(STEPS, |_| {}).unwrap()
					})
				},
			);
		}
	}
	let text = "the chain keeps the commitments; the trainer keeps the weights. ".repeat(64);
	let corpus = tessera_trainer::data::from_texts([text.as_bytes()], 32).unwrap();
	let transformer = Architecture::CharTransformer { context: 32, width: 64, layers: 2 };
	let hyper = HyperParameters { batch_size: 16, ..hyper };
	group.throughput(Throughput::Elements(STEPS * 16));
	for backend in [Backend::Reference, Backend::Cpu] {
		group.bench_function(BenchmarkId::new("char-transformer-32-64-2", backend.name()), |b| {
			b.iter(|| {
				let mut session =
					Session::start(transformer.clone(), &corpus, hyper.clone(), backend, &store)
						.unwrap();
				session.run_until(STEPS, |_| {}).unwrap()
			})
		});
	}
	group.finish();
}

criterion_group!(benches, training);
criterion_main!(benches);
