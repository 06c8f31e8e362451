//! Deterministic training with commitments every N steps.
//!
//! Given a [`TrainSpec`], training is a pure function of the spec: weights come from the
//! seed (see `model`), batches from a seeded permutation per epoch, and the optimiser the job
//! names ([`crate::optim`]: SGD, whose state is the weights alone, or Adam or AdamW, whose
//! moments are saved with the weights). So any segment `a..b` can be re-executed from the
//! training state committed at step `a` and must give the same commitments; that is what
//! validators do in a dispute ([`Session::resume`]).
//!
//! Every `checkpoint_every` steps (and after the last) a [`Commitment`] records, with
//! `primitives::digest`'s canonical functions: the per-step losses of the segment, the last
//! step's gradients, the weights, the Merkle root of per-layer weight deltas since the
//! previous checkpoint, and the CIDs of the training state and the gradients, both saved in
//! burn's record format and put in the content store.

use crate::{
	backend::{Arithmetic, Backend},
	data::Dataset,
	limits::{self, OverLimit, MAX_ACTIVATIONS, MAX_CHECKPOINTS, MAX_STEPS},
	model::{Architecture, ArchitectureError, Initializer, Network, MAX_PARAMETERS},
	optim::{Adam, Moments, Optimizer, OptimizerError},
	state::{
		gradients_of, load_agreed, save, save_with_moments, weights_of, with_weights, StartState,
		StateError,
	},
	store::{ContentStore, StoreError},
};
use burn::{
	optim::{GradientsParams, ModuleOptimizer, SgdConfig},
	tensor::{Device, Int, Tensor, TensorData},
};
use rand_chacha::{
	rand_core::{RngCore, SeedableRng},
	ChaCha8Rng,
};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use tessera_primitives::{
	digest::{delta_root, loss_digest, parameters_digest, H256},
	trainer_api::{FORGED, MAX_DISTANCE},
};

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HyperParameters {
	/// The SGD step size.
	pub learning_rate: f64,
	/// Samples per step.
	pub batch_size: usize,
	/// Steps in the whole job.
	pub steps: u64,
	/// Steps between commitments.
	pub checkpoint_every: u64,
	/// The job's seed: initial weights and data order.
	pub seed: u64,
	/// How the weights follow their gradients; SGD when absent.
	#[serde(default, skip_serializing_if = "Optimizer::is_sgd")]
	pub optimizer: Optimizer,
}

/// The optimiser of a session: burn's SGD, or Adam and AdamW with their moments.
enum Stepper {
	Sgd(ModuleOptimizer),
	Adam(Box<Adam>),
}

/// Why training cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
	/// The hyper-parameters make no sense.
	#[error("invalid hyper-parameters: {0}")]
	InvalidHyperParameters(&'static str),
	/// The optimiser's constants define no step. Not a `#[source]`: the message already
	/// carries the reason, and error reports would repeat it as the cause.
	#[error("invalid hyper-parameters: {0}")]
	InvalidOptimizer(OptimizerError),
	/// The job would cost more than the trainer takes on.
	#[error(transparent)]
	OverLimit(#[from] OverLimit),
	/// The architecture does not fit the data.
	#[error(transparent)]
	Architecture(#[from] ArchitectureError),
	/// The dataset has no samples or no classes.
	#[error("the dataset is empty")]
	EmptyDataset,
	/// A training state could not be saved, read or trusted.
	#[error(transparent)]
	State(#[from] StateError),
	/// The loss became NaN or infinite: the learning rate is too high for this model.
	#[error("the loss diverged at step {0}")]
	Diverged(u64),
	/// The run was cancelled before step `{0}`.
	#[error("cancelled before step {0}")]
	Cancelled(u64),
}

/// What a trainer commits to at a checkpoint: a superset of the chain's
/// [`trainer_api::Commitment`](tessera_primitives::trainer_api::Commitment), with the CID of
/// the gradients and the mean loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
	/// Steps completed.
	pub step: u64,
	/// Digest of the per-step losses since the previous checkpoint.
	pub loss_digest: H256,
	/// Digest of the last step's gradients.
	pub gradient_digest: H256,
	/// Digest of the weights after this step.
	pub weights_digest: H256,
	/// Merkle root of the per-layer weight deltas since the previous checkpoint.
	pub delta_root: H256,
	/// CID of the training state after this step.
	pub state_cid: String,
	/// CID of the last step's gradients.
	pub gradient_cid: String,
	/// Samples trained on since the previous checkpoint.
	pub samples: u64,
	/// Mean loss since the previous checkpoint (for people; the digest is what counts).
	pub mean_loss: f32,
}

impl Commitment {
	/// The payload a node reveals on chain for this commitment.
	pub fn payload(
		&self,
		job: tessera_primitives::JobId,
		checkpoint: u32,
		node: tessera_primitives::NodeId,
		backend_class: tessera_primitives::BackendClass,
		work: Option<u64>,
	) -> Result<tessera_primitives::CommitmentPayload, StoreError> {
		let cid = crate::store::parse_cid(&self.state_cid)?;
		let state_cid = tessera_primitives::Cid::try_from(cid.to_bytes())
			.map_err(|_| StoreError::InvalidCid(self.state_cid.clone()))?;
		Ok(tessera_primitives::CommitmentPayload {
			job,
			checkpoint,
			step: self.step,
			loss_digest: self.loss_digest,
			gradient_digest: self.gradient_digest,
			weights_digest: self.weights_digest,
			delta_root: self.delta_root,
			state_cid,
			samples: self.samples,
			backend_class,
			node,
			work,
		})
	}
}

/// One step's result, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
	/// Steps completed.
	pub step: u64,
	/// The step's loss.
	pub loss: f32,
}

/// A training run in progress.
pub struct Session<'a> {
	network: Network,
	optimizer: Stepper,
	device: Device,
	arithmetic: Arithmetic,
	architecture: Architecture,
	dataset: &'a Dataset,
	hyper: HyperParameters,
	store: &'a ContentStore,
	order: EpochOrder,
	step: u64,
}

