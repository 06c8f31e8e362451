//! # Traps Pallet
//!
//! A child pallet of proof of compute (SPEC §5): trap jobs. In Tessera's runtime this is
//! `ProofOfComputeTraps`, pallet index 56.
//!
//! ## Overview
//!
//! A trap is a re-run, with a fresh seed, of a job already verified. Members of the model
//! registry's approver set each re-run it on the reference backend and seal the final weights
//! digest they got with [`Pallet::seal_trap`] (`blake2_256((job, digest, salt))`, with a salt
//! of their own); the seal names no job, so trainers cannot tell, and it is set before the
//! job's replicas are chosen. The job is posted with proof of compute's `create_job` like any
//! other, from any account (approvers need not show their own), and its trainers see an
//! ordinary job. Once the job is accepted each setter reveals its own seal with
//! [`Pallet::reveal_trap`] ([`Event::TrapConfirmed`]); when [`Config::TrapQuorum`] setters
//! (as many as a proposal needs approvals, `ApprovalThreshold`: 1 on the dev chain) named the
//! same answer the trap springs ([`Event::TrapSprung`]): replicas that answered otherwise
//! lose their whole stake (and the node registry deactivates them), the rest are paid as
//! usual, the result reaches no model, and the treasury pays the job's requester back what
//! the job cost, once. No one setter's word slashes anybody: a trap rests on the quorum being
//! honest, as the model registry's approvals do.
//!
//! Seals are bounded by [`TrapRate`] ([`Config::DefaultTrapRate`], 1% of assignments, plus
//! one trap, each of a quorum of seals; [`Config::ForceOrigin`] sets another with
//! [`Pallet::set_trap_rate`]). A seal nobody reveals lapses twice the parent's
//! `MaxJobDuration` blocks after it was set, and `on_idle` removes it, [`SEAL_SCAN_BATCH`]
//! seals looked at a block; confirmations of a trap that never sprang are pruned with its
//! job.
//!
//! ## Terminology
//!
//! - *Seal*: the hash of a job, its expected final weights digest and a setter's salt.
//! - *Setter*: an account of [`Config::TrapOrigin`] that sealed an answer.
//! - *Sprung*: a trap whose answer a quorum of setters revealed; its job is settled.
//!
//! ## Interface
//!
//! - Setters: [`Pallet::seal_trap`], [`Pallet::reveal_trap`].
//! - [`Config::ForceOrigin`]: [`Pallet::set_trap_rate`].
//!
//! The pallet sees jobs only through [`Config::Jobs`] ([`TrapJobs`], which proof of compute
//! implements), and proof of compute reaches it only through [`TrapHooks`]: it counts
//! assignments here and prunes a job's confirmations with the job.
//!
//! Not built yet: traps posted by the chain itself from a vault of sealed tasks, so that the
//! requester's account cannot mark a job either.

use crate::traits::{TrapHooks, TrapJob, TrapJobs};
use alloc::vec::Vec;
use codec::Encode;
use polkadot_sdk::{
	frame_support::{self, ensure, pallet_prelude::*},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::H256,
	sp_runtime::traits::{Saturating, Zero},
};
use tessera_primitives::{JobId, JobState, TrainedWeights};

pub use pallet::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod tests;
pub mod weights;

/// Seals one `on_idle` step of the scan for lapsed seals looks at, at most.
pub const SEAL_SCAN_BATCH: u32 = 64;

/// Setters whose confirmations of one trap answer are recorded at most: the model registry's
/// approvers at most.
pub const MAX_TRAP_SETTERS: u32 = 32;

