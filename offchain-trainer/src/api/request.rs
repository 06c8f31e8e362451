//! What a request asks the trainer to do, read from the chain's request types.
//!
//! `POST /v1/jobs`, `POST /v1/verify` and `POST /v1/aggregate` take the types of
//! [`tessera_primitives::trainer_api`] ([`JobRequest`](wire::JobRequest),
//! [`VerifyRequest`](wire::VerifyRequest), [`AggregateRequest`](wire::AggregateRequest)):
//! one contract, the very one the node's off-chain worker serialises, which also names what
//! only people send (the built-in datasets, the `cpu` and `cuda` backends, a re-execution
//! without a job id). The handlers read them into the trainer's own types here — sizes as
//! `usize`, digests as [`H256`](tessera_primitives::digest::H256), a [`Backend`] this build
//! runs — and refuse what cannot be read with a 4xx ([`RequestError`]) before anything is
//! queued or loaded.

use crate::{
	backend::Backend,
	data::{Builtin, DatasetRef},
	model::Architecture,
	state::StartState,
	train::HyperParameters,
};
use serde::Serialize;
use tessera_primitives::trainer_api::{self as wire, Round};

/// What to train: everything that decides the commitments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrainingSpec {
	/// The network.
	pub architecture: Architecture,
	/// The data.
	pub dataset: DatasetRef,
	/// Optimiser settings, steps, commit interval and seed.
	pub hyper_parameters: HyperParameters,
	/// Where to train; `reference` for anything a chain will compare.
	pub backend: Backend,
	/// The training state to start from (a fine-tuning job's base model, with the digest
	/// the model registry holds for it); without it the initial weights are drawn from the
	/// seed.
	pub base_state: Option<StartState>,
	/// Where to resume instead: a committed state of this very job, for a replica that took
	/// over from another mid-job.
	pub resume: Option<Resume>,
	/// For a round of a federated job: the round, and the shard of the data to train on, in
	/// the order of the data. A shard that does not exist (`shard >= shards`) is refused with
	/// `invalid_round`, one with no samples with `empty_shard`.
	pub round: Option<Round>,
}

impl TrainingSpec {
	/// The work units a run of this spec trains, by the rule the chain pays by
	/// ([`tessera_primitives::job::work_of_steps`]): its steps from where it starts (its
	/// `resume` step, else 0) × batch size × the architecture's work per sample; `None` for a
	/// network or batch the chain cannot name.
	pub fn work(&self) -> Option<u64> {
		let hyper = &self.hyper_parameters;
		let start = self.resume.as_ref().map_or(0, |resume| resume.step);
		let batch_size = u32::try_from(hyper.batch_size).ok()?;
		let per_sample = self.architecture.work_per_sample()?;
		Some(tessera_primitives::job::work_of_steps(start..hyper.steps, batch_size, per_sample))
	}
}

/// A committed state and the step it was committed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Resume {
	/// The state, and the digest agreed for it.
	pub state: StartState,
	/// Steps completed in it.
	pub step: u64,
}

/// A segment to re-execute: what `POST /v1/verify` asks for. Its canonical JSON names the
/// re-execution, so that asking again finds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
	/// The job's training spec.
	pub spec: TrainingSpec,
	/// The committed state the segment starts from, and the digest every replica named for
	/// it; absent for the job's own start (`base_state`, or the seed), which `from_step`
	/// must then be 0 for.
	pub start_state: Option<StartState>,
	/// Steps completed in that state.
	pub from_step: u64,
	/// The step to re-execute up to.
	pub to_step: u64,
	/// States claimed for `to_step` (a GPU job's replicas'), each with the digest revealed
	/// for it, to measure against the re-execution's result.
	pub measure: Vec<StartState>,
}