impl<'a> Session<'a> {
	/// A run from step 0, with initial weights drawn from the seed.
	pub fn start(
		architecture: Architecture,
		dataset: &'a Dataset,
		hyper: HyperParameters,
		backend: Backend,
		store: &'a ContentStore,
	) -> Result<Self, TrainError> {
		check(&architecture, &hyper, dataset)?;
		let device = backend.device().autodiff();
		let network = Network::new(
			&architecture,
			dataset.num_features,
			dataset.image,
			dataset.num_classes,
			&mut Initializer::new(hyper.seed, &device),
		)?;
		let optimizer = match Adam::new(&hyper.optimizer, || Moments::zero(&weights_of(&network))) {
			Some(adam) => Stepper::Adam(Box::new(adam)),
			None => Stepper::Sgd(SgdConfig::new().init()),
		};
		Ok(Self {
			network,
			optimizer,
			arithmetic: backend.arithmetic(),
			order: EpochOrder::new(hyper.seed, dataset.len()),
			device,
			architecture,
			dataset,
			hyper,
			store,
			step: 0,
		})
	}

	/// A run that goes on from the training state `start` committed after `step` steps;
	/// refused unless the state's weights have the digest `start` names. Adam and AdamW go
	/// on with the moments the state carries; they start from zero at step 0 (a job from a
	/// base model) and from a state without moments (a round from its aggregate).
	pub fn resume(
		architecture: Architecture,
		dataset: &'a Dataset,
		hyper: HyperParameters,
		backend: Backend,
		store: &'a ContentStore,
		start: &StartState,
		step: u64,
	) -> Result<Self, TrainError> {
		let mut session = Self::start(architecture, dataset, hyper, backend, store)?;
		if step > session.hyper.steps {
			return Err(StateError::Unusable {
				cid: start.state_cid.clone(),
				reason: format!("step {step} is past the job's {} steps", session.hyper.steps),
			}
			.into());
		}
		let (network, moments) = load_agreed(session.network, store, start)?;
		if let (Stepper::Adam(adam), Some(moments)) = (&mut session.optimizer, moments) {
			if step > 0 {
				if !moments.fit(&weights_of(&network)) {
					return Err(StateError::Unusable {
						cid: start.state_cid.clone(),
						reason: "its moments are not shaped as its weights".into(),
					}
					.into());
				}
				adam.go_on_from(moments);
			}
		}
		session.network = network;
		session.step = step;
		Ok(session)
	}

	/// Steps completed so far.
	pub fn step(&self) -> u64 {
		self.step
	}

	/// The step of the next commitment: the next multiple of `checkpoint_every`, or the
	/// job's last step if that comes first (as it does when the multiple is past `u64::MAX`).
	pub fn next_checkpoint(&self) -> u64 {
		let every = self.hyper.checkpoint_every;
		self.step.saturating_add(every - self.step % every).min(self.hyper.steps)
	}

