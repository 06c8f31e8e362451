//! The trainer's HTTP API as a node's off-chain worker speaks it.
//!
//! The worker sends `POST /v1/jobs` with a [`JobRequest`] built from the chain's [`JobSpec`]
//! until the [`JobStatus`] it answers with holds the commitments that become the
//! [`CommitmentPayload`]s it commits and reveals: the trainer starts a job id it does not
//! know (again, after a restart) and reports the progress of one it knows.
//!
//! A validator's worker on a dispute panel sends `POST /v1/verify` with a [`VerifyRequest`]
//! and reads the segment's result from the [`Reexecution`]; one checking availability sends
//! `POST /v1/blobs/{cid}/fetch` with a [`FetchRequest`] and reads [`Stored`]. An aggregator
//! of a federated round sends `POST /v1/aggregate` with an [`AggregateRequest`] and reads
//! the [`Aggregate`]; a participant's [`JobRequest`] names its [`Round`] and shard.
//!
//! The requests are the trainer's contract: the trainer deserialises these very types, so
//! they name everything it accepts, including what no worker sends — a built-in
//! [`Dataset`], the [`Backend`]s outside the chain's classes, a [`VerifyRequest`] without a
//! job id — for people who ask a trainer directly. The answers are the part of the trainer's
//! reports the worker reads: the trainer's own (`tessera_trainer::api::types`) are supersets,
//! and fields the worker does not need (a commitment's mean loss, say) are ignored when
//! parsing. The trainer's tests hold both sides to it.

use crate::{
	job::{Architecture, JobSpec, TrainedWeights, MAX_CID_LEN},
	BackendClass, Cid, CommitmentPayload, JobId, NodeId,
};
use alloc::{format, string::String, vec::Vec};
use data_encoding::{BASE32_NOPAD, HEXLOWER, HEXLOWER_PERMISSIVE};
use polkadot_sdk::sp_core::H256;
use serde::{Deserialize, Serialize};

/// Where a node's trainer listens unless its operator says otherwise.
pub const DEFAULT_TRAINER_URL: &str = "http://127.0.0.1:7070";
/// The persistent offchain storage prefix of a node key's trainer URL: the worker reads the
/// URL of the trainer it calls for a node key under this prefix followed by the key's public
/// key bytes ([`DEFAULT_TRAINER_URL`] where none is set).
pub const TRAINER_URL_PREFIX: &[u8] = b"tessera/proof-of-compute/trainer-url/";
/// The persistent offchain storage prefix of a node key's trainer token, keyed as
/// [`TRAINER_URL_PREFIX`]: the bearer token the worker sends its trainer's control API
/// (`Authorization: Bearer <token>`), none where none is set.
pub const TRAINER_TOKEN_PREFIX: &[u8] = b"tessera/proof-of-compute/trainer-token/";

/// The network, in the trainer's JSON. Its sizes, like a [`Training`]'s batch size, are wider
/// than the chain's, so that a trainer refuses a size no job names with the limit it exceeds
/// rather than as JSON it cannot read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Network {
	/// See [`Architecture::Mlp`].
	Mlp {
		/// Hidden layer widths.
		hidden: Vec<u64>,
	},
	/// See [`Architecture::Cnn`].
	Cnn {
		/// Output channels of the two convolutions.
		channels: [u64; 2],
	},
	/// See [`Architecture::CharTransformer`].
	CharTransformer {
		/// Bytes of context.
		context: u64,
		/// Model width.
		width: u64,
		/// Transformer blocks.
		layers: u64,
	},
}

impl From<&Architecture> for Network {
	fn from(architecture: &Architecture) -> Self {
		match architecture {
			Architecture::Mlp { hidden } => {
				Network::Mlp { hidden: hidden.iter().copied().map(u64::from).collect() }
			}
			Architecture::Cnn { channels } => Network::Cnn { channels: channels.map(u64::from) },
			Architecture::CharTransformer { context, width, layers } => Network::CharTransformer {
				context: u64::from(*context),
				width: u64::from(*width),
				layers: u64::from(*layers),
			},
		}
	}
}

/// The data, in the trainer's JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dataset {
	/// A dataset compiled into the trainer. The chain names its data by CID, so no worker
	/// sends one.
	Builtin(BuiltinDataset),
	/// Content in the trainer's store (or fetched into it), by CID string.
	Cid(String),
	/// Texts carried by the job.
	Texts(Vec<String>),
}

/// The datasets compiled into the trainer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuiltinDataset {
	/// 1 797 handwritten digits, 8×8 grey levels; 10 classes.
	Digits,
	/// 150 iris flowers, 4 measurements; 3 classes.
	Iris,
	/// 569 breast-cancer biopsies, 30 measurements; 2 classes.
	BreastCancer,
}

