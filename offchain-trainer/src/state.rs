//! Training states in the content store, and a network's values in canonical order.
//!
//! A state is the network saved in burn's record format. Parameter ids are fixed by
//! `model`, so equal weights give equal bytes and therefore equal CIDs: two replicas that
//! trained identically store the very same state. The state of a job trained with Adam or
//! AdamW carries the optimiser's [`Moments`] too, so that its CID — what replicas agree on —
//! names everything a segment re-executes from: [`ADAM_STATE_TAG`], the moments' step count
//! (8 bytes, little-endian), then the network's, the first moment's and the second moment's
//! records (each the network with the moment as its values), each after its length (8 bytes,
//! little-endian).

use crate::{
	model::Network,
	optim::Moments,
	store::{ContentStore, StoreError},
};
use burn::{
	module::{Module, ModuleMapper, ModuleVisitor, Param},
	optim::GradientsParams,
	store::ModuleRecord,
	tensor::{Bytes, Tensor, TensorData},
};
use serde::{Deserialize, Serialize};
use tessera_primitives::digest::{parameters_digest, H256};

/// A training state to start from, as the chain names it: a CID and the weights digest a
/// majority agreed on for it. Content under the CID is only as good as whoever stored it,
/// so a run starts from it only if its weights hash to that digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartState {
	/// The state's CID.
	pub state_cid: String,
	/// The digest its weights must have.
	pub weights_digest: H256,
}

/// Why a training state cannot be saved, read or trusted.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
	/// A training state could not be read, or does not fit the run it was meant for.
	#[error("training state {cid}: {reason}")]
	Unusable {
		/// Its CID.
		cid: String,
		/// What is wrong.
		reason: String,
	},
	/// A training state's weights are not the ones the request named: whoever stored the
	/// content under that CID is not to be trusted, and nothing starts from it.
	#[error("training state {cid} has weights digest {found:?}, not the {named:?} named")]
	WrongWeights {
		/// Its CID.
		cid: String,
		/// The digest the request named.
		named: H256,
		/// The digest of its weights.
		found: H256,
	},
	/// The content store failed.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// burn could not save a record.
	#[error("saving a record: {0}")]
	Record(String),
}

/// What begins the state of a job trained with Adam or AdamW; no burn record begins so.
pub const ADAM_STATE_TAG: &[u8] = b"tessera/adam-state/1\n";

/// Saves `network` and returns the state's CID.
pub fn save(network: Network, store: &ContentStore) -> Result<String, StateError> {
	Ok(store.put(&record_bytes(network)?)?.to_string())
}

/// Saves `network` with the optimiser's `moments` and returns the state's CID.
pub fn save_with_moments(
	network: Network,
	moments: &Moments,
	store: &ContentStore,
) -> Result<String, StateError> {
	let first = with_weights(network.clone(), &moments.first);
	let second = with_weights(network.clone(), &moments.second);
	let mut bytes = ADAM_STATE_TAG.to_vec();
	bytes.extend(moments.steps.to_le_bytes());
	for record in [network, first, second] {
		let record = record_bytes(record)?;
		bytes.extend((record.len() as u64).to_le_bytes());
		bytes.extend(record);
	}
	Ok(store.put(&bytes)?.to_string())
}

fn record_bytes(network: Network) -> Result<Vec<u8>, StateError> {
	let bytes = network.into_record().into_bytes();
	bytes.map(|bytes| bytes.to_vec()).map_err(|error| StateError::Record(error.to_string()))
}

/// Loads the state `cid` into `network`, which must have the state's architecture; the
/// moments a state of Adam or AdamW carries are left out.
pub fn load(network: Network, store: &ContentStore, cid: &str) -> Result<Network, StateError> {
	load_with_moments(network, store, cid).map(|(network, _)| network)
}