	/// The architecture being trained.
	pub fn architecture(&self) -> &Architecture {
		&self.architecture
	}

	/// The current weights in canonical parameter order.
	pub fn weights(&self) -> Vec<Vec<f32>> {
		weights_of(&self.network)
	}

	/// How far each of `claims` lies from the weights this session reached from the weights
	/// `start` ([`distance`]): [`FORGED`] for content that is not a state of this network
	/// whose weights have the digest named for it. Each claim is loaded and dropped in turn,
	/// within the weight copies a run's footprint counts.
	pub fn distances(
		&self,
		start: &[Vec<f32>],
		claims: &[StartState],
	) -> Result<Vec<u32>, TrainError> {
		let result = self.weights();
		claims
			.iter()
			.map(|claim| match load_agreed(self.network.clone(), self.store, claim) {
				Ok((network, _)) => Ok(distance(&weights_of(&network), &result, start)),
				Err(StateError::WrongWeights { .. } | StateError::Unusable { .. }) => Ok(FORGED),
				Err(error) => Err(error.into()),
			})
			.collect()
	}

	/// Trains up to step `until` (at most the job's steps), committing at every checkpoint on
	/// the way, and reports each step to `progress`.
	pub fn run_until(
		&mut self,
		until: u64,
		progress: impl FnMut(StepReport),
	) -> Result<Vec<Commitment>, TrainError> {
		self.run_until_cancelled(until, progress, &AtomicBool::new(false))
	}

	/// [`Self::run_until`], stopping with [`TrainError::Cancelled`] before the next step once
	/// `cancelled` is set.
	pub fn run_until_cancelled(
		&mut self,
		until: u64,
		mut progress: impl FnMut(StepReport),
		cancelled: &AtomicBool,
	) -> Result<Vec<Commitment>, TrainError> {
		let until = until.min(self.hyper.steps);
		let mut commitments = Vec::new();
		let mut losses = Vec::new();
		let mut segment_start = self.weights();
		while self.step < until {
			if cancelled.load(Ordering::Relaxed) {
				return Err(TrainError::Cancelled(self.step.saturating_add(1)));
			}
			let (loss, grads) = self.train_step()?;
			losses.push(loss);
			progress(StepReport { step: self.step, loss });
			if self.step % self.hyper.checkpoint_every == 0 || self.step == self.hyper.steps {
				let commitment = self.commit(&losses, &grads, &segment_start)?;
				commitments.push(commitment);
				losses.clear();
				segment_start = self.weights();
			}
		}
		Ok(commitments)
	}

	fn train_step(&mut self) -> Result<(f32, Vec<Vec<f32>>), TrainError> {
		let indices = self.order.batch(self.step, self.hyper.batch_size)?;
		let features: Vec<f32> =
			indices.iter().flat_map(|index| self.dataset.sample(*index)).copied().collect();
		let labels: Vec<i64> = indices
			.iter()
			.flat_map(|index| self.dataset.sample_labels(*index))
			.map(|label| i64::from(*label))
			.collect();
		let x = Tensor::<2>::from_data(
			TensorData::new(features, [indices.len(), self.dataset.num_features]),
			&self.device,
		);
		let y = Tensor::<1, Int>::from_data(
			TensorData::new(labels.clone(), [labels.len()]),
			&self.device,
		);
		let logits = self.network.forward(x, self.arithmetic);
		let loss = self.arithmetic.cross_entropy(logits, y);
		let value = loss.clone().into_scalar::<f32>();
		self.step += 1;
		if !value.is_finite() {
			return Err(TrainError::Diverged(self.step));
		}
		let grads = GradientsParams::from_grads(loss.backward(), &self.network);
		let gradients = gradients_of(&self.network, &grads);
		let network = self.network.clone();
		self.network = match &mut self.optimizer {
			Stepper::Sgd(sgd) => sgd.step(self.hyper.learning_rate, network, grads),
			Stepper::Adam(adam) => {
				let mut weights = weights_of(&network);
				adam.step(&mut weights, &gradients, self.hyper.learning_rate as f32);
				with_weights(network, &weights)
			}
		};
		Ok((value, gradients))
	}

