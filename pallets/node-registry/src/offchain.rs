//! The off-chain worker: sends a heartbeat for every local node key once per period.

use super::*;
use codec::Encode;
use frame_system::{
	offchain::{CreateAuthorizedTransaction, SubmitTransaction},
	pallet_prelude::BlockNumberFor,
};
use sp_runtime::{
	offchain::storage::{MutateStorageError, StorageValueRef},
	traits::Saturating,
	RuntimeAppPublic,
};

/// Prefix of the offchain storage key that records the last heartbeat sent per node.
const SENT_PREFIX: &[u8] = b"tessera/node-registry/heartbeat-sent/";

/// Blocks to wait for a sent heartbeat to land before sending it again.
const RESEND_AFTER_BLOCKS: u32 = 5;

/// Why a heartbeat was not sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SendError {
	/// A heartbeat for this period was sent recently and may still land.
	AlreadySent,
	/// Another off-chain worker run holds the record.
	Contended,
	/// The keystore could not sign with the node key.
	Signing,
	/// The transaction pool refused the transaction.
	Pool,
}

impl<T: Config> Pallet<T> {
	/// Sends the heartbeats that are due for the node keys in the local keystore.
	pub(crate) fn send_heartbeats(now: BlockNumberFor<T>) {
		let period = Self::period_of(now);
		for key in NodePublic::all() {
			let Some(node) = NodeOfKey::<T>::get(&key) else { continue };
			let Some(info) = Nodes::<T>::get(node) else { continue };
			if !info.status.is_active() || info.last_heartbeat == Some(period) {
				continue;
			}
			match Self::send_heartbeat(node, &key, period, now) {
				Ok(()) => {
					log::debug!(target: LOG_TARGET, "sent heartbeat of node {node} for period {period}")
				}
				Err(error) => {
					log::debug!(target: LOG_TARGET, "no heartbeat from node {node}: {error:?}")
				}
			}
		}
	}

	/// Signs and pools one heartbeat, unless one for the same period was sent less than
	/// [`RESEND_AFTER_BLOCKS`] ago. The record is kept in persistent offchain storage, so
	/// a restart does not send twice, and claimed atomically, so overlapping worker runs
	/// (one per imported block, forks included) do not either.
	pub(crate) fn send_heartbeat(
		node: NodeId,
		key: &NodePublic,
		period: PeriodIndex,
		now: BlockNumberFor<T>,
	) -> Result<(), SendError> {
		let record_key = (SENT_PREFIX, node).encode();
		let record = StorageValueRef::persistent(&record_key);
		let claimed =
			record.mutate(|sent: Result<Option<(PeriodIndex, BlockNumberFor<T>)>, _>| match sent {
				Ok(Some((sent_period, at)))
					if sent_period == period
						&& now < at.saturating_add(RESEND_AFTER_BLOCKS.into()) =>
				{
					Err(SendError::AlreadySent)
				}
				_ => Ok((period, now)),
			});
		match claimed {
			Ok(_) => {}
			Err(MutateStorageError::ValueFunctionFailed(error)) => return Err(error),
			Err(MutateStorageError::ConcurrentModification(_)) => return Err(SendError::Contended),
		}

		let heartbeat = Heartbeat { node, period, block: now };
		let submitted = key
			.sign(&heartbeat.signed_bytes(&Self::genesis_hash()))
			.ok_or(SendError::Signing)
			.and_then(|signature| {
				let call = Call::<T>::heartbeat { heartbeat, signature };
				let xt = <T as CreateAuthorizedTransaction<Call<T>>>::create_authorized_transaction(
					call.into(),
				);
				SubmitTransaction::<T, Call<T>>::submit_transaction(xt)
					.map_err(|()| SendError::Pool)
			});
		if submitted.is_err() {
			// Let the next block's worker try again.
			let mut record = record;
			record.clear();
		}
		submitted
	}
}