/// Why a request names something this trainer cannot run.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
	/// A GPU backend this build lacks (its cargo feature, of the same name, was off).
	#[error(
		"this trainer was built without the `{0}` backend; it runs {available}",
		available = available_backends()
	)]
	UnsupportedBackend(&'static str),
	/// A start state's weights digest that is not 32 bytes of `0x`-prefixed hex.
	#[error("the weights digest {0:?} is not 32 bytes of 0x-prefixed hex")]
	InvalidDigest(String),
	/// A re-execution on a backend other than the reference: disputes are settled on the
	/// reference backend, whatever the job trained on.
	#[error("a re-execution runs on the reference backend, not on `{0}`")]
	NotReference(&'static str),
}

/// The names of the backends this build runs, for people.
fn available_backends() -> String {
	Backend::available().iter().map(|backend| backend.name()).collect::<Vec<_>>().join(", ")
}

impl TryFrom<wire::TrainingSpec> for TrainingSpec {
	type Error = RequestError;

	fn try_from(spec: wire::TrainingSpec) -> Result<Self, RequestError> {
		Ok(Self {
			architecture: spec.architecture.into(),
			dataset: spec.dataset.into(),
			hyper_parameters: spec.hyper_parameters.into(),
			backend: spec.backend.try_into()?,
			base_state: spec.base_state.map(StartState::try_from).transpose()?,
			resume: spec.resume.map(Resume::try_from).transpose()?,
			round: spec.round,
		})
	}
}

/// Drops the job id: what a segment commits depends on its spec alone, so requests that
/// differ only in it share one re-execution. Refuses any backend but the reference.
impl TryFrom<wire::VerifyRequest> for Segment {
	type Error = RequestError;

	fn try_from(request: wire::VerifyRequest) -> Result<Self, RequestError> {
		let wire::VerifyRequest { job: _, spec, start_state, from_step, to_step, measure } =
			request;
		let spec = TrainingSpec::try_from(spec)?;
		if spec.backend != Backend::Reference {
			return Err(RequestError::NotReference(spec.backend.name()));
		}
		Ok(Self {
			spec,
			start_state: start_state.map(StartState::try_from).transpose()?,
			from_step,
			to_step,
			measure: measure.into_iter().map(StartState::try_from).collect::<Result<_, _>>()?,
		})
	}
}

/// A size as the trainer counts: lossless on a 64-bit host; past `usize` on a 32-bit one, the
/// largest size, which the limits refuse as they would the size named.
fn size(value: u64) -> usize {
	usize::try_from(value).unwrap_or(usize::MAX)
}

impl From<wire::Network> for Architecture {
	fn from(network: wire::Network) -> Self {
		match network {
			wire::Network::Mlp { hidden } => {
				Architecture::Mlp { hidden: hidden.into_iter().map(size).collect() }
			}
			wire::Network::Cnn { channels } => Architecture::Cnn { channels: channels.map(size) },
			wire::Network::CharTransformer { context, width, layers } => {
				Architecture::CharTransformer {
					context: size(context),
					width: size(width),
					layers: size(layers),
				}
			}
		}
	}
}

impl From<wire::Dataset> for DatasetRef {
	fn from(dataset: wire::Dataset) -> Self {
		match dataset {
			wire::Dataset::Builtin(builtin) => DatasetRef::Builtin(builtin.into()),
			wire::Dataset::Cid(cid) => DatasetRef::Cid(cid),
			wire::Dataset::Texts(texts) => DatasetRef::Texts(texts),
		}
	}
}

impl From<wire::BuiltinDataset> for Builtin {
	fn from(builtin: wire::BuiltinDataset) -> Self {
		match builtin {
			wire::BuiltinDataset::Digits => Builtin::Digits,
			wire::BuiltinDataset::Iris => Builtin::Iris,
			wire::BuiltinDataset::BreastCancer => Builtin::BreastCancer,
		}
	}
}

impl From<wire::Training> for HyperParameters {
	fn from(training: wire::Training) -> Self {
		let wire::Training { learning_rate, batch_size, steps, checkpoint_every, seed, optimizer } =
			training;
		Self {
			learning_rate,
			batch_size: size(batch_size),
			steps,
			checkpoint_every,
			seed,
			optimizer,
		}
	}
}

impl TryFrom<wire::Backend> for Backend {
	type Error = RequestError;

	fn try_from(backend: wire::Backend) -> Result<Self, RequestError> {
		match backend {
			wire::Backend::Reference => Ok(Backend::Reference),
			wire::Backend::Cpu => Ok(Backend::Cpu),
			#[cfg(feature = "wgpu")]
			wire::Backend::Wgpu => Ok(Backend::Wgpu),
			#[cfg(not(feature = "wgpu"))]
			wire::Backend::Wgpu => Err(RequestError::UnsupportedBackend("wgpu")),
			#[cfg(feature = "cuda")]
			wire::Backend::Cuda => Ok(Backend::Cuda),
			#[cfg(not(feature = "cuda"))]
			wire::Backend::Cuda => Err(RequestError::UnsupportedBackend("cuda")),
		}
	}
}

impl TryFrom<wire::StartState> for StartState {
	type Error = RequestError;

	fn try_from(state: wire::StartState) -> Result<Self, RequestError> {
		match state.digest() {
			Ok(weights_digest) => Ok(Self { state_cid: state.state_cid, weights_digest }),
			Err(_) => Err(RequestError::InvalidDigest(state.weights_digest)),
		}
	}
}

impl TryFrom<wire::Resume> for Resume {
	type Error = RequestError;

	fn try_from(resume: wire::Resume) -> Result<Self, RequestError> {
		Ok(Self { state: resume.state.try_into()?, step: resume.step })
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::optim::{AdamConstants, Optimizer};
	use serde_json::json;
	use tessera_primitives::digest::H256;

	const CID: &str = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

	/// A job as people wrote it before the trainer read the chain's types: a built-in
	/// dataset, the `cpu` backend, AdamW, a base state and a resume (their digest in
	/// upper-case hex) and a round.
	fn written_by_hand() -> serde_json::Value {
		let state = json!({ "state_cid": CID, "weights_digest": format!("0x{}", "AB".repeat(32)) });
		let mut resume = state.clone();
		resume["step"] = json!(10);
		json!({
			"job": 5,
			"architecture": { "kind": "cnn", "channels": [4, 8] },
			"dataset": { "builtin": "breast-cancer" },
			"hyper_parameters": {
				"learning_rate": 0.01, "batch_size": 16, "steps": 20, "checkpoint_every": u64::MAX,
				"seed": 1, "optimizer": {
					"kind": "adamw", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01
				}
			},
			"backend": "cpu",
			"base_state": state,
			"resume": resume,
			"round": { "round": 1, "shard": 2, "shards": 4 }
		})
	}

	/// What [`written_by_hand`] asks the trainer to train.
	fn its_spec() -> TrainingSpec {
		let state = StartState { state_cid: CID.into(), weights_digest: H256::repeat_byte(0xab) };
		TrainingSpec {
			architecture: Architecture::Cnn { channels: [4, 8] },
			dataset: DatasetRef::Builtin(Builtin::BreastCancer),
			hyper_parameters: HyperParameters {
				learning_rate: 0.01,
				batch_size: 16,
				steps: 20,
				checkpoint_every: u64::MAX,
				seed: 1,
				optimizer: Optimizer::AdamW(AdamConstants {
					beta1: 0.9,
					beta2: 0.999,
					epsilon: 1e-8,
					weight_decay: 0.01,
				}),
			},
			backend: Backend::Cpu,
			base_state: Some(state.clone()),
			resume: Some(Resume { state, step: 10 }),
			round: Some(Round { round: 1, shard: 2, shards: 4 }),
		}
	}

	#[test]
	fn a_job_people_wrote_before_reads_into_the_same_spec() {
		let request: wire::JobRequest = serde_json::from_value(written_by_hand()).unwrap();
		assert_eq!(request.job, 5);
		assert_eq!(TrainingSpec::try_from(request.spec), Ok(its_spec()));

		// The other data and networks read as they did too.
		let texts: wire::Dataset = serde_json::from_value(json!({ "texts": ["one"] })).unwrap();
		assert_eq!(DatasetRef::from(texts), DatasetRef::Texts(vec!["one".into()]));
		for (network, architecture) in [
			(
				json!({ "kind": "mlp", "hidden": [64, 32] }),
				Architecture::Mlp { hidden: vec![64, 32] },
			),
			(
				json!({ "kind": "char-transformer", "context": 8, "width": 16, "layers": 2 }),
				Architecture::CharTransformer { context: 8, width: 16, layers: 2 },
			),
		] {
			let network: wire::Network = serde_json::from_value(network).unwrap();
			assert_eq!(Architecture::from(network), architecture);
		}
	}

	#[test]
	fn a_segment_without_a_job_id_reads_as_one_with_it() {
		let mut segment = written_by_hand();
		let fields = segment.as_object_mut().unwrap();
		fields.remove("job");
		fields.insert("start_state".into(), fields["base_state"].clone());
		fields.insert("from_step".into(), json!(10));
		fields.insert("to_step".into(), json!(20));
		fields.insert("backend".into(), json!("reference"));
		fields.insert("measure".into(), json!([fields["base_state"]]));
		let jobless: wire::VerifyRequest = serde_json::from_value(segment.clone()).unwrap();
		assert_eq!(jobless.job, None);
		let expected = Segment {
			spec: TrainingSpec { backend: Backend::Reference, ..its_spec() },
			start_state: its_spec().base_state,
			from_step: 10,
			to_step: 20,
			measure: its_spec().base_state.into_iter().collect(),
		};
		assert_eq!(Segment::try_from(jobless), Ok(expected.clone()));
		segment["job"] = json!(5);
		let named: wire::VerifyRequest = serde_json::from_value(segment.clone()).unwrap();
		assert_eq!((named.job, Segment::try_from(named)), (Some(5), Ok(expected)));

		segment["backend"] = json!("cpu");
		let elsewhere: wire::VerifyRequest = serde_json::from_value(segment).unwrap();
		assert_eq!(Segment::try_from(elsewhere), Err(RequestError::NotReference("cpu")));
	}

	#[test]
	fn a_bad_digest_or_a_backend_not_built_in_is_refused() {
		let mut request: wire::JobRequest = serde_json::from_value(written_by_hand()).unwrap();
		request.spec.resume.as_mut().unwrap().state.weights_digest = "0xabab".into();
		assert_eq!(
			TrainingSpec::try_from(request.spec),
			Err(RequestError::InvalidDigest("0xabab".into()))
		);
		for (backend, name, built) in [
			(wire::Backend::Wgpu, "wgpu", cfg!(feature = "wgpu")),
			(wire::Backend::Cuda, "cuda", cfg!(feature = "cuda")),
		] {
			let read = Backend::try_from(backend);
			assert_eq!(
				read.map(Backend::name),
				if built { Ok(name) } else { Err(RequestError::UnsupportedBackend(name)) }
			);
		}
	}
}