	fn commit(
		&self,
		losses: &[f32],
		gradients: &[Vec<f32>],
		segment_start: &[Vec<f32>],
	) -> Result<Commitment, TrainError> {
		let weights = self.weights();
		let delta_root =
			delta_root(segment_start.iter().map(Vec::as_slice), weights.iter().map(Vec::as_slice))
				.map_err(|error| {
					StateError::Record(format!("layout changed during training: {error:?}"))
				})?;
		let state_cid = match &self.optimizer {
			Stepper::Sgd(_) => save(self.network.clone(), self.store)?,
			Stepper::Adam(adam) => {
				save_with_moments(self.network.clone(), adam.moments(), self.store)?
			}
		};
		let gradient_cid = save(with_weights(self.network.clone(), gradients), self.store)?;
		Ok(Commitment {
			step: self.step,
			loss_digest: loss_digest(losses),
			gradient_digest: parameters_digest(gradients.iter().map(Vec::as_slice)),
			weights_digest: parameters_digest(weights.iter().map(Vec::as_slice)),
			delta_root,
			state_cid,
			gradient_cid,
			samples: (losses.len() as u64)
				.checked_mul(self.hyper.batch_size as u64)
				.ok_or_else(samples_overflow)?,
			mean_loss: losses.iter().sum::<f32>() / losses.len().max(1) as f32,
		})
	}
}

/// How far `claimed` lies from `result`, a segment's re-execution from `start`, in parts per
/// billion of how far the segment moved the weights: `10⁹ × ‖claimed − result‖₂ /
/// ‖result − start‖₂`, every value in canonical order (see
/// [`Reexecution::distances`](tessera_primitives::trainer_api::Reexecution::distances)).
/// The squares are summed in `f64` one after the other and the quotient has one correctly
/// rounded square root, so the same states give the same number on every machine. A claim
/// with a NaN or an infinity, or any other claim than `result` when the segment did not move
/// the weights, measures [`MAX_DISTANCE`].
pub fn distance(claimed: &[Vec<f32>], result: &[Vec<f32>], start: &[Vec<f32>]) -> u32 {
	let squared = |one: &[Vec<f32>], other: &[Vec<f32>]| {
		one.iter().flatten().zip(other.iter().flatten()).fold(0.0f64, |sum, (x, y)| {
			let difference = f64::from(*x) - f64::from(*y);
			sum + difference * difference
		})
	};
	let (off, moved) = (squared(claimed, result), squared(result, start));
	if off == 0.0 {
		return 0;
	}
	let ppb = (off / moved).sqrt() * 1e9;
	// NaN and infinity (a zero move among them) fail the comparison.
	if ppb < f64::from(MAX_DISTANCE) {
		ppb as u32
	} else {
		MAX_DISTANCE
	}
}

/// The largest batch a job may ask for.
pub const MAX_BATCH: usize = 4096;

/// A sample position or count (`step × batch size`) past `u64::MAX`: [`MAX_STEPS`] and
/// [`MAX_BATCH`] rule it out before training starts.
fn samples_overflow() -> TrainError {
	TrainError::InvalidHyperParameters("steps × batch size overflows")
}

impl HyperParameters {
	/// Refuses settings that make no sense or that cost more than the trainer takes on
	/// ([`crate::limits`]). It needs nothing but the settings, so it comes before any data
	/// is loaded.
	pub fn check(&self) -> Result<(), TrainError> {
		let invalid = TrainError::InvalidHyperParameters;
		if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
			return Err(invalid("the learning rate must be a positive number"));
		}
		if self.batch_size == 0 {
			return Err(invalid("the batch size must be positive"));
		}
		if self.steps == 0 || self.checkpoint_every == 0 {
			return Err(invalid("steps and checkpoint interval must be positive"));
		}
		if self.batch_size > MAX_BATCH {
			return Err(invalid("the batch size is above the trainer's limit of 4096"));
		}
		crate::optim::check(&self.optimizer).map_err(TrainError::InvalidOptimizer)?;
		OverLimit::check("MAX_STEPS", "the step count", Some(self.steps.into()), MAX_STEPS.into())?;
		let checkpoints = self.steps.div_ceil(self.checkpoint_every);
		OverLimit::check(
			"MAX_CHECKPOINTS",
			"the number of commitments (steps ÷ checkpoint interval)",
			Some(checkpoints.into()),
			MAX_CHECKPOINTS.into(),
		)?;
		Ok(())
	}
}

