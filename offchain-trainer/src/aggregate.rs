//! Federated averaging of trained states, with optional differential privacy.
//!
//! [`fed_avg`] weights each update by the samples it was trained on. Sums run in `f64` in
//! the order the updates are given, so every aggregator given the same list computes the
//! same state.
//!
//! With [`Privacy`], the mechanism is the one the job declared on chain and the chain's
//! accountant charges for, DP-FedAvg with Poisson-sampled participants and a fixed
//! denominator (McMahan et al., 2018): each update's change from the round's base state is
//! clipped to the clipping norm C (L2, over all parameters) and weighed by its samples over
//! a full round's; the sum is divided by the participants a round expects (the sampling
//! rate × the job's seats), and Gaussian noise of standard deviation σ × C over those
//! expected participants is added to every coordinate. Adding or removing one participant
//! moves the sum by at most C whoever else was drawn, so the noise depends on nothing the
//! updates say, and a round that drew nobody is its base state and noise. The noise is drawn
//! from the seed the request names, with `libm`'s logarithm and cosine, so that whoever
//! re-computes the aggregate, on whatever machine, draws the same; the answer names the noise
//! it added ([`Aggregate::noise`]), for the aggregate's commitment on chain.

use crate::{
	data::Dataset,
	model::{Architecture, ArchitectureError, Initializer, Network, MAX_PARAMETERS},
	state::{load, save, weights_of, with_weights, StateError},
	store::ContentStore,
	train::TrainError,
};
use burn::tensor::Device;
use rand_chacha::{
	rand_core::{RngCore, SeedableRng},
	ChaCha8Rng,
};
use serde::{Deserialize, Serialize};
use tessera_primitives::digest::{parameters_digest, H256};

/// One contribution to a round, as the chain's request names it.
pub use tessera_primitives::trainer_api::Update;

/// Differential-privacy parameters, as the chain's request names them.
pub use tessera_primitives::trainer_api::AggregatePrivacy as Privacy;

/// The clipping norm of `privacy`.
fn clip_norm(privacy: &Privacy) -> f64 {
	f64::from(privacy.clip_milli) / 1_000.0
}

/// What a private round's sum is divided by, the participants a round expects (the sampling
/// rate × the seats), and the noise's standard deviation, σ × C over them: the noise
/// multiplier times the sensitivity of the average to one participant.
fn calibration(privacy: &Privacy) -> Result<(f64, f64), TrainError> {
	let invalid = TrainError::InvalidHyperParameters;
	if privacy.clip_milli == 0 {
		return Err(invalid("the clipping norm must be positive"));
	}
	if privacy.noise_multiplier_milli < tessera_primitives::privacy::MIN_NOISE_MULTIPLIER_MILLI {
		return Err(invalid("the noise multiplier must be at least 0.1"));
	}
	if privacy.seats == 0 || privacy.sampling.deconstruct() == 0 {
		return Err(invalid("a private round expects participants: seats and a sampling rate"));
	}
	if privacy.samples_per_update == 0 {
		return Err(invalid("a private round trains its participants on samples"));
	}
	let expected =
		f64::from(privacy.sampling.deconstruct()) / 1_000_000_000.0 * f64::from(privacy.seats);
	let std = f64::from(privacy.noise_multiplier_milli) / 1_000.0 * clip_norm(privacy) / expected;
	Ok((expected, std))
}

/// The result of a round: a superset of the chain's
/// [`trainer_api::Aggregate`](tessera_primitives::trainer_api::Aggregate), with the noise
/// added.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
	/// The averaged state.
	pub state_cid: String,
	/// Its weights digest.
	pub weights_digest: H256,
	/// Samples behind it.
	pub samples: u64,
	/// The noise it added, when private: the request's, named back for the aggregate's
	/// commitment.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub noise: Option<Privacy>,
	/// The noise's standard deviation, when private.
	pub noise_std: Option<f64>,
}

