//! The off-chain worker: sends a heartbeat for every local node key once per period, as one
//! of Tessera's off-chain duties ([`tessera_primitives::offchain`]: found, resent and failing
//! the way the others are).

use super::*;
use codec::Encode;
use frame_system::{
	offchain::{CreateAuthorizedTransaction, SubmitTransaction},
	pallet_prelude::BlockNumberFor,
};
use sp_runtime::SaturatedConversion as _;
use sp_runtime::{
	offchain::storage::{MutateStorageError, StorageValueRef},
	RuntimeAppPublic,
};
use tessera_primitives::offchain::{local_duties, sent_recently, DutyError};

/// Prefix of the offchain storage key that records the last heartbeat sent per node.
const SENT_PREFIX: &[u8] = b"tessera/node-registry/heartbeat-sent/";

/// Nodes whose heartbeats one worker run sends at most.
const MAX_HEARTBEATS_PER_RUN: usize = 16;

impl<T: Config> Pallet<T> {
	/// Sends the heartbeats that are due for the node keys in the local keystore.
	pub(crate) fn send_heartbeats(now: BlockNumberFor<T>) {
		let period = Self::period_of(now);
		let due = |node| {
			Nodes::<T>::get(node)
				.filter(|info| info.status.is_active() && info.last_heartbeat != Some(period))
				.into_iter()
		};
		let duties = local_duties(
			|key| NodeOfKey::<T>::get(key),
			due,
			MAX_HEARTBEATS_PER_RUN,
			now.saturated_into(),
		);
		for (node, key, _) in duties {
			match Self::send_heartbeat(node, &key, period, now) {
				Ok(()) => {
					log::debug!(target: LOG_TARGET, "heartbeat of node {node} for period {period} is pooled")
				}
				Err(error) => {
					log::debug!(target: LOG_TARGET, "no heartbeat from node {node}: {error:?}")
				}
			}
		}
	}

	/// Signs and pools one heartbeat, unless one for the same period was pooled less than
	/// [`RESEND_AFTER_BLOCKS`](tessera_primitives::offchain::RESEND_AFTER_BLOCKS) ago and may
	/// still land. The record is kept in persistent offchain storage, so a restart does not
	/// send twice, and claimed atomically, so overlapping worker runs (one per imported block,
	/// forks included) do not either.
	pub(crate) fn send_heartbeat(
		node: NodeId,
		key: &NodePublic,
		period: PeriodIndex,
		now: BlockNumberFor<T>,
	) -> Result<(), DutyError> {
		let record_key = (SENT_PREFIX, node).encode();
		let record = StorageValueRef::persistent(&record_key);
		let mut in_flight = false;
		let claimed =
			record.mutate(|sent: Result<Option<(PeriodIndex, BlockNumberFor<T>)>, _>| match sent {
				Ok(Some((sent_period, at)))
					if sent_period == period && sent_recently(Some(at), now) =>
				{
					in_flight = true;
					Err(())
				}
				_ => Ok((period, now)),
			});
		match claimed {
			Ok(_) => {}
			Err(MutateStorageError::ValueFunctionFailed(())) if in_flight => return Ok(()),
			Err(_) => return Err(DutyError::Locked),
		}

		let heartbeat = Heartbeat { node, period, block: now };
		let submitted = key
			.sign(&heartbeat.signed_bytes(&Self::genesis_hash()))
			.ok_or(DutyError::Signing)
			.and_then(|signature| {
				let call = Call::<T>::heartbeat { heartbeat, signature };
				let xt = <T as CreateAuthorizedTransaction<Call<T>>>::create_authorized_transaction(
					call.into(),
				);
				SubmitTransaction::<T, Call<T>>::submit_transaction(xt)
					.map_err(|()| DutyError::Pool)
			});
		if submitted.is_err() {
			// Let the next block's worker try again.
			let mut record = record;
			record.clear();
		}
		submitted
	}
}