/// Hyper-parameters, in the trainer's JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Training {
	/// The SGD step size.
	pub learning_rate: f64,
	/// Samples per step.
	pub batch_size: u64,
	/// Steps in the job.
	pub steps: u64,
	/// Steps between commitments.
	pub checkpoint_every: u64,
	/// Seeds the initial weights and the data order.
	pub seed: u64,
	/// How the weights follow their gradients; SGD when absent.
	#[serde(default, skip_serializing_if = "Optimizer::is_sgd")]
	pub optimizer: Optimizer,
}

/// The job's [`job::Optimizer`](crate::job::Optimizer), in the trainer's JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Optimizer {
	/// Stochastic gradient descent.
	#[default]
	Sgd,
	/// Adam, its weight decay added to the gradient.
	Adam(AdamConstants),
	/// AdamW, its weight decay applied to the weights.
	AdamW(AdamConstants),
}

/// Adam's and AdamW's constants, as fractions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamConstants {
	/// β₁.
	pub beta1: f64,
	/// β₂.
	pub beta2: f64,
	/// ε.
	pub epsilon: f64,
	/// λ.
	pub weight_decay: f64,
}

impl Optimizer {
	/// Whether it is plain SGD, which the JSON leaves out.
	pub fn is_sgd(&self) -> bool {
		*self == Optimizer::Sgd
	}
}

impl From<&crate::job::Optimizer> for Optimizer {
	fn from(optimizer: &crate::job::Optimizer) -> Self {
		use crate::job::Optimizer as Chain;
		let constants = |chain: &crate::job::AdamParameters| AdamConstants {
			beta1: fraction(chain.beta1),
			beta2: fraction(chain.beta2),
			epsilon: fraction(chain.epsilon),
			weight_decay: fraction(chain.weight_decay),
		};
		match optimizer {
			Chain::Sgd => Optimizer::Sgd,
			Chain::Adam(chain) => Optimizer::Adam(constants(chain)),
			Chain::AdamW(chain) => Optimizer::AdamW(constants(chain)),
		}
	}
}

/// A chain fraction as the trainer's number: parts per billion over 10⁹, one correctly
/// rounded division, so every trainer reads the same value.
fn fraction(value: crate::job::Perbill) -> f64 {
	f64::from(value.deconstruct()) / 1e9
}

/// The trainer backend a job runs on. The worker names its job's [`BackendClass`]'s
/// (`reference` or `wgpu`); a trainer runs a GPU backend only if it was built with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
	/// The bit-exact CPU backend: [`BackendClass::CpuReference`].
	Reference,
	/// The CPU backend with the fastest kernels: reproducible on one machine only, so in no
	/// backend class, and no job names it.
	Cpu,
	/// The portable GPU backend: [`BackendClass::Gpu`].
	Wgpu,
	/// NVIDIA GPUs through CUDA. Its digests agree only on the same device model and
	/// driver, as wgpu's do, but the worker asks for `wgpu` for [`BackendClass::Gpu`].
	Cuda,
}

/// `POST /v1/jobs`: train the chain's job `job`, or report how far it got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
	/// The chain's job id; the trainer trains each id once.
	pub job: JobId,
	/// What to train.
	#[serde(flatten)]
	pub spec: TrainingSpec,
}

/// What to train: everything that decides the commitments. A [`JobRequest`] and a
/// [`VerifyRequest`] carry it, its fields beside theirs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSpec {
	/// The network.
	pub architecture: Network,
	/// The data.
	pub dataset: Dataset,
	/// How to train.
	pub hyper_parameters: Training,
	/// Where to train.
	pub backend: Backend,
	/// The training state to start from; absent to start from the seed.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub base_state: Option<StartState>,
	/// Where a replica that took over mid-job resumes; absent to train from the start.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub resume: Option<Resume>,
	/// For a round of a federated job: which round, and the shard of the data to train on;
	/// absent to train on all of it.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub round: Option<Round>,
}

/// A round of a federated job and the participant's data shard in it: the samples whose
/// index is `shard` modulo `shards`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
	/// The round.
	pub round: u32,
	/// The participant's shard.
	pub shard: u32,
	/// Shards the data is split into.
	pub shards: u32,
}

/// A training state the chain names, in the trainer's JSON: the trainer refuses to start
/// from content under the CID whose weights digest is not `weights_digest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartState {
	/// The state's CID string.
	pub state_cid: String,
	/// The weights digest agreed for it, `0x`-prefixed hex.
	pub weights_digest: String,
}

impl StartState {
	/// The weights digest the state must have.
	pub fn digest(&self) -> Result<H256, WireError> {
		parse_digest(&self.weights_digest)
	}
}

