//! Training states in the content store, and a network's values in canonical order.
//!
//! A state is the network saved in burn's record format. Parameter ids are fixed by
//! `model`, so equal weights give equal bytes and therefore equal CIDs: two replicas that
//! trained identically store the very same state.

use crate::{model::Network, store::ContentStore, train::TrainError};
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

/// Saves `network` and returns the state's CID.
pub fn save(network: Network, store: &ContentStore) -> Result<String, TrainError> {
	let bytes = network
		.into_record()
		.into_bytes()
		.map_err(|error| TrainError::Record(error.to_string()))?;
	Ok(store.put(&bytes)?.to_string())
}

/// Loads the state `cid` into `network`, which must have the state's architecture.
pub fn load(network: Network, store: &ContentStore, cid: &str) -> Result<Network, TrainError> {
	let bad_state = |reason: String| TrainError::BadState { cid: cid.to_owned(), reason };
	let bytes = store.get(&crate::store::parse_cid(cid)?)?;
	let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
		.map_err(|error| bad_state(error.to_string()))?;
	network.try_load_record(record).map_err(|error| bad_state(error.to_string()))
}

/// Loads `start` into `network`, refusing a state whose weights digest is not the one named.
pub fn load_agreed(
	network: Network,
	store: &ContentStore,
	start: &StartState,
) -> Result<Network, TrainError> {
	let network = load(network, store, &start.state_cid)?;
	let found = parameters_digest(weights_of(&network).iter().map(Vec::as_slice));
	if found != start.weights_digest {
		return Err(TrainError::WrongState {
			cid: start.state_cid.clone(),
			named: start.weights_digest,
			found,
		});
	}
	Ok(network)
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
				Tensor::from_data(TensorData::new(values, tensor.shape()), &tensor.device())
			}
			_ => tensor,
		})
	}
}
