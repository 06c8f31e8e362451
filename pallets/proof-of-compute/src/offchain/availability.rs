//! The availability side of the off-chain worker: for each check a local validator key was
//! drawn for, the node's trainer fetches the content from the checked node's endpoint
//! (`POST /v1/blobs/{cid}/fetch`), keeping it only if it matches the CID, and the worker
//! reports it served. Until the last block in which a report still reaches the chain it
//! tries again each block; then, if the trainer answered but never got the content (or the
//! node publishes no endpoint), it reports it missing. A trainer of its own that does not
//! answer is no evidence against the node: then it reports nothing. Nothing is remembered
//! between runs: a check lasts a few blocks, the trainer answers from its store once it has
//! the content, and the pool refuses a report it already holds.

use super::{fetch_from_peer, submit, Trainer};
use crate::{pallet::*, types::*, LOG_TARGET};
use alloc::string::String;
use polkadot_sdk::sp_runtime::SaturatedConversion as _;
use polkadot_sdk::{
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_runtime::{
		traits::{One, Saturating},
		RuntimeAppPublic,
	},
};
use tessera_primitives::offchain::{local_duties, DutyError};
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{trainer_api::cid_to_string, NodeId, NodeInspect, NodePublic};

/// Checks the worker looks after in one run, over all local keys.
pub const MAX_CHECKS_PER_RUN: usize = 4;

impl<T: Config> Pallet<T> {
	/// Fetches the content of the checks the local validator keys were drawn for, and
	/// reports on it.
	pub(crate) fn check_availability_offchain() {
		let duties = local_duties(
			T::Nodes::node_of_key,
			AvailabilityDuties::<T>::iter_key_prefix,
			MAX_CHECKS_PER_RUN,
			frame_system::Pallet::<T>::block_number().saturated_into(),
		);
		for (validator, key, check) in duties {
			if let Err(error) = Self::fetch_and_report(validator, &key, check) {
				log::debug!(target: LOG_TARGET, "availability check {check}: {error:?}; trying later");
			}
		}
	}

	pub(crate) fn fetch_and_report(
		validator: NodeId,
		key: &NodePublic,
		id: u64,
	) -> Result<(), DutyError> {
		let Some(check) = AvailabilityChecks::<T>::get(id) else { return Ok(()) };
		let fetched = T::Nodes::endpoint(check.node)
			.and_then(|bytes| String::from_utf8(bytes).ok())
			.ok_or(DutyError::NoEndpoint)
			.and_then(|peer| {
				fetch_from_peer(&Trainer::of(key)?, &cid_to_string(&check.cid), &peer)
			});
		let served = match fetched {
			Ok(_) => true,
			Err(DutyError::NoEndpoint | DutyError::Status(_) | DutyError::BadResponse)
				if Self::last_chance(check.deadline) =>
			{
				false
			}
			Err(error) => return Err(error),
		};
		let report = AvailabilityReport { check: id, validator, served };
		let signature =
			key.sign(&report.signed_bytes(&Self::genesis_hash())).ok_or(DutyError::Signing)?;
		submit::<T>(Call::report_availability { report, signature })
	}

	/// Whether a report sent now is the last that can reach the chain by `deadline`.
	fn last_chance(deadline: BlockNumberFor<T>) -> bool {
		frame_system::Pallet::<T>::block_number().saturating_add(One::one()) >= deadline
	}
}