impl From<&TrainedWeights> for StartState {
	fn from(state: &TrainedWeights) -> Self {
		Self {
			state_cid: cid_to_string(&state.weights),
			weights_digest: format!("0x{}", HEXLOWER.encode(state.digest.as_bytes())),
		}
	}
}

/// A committed state and the step it was committed at, to resume training from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
	/// The state.
	#[serde(flatten)]
	pub state: StartState,
	/// Steps completed in it.
	pub step: u64,
}

/// Why a job or a report cannot cross between chain and trainer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WireError {
	/// An inline text is not UTF-8.
	TextNotUtf8,
	/// A CID is not a base32 CIDv1 or too long for the chain.
	BadCid(String),
	/// A digest is not 32 bytes of hex.
	BadDigest(String),
}

impl TrainingSpec {
	/// What the chain's `spec` trains, from its start.
	pub fn of(spec: &JobSpec) -> Result<Self, WireError> {
		let dataset = if spec.texts.is_empty() {
			Dataset::Cid(cid_to_string(&spec.dataset))
		} else {
			let texts = spec
				.texts
				.iter()
				.map(|text| String::from_utf8(text.to_vec()).map_err(|_| WireError::TextNotUtf8));
			Dataset::Texts(texts.collect::<Result<_, _>>()?)
		};
		let hyper = &spec.hyper_parameters;
		Ok(Self {
			architecture: Network::from(&spec.architecture),
			dataset,
			hyper_parameters: Training {
				learning_rate: fraction(hyper.learning_rate),
				batch_size: u64::from(hyper.batch_size),
				steps: u64::from(hyper.steps),
				checkpoint_every: u64::from(hyper.checkpoint_every),
				seed: hyper.seed,
				optimizer: Optimizer::from(&hyper.optimizer),
			},
			backend: match spec.backend {
				BackendClass::CpuReference => Backend::Reference,
				BackendClass::Gpu => Backend::Wgpu,
			},
			base_state: spec.base_state().as_ref().map(StartState::from),
			resume: None,
			round: None,
		})
	}
}

impl JobRequest {
	/// The request that trains `spec` as job `job`.
	pub fn new(job: JobId, spec: &JobSpec) -> Result<Self, WireError> {
		Ok(Self { job, spec: TrainingSpec::of(spec)? })
	}

	/// The same request for a replica that resumes `state`, committed after `step` steps.
	pub fn resuming(mut self, state: &TrainedWeights, step: u64) -> Self {
		self.spec.resume = Some(Resume { state: state.into(), step });
		self
	}

	/// The same request for round `round` of a federated job, on data shard `shard` of
	/// `shards`.
	pub fn in_round(mut self, round: u32, shard: u32, shards: u32) -> Self {
		self.spec.round = Some(Round { round, shard, shards });
		self
	}
}

/// `POST /v1/aggregate`: the sample-weighted federated average of a round's updates, as an
/// aggregator or a panel re-computing a challenged aggregate asks for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggregateRequest {
	/// The network every update is a state of.
	pub architecture: Network,
	/// The job's data (it fixes the input and output sizes).
	pub dataset: Dataset,
	/// The state the round started from; absent for a job that starts from its seed.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub base_state_cid: Option<String>,
	/// The updates, in the order the chain lists the round's inputs.
	pub updates: Vec<Update>,
	/// The noise the aggregate adds, for a private job.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub privacy: Option<AggregatePrivacy>,
}

/// The noise a private job's round aggregate adds, as the job declared it on chain
/// ([`crate::DpParameters`]), and as the aggregate's commitment names it.
///
/// The mechanism is DP-FedAvg's with a fixed denominator (McMahan et al., "Learning
/// Differentially Private Recurrent Language Models", 2018): each of the job's `seats`
/// participants takes part in a round with probability `sampling`; every update's change from
/// the round's start state is clipped to an L2 norm of `C = clip_milli / 1000` and weighed by
/// its samples over `samples_per_update` (at most one); the weighed sum is divided by the
/// participants a round expects, `sampling × seats`, and Gaussian noise of standard deviation
/// `σ × C / (sampling × seats)` (σ = `noise_multiplier_milli / 1000`) is added to every
/// coordinate, drawn from `seed`. Adding or removing one participant moves the sum by at
/// most `C`, whoever else was sampled: the sampled Gaussian mechanism the chain's accountant
/// ([`crate::privacy::epsilon`]) charges for.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Serialize,
	Deserialize,
	codec::Encode,
	codec::Decode,
	codec::DecodeWithMemTracking,
	codec::MaxEncodedLen,
	scale_info::TypeInfo,
)]
pub struct AggregatePrivacy {
	/// The clipping norm, in thousandths.
	pub clip_milli: u32,
	/// The noise multiplier σ, in thousandths.
	pub noise_multiplier_milli: u32,
	/// Seeds the noise.
	pub seed: u64,
	/// The job's participant seats.
	pub seats: u32,
	/// The chance that a participant takes part in a round.
	pub sampling: crate::job::Perbill,
	/// The samples a round trains a participant on (`checkpoint_every × batch_size`): an
	/// update's weight is its samples over these.
	pub samples_per_update: u64,
}

