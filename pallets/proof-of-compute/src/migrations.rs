//! Storage migrations of proof of compute.

use crate::pallet::{Aggregations, Config, Federations, Pallet};
use crate::types::{Aggregation, Federation, AGGREGATORS};
use codec::{Decode, Encode, Input};
use core::marker::PhantomData;
use polkadot_sdk::{
	frame_support::{
		migrations::VersionedMigration,
		pallet_prelude::{ConstU32, Weight},
		traits::{Get, UncheckedOnRuntimeUpgrade},
		BoundedVec,
	},
	frame_system::pallet_prelude::BlockNumberFor,
	sp_core::H256,
};
use tessera_primitives::{trainer_api::AggregatePrivacy, Cid, DpParameters, JobId, NodeId};

/// Version 1: a federation keeps the randomness of the round before, so that the updates of
/// that round stay challengeable on the shards it drew ([`Federation::previous_seed`]); and
/// every aggregate names its noise ([`Aggregation::noise`]).
///
/// A federation stored before has no record of its previous round's randomness: it gets
/// `None`, which leaves that round's updates unchallengeable and every later round's as
/// usual. An aggregate stored before aggregates named their noise held none, and an
/// aggregate of a job that declared privacy was refused unless it named the round's: one
/// that ends without the field gets `None`.
///
/// Every federation and aggregate of a job not yet pruned is read and written in the one
/// upgrade block, which is bounded by the jobs the retention period keeps.
pub mod v1 {
	use super::*;

	/// A federation as stored before version 1: [`Federation`] without `previous_seed`.
	#[derive(Encode, Decode)]
	pub(crate) struct FederationV0<BlockNumber> {
		pub shards: u32,
		pub round: u32,
		pub seed: H256,
		pub deadline: BlockNumber,
		pub closed: Option<BlockNumber>,
		pub inputs: BoundedVec<NodeId, ConstU32<{ u8::MAX as u32 }>>,
		pub previous_inputs: BoundedVec<NodeId, ConstU32<{ u8::MAX as u32 }>>,
		pub aggregators: BoundedVec<NodeId, ConstU32<AGGREGATORS>>,
		pub draws: u8,
		pub settled: Option<u32>,
		pub privacy: Option<(DpParameters, u32)>,
	}

	impl<BlockNumber> From<FederationV0<BlockNumber>> for Federation<BlockNumber> {
		fn from(old: FederationV0<BlockNumber>) -> Self {
			Federation {
				shards: old.shards,
				round: old.round,
				seed: old.seed,
				previous_seed: None,
				deadline: old.deadline,
				closed: old.closed,
				inputs: old.inputs,
				previous_inputs: old.previous_inputs,
				aggregators: old.aggregators,
				draws: old.draws,
				settled: old.settled,
				privacy: old.privacy,
			}
		}
	}

	/// An aggregate as stored before version 1: with its noise, or from before aggregates
	/// named their noise, when its encoding ends after `participants`.
	pub(crate) struct AggregationV0(pub Aggregation);

	impl Decode for AggregationV0 {
		fn decode<I: Input>(input: &mut I) -> Result<Self, codec::Error> {
			let job = JobId::decode(input)?;
			let round = u32::decode(input)?;
			let node = NodeId::decode(input)?;
			let state_cid = Cid::decode(input)?;
			let weights_digest = H256::decode(input)?;
			let inputs_root = H256::decode(input)?;
			let participants = u32::decode(input)?;
			let noise = match input.remaining_len()? {
				Some(0) => None,
				_ => Option::<AggregatePrivacy>::decode(input)?,
			};
			let aggregation = Aggregation {
				job,
				round,
				node,
				state_cid,
				weights_digest,
				inputs_root,
				participants,
				noise,
			};
			Ok(Self(aggregation))
		}
	}

