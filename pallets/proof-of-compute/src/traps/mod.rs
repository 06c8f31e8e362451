//! # Traps Pallet
//!
//! A child pallet of proof of compute (SPEC §5, §12): trap jobs. In Tessera's runtime this
//! is `ProofOfComputeTraps`, pallet index 56.
//!
//! ## Overview
//!
//! A trap is a re-run, with a fresh seed, of a job already verified, so that no public digest
//! answers it. Traps come from a vault of sealed tasks and are posted by the chain:
//!
//! 1. A member of the model registry's approver set picks a verified job of the reference
//!    backend and a seed ([`TrapTask`]), re-runs it, and puts the task in the vault with a
//!    seal of the final weights digest it got ([`Pallet::seal_trap`]):
//!    `blake2_256((task, digest, salt, setter))`, with a salt of its own. Other approvers
//!    re-run the task they see in the vault and add seals of their own; a seal names its
//!    setter, so nobody can present another's seal as its own work.
//! 2. Once [`Config::TrapQuorum`] approvers sealed it (as many as a proposal needs approvals,
//!    `ApprovalThreshold`: 1 on the dev chain), the task is armed ([`ArmedTasks`]).
//! 3. After the inherents of each block, while the traps posted are fewer than the trap rate
//!    allows ([`TrapRate`] of the assignments so far, plus one), the oldest armed task is
//!    posted by the chain: proof of compute creates it as a job of the treasury's (a pallet
//!    account), with the re-run job's spec, budget, redundancy and duration and the task's
//!    seed, through the path every job takes ([`TrapJobs::post_trap`]). Its replicas are
//!    drawn, train, commit and reveal, and are paid from that budget, like any others'.
//! 4. Once the job is accepted, each setter reveals its seal with [`Pallet::reveal_trap`]
//!    ([`Event::TrapConfirmed`]). When a quorum of setters named the same answer the trap
//!    springs ([`Event::TrapSprung`]): replicas that answered otherwise lose their whole stake
//!    (and the node registry deactivates them), the rest are paid, and the result reaches no
//!    model. What the job did not spend goes back to the treasury, the one account that paid
//!    for it: no refund, so nothing is paid twice.
//!
//! No one account's word slashes anybody: a trap rests on a quorum of approvers being honest,
//! as the model registry's approvals do, and no setter can copy another's answer. A trap
//! without its quorum (setters silent or at odds) finalizes as the job it is when its
//! challenge window closes.
//!
//! What a trap does not hide: the vault, the trap's requester (the treasury) and
//! [`Event::TrapPosted`] are public, so a trainer drawn for a trap can tell. It still cannot
//! answer it without training, since no digest of the fresh seed exists anywhere before it
//! reveals, and it cannot copy another replica's reveal (commits close before reveals open).
//! The chain keeps the seed fresh: it refuses a task whose seed is its job's own
//! ([`Error::SeedNotFresh`], the accepted result would answer it), and a task that trains
//! what a trap posted before trained, the same spec with the same seed, whatever job it
//! names ([`Error::AlreadyPosted`]: [`SpentTraps`] keeps every posted trap's spec hash, since
//! its replicas' reveals answer it for good). It cannot tell a seed that some requester's own
//! job used with the same spec: approvers pick seeds at random, from 2⁶⁴.
//! So a trap checks that a node's trainer, build and hardware compute the reference answer;
//! against a node that trains honestly only when it knows it is watched, the defence is the
//! spot-check drawn after its reveals and the bisection of any challenge, which it cannot
//! tell from a real job's.
//!
//! Traps posted are bounded by [`TrapRate`] ([`Config::DefaultTrapRate`], 1% of assignments,
//! plus one; [`Config::ForceOrigin`] sets another with [`Pallet::set_trap_rate`]); the vault
//! by [`Config::MaxVaultTasks`]. A task not posted twice the parent's `MaxJobDuration`
//! blocks after it was stocked lapses, and `on_idle` removes it; a task whose job can no
//! longer be posted (its re-run job was pruned, the treasury cannot pay) is dropped with
//! [`Event::TrapDropped`]. Confirmations of a trap that never sprang are pruned with its job.
//!
//! ## Terminology
//!
//! - *Task*: a verified job to re-run, and the seed to re-run it with.
//! - *Seal*: the hash of a task, its expected final weights digest, a setter's salt and the
//!   setter.
//! - *Setter*: an account of [`Config::TrapOrigin`] that sealed an answer.
//! - *Armed*: a task a quorum of setters sealed, waiting in the vault to be posted.
//! - *Sprung*: a trap whose answer a quorum of setters revealed; its job is settled.
//!
//! ## Interface
//!
//! - Setters: [`Pallet::seal_trap`], [`Pallet::reveal_trap`].
//! - [`Config::ForceOrigin`]: [`Pallet::set_trap_rate`].
//! - Hooks: `on_poll` posts an armed task when the rate allows; `on_idle` removes lapsed
//!   tasks.
//!
//! The pallet sees jobs only through [`Config::Jobs`] ([`TrapJobs`], which proof of compute
//! implements), and proof of compute reaches it only through [`TrapHooks`]: it counts
//! assignments here and prunes a job's trap with the job.