impl AggregatePrivacy {
	/// The noise of a round drawn from `round_seed` (the randomness the chain fixed when the
	/// round opened) of a job that declared `parameters` for `seats` participants each
	/// training `samples_per_update` samples a round. The noise's seed hashes the round's
	/// randomness, so that the aggregator and every panel member re-computing the aggregate
	/// draw the same noise, no two rounds draw the same, and neither does a round opened
	/// again after a rewind, whose updates differ: the same noise over two different sums
	/// would cancel in their difference.
	pub fn of(
		parameters: &crate::DpParameters,
		round_seed: &H256,
		seats: u32,
		samples_per_update: u64,
	) -> Self {
		let hash = polkadot_sdk::sp_crypto_hashing::blake2_256(&codec::Encode::encode(&(
			b"tessera/dp-noise",
			round_seed,
		)));
		let mut seed = [0u8; 8];
		seed.copy_from_slice(&hash[..8]);
		Self {
			clip_milli: parameters.clip_milli,
			noise_multiplier_milli: parameters.noise_multiplier_milli,
			seed: u64::from_le_bytes(seed),
			seats,
			sampling: parameters.sampling,
			samples_per_update,
		}
	}
}

/// One participant's update to a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
	/// Its state's CID string.
	pub state_cid: String,
	/// Samples it was trained on.
	pub samples: u64,
}

impl AggregateRequest {
	/// The request that averages `updates` (state CID bytes and samples) of a round of
	/// `spec` that started from the state with CID bytes `base` (empty for the seed).
	pub fn new<'a>(
		spec: &JobSpec,
		base: &[u8],
		updates: impl IntoIterator<Item = (&'a [u8], u64)>,
	) -> Result<Self, WireError> {
		let TrainingSpec { architecture, dataset, .. } = TrainingSpec::of(spec)?;
		Ok(Self {
			architecture,
			dataset,
			base_state_cid: (!base.is_empty()).then(|| cid_to_string(base)),
			updates: updates
				.into_iter()
				.map(|(state, samples)| Update { state_cid: cid_to_string(state), samples })
				.collect(),
			privacy: None,
		})
	}

	/// The same request with the noise a private job declared.
	pub fn with_privacy(self, privacy: Option<AggregatePrivacy>) -> Self {
		Self { privacy, ..self }
	}
}

/// The answer to `POST /v1/aggregate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
	/// The averaged state's CID string.
	pub state_cid: String,
	/// Its weights digest, `0x`-prefixed hex.
	pub weights_digest: String,
	/// Samples behind it.
	pub samples: u64,
	/// The noise it added, for a private job: what the aggregate's commitment names.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub noise: Option<AggregatePrivacy>,
}

impl Aggregate {
	/// The averaged state's weights digest.
	pub fn digest(&self) -> Result<H256, WireError> {
		parse_digest(&self.weights_digest)
	}
}

/// Where the trainer is with a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
	/// Training.
	Running,
	/// Every step trained and committed.
	Done,
	/// Stopped by an error.
	Failed,
}

/// The answer to `POST /v1/jobs` and `GET /v1/jobs/{job}`: a job's progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
	/// The job.
	pub job: JobId,
	/// Where it is.
	pub state: RunState,
	/// Commitments so far, one per checkpoint in order, from the first after `resume`.
	pub commitments: Vec<Commitment>,
	/// Why it failed.
	#[serde(default)]
	pub error: Option<String>,
	/// Work units of the run, once done: its steps × batch size × the architecture's work per
	/// sample ([`work_of_steps`](crate::job::work_of_steps)), what the chain pays for them.
	#[serde(default)]
	pub work: Option<u64>,
}

/// `POST /v1/verify`: re-execute steps `from_step..to_step` of a job from a committed
/// state, as a dispute panel member does.
///
/// A re-execution runs on the reference backend, whatever backend the job trained on:
/// disputes are settled there, the one backend every panel member reproduces bit for bit.
/// The trainer refuses one that names another. A GPU job's replicas cannot be held to the
/// reference's digests, so its segment is judged by how far each replica's state lies from
/// the reference result: the request names those states (`measure`), and the answer says
/// their [`distances`](Reexecution::distances).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
	/// The job the segment is of. The worker names it, but what a segment commits depends on
	/// the spec alone, so the trainer does not need it.
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub job: Option<JobId>,
	/// The job's spec, as the replicas were asked to train it.
	#[serde(flatten)]
	pub spec: TrainingSpec,
	/// The state the segment starts from; absent for the job's own start (its base state or
	/// its seed).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub start_state: Option<StartState>,
	/// Steps completed in that state.
	pub from_step: u64,
	/// The step to re-execute up to.
	pub to_step: u64,
	/// States claimed for `to_step` to measure against the re-execution's: a GPU job's
	/// replicas' (see [`Reexecution::distances`]); none for a job on the reference backend,
	/// whose claims are compared by digest.
	#[serde(default, skip_serializing_if = "Vec::is_empty")]
	pub measure: Vec<StartState>,
}

