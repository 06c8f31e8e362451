//! The availability side of the off-chain worker: for each check a local validator key was
//! drawn for, the node's trainer fetches the content from the checked node's endpoint
//! (`POST /v1/blobs/{cid}/fetch`), keeping it only if it matches the CID, and the worker
//! proves it to the chain. Nothing is remembered between runs: a check lasts a few blocks,
//! the trainer answers from its store once it has the content, and the pool refuses a
//! proof it already holds.

use super::{fetch_from_peer, local_work, submit, trainer_url, WorkError};
use crate::{pallet::*, types::*, LOG_TARGET};
use alloc::string::String;
use polkadot_sdk::sp_runtime::RuntimeAppPublic;
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{trainer_api::cid_to_string, NodeId, NodeInspect, NodePublic};

/// Checks the worker looks after in one run, over all local keys.
pub const MAX_CHECKS_PER_RUN: usize = 4;

impl<T: Config> Pallet<T> {
	/// Fetches and proves the content of the checks the local validator keys were drawn for.
	pub(crate) fn check_availability_offchain() {
		let duties =
			local_work::<T, _>(AvailabilityDuties::<T>::iter_key_prefix, MAX_CHECKS_PER_RUN);
		for (validator, key, check) in duties {
			if let Err(error) = Self::fetch_and_prove(validator, &key, check) {
				log::debug!(target: LOG_TARGET, "availability check {check}: {error:?}; trying later");
			}
		}
	}

	pub(crate) fn fetch_and_prove(
		validator: NodeId,
		key: &NodePublic,
		id: u64,
	) -> Result<(), WorkError> {
		let Some(check) = AvailabilityChecks::<T>::get(id) else { return Ok(()) };
		let peer = T::Nodes::endpoint(check.node)
			.and_then(|bytes| String::from_utf8(bytes).ok())
			.ok_or(WorkError::NoEndpoint)?;
		fetch_from_peer(&trainer_url(key), &cid_to_string(&check.cid), &peer)?;
		let proof = AvailabilityProof { check: id, validator };
		let signature =
			key.sign(&proof.signed_bytes(&Self::genesis_hash())).ok_or(WorkError::Signing)?;
		submit::<T>(Call::availability_proven { proof, signature })
	}
}