	/// Rewrites every federation and aggregate in the version 1 layout; run through
	/// [`KeepPreviousSeed`], once.
	pub struct UncheckedKeepPreviousSeed<T>(PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedKeepPreviousSeed<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut rewritten = 0u64;
			Federations::<T>::translate::<FederationV0<BlockNumberFor<T>>, _>(|_, old| {
				rewritten = rewritten.saturating_add(1);
				Some(old.into())
			});
			Aggregations::<T>::translate::<AggregationV0, _>(|_, _, old| {
				rewritten = rewritten.saturating_add(1);
				Some(old.0)
			});
			T::DbWeight::get().reads_writes(rewritten, rewritten)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
			let counts = (
				Federations::<T>::iter_keys().count() as u64,
				Aggregations::<T>::iter_keys().count() as u64,
			);
			Ok(counts.encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(
			state: alloc::vec::Vec<u8>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			let (federations, aggregations): (u64, u64) = Decode::decode(&mut &state[..])
				.map_err(|_| "the pre-upgrade counts do not decode")?;
			polkadot_sdk::frame_support::ensure!(
				Federations::<T>::iter_values().count() as u64 == federations,
				"a federation lost or undecodable after the upgrade"
			);
			polkadot_sdk::frame_support::ensure!(
				Aggregations::<T>::iter_values().count() as u64 == aggregations,
				"an aggregate lost or undecodable after the upgrade"
			);
			Ok(())
		}
	}

	/// [`UncheckedKeepPreviousSeed`] run when proof of compute's storage version is 0, which
	/// it then sets to 1. A chain whose genesis had version 1 skips it.
	pub type KeepPreviousSeed<T> = VersionedMigration<
		0,
		1,
		UncheckedKeepPreviousSeed<T>,
		Pallet<T>,
		<T as polkadot_sdk::frame_system::Config>::DbWeight,
	>;
}

#[cfg(test)]
mod tests {
	use super::v1::*;
	use crate::{mock::*, pallet::*, rounds::tests::*, tests::*, types::Federation};
	use codec::Encode;
	use polkadot_sdk::frame_support::{
		assert_noop,
		storage::unhashed,
		traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion},
	};

	#[test]
	fn an_upgrade_keeps_every_federation_and_aggregate_and_leaves_the_previous_seed_unknown() {
		test(|| {
			let (job, participants) = federated_job(3);
			deliver(job, &participants, 0);
			send(aggregation_call(aggregation(job, aggregators(job)[0], honest_aggregate(0))));
			let federation = Federations::<Test>::get(job).unwrap();
			let aggregate = Aggregations::<Test>::get(job, 0).unwrap();
			assert_eq!((federation.round, aggregate.noise), (1, None));
			// Both as stored before version 1: the federation without the previous round's
			// randomness, the aggregate from before aggregates named their noise.
			let old = FederationV0 {
				shards: federation.shards,
				round: federation.round,
				seed: federation.seed,
				deadline: federation.deadline,
				closed: federation.closed,
				inputs: federation.inputs.clone(),
				previous_inputs: federation.previous_inputs.clone(),
				aggregators: federation.aggregators.clone(),
				draws: federation.draws,
				settled: federation.settled,
				privacy: federation.privacy,
			};
			unhashed::put_raw(&Federations::<Test>::hashed_key_for(job), &old.encode());
			let without_noise = aggregate.encode();
			let without_noise = &without_noise[..without_noise.len() - 1];
			unhashed::put_raw(&Aggregations::<Test>::hashed_key_for(job, 0), without_noise);
			StorageVersion::new(0).put::<crate::Pallet<Test>>();

			KeepPreviousSeed::<Test>::on_runtime_upgrade();

			let upgraded = Federations::<Test>::get(job).expect("it decodes");
			assert_eq!(upgraded.previous_seed, None);
			assert_eq!(upgraded, Federation { previous_seed: None, ..federation.clone() });
			assert_eq!(Aggregations::<Test>::get(job, 0), Some(aggregate));
			assert_eq!(crate::Pallet::<Test>::on_chain_storage_version(), 1);
			// Round 0's updates cannot be challenged on shards nobody recorded; round 1's can.
			assert_eq!(upgraded.seed_of(0), None);
			assert_eq!(upgraded.seed_of(1), Some(federation.seed));
			assert_noop!(
				ProofOfCompute::challenge_update(
					RuntimeOrigin::signed(CHALLENGER),
					job,
					0,
					participants[0]
				),
				Error::<Test>::UnknownUpdate
			);
		});
	}
}