impl VerifyRequest {
	/// The request that re-executes steps `from_step..to_step` of `spec`, job `job`, from
	/// `start` (`None` for the job's own start), on the reference backend.
	pub fn new(
		job: JobId,
		spec: &JobSpec,
		start: Option<&TrainedWeights>,
		from_step: u64,
		to_step: u64,
	) -> Result<Self, WireError> {
		Ok(Self {
			job: Some(job),
			spec: TrainingSpec { backend: Backend::Reference, ..TrainingSpec::of(spec)? },
			start_state: start.map(StartState::from),
			from_step,
			to_step,
			measure: Vec::new(),
		})
	}

	/// The same request measuring `claims` against its result.
	pub fn measuring<'a>(self, claims: impl IntoIterator<Item = &'a TrainedWeights>) -> Self {
		Self { measure: claims.into_iter().map(StartState::from).collect(), ..self }
	}

	/// The same request re-executing a participant's update of a federated round: on the
	/// participant's shard of the data, as the participant was asked to train it.
	pub fn on_shard(mut self, round: Round) -> Self {
		self.spec.round = Some(round);
		self
	}
}

/// The answer to `POST /v1/verify`: the commitments the re-execution made, in step order;
/// none (with status `202`) while it still runs, and the worker asks again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reexecution {
	/// One per checkpoint of the segment; the last is the segment's result.
	pub commitments: Vec<Commitment>,
	/// The distance of each state the request named to `measure`, in its order, from the
	/// segment's result: `10⁹ × ‖claimed − result‖₂ / ‖result − start‖₂` over every weight
	/// in canonical order, in parts per billion of what the segment moved the weights (`0`
	/// for the result itself; at most [`MAX_DISTANCE`], which any other claim measures when
	/// the segment left the weights where they started), or [`FORGED`] for content that is
	/// not a state of the job's network with the weights digest named for it. The
	/// reference backend computes it (sums in `f64`, in order, one correctly rounded square
	/// root and division), so every panel member measures the same number.
	#[serde(default)]
	pub distances: Vec<u32>,
}

/// The largest distance a measured state can have (see [`Reexecution::distances`]): about
/// 4.3 times what the segment moved the weights.
pub const MAX_DISTANCE: u32 = u32::MAX - 1;
/// The farthest a GPU replica's state may lie from the reference re-execution of its segment
/// and still count as that segment trained: 5% of what the segment moved the weights
/// (50 000 000 parts per billion; see [`Reexecution::distances`]). One segment's rounding
/// differences between devices, from one start state, stay orders of magnitude below it
/// (the trainer's native CPU kernels, which round otherwise than the reference's, land 337
/// parts per billion away on its tests' ten-step segment); skipping a share of the
/// segment's steps, or training it on other data or with other hyper-parameters, does not.
/// The chain convicts a replica past it (the proof-of-compute pallet's dispute module).
pub const GPU_TOLERANCE: u32 = 50_000_000;
/// The distance of a claimed state that no execution produced: its content is not a state
/// of the job's network whose weights have the digest revealed with it.
pub const FORGED: u32 = u32::MAX;

/// `POST /v1/blobs/{cid}/fetch`: fetch content by CID from another trainer, as a validator
/// checking availability does; the trainer keeps it only if it matches the CID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
	/// The other trainer's base URL.
	pub peer: String,
}

/// The answer to a fetch: what was stored, verified against its CID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
	/// The content's CID string.
	pub cid: String,
	/// Its size.
	pub bytes: u64,
}

/// One checkpoint's commitment as the trainer reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
	/// Steps completed.
	pub step: u64,
	/// `0x`-prefixed hex digests, as [`crate::digest`] computes them.
	pub loss_digest: String,
	/// See [`CommitmentPayload::gradient_digest`].
	pub gradient_digest: String,
	/// See [`CommitmentPayload::weights_digest`].
	pub weights_digest: String,
	/// See [`CommitmentPayload::delta_root`].
	pub delta_root: String,
	/// The training state's CID string.
	pub state_cid: String,
	/// Samples trained on in the segment.
	pub samples: u64,
}