use crate::traits::{TrapHooks, TrapJob, TrapJobs};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	frame_support::{self, ensure, pallet_prelude::*, weights::WeightMeter},
	frame_system::{self, pallet_prelude::BlockNumberFor},
	sp_core::H256,
	sp_runtime::traits::{Saturating, Zero},
};
use scale_info::TypeInfo;
use tessera_primitives::{JobId, JobState, TrainedWeights};

pub use pallet::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod tests;
pub mod weights;

/// Setters whose seals of one task, and whose confirmations of one trap answer, are recorded
/// at most: the model registry's approvers at most.
pub const MAX_TRAP_SETTERS: u32 = 32;

/// A trap's task: the verified job `source` run again with `seed`.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
)]
pub struct TrapTask {
	/// The verified job whose spec, budget, redundancy and duration the trap takes.
	pub source: JobId,
	/// The seed the trap trains with in place of the source's.
	pub seed: u64,
}

/// A task and its setters' seals: in the vault until posted, then kept by its job.
#[derive(
	Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Clone, PartialEq, Eq, Debug,
)]
pub struct SealedTask<AccountId, BlockNumber> {
	/// What is run.
	pub task: TrapTask,
	/// Each setter and its seal of the answer ([`trap_seal`]), in the order they came.
	pub seals: BoundedVec<(AccountId, H256), ConstU32<MAX_TRAP_SETTERS>>,
	/// The block the first seal stocked the task in.
	pub stocked_at: BlockNumber,
}

/// A task of the vault of the runtime `T`.
pub type SealedTaskOf<T> = SealedTask<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

