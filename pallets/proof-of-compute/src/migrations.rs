//! Storage migrations of proof of compute.

use crate::pallet::{Aggregations, Config, Federations, Jobs, Pallet};
use crate::types::{Aggregation, AgreedResult, Federation, JobInfo, JobKind, AGGREGATORS};
use crate::BalanceOf;
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
use tessera_primitives::{
	trainer_api::AggregatePrivacy, Cid, DpParameters, JobId, JobState, NodeId, Workload,
};

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

/// Version 2: a job's hot record names its kind ([`JobInfo::kind`]), so that the paths that
/// differ for federated jobs read it from the record they hold instead of looking for a
/// federation; a replicated job's commit and reveal no longer read the federations at all.
///
/// A job stored before is federated exactly when [`Federations`] holds it. Every job not yet
/// pruned is read and written in the one upgrade block, which is bounded by the jobs the
/// retention period keeps.
pub mod v2 {
	use super::*;

	/// A job's hot record as stored before version 2: [`JobInfo`] without `kind`.
	#[derive(Encode, Decode)]
	pub(crate) struct JobInfoV1<AccountId, Balance, BlockNumber> {
		pub requester: AccountId,
		pub workload: Workload,
		pub budget: Balance,
		pub deposit: Balance,
		pub redundancy: u8,
		pub deadline: BlockNumber,
		pub state: JobState,
		pub created: BlockNumber,
		pub assigned: Option<BlockNumber>,
		pub checkpoints: u32,
		pub result: Option<AgreedResult<BlockNumber>>,
		pub ended: Option<BlockNumber>,
	}

	impl<AccountId, Balance, BlockNumber> JobInfoV1<AccountId, Balance, BlockNumber> {
		fn with_kind(self, kind: JobKind) -> JobInfo<AccountId, Balance, BlockNumber> {
			JobInfo {
				requester: self.requester,
				kind,
				workload: self.workload,
				budget: self.budget,
				deposit: self.deposit,
				redundancy: self.redundancy,
				deadline: self.deadline,
				state: self.state,
				created: self.created,
				assigned: self.assigned,
				checkpoints: self.checkpoints,
				result: self.result,
				ended: self.ended,
			}
		}
	}

	/// Rewrites every job's hot record with its kind; run through [`JobKindField`], once.
	pub struct UncheckedJobKindField<T>(PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedJobKindField<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut rewritten = 0u64;
			Jobs::<T>::translate::<JobInfoV1<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>, _>(
				|job, old| {
					rewritten = rewritten.saturating_add(1);
					let kind = if Federations::<T>::contains_key(job) {
						JobKind::Federated
					} else {
						JobKind::Replicated
					};
					Some(old.with_kind(kind))
				},
			);
			// Each job and whether it has a federation are read; the job written.
			T::DbWeight::get().reads_writes(rewritten.saturating_mul(2), rewritten)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, polkadot_sdk::sp_runtime::TryRuntimeError> {
			Ok((Jobs::<T>::iter_keys().count() as u64).encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(
			state: alloc::vec::Vec<u8>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			let jobs: u64 = Decode::decode(&mut &state[..])
				.map_err(|_| "the pre-upgrade count does not decode")?;
			let mut upgraded = 0u64;
			for (job, info) in Jobs::<T>::iter() {
				polkadot_sdk::frame_support::ensure!(
					info.is_federated() == Federations::<T>::contains_key(job),
					"a job whose kind is not whether it has a federation"
				);
				upgraded = upgraded.saturating_add(1);
			}
			polkadot_sdk::frame_support::ensure!(
				upgraded == jobs,
				"a job lost or undecodable after the upgrade"
			);
			Ok(())
		}
	}

	/// [`UncheckedJobKindField`] run when proof of compute's storage version is 1, which it
	/// then sets to 2.
	pub type JobKindField<T> = VersionedMigration<
		1,
		2,
		UncheckedJobKindField<T>,
		Pallet<T>,
		<T as polkadot_sdk::frame_system::Config>::DbWeight,
	>;
}

#[cfg(test)]
mod tests {
	use super::{v1::*, v2::*};
	use crate::{
		mock::*,
		pallet::*,
		rounds::tests::*,
		tests::*,
		types::{Federation, JobKind},
	};
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

	#[test]
	fn an_upgrade_names_every_jobs_kind_by_whether_it_has_a_federation() {
		test(|| {
			let (federated, participants) = federated_job(3);
			deliver(federated, &participants, 0);
			let (replicated, _) = crate::dispute::tests::long_job();
			let jobs = [(federated, JobKind::Federated), (replicated, JobKind::Replicated)];
			let before: alloc::vec::Vec<_> =
				jobs.iter().map(|(job, _)| Jobs::<Test>::get(job).unwrap()).collect();
			// Each job is posted with its kind.
			assert_eq!(
				before.iter().map(|info| info.kind).collect::<alloc::vec::Vec<_>>(),
				[JobKind::Federated, JobKind::Replicated]
			);
			// Both as stored before version 2: without their kind.
			for ((job, _), info) in jobs.iter().zip(&before) {
				let old = JobInfoV1 {
					requester: info.requester,
					workload: info.workload.clone(),
					budget: info.budget,
					deposit: info.deposit,
					redundancy: info.redundancy,
					deadline: info.deadline,
					state: info.state,
					created: info.created,
					assigned: info.assigned,
					checkpoints: info.checkpoints,
					result: info.result.clone(),
					ended: info.ended,
				};
				unhashed::put_raw(&Jobs::<Test>::hashed_key_for(job), &old.encode());
				assert!(Jobs::<Test>::get(job).is_none(), "the old layout does not decode");
			}
			StorageVersion::new(1).put::<crate::Pallet<Test>>();

			JobKindField::<Test>::on_runtime_upgrade();

			for ((job, kind), info) in jobs.iter().zip(before) {
				let upgraded = Jobs::<Test>::get(job).expect("it decodes");
				assert_eq!(upgraded.kind, *kind);
				assert_eq!(upgraded, info);
			}
			assert_eq!(crate::Pallet::<Test>::on_chain_storage_version(), 2);
		});
	}
}