impl Commitment {
	/// What `node` reveals for this commitment as checkpoint `checkpoint` of `job`.
	pub fn payload(
		&self,
		job: JobId,
		checkpoint: u32,
		node: NodeId,
		backend_class: BackendClass,
		work: Option<u64>,
	) -> Result<CommitmentPayload, WireError> {
		Ok(CommitmentPayload {
			job,
			checkpoint,
			step: self.step,
			loss_digest: parse_digest(&self.loss_digest)?,
			gradient_digest: parse_digest(&self.gradient_digest)?,
			weights_digest: parse_digest(&self.weights_digest)?,
			delta_root: parse_digest(&self.delta_root)?,
			state_cid: cid_from_string(&self.state_cid)?,
			samples: self.samples,
			backend_class,
			node,
			work,
		})
	}
}

/// A CID's string form: multibase `b`, lower-case base32 without padding (how CIDv1 prints).
pub fn cid_to_string(cid: &[u8]) -> String {
	format!("b{}", BASE32_NOPAD.encode(cid).to_ascii_lowercase())
}

/// The bytes of a CIDv1 string in base32 (`b…`), as the chain stores CIDs.
pub fn cid_from_string(text: &str) -> Result<Cid, WireError> {
	let bad = || WireError::BadCid(text.into());
	let encoded = text.strip_prefix('b').ok_or_else(bad)?;
	if encoded.len() > (MAX_CID_LEN as usize * 8).div_ceil(5) {
		return Err(bad());
	}
	let bytes = BASE32_NOPAD.decode(encoded.to_ascii_uppercase().as_bytes()).map_err(|_| bad())?;
	Cid::try_from(bytes).map_err(|_| bad())
}

