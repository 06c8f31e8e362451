//! Federated averaging of states trained in the content store.

use tessera_primitives::job::Perbill;
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

/// σ = 1.1 over a clipping norm of `clip_milli` thousandths, for `seats` participants drawn
/// with probability `percent`, each training ten samples a round.
fn privacy(clip_milli: u32, seats: u32, percent: u32, seed: u64) -> Privacy {
	Privacy {
		clip_milli,
		noise_multiplier_milli: 1_100,
		seed,
		seats,
		sampling: Perbill::from_percent(percent),
		samples_per_update: 10,
	}
}

/// The element-wise difference of two sets of weights, in `f64`.
fn difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> Vec<f64> {
	a.iter().flatten().zip(b.iter().flatten()).map(|(a, b)| f64::from(*a) - f64::from(*b)).collect()
}

fn rms(values: &[f64]) -> f64 {
	(values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt()
}

#[test]
fn private_rounds_clip_each_update_and_add_calibrated_noise() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let (base, base_weights) = trained(&store, 1);
	let (update, _) = trained(&store, 2);
	let mlp = mlp();
	let updates = [Update { state_cid: update.clone(), samples: 10 }];
	// A clipping norm of 0.001, one seat, always drawn.
	let privacy = privacy(1, 1, 100, 9);
	assert!(matches!(
		fed_avg(&shape(&mlp), &store, None, &updates, Some(&privacy)),
		Err(TrainError::InvalidHyperParameters(_))
	));
	let round = fed_avg(&shape(&mlp), &store, Some(&base), &updates, Some(&privacy)).unwrap();
	let std = round.noise_std.unwrap();
	assert!((std - 1.1e-3).abs() < 1e-12);
	// The clipped delta has norm 1e-3; what is left is noise of standard deviation `std`.
	let moved = difference(&weights_in(&store, &round), &base_weights);
	assert!(rms(&moved) > 0.5 * std && rms(&moved) < 1.5 * std, "rms {}, std {std}", rms(&moved));
}

#[test]
fn a_private_round_divides_its_weighed_updates_by_the_participants_it_expects() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let (base, base_weights) = trained(&store, 1);
	let (update, update_weights) = trained(&store, 2);
	let mlp = mlp();
	// Four seats drawn with probability one half: two participants expected. A clipping
	// norm of 100 clips nothing.
	let privacy = privacy(100_000, 4, 50, 5);
	let change = difference(&update_weights, &base_weights);
	assert!(rms(&change) * (change.len() as f64).sqrt() < 100.0);
	let noise_alone = fed_avg(&shape(&mlp), &store, Some(&base), &[], Some(&privacy)).unwrap();
	let half_an_update = [Update { state_cid: update, samples: 5 }];
	let round =
		fed_avg(&shape(&mlp), &store, Some(&base), &half_an_update, Some(&privacy)).unwrap();
	assert_eq!((round.samples, round.noise_std), (5, noise_alone.noise_std));
	// The same seed draws the same noise: what the update added is its change, weighed by
	// half a round's samples, over the two participants expected.
	let added = difference(&weights_in(&store, &round), &weights_in(&store, &noise_alone));
	for (added, change) in added.iter().zip(&change) {
		assert!((added - change / 4.0).abs() < 1e-4, "{added} vs {}", change / 4.0);
	}
}

#[test]
fn a_private_round_that_drew_nobody_is_its_start_state_and_the_noise() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let (base, base_weights) = trained(&store, 1);
	let mlp = mlp();
	let privacy = privacy(1, 4, 50, 3);
	let round = fed_avg(&shape(&mlp), &store, Some(&base), &[], Some(&privacy)).unwrap();
	assert_eq!(round.samples, 0);
	let std = round.noise_std.unwrap();
	// σ × C over two expected participants.
	assert!((std - 1.1e-3 / 2.0).abs() < 1e-12);
	let moved = difference(&weights_in(&store, &round), &base_weights);
	assert!(rms(&moved) > 0.5 * std && rms(&moved) < 1.5 * std, "rms {}, std {std}", rms(&moved));
	// Without privacy a round without updates has nothing to average.
	assert!(matches!(
		fed_avg(&shape(&mlp), &store, Some(&base), &[], None),
		Err(TrainError::InvalidHyperParameters(_))
	));
}

#[test]
fn an_aggregate_names_its_noise_and_only_that_noise_re_executes_to_its_digest() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let (base, _) = trained(&store, 1);
	let ((a, _), (b, _)) = (trained(&store, 2), trained(&store, 3));
	let mlp = mlp();
	let updates = [Update { state_cid: a, samples: 10 }, Update { state_cid: b, samples: 8 }];
	let declared = privacy(500, 3, 100, 11);
	let aggregate = |privacy: Option<&Privacy>| {
		fed_avg(&shape(&mlp), &store, Some(&base), &updates, privacy).unwrap()
	};
	let round = aggregate(Some(&declared));
	assert_eq!(round.noise, Some(declared));
	// A panel re-computing it from the noise it names gets it again, state and digest.
	assert_eq!(aggregate(round.noise.as_ref()), round);
	// Any other noise — another seed, another multiplier or clipping norm, none — does not.
	for other in [
		Some(Privacy { seed: 12, ..declared }),
		Some(Privacy { noise_multiplier_milli: 1_000, ..declared }),
		Some(Privacy { clip_milli: 400, ..declared }),
		Some(Privacy { sampling: Perbill::from_percent(50), ..declared }),
		None,
	] {
		let again = aggregate(other.as_ref());
		assert_ne!(again.weights_digest, round.weights_digest, "{other:?}");
		assert_eq!(again.noise, other);
	}
}

#[test]
fn a_private_update_claiming_more_samples_than_a_round_trains_on_is_refused() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let (base, _) = trained(&store, 1);
	let (update, _) = trained(&store, 2);
	let mlp = mlp();
	let updates = [Update { state_cid: update, samples: 11 }];
	assert!(matches!(
		fed_avg(&shape(&mlp), &store, Some(&base), &updates, Some(&privacy(1, 1, 100, 1))),
		Err(TrainError::InvalidHyperParameters(_))
	));
}
