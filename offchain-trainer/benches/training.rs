//! Training throughput (samples per second) of each model on the CPU backends, with SGD and
//! with Adam; and Adam's and AdamW's host round trip alone (weights to the host, the step on
//! the host, weights back into the network), the part of a step SGD does not pay.
//!
//! `cargo bench --manifest-path offchain-trainer/Cargo.toml --bench training`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tessera_trainer::{
	backend::Backend,
	data::Builtin,
	model::{Architecture, Initializer, Network},
	optim::{Adam, AdamConstants, Moments, Optimizer},
	state::{weights_of, with_weights},
	store::ContentStore,
	train::{HyperParameters, Session},
};

const STEPS: u64 = 20;
const BATCH: usize = 64;
const ADAM: AdamConstants =
	AdamConstants { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 0.0 };

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
			for (optimizer, suffix) in [(Optimizer::Sgd, ""), (Optimizer::Adam(ADAM), "-adam")] {
				let hyper = HyperParameters { optimizer, ..hyper.clone() };
				group.bench_with_input(
					BenchmarkId::new(format!("{name}{suffix}"), backend.name()),
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

/// What Adam adds to a step over SGD on the reference backend: the weights copied to the
/// host, Adam's element-by-element update there, and the network rebuilt from them (the
/// gradients reach the host for the commitments whatever the optimiser).
fn adam_round_trip(c: &mut Criterion) {
	let digits = Builtin::Digits.load();
	let text = "the chain keeps the commitments; the trainer keeps the weights. ".repeat(64);
	let corpus = tessera_trainer::data::from_texts([text.as_bytes()], 32).unwrap();
	let device = Backend::Reference.device().autodiff();
	let mut group = c.benchmark_group("adam_round_trip");
	for (name, architecture, dataset) in [
		("mlp-64", Architecture::Mlp { hidden: vec![64] }, &digits),
		("cnn-8-16", Architecture::Cnn { channels: [8, 16] }, &digits),
		(
			"char-transformer-32-64-2",
			Architecture::CharTransformer { context: 32, width: 64, layers: 2 },
			&corpus,
		),
	] {
		let network = Network::new(
			&architecture,
			dataset.num_features,
			dataset.image,
			dataset.num_classes,
			&mut Initializer::new(1, &device),
		)
		.unwrap();
		let gradients = weights_of(&network);
		let parameters: usize = gradients.iter().map(Vec::len).sum();
		group.throughput(Throughput::Elements(parameters as u64));
		for (optimizer, label) in [
			(Optimizer::Adam(ADAM), "adam"),
			(Optimizer::AdamW(AdamConstants { weight_decay: 0.01, ..ADAM }), "adamw"),
		] {
			let mut adam = Adam::new(&optimizer, || Moments::zero(&gradients)).unwrap();
			let mut network = Some(network.clone());
			group.bench_function(BenchmarkId::new(name, label), |b| {
				b.iter(|| {
					let current = network.take().unwrap();
					let mut weights = weights_of(&current);
					adam.step(&mut weights, &gradients, 1e-3);
					network = Some(with_weights(current, &weights));
				})
			});
		}
	}
	group.finish();
}

criterion_group!(benches, training, adam_round_trip);
criterion_main!(benches);
