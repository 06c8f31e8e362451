//! The aggregator side of the off-chain worker: for each federated round a local validator
//! key was seated to aggregate, once its turn has come, the worker has the node's trainer
//! average the round's updates (`POST /v1/aggregate`; a trainer that lacks an update or the
//! round's start state first fetches it from the participant or the aggregator that
//! committed it) and commits the aggregate with the Merkle root of the updates' CIDs and,
//! for a private job, the noise the trainer added, which must be the noise the round adds.
//! A panel re-executing a challenged aggregate asks the trainer the same, with the noise
//! the aggregate names.

use super::{submit, Trainer, MAX_JOBS_PER_RUN};
use crate::{pallet::*, types::*, LOG_TARGET};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::sp_runtime::SaturatedConversion as _;
use polkadot_sdk::{
	frame_system::pallet_prelude::BlockNumberFor,
	sp_core::H256,
	sp_runtime::{offchain::storage::StorageValueRef, RuntimeAppPublic},
};
use tessera_primitives::offchain::{local_duties, sent_recently, DutyError};
use tessera_primitives::NodeInspect as _;
use tessera_primitives::NodeSigned as _;
use tessera_primitives::{
	trainer_api::{cid_from_string, Aggregate, AggregateRequest},
	Cid, JobId, NodeId, NodePublic,
};

const SENT_PREFIX: &[u8] = b"tessera/proof-of-compute/aggregation-sent/";

impl<T: Config> Pallet<T> {
	/// Aggregates the rounds the local validator keys are seated for, in their turn.
	pub(crate) fn aggregate_offchain(now: BlockNumberFor<T>) {
		let duties = local_duties(
			T::Nodes::node_of_key,
			AggregatorDuties::<T>::iter_key_prefix,
			MAX_JOBS_PER_RUN,
			now.saturated_into(),
		);
		for (node, key, job) in duties {
			if let Err(error) = Self::aggregate(node, &key, job, now) {
				log::debug!(target: LOG_TARGET, "aggregator {node}, job {job}: {error:?}; trying later");
			}
		}
	}

	/// One run's work on `node`'s seat among the aggregators of `job`'s current round.
	pub(crate) fn aggregate(
		node: NodeId,
		key: &NodePublic,
		job: JobId,
		now: BlockNumberFor<T>,
	) -> Result<(), DutyError> {
		let Some(federation) = Federations::<T>::get(job) else { return Ok(()) };
		if Self::turn_starts(&federation, node).is_none_or(|starts| now < starts) {
			return Ok(());
		}
		let sent_key = (SENT_PREFIX, job, federation.round, node).encode();
		let sent = StorageValueRef::persistent(&sent_key);
		let last_sent = sent.get::<BlockNumberFor<T>>().ok().flatten();
		if sent_recently(last_sent, now) {
			return Ok(());
		}
		let (weights_digest, state_cid) = Self::average(&Trainer::of(key)?, job, federation.round)?;
		let inputs = Self::round_inputs(job, federation.round);
		let aggregation = Aggregation {
			job,
			round: federation.round,
			node,
			state_cid,
			weights_digest,
			inputs_root: inputs_root(inputs.iter().map(|(_, update)| update.state_cid.as_slice())),
			participants: inputs.len() as u32,
			noise: Self::round_noise(job, federation.round),
		};
		if Self::check_aggregation(&aggregation).is_err() {
			// The round moved on while the trainer averaged.
			return Ok(());
		}
		let signature =
			key.sign(&aggregation.signed_bytes(&Self::genesis_hash())).ok_or(DutyError::Signing)?;
		submit::<T>(Call::submit_aggregation { aggregation, signature })?;
		if last_sent.is_none() {
			Self::remember(job, &sent_key);
		}
		sent.set(&now);
		Ok(())
	}

	/// Has `trainer` average the updates of `round` of `job`, from the state the round
	/// started from, adding the round's noise ([`Pallet::round_noise`]: for a committed
	/// aggregate, the noise it names): the aggregate's weights digest and state. An answer
	/// that names other noise than was asked for is not the round's aggregate. An update or
	/// a start state the trainer lacks is fetched from whoever committed it, for the next
	/// block.
	pub(crate) fn average(
		trainer: &Trainer,
		job: JobId,
		round: u32,
	) -> Result<(H256, Cid), DutyError> {
		let spec = JobSpecs::<T>::get(job).ok_or(DutyError::BadResponse)?;
		let inputs = Self::round_inputs(job, round);
		let previous = round.checked_sub(1);
		let start = match previous {
			Some(previous) => Self::aggregate_of(job, previous).map(|(_, _, state)| state),
			None => Some(spec.base_weights.clone()),
		}
		.unwrap_or_default();
		let updates: Vec<(&[u8], u64)> = inputs
			.iter()
			.map(|(_, update)| (update.state_cid.as_slice(), update.samples))
			.collect();
		let privacy = Self::round_noise(job, round);
		let request = AggregateRequest::new(&spec, &start, updates)?.with_privacy(privacy);
		let answer = trainer.post::<Aggregate>("/v1/aggregate", &request);
		if let Err(DutyError::Status(400..=499)) = &answer {
			if let Some(previous) = previous {
				Self::fetch_state(trainer, job, previous, &start);
			}
			for (_, update) in &inputs {
				Self::fetch_state(trainer, job, round, &update.state_cid);
			}
		}
		let aggregate = answer?;
		if aggregate.noise != privacy {
			return Err(DutyError::BadResponse);
		}
		Ok((aggregate.digest()?, cid_from_string(&aggregate.state_cid)?))
	}
}
