//! Benchmarks of the traps pallet's calls and posting, each at its worst: a seal that arms a
//! task beside a full vault, a trap posted from it, and a trap sprung on a job of the most
//! replicas, every one of them wrong, with the most confirmations before it.

use super::*;
use frame_support::{traits::EnsureOrigin, BoundedVec};
use polkadot_sdk::{frame_benchmarking::v2::*, sp_runtime::Perbill};

/// The salt the benchmarks' setter seals its answer with.
const SALT: [u8; 32] = [7; 32];

/// The trap origin's account, and the origin.
fn setter<T: Config>() -> Result<(T::RuntimeOrigin, T::AccountId), BenchmarkError> {
	let origin = T::TrapOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
	let setter = T::TrapOrigin::ensure_origin(origin.clone())
		.map_err(|_| BenchmarkError::Stop("the trap origin's account"))?;
	Ok((origin, setter))
}

/// Fills the vault but for one task, every task armed, none of them re-runnable.
fn crowd_vault<T: Config>() {
	let account: T::AccountId = account("other setter", 0, 0);
	for seed in 1..u64::from(T::MaxVaultTasks::get()) {
		let task = TrapTask { source: JobId::MAX, seed };
		let seals = BoundedVec::truncate_from(alloc::vec![(account.clone(), H256::zero())]);
		Vault::<T>::insert(task, SealedTask { task, seals, stocked_at: Zero::zero() });
		ArmedTasks::<T>::mutate(|armed| armed.try_push(task).expect("room for the task"));
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// The seal that stocks a task of a job accepted, and arms it, beside a vault one task
	/// short of full.
	#[benchmark]
	fn seal_trap() -> Result<(), BenchmarkError> {
		let (origin, setter) = setter::<T>()?;
		let task = TrapTask { source: T::Jobs::accepted_job(setter.clone())?, seed: 0 };
		crowd_vault::<T>();
		let seal = trap_seal(&task, &H256::repeat_byte(0xee), &SALT, &setter);

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, task, seal);

		assert!(Vault::<T>::contains_key(task));
		Ok(())
	}

	/// Posting an armed task: its job created through proof of compute's path.
	#[benchmark]
	fn post_trap() -> Result<(), BenchmarkError> {
		let (_, setter) = setter::<T>()?;
		let task = TrapTask { source: T::Jobs::accepted_job(setter.clone())?, seed: 0 };
		let seals: Vec<_> = (0..MAX_TRAP_SETTERS)
			.map(|index| (account("other setter", index, 0), H256::repeat_byte(index as u8)))
			.collect();
		let seals = BoundedVec::truncate_from(seals);
		Vault::<T>::insert(task, SealedTask { task, seals, stocked_at: Zero::zero() });
		ArmedTasks::<T>::mutate(|armed| armed.try_push(task).expect("room for the task"));

		#[block]
		{
			Pallet::<T>::post_armed_task(&mut WeightMeter::new());
		}

		assert!(!Vault::<T>::contains_key(task));
		assert_eq!(PostedTraps::<T>::iter().count(), 1, "the task was posted");
		Ok(())
	}

	/// Springing a trap on an accepted job of the most replicas, every one of them wrong,
	/// with the most confirmations of other setters before it.
	#[benchmark]
	fn reveal_trap() -> Result<(), BenchmarkError> {
		let (origin, setter) = setter::<T>()?;
		let expected = H256::repeat_byte(0xee);
		let job = T::Jobs::accepted_job(setter.clone())?;
		let last = T::Jobs::job(job).map_or(0, |job| job.checkpoints.saturating_sub(1));
		assert!(
			T::Jobs::reveals(job, last).iter().all(|(_, revealed)| revealed
				.as_ref()
				.is_some_and(|payload| payload.weights_digest != expected)),
			"every replica revealed another answer"
		);
		let task = TrapTask { source: job, seed: 0 };
		let others: Vec<T::AccountId> =
			(1..MAX_TRAP_SETTERS).map(|index| account("other setter", index, 0)).collect();
		let seals = others
			.iter()
			.map(|other| (other.clone(), trap_seal(&task, &expected, &SALT, other)))
			.chain([(setter.clone(), trap_seal(&task, &expected, &SALT, &setter))])
			.collect();
		let seals = BoundedVec::truncate_from(seals);
		PostedTraps::<T>::insert(job, SealedTask { task, seals, stocked_at: Zero::zero() });
		TrapConfirmations::<T>::insert(job, expected, BoundedVec::truncate_from(others));

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, job, expected, SALT);

		assert_eq!(T::Jobs::job(job).map(|job| job.state), Some(JobState::Finalized));
		Ok(())
	}

	#[benchmark]
	fn set_trap_rate() -> Result<(), BenchmarkError> {
		let origin =
			T::ForceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let rate = Perbill::from_percent(2);

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, rate);

		assert_eq!(TrapRate::<T>::get(), rate);
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_bench_ext(), crate::mock::Test);
}