/// The shape every state of the round has.
pub struct RoundShape<'a> {
	/// The architecture.
	pub architecture: &'a Architecture,
	/// Input features.
	pub inputs: usize,
	/// Image sides, for a CNN.
	pub image: Option<(usize, usize)>,
	/// Output classes.
	pub classes: usize,
}

/// The bytes an aggregation over `shape` of `dataset` holds at most
/// ([`crate::limits::footprint`]): the data, and, since updates are read one at a time, a
/// blank network, the update's and the base's weights and the sum in `f64` (two values'
/// worth per parameter).
pub fn footprint(shape: &RoundShape, dataset: &Dataset) -> Result<u64, TrainError> {
	shape.architecture.check_depth()?;
	let parameters = shape
		.architecture
		.parameters(shape.inputs, shape.image, shape.classes)
		.filter(|parameters| *parameters <= MAX_PARAMETERS)
		.ok_or(ArchitectureError::TooLarge)?;
	Ok(crate::limits::footprint(&[(dataset.values(), 1), (parameters, 5)]))
}

/// Averages `updates` (see the module docs); `base` is the state the round started from,
/// required for [`Privacy`].
pub fn fed_avg(
	shape: &RoundShape,
	store: &ContentStore,
	base: Option<&str>,
	updates: &[Update],
	privacy: Option<&Privacy>,
) -> Result<Aggregate, TrainError> {
	let total = updates
		.iter()
		.try_fold(0u64, |total, update| total.checked_add(update.samples))
		.ok_or(TrainError::InvalidHyperParameters("the updates' samples overflow a u64"))?;
	// A private round that drew nobody still releases its base state and noise.
	if privacy.is_none() && (updates.is_empty() || total == 0) {
		return Err(TrainError::InvalidHyperParameters("a round needs updates with samples"));
	}
	let calibration = privacy.map(calibration).transpose()?;
	let device = Device::flex();
	let blank = || -> Result<Network, TrainError> {
		Ok(Network::new(
			shape.architecture,
			shape.inputs,
			shape.image,
			shape.classes,
			&mut Initializer::new(0, &device),
		)?)
	};
	let state_weights = |cid: &str| -> Result<Vec<Vec<f32>>, TrainError> {
		Ok(weights_of(&load(blank()?, store, cid)?))
	};
	let base_weights = base.map(state_weights).transpose()?;
	let private = match (privacy, &base_weights) {
		(Some(privacy), Some(base)) => Some((privacy, base)),
		(Some(_), None) => {
			return Err(TrainError::InvalidHyperParameters(
				"private aggregation needs the round's base state",
			))
		}
		(None, _) => None,
	};
	// A private sum starts from the base's layout, which a round without updates keeps.
	let mut sum: Option<Vec<Vec<f64>>> =
		private.map(|(_, base)| base.iter().map(|tensor| vec![0.0; tensor.len()]).collect());
	for update in updates {
		let mut weights = state_weights(&update.state_cid)?;
		let factor = match (private, calibration) {
			(Some((privacy, base)), Some((expected, _))) => {
				if update.samples > privacy.samples_per_update {
					return Err(TrainError::InvalidHyperParameters(
						"an update claims more samples than a round trains on",
					));
				}
				subtract(&mut weights, base);
				let norm =
					weights.iter().flatten().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
				let clip = if norm > clip_norm(privacy) { clip_norm(privacy) / norm } else { 1.0 };
				let weight = update.samples as f64 / privacy.samples_per_update as f64;
				weight * clip / expected
			}
			_ => update.samples as f64 / total as f64,
		};
		let sum = sum
			.get_or_insert_with(|| weights.iter().map(|tensor| vec![0.0; tensor.len()]).collect());
		if sum.len() != weights.len()
			|| sum.iter().zip(&weights).any(|(total, tensor)| total.len() != tensor.len())
		{
			return Err(StateError::Unusable {
				cid: update.state_cid.clone(),
				reason: "its layout differs from the round's".into(),
			}
			.into());
		}
		for (total, tensor) in sum.iter_mut().zip(&weights) {
			for (total, value) in total.iter_mut().zip(tensor) {
				*total += factor * f64::from(*value);
			}
		}
	}
	let mut average = sum.unwrap_or_default();
	let noise_std = match (privacy, calibration) {
		(Some(privacy), Some((_, std))) => {
			let mut noise = Gaussian::new(privacy.seed);
			average.iter_mut().flatten().for_each(|value| *value += std * noise.sample());
			Some(std)
		}
		_ => None,
	};
	let mut weights: Vec<Vec<f32>> =
		average.iter().map(|tensor| tensor.iter().map(|v| *v as f32).collect()).collect();
	if let Some((_, base)) = private {
		for (tensor, base) in weights.iter_mut().zip(base) {
			tensor.iter_mut().zip(base).for_each(|(value, base)| *value += base);
		}
	}
	let state_cid = save(with_weights(blank()?, &weights), store)?;
	Ok(Aggregate {
		state_cid,
		weights_digest: parameters_digest(weights.iter().map(Vec::as_slice)),
		samples: total,
		noise: privacy.copied(),
		noise_std,
	})
}