/// The bytes a run of `architecture` on `dataset` holds at most ([`limits::footprint`]):
/// its data, copies of its weights (and moments), a step's activations, a segment's losses
/// and the epoch's sample order. Counted from the shapes after the bounds are checked (as
/// [`Session::start`] checks them), before the network is built.
pub fn footprint(
	architecture: &Architecture,
	hyper: &HyperParameters,
	dataset: &Dataset,
) -> Result<u64, TrainError> {
	let activations = check(architecture, hyper, dataset)?;
	let parameters = architecture
		.parameters(dataset.num_features, dataset.image, dataset.num_classes)
		.filter(|parameters| *parameters <= MAX_PARAMETERS)
		.ok_or(ArchitectureError::TooLarge)?;
	let weights = if hyper.optimizer.is_sgd() {
		limits::WEIGHT_COPIES
	} else {
		limits::WEIGHT_COPIES + limits::MOMENT_COPIES
	};
	// Within MAX_STEPS, so it fits a `usize` wherever one has 32 bits or more.
	let losses = usize::try_from(hyper.checkpoint_every.min(hyper.steps)).unwrap_or(usize::MAX);
	Ok(limits::footprint(&[
		(dataset.values(), 1),
		(parameters, weights),
		(activations, limits::ACTIVATION_COPIES),
		(losses, 1),
		// A `usize` per sample: two 32-bit values on 64-bit machines.
		(dataset.len(), 2),
	]))
}

/// Checks a run's settings against its data and the bounds; the activations of one step.
fn check(
	architecture: &Architecture,
	hyper: &HyperParameters,
	dataset: &Dataset,
) -> Result<usize, TrainError> {
	hyper.check()?;
	if dataset.is_empty() || dataset.num_classes == 0 {
		return Err(TrainError::EmptyDataset);
	}
	// Before `products`, which goes through the layers one by one.
	architecture.check_depth()?;
	let products = architecture.products(dataset.num_features, dataset.image, dataset.num_classes);
	let activations = products
		.iter()
		.try_fold(0usize, |sum, (rows, _, fan_out)| sum.checked_add(rows.checked_mul(*fan_out)?))
		.and_then(|per_sample| per_sample.checked_mul(hyper.batch_size));
	OverLimit::check(
		"MAX_ACTIVATIONS",
		"the activation count of one step (batch size × outputs of a sample's products)",
		activations.map(|n| n as u128),
		MAX_ACTIVATIONS as u128,
	)?;
	// Some, once within the bound.
	Ok(activations.unwrap_or(usize::MAX))
}

/// The sample order: a fresh seeded permutation of the dataset each epoch, so that step `s`
/// trains on the same samples whether the run started at 0 or resumed at `s`.
struct EpochOrder {
	seed: u64,
	len: usize,
	cached: Option<(u64, Vec<usize>)>,
}

impl EpochOrder {
	fn new(seed: u64, len: usize) -> Self {
		Self { seed, len, cached: None }
	}

	fn batch(&mut self, step: u64, batch_size: usize) -> Result<Vec<usize>, TrainError> {
		let size = batch_size as u64;
		let first = step.checked_mul(size).ok_or_else(samples_overflow)?;
		let end = first.checked_add(size).ok_or_else(samples_overflow)?;
		let len = self.len as u64;
		Ok((first..end)
			.map(|position| self.permutation(position / len)[(position % len) as usize])
			.collect())
	}

	fn permutation(&mut self, epoch: u64) -> &[usize] {
		if self.cached.as_ref().is_none_or(|(cached, _)| *cached != epoch) {
			let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
			rng.set_stream(epoch);
			let mut order: Vec<usize> = (0..self.len).collect();
			// Fisher–Yates, with a modulo draw whose bias (< len / 2^64) no replica can exploit.
			for index in (1..order.len()).rev() {
				let other = (rng.next_u64() % (index as u64 + 1)) as usize;
				order.swap(index, other);
			}
			self.cached = Some((epoch, order));
		}
		self.cached.as_ref().map_or(&[], |(_, order)| order.as_slice())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_claim_is_measured_in_parts_per_billion_of_the_segments_move() {
		let (start, result) = (vec![vec![0.0, 0.0], vec![0.0]], vec![vec![3.0, 0.0], vec![4.0]]);
		assert_eq!(distance(&result, &result, &start), 0);
		assert_eq!(distance(&start, &result, &start), 1_000_000_000, "not trained at all");
		assert_eq!(distance(&[vec![3.0, 0.05], vec![4.0]], &result, &start), 10_000_000);
		assert_eq!(distance(&[vec![3.0, f32::NAN], vec![4.0]], &result, &start), MAX_DISTANCE);
		assert_eq!(distance(&[vec![f32::MAX, 0.0], vec![4.0]], &result, &start), MAX_DISTANCE);
		assert_eq!(distance(&result, &start, &start), MAX_DISTANCE, "nothing moved but the claim");
	}
}