/// Loads the state `cid` into `network` and returns the moments it carries, if any.
fn load_with_moments(
	network: Network,
	store: &ContentStore,
	cid: &str,
) -> Result<(Network, Option<Moments>), StateError> {
	let unusable = |reason: String| StateError::Unusable { cid: cid.to_owned(), reason };
	let load_record = |network: Network, bytes: Vec<u8>| {
		let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
			.map_err(|error| unusable(error.to_string()))?;
		network.try_load_record(record).map_err(|error| unusable(error.to_string()))
	};
	let bytes = store.get(&crate::store::parse_cid(cid)?)?;
	if !bytes.starts_with(ADAM_STATE_TAG) {
		return Ok((load_record(network, bytes)?, None));
	}
	let mut rest = &bytes[ADAM_STATE_TAG.len()..];
	let cut_short = || unusable("the Adam state is cut short".into());
	let steps = take_number(&mut rest).ok_or_else(cut_short)?;
	let mut records = Vec::with_capacity(3);
	for _ in 0..3 {
		let length = take_number(&mut rest).ok_or_else(cut_short)?;
		let length = usize::try_from(length).map_err(|_| cut_short())?;
		records.push(take(&mut rest, length).ok_or_else(cut_short)?);
	}
	if !rest.is_empty() {
		return Err(unusable("bytes after the Adam state's records".into()));
	}
	let loaded = load_record(network.clone(), records[0].to_vec())?;
	let first = weights_of(&load_record(network.clone(), records[1].to_vec())?);
	let second = weights_of(&load_record(network, records[2].to_vec())?);
	Ok((loaded, Some(Moments { steps, first, second })))
}

/// The first `length` bytes of `rest`, which then holds the bytes after them.
fn take<'a>(rest: &mut &'a [u8], length: usize) -> Option<&'a [u8]> {
	let bytes: &'a [u8] = *rest;
	let (taken, left) = bytes.split_at_checked(length)?;
	*rest = left;
	Some(taken)
}

/// The little-endian `u64` that begins `rest`, which then holds the bytes after it.
fn take_number(rest: &mut &[u8]) -> Option<u64> {
	take(rest, 8).and_then(|bytes| bytes.try_into().ok()).map(u64::from_le_bytes)
}

/// Loads `start` into `network`, refusing a state whose weights digest is not the one named;
/// returns the optimiser's moments the state carries, if any.
pub fn load_agreed(
	network: Network,
	store: &ContentStore,
	start: &StartState,
) -> Result<(Network, Option<Moments>), StateError> {
	let (network, moments) = load_with_moments(network, store, &start.state_cid)?;
	let found = parameters_digest(weights_of(&network).iter().map(Vec::as_slice));
	if found != start.weights_digest {
		return Err(StateError::WrongWeights {
			cid: start.state_cid.clone(),
			named: start.weights_digest,
			found,
		});
	}
	Ok((network, moments))
}

/// The network's weights, tensor by tensor in canonical parameter order.
pub fn weights_of(network: &Network) -> Vec<Vec<f32>> {
	let mut values = ParameterValues::default();
	network.visit(&mut values);
	values.tensors
}

/// The gradients of the network's parameters in canonical order (zero where a parameter
/// had none).
pub fn gradients_of(network: &Network, grads: &GradientsParams) -> Vec<Vec<f32>> {
	let mut values = ParameterValues { grads: Some(grads), tensors: Vec::new() };
	network.visit(&mut values);
	values.tensors
}

/// `network` with its values replaced, tensor by tensor in canonical order.
pub fn with_weights(network: Network, tensors: &[Vec<f32>]) -> Network {
	network.map(&mut ReplaceValues { tensors, next: 0 })
}

#[derive(Default)]
struct ParameterValues<'g> {
	grads: Option<&'g GradientsParams>,
	tensors: Vec<Vec<f32>>,
}

impl ModuleVisitor for ParameterValues<'_> {
	fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
		let tensor = match self.grads {
			Some(grads) => {
				grads.get::<D>(param.id).unwrap_or_else(|| param.val().inner().zeros_like())
			}
			None => param.val(),
		};
		self.tensors.push(tensor.try_into_vec_as::<f32>().unwrap_or_default());
	}
}

struct ReplaceValues<'t> {
	tensors: &'t [Vec<f32>],
	next: usize,
}

impl ModuleMapper for ReplaceValues<'_> {
	fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
		let replacement = self.tensors.get(self.next).cloned();
		self.next += 1;
		param.map(|tensor| match replacement {
			Some(values) if values.len() == tensor.shape().num_elements() => {
				let replaced =
					Tensor::from_data(TensorData::new(values, tensor.shape()), &tensor.device());
				// A parameter being trained stays one: its next step needs its gradient.
				if tensor.is_require_grad() {
					replaced.require_grad()
				} else {
					replaced
				}
			}
			_ => tensor,
		})
	}
}