/// The seal of answer `expected` to trap job `job`, salted with `salt`.
pub fn trap_seal(job: JobId, expected: &H256, salt: &[u8; 32]) -> H256 {
	H256(polkadot_sdk::sp_io::hashing::blake2_256(&(job, expected, salt).encode()))
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_system::pallet_prelude::*;
	use polkadot_sdk::sp_runtime::Perbill;

	/// Version 1: the traps' storage under this pallet's own prefix ([`crate::traps::migrations::v1`]).
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of traps.
	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The jobs traps are set on: proof of compute.
		type Jobs: TrapJobs<Self::AccountId, BlockNumberFor<Self>>;

		/// How many setters must each reveal a seal of their own naming the same answer
		/// before a trap springs (the model registry's approval threshold), so that no one
		/// account's word slashes anybody.
		type TrapQuorum: Get<u32>;

		/// The most trap jobs per assignment, until [`Config::ForceOrigin`] sets another rate
		/// ([`TrapRate`]).
		#[pallet::constant]
		type DefaultTrapRate: Get<Perbill>;

		/// Who sets trap jobs: the model registry's approver set, each member by itself.
		type TrapOrigin: EnsureOrigin<Self::RuntimeOrigin, Success = Self::AccountId>;

		/// Who may set the trap rate.
		type ForceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Sealed trap answers, keyed by `blake2_256((job, expected digest, salt))` so that
	/// nothing on chain says which jobs are traps until their setter reveals one: who set
	/// each, and when. `Identity` is safe: the key is a hash its setter cannot aim at another
	/// seal's place without finding a preimage.
	#[pallet::storage]
	pub type TrapSeals<T: Config> =
		StorageMap<_, Identity, H256, (T::AccountId, BlockNumberFor<T>)>;

	/// The setters that revealed their seals of each answer to a trap job, until
	/// [`Config::TrapQuorum`] of them agree and the trap springs; pruned with the job. Job
	/// ids are sequential (`Twox64Concat`), answers are digests (`Identity`).
	#[pallet::storage]
	pub type TrapConfirmations<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		JobId,
		Identity,
		H256,
		BoundedVec<T::AccountId, ConstU32<MAX_TRAP_SETTERS>>,
		ValueQuery,
	>;

	/// Where the `on_idle` scan for lapsed [`TrapSeals`] stopped: the last seal it looked
	/// at, or `None` to start from the first.
	#[pallet::storage]
	pub type TrapSealCursor<T> = StorageValue<_, H256>;

	/// The most trap jobs per assignment: a trap may be set while traps set so far are
	/// fewer than this share of assignments, plus one.
	#[pallet::storage]
	pub type TrapRate<T: Config> = StorageValue<_, Perbill, ValueQuery, T::DefaultTrapRate>;

	/// Jobs assigned so far, and trap seals set so far: what [`TrapRate`] bounds, at
	/// [`Config::TrapQuorum`] seals a trap. Proof of compute counts assignments through
	/// [`TrapHooks::on_assigned`].
	#[pallet::storage]
	pub type TrapTally<T> = StorageValue<_, (u64, u64), ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A setter revealed its seal of a trap's answer; the trap springs once
		/// [`Config::TrapQuorum`] setters named the same answer.
		TrapConfirmed {
			/// The job.
			job: JobId,
			/// The answer revealed.
			expected: H256,
			/// Setters that named it so far.
			confirmations: u32,
		},
		/// A quorum of setters revealed the same answer: the replicas that got it wrong lost
		/// their whole stake, the others were paid, and the result goes nowhere.
		TrapSprung {
			/// The job.
			job: JobId,
			/// The weights digest the reference backend computed.
			expected: H256,
			/// Replicas that answered otherwise.
			caught: u32,
		},
		/// A trap answer was sealed; the seal does not say for which job.
		TrapSealed {
			/// The seal.
			seal: H256,
		},
		/// A seal nobody revealed within twice the longest job's duration lapsed and was
		/// removed.
		TrapSealLapsed {
			/// The seal.
			seal: H256,
		},
		/// [`Config::ForceOrigin`] set the trap rate.
		TrapRateSet {
			/// Trap jobs per assignment at most.
			rate: Perbill,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No such job.
		UnknownJob,
		/// The job is not accepted: a trap springs only on an accepted job.
		WrongState,
		/// The caller set no trap with this job, answer and salt.
		NotATrap,
		/// The caller revealed this answer to the trap already.
		AlreadyConfirmed,
		/// Trap jobs would exceed the trap rate.
		TooManyTraps,
		/// This seal was set already.
		DuplicateTrap,
		/// The trap was sealed after the job's replicas were chosen.
		LateSeal,
		/// The seal was set twice the longest job's duration ago or more: it lapsed.
		SealLapsed,
		/// The job runs on GPUs, whose honest results differ from any one answer by rounding:
		/// a sealed digest cannot judge its replicas, so no trap springs on it.
		TrapNotReproducible,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Removes lapsed seals with the weight blocks leave over.
		fn on_idle(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::prune_lapsed_seals(now, remaining)
		}

		fn integrity_test() {
			// A seal must outlive the job it seals, which runs up to the longest job's
			// duration after it was posted and is accepted only then.
			assert!(
				Self::seal_lapses_at(Zero::zero()) > T::Jobs::max_job_duration(),
				"a seal must outlive the longest job: MaxJobDuration must allow a block"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_: BlockNumberFor<T>,
		) -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call(weight(<T as Config>::WeightInfo))]
	impl<T: Config> Pallet<T> {
		/// Seals the answer to a trap job: `blake2_256((job, digest, salt))`, where `digest`
		/// is the final weights digest the caller computed on the reference backend for a job
		/// it posts itself with proof of compute's `create_job`, like any other job. The seal
		/// names no job, so nothing tells the job's trainers; it must be in place before the
		/// job's replicas are chosen, and it lapses twice the longest job's duration after it
		/// is set (time for the job to run to its deadline and be accepted), when `on_idle`
		/// removes it.
		///
		/// Origin: [`Config::TrapOrigin`]. Emits [`Event::TrapSealed`].
		#[pallet::call_index(0)]
		pub fn seal_trap(origin: OriginFor<T>, seal: H256) -> DispatchResult {
			let setter = T::TrapOrigin::ensure_origin(origin)?;
			Self::do_seal_trap(setter, seal)
		}

		/// Reveals the caller's seal of `expected` as the answer to the accepted trap job
		/// `job`, salted with `salt`. Once [`Config::TrapQuorum`] setters revealed the same
		/// answer, the trap springs: replicas whose final weights digest is not `expected`
		/// are slashed their whole stake, the others paid; the result never becomes a model
		/// version, and the treasury pays the job's requester back what the job cost.
		///
		/// Origin: [`Config::TrapOrigin`], the setter of the seal. Emits
		/// [`Event::TrapConfirmed`], then proof of compute's settlement events and
		/// [`Event::TrapSprung`] with the quorum.
		#[pallet::call_index(1)]
		#[pallet::weight(
			T::WeightInfo::reveal_trap().saturating_add(T::Jobs::settlement_weight())
		)]
		pub fn reveal_trap(
			origin: OriginFor<T>,
			job: JobId,
			expected: H256,
			salt: [u8; 32],
		) -> DispatchResult {
			let setter = T::TrapOrigin::ensure_origin(origin)?;
			Self::do_reveal_trap(setter, job, expected, salt)
		}

		/// Sets the most trap jobs per assignment to `rate`.
		///
		/// Origin: [`Config::ForceOrigin`]. Emits [`Event::TrapRateSet`].
		#[pallet::call_index(2)]
		pub fn set_trap_rate(origin: OriginFor<T>, rate: Perbill) -> DispatchResult {
			T::ForceOrigin::ensure_origin(origin)?;
			TrapRate::<T>::put(rate);
			Self::deposit_event(Event::TrapRateSet { rate });
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// The block a seal set at `sealed_at` lapses in: twice the longest job's duration later,
	/// so that a trap job posted when it was sealed has been assigned, has run to its
	/// deadline and has been accepted by then.
	pub(crate) fn seal_lapses_at(sealed_at: BlockNumberFor<T>) -> BlockNumberFor<T> {
		sealed_at.saturating_add(T::Jobs::max_job_duration().saturating_mul(2u32.into()))
	}

	/// Looks at up to [`SEAL_SCAN_BATCH`] seals from where the last scan stopped and removes
	/// those that lapsed, if `remaining` pays for a whole step.
	pub(crate) fn prune_lapsed_seals(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
		let batch = u64::from(SEAL_SCAN_BATCH);
		// The cursor and every seal looked at are read; each removed seal and the cursor
		// written.
		let step =
			T::DbWeight::get().reads_writes(batch.saturating_add(1), batch.saturating_add(1));
		if !step.all_lte(remaining) {
			return Weight::zero();
		}
		let mut seals = match TrapSealCursor::<T>::get() {
			Some(last) => TrapSeals::<T>::iter_from(TrapSeals::<T>::hashed_key_for(last)),
			None => TrapSeals::<T>::iter(),
		};
		let (mut seen, mut last, mut lapsed) = (0u32, None, Vec::new());
		while seen < SEAL_SCAN_BATCH {
			let Some((seal, (_, sealed_at))) = seals.next() else { break };
			seen += 1;
			last = Some(seal);
			if Self::seal_lapses_at(sealed_at) <= now {
				lapsed.push(seal);
			}
		}
		match last.filter(|_| seen == SEAL_SCAN_BATCH) {
			Some(last) => TrapSealCursor::<T>::put(last),
			None => TrapSealCursor::<T>::kill(),
		}
		let removed = lapsed.len() as u64;
		for seal in lapsed {
			TrapSeals::<T>::remove(seal);
			Self::deposit_event(Event::TrapSealLapsed { seal });
		}
		T::DbWeight::get()
			.reads_writes(u64::from(seen).saturating_add(1), removed.saturating_add(1))
	}

	pub(crate) fn do_seal_trap(setter: T::AccountId, seal: H256) -> DispatchResult {
		ensure!(!TrapSeals::<T>::contains_key(seal), Error::<T>::DuplicateTrap);
		let (assigned, seals) = TrapTally::<T>::get();
		// Each trap takes a quorum of seals: the rate bounds traps, not seals.
		let traps_allowed = TrapRate::<T>::get().mul_floor(assigned).saturating_add(1);
		ensure!(
			seals < traps_allowed.saturating_mul(T::TrapQuorum::get().max(1).into()),
			Error::<T>::TooManyTraps
		);
		TrapSeals::<T>::insert(seal, (setter, frame_system::Pallet::<T>::block_number()));
		TrapTally::<T>::put((assigned, seals.saturating_add(1)));
		Self::deposit_event(Event::TrapSealed { seal });
		Ok(())
	}

	pub(crate) fn do_reveal_trap(
		caller: T::AccountId,
		job: JobId,
		expected: H256,
		salt: [u8; 32],
	) -> DispatchResult {
		let seal = trap_seal(job, &expected, &salt);
		let (setter, sealed_at) = TrapSeals::<T>::get(seal).ok_or(Error::<T>::NotATrap)?;
		ensure!(setter == caller, Error::<T>::NotATrap);
		let TrapJob { state, assigned, checkpoints, agreed, reproducible } =
			T::Jobs::job(job).ok_or(Error::<T>::UnknownJob)?;
		ensure!(reproducible, Error::<T>::TrapNotReproducible);
		// Replicas are chosen at the start of a block: a seal of that block came after them.
		ensure!(assigned.is_some_and(|assigned| sealed_at < assigned), Error::<T>::LateSeal);
		ensure!(
			frame_system::Pallet::<T>::block_number() < Self::seal_lapses_at(sealed_at),
			Error::<T>::SealLapsed
		);
		ensure!(state == JobState::Accepted, Error::<T>::WrongState);
		let mut confirmations = TrapConfirmations::<T>::get(job, expected);
		ensure!(!confirmations.contains(&setter), Error::<T>::AlreadyConfirmed);
		confirmations.try_push(setter).map_err(|_| Error::<T>::AlreadyConfirmed)?;
		TrapSeals::<T>::remove(seal);
		let count = confirmations.len() as u32;
		Self::deposit_event(Event::TrapConfirmed { job, expected, confirmations: count });
		if count < T::TrapQuorum::get().max(1) {
			TrapConfirmations::<T>::insert(job, expected, confirmations);
			return Ok(());
		}
		let _ = TrapConfirmations::<T>::clear_prefix(job, MAX_TRAP_SETTERS, None);

		let mut caught = Vec::new();
		// The state the accepted majority named, if it got the trap right; otherwise the
		// first right replica's. Payment holds replicas to the digest and state together.
		let mut state_cid =
			agreed.filter(|agreed| agreed.digest == expected).map(|agreed| agreed.weights);
		for (node, revealed) in T::Jobs::reveals(job, checkpoints.saturating_sub(1)) {
			match revealed {
				Some(payload) if payload.weights_digest == expected => {
					state_cid.get_or_insert(payload.state_cid);
				}
				_ => caught.push(node),
			}
		}
		let answer = TrainedWeights { weights: state_cid.unwrap_or_default(), digest: expected };
		T::Jobs::settle_sprung_trap(job, answer, &caught)?;
		Self::deposit_event(Event::TrapSprung { job, expected, caught: caught.len() as u32 });
		Ok(())
	}

	/// Invariants of traps.
	///
	/// # Invariants
	///
	/// - Every confirmation list names a job that still exists (they are pruned with it) and
	///   at least one setter.
	/// - No more seals are in place than were ever set.
	#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		for (job, _, confirmations) in TrapConfirmations::<T>::iter() {
			ensure!(
				T::Jobs::job(job).is_some() && !confirmations.is_empty(),
				"trap confirmations of a job that is gone, or of nobody"
			);
		}
		let (_, seals_set) = TrapTally::<T>::get();
		ensure!(
			TrapSeals::<T>::iter_keys().count() as u64 <= seals_set,
			"more seals in place than were ever set"
		);
		Ok(())
	}
}

impl<T: Config> TrapHooks for Pallet<T> {
	fn on_assigned(_: JobId) {
		TrapTally::<T>::mutate(|(assigned, _)| *assigned = assigned.saturating_add(1));
	}

	fn on_pruned(job: JobId, limit: u32) -> bool {
		TrapConfirmations::<T>::clear_prefix(job, limit, None).maybe_cursor.is_none()
	}
}