fn subtract(weights: &mut [Vec<f32>], base: &[Vec<f32>]) {
	for (tensor, base) in weights.iter_mut().zip(base) {
		tensor.iter_mut().zip(base).for_each(|(value, base)| *value -= base);
	}
}

/// Standard normal samples by the Box–Muller transform over a ChaCha8 stream, with `libm`'s
/// logarithm and cosine: the platform's may round differently, and a panel's trainer must
/// draw the very noise the aggregator drew.
struct Gaussian {
	rng: ChaCha8Rng,
}

impl Gaussian {
	fn new(seed: u64) -> Self {
		Self { rng: ChaCha8Rng::seed_from_u64(seed) }
	}

	fn sample(&mut self) -> f64 {
		// 53 random bits, shifted into (0, 1] so that the logarithm is finite.
		let unit = |bits: u64| ((bits >> 11) + 1) as f64 / (1u64 << 53) as f64;
		let (u1, u2) = (unit(self.rng.next_u64()), unit(self.rng.next_u64()));
		(-2.0 * libm::log(u1)).sqrt() * libm::cos(2.0 * core::f64::consts::PI * u2)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn gaussian_samples_have_unit_variance() {
		let mut noise = Gaussian::new(3);
		let samples: Vec<f64> = (0..20_000).map(|_| noise.sample()).collect();
		let mean = samples.iter().sum::<f64>() / samples.len() as f64;
		let variance =
			samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / samples.len() as f64;
		// Standard errors at n = 20 000: 0.007 for the mean, 0.01 for the variance.
		assert!(mean.abs() < 0.03, "{mean}");
		assert!((variance - 1.0).abs() < 0.04, "{variance}");
	}

	#[test]
	fn noise_is_the_declared_multiplier_of_the_clipping_norm_over_the_expected_participants() {
		let privacy = Privacy {
			clip_milli: 2_000,
			noise_multiplier_milli: 1_100,
			seed: 0,
			seats: 8,
			sampling: tessera_primitives::job::Perbill::from_percent(25),
			samples_per_update: 80,
		};
		// Two participants expected: the sum is halved, and so is σ × C.
		let (expected, std) = calibration(&privacy).unwrap();
		assert!((expected - 2.0).abs() < 1e-12 && (std - 1.1 * 2.0 / 2.0).abs() < 1e-12);
		for bad in [
			Privacy { clip_milli: 0, ..privacy },
			Privacy { noise_multiplier_milli: 99, ..privacy },
			Privacy { seats: 0, ..privacy },
			Privacy { sampling: tessera_primitives::job::Perbill::from_parts(0), ..privacy },
			Privacy { samples_per_update: 0, ..privacy },
		] {
			assert!(matches!(calibration(&bad), Err(TrainError::InvalidHyperParameters(_))));
		}
	}
}