/// `setter`'s seal of answer `expected` to `task`, salted with `salt`.
pub fn trap_seal<AccountId: Encode>(
	task: &TrapTask,
	expected: &H256,
	salt: &[u8; 32],
	setter: &AccountId,
) -> H256 {
	H256(polkadot_sdk::sp_io::hashing::blake2_256(&(task, expected, salt, setter).encode()))
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_system::pallet_prelude::*;
	use polkadot_sdk::sp_runtime::Perbill;

	/// Version 3: the training of every trap posted is spent
	/// ([`crate::traps::migrations::v3`]).
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(3);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Configuration of traps.
	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The jobs traps are set on: proof of compute.
		type Jobs: TrapJobs<Self::AccountId, BlockNumberFor<Self>>;

		/// How many setters must seal a task before it is posted, and reveal the same answer
		/// before its trap springs (the model registry's approval threshold), so that no one
		/// account's word slashes anybody.
		type TrapQuorum: Get<u32>;

		/// The most trap jobs per assignment, until [`Config::ForceOrigin`] sets another rate
		/// ([`TrapRate`]).
		#[pallet::constant]
		type DefaultTrapRate: Get<Perbill>;

		/// The most tasks the vault holds, armed or not.
		#[pallet::constant]
		type MaxVaultTasks: Get<u32>;

		/// Who seals trap answers: the model registry's approver set, each member by itself.
		type TrapOrigin: EnsureOrigin<Self::RuntimeOrigin, Success = Self::AccountId>;

		/// Who may set the trap rate.
		type ForceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;
	}

	/// The vault: tasks stocked by setters and not yet posted, with their seals. Keys are
	/// chosen by setters, so they are hashed (`Blake2_128Concat`).
	#[pallet::storage]
	pub type Vault<T: Config> = CountedStorageMap<_, Blake2_128Concat, TrapTask, SealedTaskOf<T>>;

	/// Tasks of the [`Vault`] a quorum of setters sealed, oldest first: what `on_poll` posts.
	#[pallet::storage]
	pub type ArmedTasks<T: Config> =
		StorageValue<_, BoundedVec<TrapTask, T::MaxVaultTasks>, ValueQuery>;

	/// Trap jobs posted, each with its task and seals, until the job is pruned. Job ids are
	/// sequential (`Twox64Concat`).
	#[pallet::storage]
	pub type PostedTraps<T: Config> = StorageMap<_, Twox64Concat, JobId, SealedTaskOf<T>>;

	/// The hash of the spec of every trap posted so far ([`TrapRun::spec_hash`]), kept for
	/// good: a posted trap's answer is public once its replicas reveal it, and stays in the
	/// chain's history after its job is pruned, so the same training posted again would be
	/// answered by copying it. One entry per trap, bounded by [`TrapRate`]; the treasury,
	/// which posts traps, pays for it.
	///
	/// [`TrapRun::spec_hash`]: crate::traits::TrapRun::spec_hash
	#[pallet::storage]
	pub type SpentTraps<T: Config> = StorageMap<_, Identity, H256, ()>;

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

	/// The most trap jobs per assignment: a trap is posted while traps posted so far are
	/// fewer than this share of assignments, plus one.
	#[pallet::storage]
	pub type TrapRate<T: Config> = StorageValue<_, Perbill, ValueQuery, T::DefaultTrapRate>;

	/// Jobs assigned so far, and trap jobs posted so far: what [`TrapRate`] bounds. Proof of
	/// compute counts assignments through [`TrapHooks::on_assigned`].
	#[pallet::storage]
	pub type TrapTally<T> = StorageValue<_, (u64, u64), ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A setter sealed its answer to a task of the vault.
		TrapSealed {
			/// The task.
			task: TrapTask,
			/// The setter.
			setter: T::AccountId,
			/// Seals of the task so far: it is armed once they reach the quorum.
			seals: u32,
		},
		/// The chain posted an armed task as trap job `job`.
		TrapPosted {
			/// The task.
			task: TrapTask,
			/// The job.
			job: JobId,
		},
		/// An armed task could not be posted (its re-run job is gone, the treasury cannot pay
		/// its budget, its data is no longer granted, or a trap training the same was posted)
		/// and left the vault.
		TrapDropped {
			/// The task.
			task: TrapTask,
			/// Why it was refused: proof of compute's error, or [`Error::AlreadyPosted`].
			error: DispatchError,
		},
		/// A task not posted within twice the longest job's duration lapsed and left the
		/// vault.
		TrapLapsed {
			/// The task.
			task: TrapTask,
		},
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
		/// The job is no posted trap, or the caller sealed no such answer to it.
		NotATrap,
		/// The caller revealed this answer to the trap already.
		AlreadyConfirmed,
		/// The caller sealed this task already.
		AlreadySealed,
		/// The vault holds [`Config::MaxVaultTasks`] tasks, or the task its most seals.
		VaultFull,
		/// A trap re-runs a job whose replicas' majority was accepted, of the reference
		/// backend and of no federation: this one is none of that, or is gone.
		NotRerunnable,
		/// The task's seed is its job's own: the result the chain accepted for the job
		/// answers it.
		SeedNotFresh,
		/// A trap of the same spec and seed was posted before: its replicas' reveals answer
		/// it.
		AlreadyPosted,
		/// The job runs on GPUs, whose honest results differ from any one answer by rounding:
		/// a sealed digest cannot judge its replicas, so no trap springs on it.
		TrapNotReproducible,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Posts the oldest armed task when the trap rate allows one more trap. It runs after
		/// the inherents, as proof of compute's draws do, and its job is assigned by proof of
		/// compute's next `on_poll`.
		fn on_poll(_: BlockNumberFor<T>, meter: &mut WeightMeter) {
			Self::post_armed_task(meter);
		}

		/// Removes lapsed tasks with the weight blocks leave over.
		fn on_idle(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::remove_lapsed_tasks(now, remaining)
		}

		fn integrity_test() {
			// A task must outlive the job it re-runs being posted, run and accepted.
			assert!(
				Self::task_lapses_at(Zero::zero()) > T::Jobs::max_job_duration(),
				"a task must outlive the longest job: MaxJobDuration must allow a block"
			);
			assert!(T::MaxVaultTasks::get() >= 1, "the vault must hold a task");
			assert!(
				T::TrapQuorum::get() <= MAX_TRAP_SETTERS,
				"a quorum of setters must fit MAX_TRAP_SETTERS"
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
		/// Seals the caller's answer to `task`: `seal` is [`trap_seal`] of the task, the
		/// final weights digest the caller computed by re-running the task's job with its
		/// seed on the reference backend, a salt of its own and the caller. The first seal
		/// puts the task in the vault; others add theirs; the quorum's seal arms it, and the
		/// chain posts it when the trap rate allows. The job must be accepted or finalized,
		/// of the reference backend and of no federation, and the seed fresh: not the job's
		/// own, nor one a trap of the same spec was posted with.
		///
		/// Origin: [`Config::TrapOrigin`]. Emits [`Event::TrapSealed`].
		#[pallet::call_index(0)]
		pub fn seal_trap(origin: OriginFor<T>, task: TrapTask, seal: H256) -> DispatchResult {
			let setter = T::TrapOrigin::ensure_origin(origin)?;
			Self::do_seal_trap(setter, task, seal)
		}

		/// Reveals the caller's seal of `expected` as the answer to the accepted trap job
		/// `job`, salted with `salt`. Once [`Config::TrapQuorum`] setters revealed the same
		/// answer, the trap springs: replicas whose final weights digest is not `expected`
		/// are slashed their whole stake, the others paid; the result never becomes a model
		/// version, and what the job did not spend goes back to the treasury.
		///
		/// Origin: [`Config::TrapOrigin`], a setter of the trap's seals. Emits
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
	/// The block a task stocked at `stocked_at` lapses in, unposted: twice the longest job's
	/// duration later, time for the trap rate to allow it many times over.
	pub(crate) fn task_lapses_at(stocked_at: BlockNumberFor<T>) -> BlockNumberFor<T> {
		stocked_at.saturating_add(T::Jobs::max_job_duration().saturating_mul(2u32.into()))
	}

	/// What `on_poll` may weigh: posting one task, its job's creation included. The
	/// `post_trap` benchmark posts a re-run of the largest spec on a quiet chain; proof of
	/// compute's weight of a job's creation amid the most pending and due jobs is added on
	/// top, so that a crowded chain is not undercharged.
	pub fn posting_weight() -> Weight {
		T::WeightInfo::post_trap().saturating_add(T::Jobs::posting_weight())
	}

	/// Posts the oldest armed task if the trap rate allows another trap and `meter` can pay
	/// for it.
	pub(crate) fn post_armed_task(meter: &mut WeightMeter) {
		// The tally, the rate and the armed tasks are read to find out.
		let look = T::DbWeight::get().reads(3);
		if !meter.can_consume(Self::posting_weight()) {
			return;
		}
		let (assigned, posted) = TrapTally::<T>::get();
		let allowed = TrapRate::<T>::get().mul_floor(assigned).saturating_add(1);
		let mut armed = ArmedTasks::<T>::get();
		if posted >= allowed || armed.is_empty() {
			meter.consume(look);
			return;
		}
		meter.consume(Self::posting_weight());
		let task = armed.remove(0);
		ArmedTasks::<T>::put(armed);
		let Some(sealed) = Vault::<T>::take(task) else {
			log::error!(target: crate::LOG_TARGET, "armed trap task {task:?} not in the vault");
			return;
		};
		let run = T::Jobs::trap_run(task);
		// Two tasks of the vault may train the same (a job and a trap of it, re-run with one
		// seed): once one is posted, its reveals answer the other.
		if run.as_ref().is_some_and(|run| SpentTraps::<T>::contains_key(run.spec_hash)) {
			let error = Error::<T>::AlreadyPosted.into();
			Self::deposit_event(Event::TrapDropped { task, error });
			return;
		}
		match T::Jobs::post_trap(task) {
			Ok(job) => {
				if let Some(run) = run {
					SpentTraps::<T>::insert(run.spec_hash, ());
				}
				PostedTraps::<T>::insert(job, sealed);
				TrapTally::<T>::put((assigned, posted.saturating_add(1)));
				Self::deposit_event(Event::TrapPosted { task, job });
			}
			Err(error) => Self::deposit_event(Event::TrapDropped { task, error }),
		}
	}

	/// Removes the tasks of the vault that lapsed, if `remaining` pays for looking at all of
	/// them.
	pub(crate) fn remove_lapsed_tasks(now: BlockNumberFor<T>, remaining: Weight) -> Weight {
		let most = u64::from(T::MaxVaultTasks::get());
		// The count, every task and the armed tasks are read; each task and the armed tasks
		// written.
		let step = T::DbWeight::get().reads_writes(most.saturating_add(2), most.saturating_add(1));
		if Vault::<T>::count() == 0 {
			return T::DbWeight::get().reads(1);
		}
		if !step.all_lte(remaining) {
			return Weight::zero();
		}
		let lapsed: Vec<TrapTask> = Vault::<T>::iter()
			.filter(|(_, sealed)| Self::task_lapses_at(sealed.stocked_at) <= now)
			.map(|(task, _)| task)
			.collect();
		if !lapsed.is_empty() {
			ArmedTasks::<T>::mutate(|armed| armed.retain(|task| !lapsed.contains(task)));
		}
		for task in &lapsed {
			Vault::<T>::remove(task);
			Self::deposit_event(Event::TrapLapsed { task: *task });
		}
		step
	}

	pub(crate) fn do_seal_trap(setter: T::AccountId, task: TrapTask, seal: H256) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut sealed = match Vault::<T>::get(task) {
			Some(sealed) => sealed,
			None => {
				ensure!(T::Jobs::rerunnable(task.source), Error::<T>::NotRerunnable);
				let run = T::Jobs::trap_run(task).ok_or(Error::<T>::NotRerunnable)?;
				ensure!(task.seed != run.source_seed, Error::<T>::SeedNotFresh);
				ensure!(!SpentTraps::<T>::contains_key(run.spec_hash), Error::<T>::AlreadyPosted);
				ensure!(Vault::<T>::count() < T::MaxVaultTasks::get(), Error::<T>::VaultFull);
				SealedTask { task, seals: BoundedVec::new(), stocked_at: now }
			}
		};
		ensure!(
			!sealed.seals.iter().any(|(sealer, _)| *sealer == setter),
			Error::<T>::AlreadySealed
		);
		sealed.seals.try_push((setter.clone(), seal)).map_err(|_| Error::<T>::VaultFull)?;
		let seals = sealed.seals.len() as u32;
		if seals == T::TrapQuorum::get().max(1) {
			ArmedTasks::<T>::try_mutate(|armed| armed.try_push(task))
				.map_err(|_| Error::<T>::VaultFull)?;
		}
		Vault::<T>::insert(task, sealed);
		Self::deposit_event(Event::TrapSealed { task, setter, seals });
		Ok(())
	}

	pub(crate) fn do_reveal_trap(
		setter: T::AccountId,
		job: JobId,
		expected: H256,
		salt: [u8; 32],
	) -> DispatchResult {
		let trap = PostedTraps::<T>::get(job).ok_or(Error::<T>::NotATrap)?;
		let seal = trap_seal(&trap.task, &expected, &salt, &setter);
		ensure!(
			trap.seals.iter().any(|sealed| *sealed == (setter.clone(), seal)),
			Error::<T>::NotATrap
		);
		let TrapJob { state, checkpoints, agreed, reproducible } =
			T::Jobs::job(job).ok_or(Error::<T>::UnknownJob)?;
		ensure!(reproducible, Error::<T>::TrapNotReproducible);
		ensure!(state == JobState::Accepted, Error::<T>::WrongState);
		let mut confirmations = TrapConfirmations::<T>::get(job, expected);
		ensure!(!confirmations.contains(&setter), Error::<T>::AlreadyConfirmed);
		confirmations.try_push(setter).map_err(|_| Error::<T>::AlreadyConfirmed)?;
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
	/// - Every task of the vault has at least one seal, and is armed exactly when it has a
	///   quorum of them; every armed task is in the vault, once.
	/// - Every posted trap and every confirmation list names a job that still exists (they
	///   are pruned with it); every confirmation list names at least one setter, each of
	///   whom sealed the trap.
	/// - No more traps were posted than the tally counts.
	#[cfg(any(feature = "try-runtime", feature = "invariants", test))]
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		let armed = ArmedTasks::<T>::get();
		let quorum = T::TrapQuorum::get().max(1) as usize;
		for (task, sealed) in Vault::<T>::iter() {
			ensure!(sealed.task == task && !sealed.seals.is_empty(), "a vault task without seals");
			ensure!(
				armed.contains(&task) == (sealed.seals.len() >= quorum),
				"a task armed without its quorum, or sealed by its quorum and not armed"
			);
		}
		for (index, task) in armed.iter().enumerate() {
			ensure!(
				Vault::<T>::contains_key(task) && !armed[..index].contains(task),
				"an armed task not in the vault, or armed twice"
			);
		}
		for (job, trap) in PostedTraps::<T>::iter() {
			ensure!(T::Jobs::job(job).is_some(), "a posted trap of a job that is gone");
			for (_, confirmations) in TrapConfirmations::<T>::iter_prefix(job) {
				ensure!(
					!confirmations.is_empty()
						&& confirmations
							.iter()
							.all(|setter| trap.seals.iter().any(|(sealer, _)| sealer == setter)),
					"a confirmation of nobody, or of a setter that sealed nothing"
				);
			}
		}
		for (_, trap) in PostedTraps::<T>::iter() {
			ensure!(
				T::Jobs::trap_run(trap.task)
					.is_none_or(|run| SpentTraps::<T>::contains_key(run.spec_hash)),
				"a posted trap whose training is not spent"
			);
		}
		for (job, _, _) in TrapConfirmations::<T>::iter() {
			ensure!(PostedTraps::<T>::contains_key(job), "a confirmation of no posted trap");
		}
		let (_, posted) = TrapTally::<T>::get();
		ensure!(
			PostedTraps::<T>::iter_keys().count() as u64 <= posted,
			"more traps kept than were ever posted"
		);
		Ok(())
	}
}

impl<T: Config> TrapHooks for Pallet<T> {
	fn on_assigned(_: JobId) {
		TrapTally::<T>::mutate(|(assigned, _)| *assigned = assigned.saturating_add(1));
	}

	fn on_pruned(job: JobId, limit: u32) -> bool {
		PostedTraps::<T>::remove(job);
		TrapConfirmations::<T>::clear_prefix(job, limit, None).maybe_cursor.is_none()
	}
}