fn parse_digest(text: &str) -> Result<H256, WireError> {
	let bad = || WireError::BadDigest(text.into());
	let hex = text.strip_prefix("0x").ok_or_else(bad)?;
	let bytes = HEXLOWER_PERMISSIVE.decode(hex.as_bytes()).map_err(|_| bad())?;
	<[u8; 32]>::try_from(bytes).map(H256).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{job::HyperParameters, InlineTexts};
	use polkadot_sdk::sp_runtime::Perbill;

	fn spec() -> JobSpec {
		JobSpec {
			architecture: Architecture::Mlp { hidden: vec![64, 32].try_into().unwrap() },
			base_weights: Cid::new(),
			base_digest: H256::zero(),
			dataset: cid_from_string(CID).unwrap(),
			hyper_parameters: HyperParameters {
				learning_rate: Perbill::from_parts(50_000_000),
				batch_size: 32,
				steps: 100,
				checkpoint_every: 25,
				seed: 7,
				optimizer: crate::job::Optimizer::Sgd,
			},
			texts: InlineTexts::default(),
			trainer_build: H256::zero(),
			backend: BackendClass::CpuReference,
		}
	}

	const CID: &str = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

	#[test]
	fn cids_round_trip_between_bytes_and_strings() {
		let cid = cid_from_string(CID).unwrap();
		assert_eq!(&cid[..4], &[0x01, 0x55, 0x12, 0x20], "CIDv1, raw, sha2-256");
		assert_eq!(cid_to_string(&cid), CID);
		for bad in ["QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "b!!", ""] {
			assert_eq!(cid_from_string(bad), Err(WireError::BadCid(bad.into())));
		}
	}

	#[test]
	fn a_job_request_carries_the_spec_in_the_trainers_json() {
		let request = JobRequest::new(3, &spec()).unwrap();
		assert_eq!(
			serde_json::to_value(&request).unwrap(),
			serde_json::json!({
				"job": 3,
				"architecture": { "kind": "mlp", "hidden": [64, 32] },
				"dataset": { "cid": CID },
				"hyper_parameters": {
					"learning_rate": 0.05, "batch_size": 32, "steps": 100,
					"checkpoint_every": 25, "seed": 7
				},
				"backend": "reference"
			})
		);
	}

	#[test]
	fn a_verify_request_names_its_job_beside_the_spec_and_may_leave_it_out() {
		let start = TrainedWeights { weights: cid_from_string(CID).unwrap(), digest: H256::zero() };
		let request = VerifyRequest::new(3, &spec(), Some(&start), 25, 50).unwrap();
		let mut json = serde_json::to_value(&request).unwrap();
		let mut job = serde_json::to_value(JobRequest::new(3, &spec()).unwrap()).unwrap();
		for (field, value) in [
			("start_state", serde_json::to_value(StartState::from(&start)).unwrap()),
			("from_step", 25.into()),
			("to_step", 50.into()),
		] {
			job[field] = value;
		}
		assert_eq!(json, job, "the job request's fields and the segment's, side by side");
		assert_eq!(request.spec, TrainingSpec::of(&spec()).unwrap());

		json.as_object_mut().unwrap().remove("job");
		let jobless: VerifyRequest = serde_json::from_value(json).unwrap();
		assert_eq!(jobless, VerifyRequest { job: None, ..request });
	}

	#[test]
	fn a_gpu_jobs_segment_is_re_executed_on_the_reference_backend_measuring_the_claims() {
		let mut gpu = spec();
		gpu.backend = BackendClass::Gpu;
		assert_eq!(JobRequest::new(3, &gpu).unwrap().spec.backend, Backend::Wgpu);
		let start = TrainedWeights { weights: cid_from_string(CID).unwrap(), digest: H256::zero() };
		let claim = TrainedWeights { digest: H256::repeat_byte(1), ..start.clone() };
		let request =
			VerifyRequest::new(3, &gpu, Some(&start), 25, 50).unwrap().measuring([&claim]);
		let json = serde_json::to_value(&request).unwrap();
		assert_eq!(json["backend"], "reference", "whatever the job trained on");
		assert_eq!(json["measure"], serde_json::json!([StartState::from(&claim)]));
		let cpu = VerifyRequest::new(3, &spec(), Some(&start), 25, 50).unwrap();
		assert!(serde_json::to_value(&cpu).unwrap().get("measure").is_none(), "none to measure");

		let answer: Reexecution =
			serde_json::from_value(serde_json::json!({ "commitments": [], "distances": [7] }))
				.unwrap();
		assert_eq!(answer.distances, vec![7]);
		let older: Reexecution =
			serde_json::from_value(serde_json::json!({ "commitments": [] })).unwrap();
		assert!(older.distances.is_empty());
	}

	#[test]
	fn what_no_worker_sends_has_the_trainers_spellings() {
		let builtins = [
			(BuiltinDataset::Digits, "digits"),
			(BuiltinDataset::Iris, "iris"),
			(BuiltinDataset::BreastCancer, "breast-cancer"),
		];
		for (builtin, name) in builtins {
			let dataset = Dataset::Builtin(builtin);
			assert_eq!(
				serde_json::to_value(&dataset).unwrap(),
				serde_json::json!({ "builtin": name })
			);
			assert_eq!(
				serde_json::from_value::<Dataset>(serde_json::json!({ "builtin": name })).unwrap(),
				dataset
			);
		}
		let backends = [
			(Backend::Reference, "reference"),
			(Backend::Cpu, "cpu"),
			(Backend::Wgpu, "wgpu"),
			(Backend::Cuda, "cuda"),
		];
		for (backend, name) in backends {
			assert_eq!(serde_json::to_value(backend).unwrap(), serde_json::json!(name));
			assert_eq!(serde_json::from_value::<Backend>(name.into()).unwrap(), backend);
		}
	}

	#[test]
	fn a_start_states_digest_is_read_back_and_a_bad_one_refused() {
		let state = TrainedWeights { weights: Cid::new(), digest: H256::repeat_byte(0xab) };
		assert_eq!(StartState::from(&state).digest(), Ok(state.digest));
		let bad = StartState { state_cid: CID.into(), weights_digest: "ab".repeat(32) };
		assert_eq!(bad.digest(), Err(WireError::BadDigest("ab".repeat(32))));
	}

	#[test]
	fn adam_and_adamw_travel_with_their_constants_as_fractions() {
		let constants = crate::job::AdamParameters {
			beta1: Perbill::from_percent(90),
			beta2: Perbill::from_parts(999_000_000),
			epsilon: Perbill::from_parts(10),
			weight_decay: Perbill::from_percent(1),
		};
		let expected = serde_json::json!({
			"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01
		});
		for (optimizer, kind) in [
			(crate::job::Optimizer::Adam(constants), "adam"),
			(crate::job::Optimizer::AdamW(constants), "adamw"),
		] {
			let mut spec = spec();
			spec.hyper_parameters.optimizer = optimizer;
			let request = JobRequest::new(3, &spec).unwrap();
			let mut json =
				serde_json::to_value(&request).unwrap()["hyper_parameters"]["optimizer"].clone();
			assert_eq!(json["kind"].take(), kind);
			json.as_object_mut().unwrap().remove("kind");
			assert_eq!(json, expected);
			let parsed: JobRequest =
				serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
			assert_eq!(parsed, request);
		}
	}

	#[test]
	fn a_round_and_an_aggregate_cross_in_the_trainers_json() {
		let request = JobRequest::new(3, &spec()).unwrap().in_round(2, 1, 4);
		let json = serde_json::to_value(&request).unwrap();
		assert_eq!(json["round"], serde_json::json!({ "round": 2, "shard": 1, "shards": 4 }));
		let state = cid_from_string(CID).unwrap();
		let aggregate = AggregateRequest::new(&spec(), &[], [(state.as_slice(), 320)]).unwrap();
		assert_eq!(
			serde_json::to_value(&aggregate).unwrap(),
			serde_json::json!({
				"architecture": { "kind": "mlp", "hidden": [64, 32] },
				"dataset": { "cid": CID },
				"updates": [{ "state_cid": CID, "samples": 320 }]
			})
		);
		let answer: Aggregate = serde_json::from_value(serde_json::json!({
			"state_cid": CID, "weights_digest": format!("0x{}", "ab".repeat(32)),
			"samples": 320, "noise_std": null
		}))
		.unwrap();
		assert_eq!(answer.digest(), Ok(H256::repeat_byte(0xab)));
	}

	#[test]
	fn a_rounds_noise_is_the_declared_one_seeded_by_the_rounds_randomness_and_crosses_as_json() {
		let declared = crate::DpParameters {
			clip_milli: 2_000,
			noise_multiplier_milli: 1_100,
			sampling: Perbill::from_percent(50),
			delta: Perbill::from_parts(10_000),
		};
		let round = H256::repeat_byte(1);
		let noise = AggregatePrivacy::of(&declared, &round, 4, 320);
		assert_eq!(noise, AggregatePrivacy::of(&declared, &round, 4, 320));
		assert_ne!(noise.seed, AggregatePrivacy::of(&declared, &H256::repeat_byte(2), 4, 320).seed);
		assert_eq!(
			serde_json::to_value(noise).unwrap(),
			serde_json::json!({
				"clip_milli": 2_000, "noise_multiplier_milli": 1_100, "seed": noise.seed,
				"seats": 4, "sampling": 500_000_000, "samples_per_update": 320
			})
		);
		// The trainer names back the noise it added.
		let answer: Aggregate = serde_json::from_value(serde_json::json!({
			"state_cid": CID, "weights_digest": format!("0x{}", "ab".repeat(32)),
			"samples": 320, "noise": serde_json::to_value(noise).unwrap()
		}))
		.unwrap();
		assert_eq!(answer.noise, Some(noise));
	}

	#[test]
	fn inline_texts_and_start_states_with_their_digests_travel_and_bad_texts_are_refused() {
		let mut spec = spec();
		spec.texts = vec![b"hello".to_vec().try_into().unwrap()].try_into().unwrap();
		spec.base_weights = spec.dataset.clone();
		spec.base_digest = H256::repeat_byte(0xab);
		let request = JobRequest::new(1, &spec).unwrap();
		assert_eq!(request.spec.dataset, Dataset::Texts(vec!["hello".into()]));
		assert_eq!(
			serde_json::to_value(&request).unwrap()["base_state"],
			serde_json::json!({ "state_cid": CID, "weights_digest": format!("0x{}", "ab".repeat(32)) })
		);
		let resumed = request.resuming(&spec.base_state().unwrap(), 50);
		assert_eq!(
			serde_json::to_value(&resumed).unwrap()["resume"],
			serde_json::json!({
				"state_cid": CID, "weights_digest": format!("0x{}", "ab".repeat(32)), "step": 50
			})
		);
		spec.texts = vec![vec![0xff, 0xfe].try_into().unwrap()].try_into().unwrap();
		assert_eq!(JobRequest::new(1, &spec), Err(WireError::TextNotUtf8));
	}

	#[test]
	fn a_reported_commitment_becomes_the_payload_and_bad_digests_are_refused() {
		let status: JobStatus = serde_json::from_str(&format!(
			r#"{{"job": 3, "state": "done", "step": 100, "steps": 100, "error": null,
			"work": 12, "commitments": [{{"step": 100, "mean_loss": 0.25,
			"loss_digest": "0x{a}", "gradient_digest": "0x{b}", "weights_digest": "0x{c}",
			"delta_root": "0x{d}", "state_cid": "{CID}", "gradient_cid": "{CID}",
			"samples": 3200}}]}}"#,
			a = "11".repeat(32),
			b = "22".repeat(32),
			c = "33".repeat(32),
			d = "44".repeat(32),
		))
		.unwrap();
		assert_eq!(status.state, RunState::Done);
		let payload = status.commitments[0]
			.payload(3, 3, 9, BackendClass::CpuReference, status.work)
			.unwrap();
		assert_eq!(payload.weights_digest, H256::repeat_byte(0x33));
		assert_eq!(payload.delta_root, H256::repeat_byte(0x44));
		assert_eq!(payload.state_cid, cid_from_string(CID).unwrap());
		assert_eq!((payload.node, payload.work), (9, Some(12)));

		let mut truncated = status.commitments[0].clone();
		truncated.weights_digest = "0x3333".into();
		assert_eq!(
			truncated.payload(3, 3, 9, BackendClass::CpuReference, None),
			Err(WireError::BadDigest("0x3333".into()))
		);
	}
}
