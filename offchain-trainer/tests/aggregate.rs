//! Federated averaging of states trained in the content store.

use tessera_trainer::{
	aggregate::{fed_avg, Aggregate, Privacy, RoundShape, Update},
	backend::Backend,
	data::Builtin,
	model::Architecture,
	optim::Optimizer,
	state::StartState,
	store::ContentStore,
	train::{HyperParameters, Session, TrainError},
};

fn hyper(seed: u64) -> HyperParameters {
	HyperParameters {
		learning_rate: 0.1,
		batch_size: 16,
		steps: 10,
		checkpoint_every: 10,
		seed,
		optimizer: Optimizer::Sgd,
	}
}

fn mlp() -> Architecture {
	Architecture::Mlp { hidden: vec![8] }
}

/// Trains ten steps from `seed`; returns the state's CID and its weights.
fn trained(store: &ContentStore, seed: u64) -> (String, Vec<Vec<f32>>) {
	let digits = Builtin::Digits.load();
	let mut session =
		Session::start(mlp(), &digits, hyper(seed), Backend::Reference, store).unwrap();
	let commitment = session.run_until(10, |_| {}).unwrap().remove(0);
	(commitment.state_cid, session.weights())
}

/// The weights of an aggregate's stored state, which must have the digest it reports.
fn weights_in(store: &ContentStore, round: &Aggregate) -> Vec<Vec<f32>> {
	let digits = Builtin::Digits.load();
	let start =
		StartState { state_cid: round.state_cid.clone(), weights_digest: round.weights_digest };
	Session::resume(mlp(), &digits, hyper(0), Backend::Reference, store, &start, 10)
		.unwrap()
		.weights()
}

fn shape(architecture: &Architecture) -> RoundShape<'_> {
	RoundShape { architecture, inputs: 64, image: None, classes: 10 }
}

#[test]
fn updates_are_averaged_by_their_samples() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let ((a, wa), (b, wb)) = (trained(&store, 1), trained(&store, 2));
	let mlp = mlp();
	let updates = [Update { state_cid: a, samples: 100 }, Update { state_cid: b, samples: 300 }];
	let round = fed_avg(&shape(&mlp), &store, None, &updates, None).unwrap();
	assert_eq!(round.samples, 400);
	assert_eq!(round.noise_std, None);
	assert_eq!(fed_avg(&shape(&mlp), &store, None, &updates, None).unwrap(), round);

	let averaged = weights_in(&store, &round);
	for ((average, a), b) in
		averaged.iter().flatten().zip(wa.iter().flatten()).zip(wb.iter().flatten())
	{
		let expected = 0.25 * f64::from(*a) + 0.75 * f64::from(*b);
		assert!((f64::from(*average) - expected).abs() < 1e-6, "{average} vs {expected}");
	}
}

#[test]
fn updates_whose_samples_overflow_or_sum_to_none_are_refused() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let (a, _) = trained(&store, 1);
	let mlp = mlp();
	for samples in [[u64::MAX, 1], [0, 0]] {
		let updates = samples.map(|samples| Update { state_cid: a.clone(), samples });
		assert!(matches!(
			fed_avg(&shape(&mlp), &store, None, &updates, None),
			Err(TrainError::InvalidHyperParameters(_))
		));
	}
}

#[test]
fn private_rounds_clip_each_update_and_add_calibrated_noise() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let (base, base_weights) = trained(&store, 1);
	let (update, _) = trained(&store, 2);
	let mlp = mlp();
	let updates = [Update { state_cid: update.clone(), samples: 10 }];
	// A clipping norm of 0.001 and a noise multiplier of 1.1.
	let privacy = Privacy { clip_milli: 1, noise_multiplier_milli: 1_100, seed: 9 };
	assert!(matches!(
		fed_avg(&shape(&mlp), &store, None, &updates, Some(&privacy)),
		Err(TrainError::InvalidHyperParameters(_))
	));
	let round = fed_avg(&shape(&mlp), &store, Some(&base), &updates, Some(&privacy)).unwrap();
	let std = round.noise_std.unwrap();
	assert!((std - 1.1e-3).abs() < 1e-12);
	let private = weights_in(&store, &round);
	// The clipped delta has norm 1e-3; what is left is noise of standard deviation `std`.
	let moved: Vec<f64> = private
		.iter()
		.flatten()
		.zip(base_weights.iter().flatten())
		.map(|(p, b)| f64::from(*p) - f64::from(*b))
		.collect();
	let rms = (moved.iter().map(|d| d * d).sum::<f64>() / moved.len() as f64).sqrt();
	assert!(rms > 0.5 * std && rms < 1.5 * std, "rms {rms}, std {std}");
}
