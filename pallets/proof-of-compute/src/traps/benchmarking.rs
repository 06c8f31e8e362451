//! Benchmarks of the traps pallet's calls, each at its worst: a trap sprung on a job of the
//! most replicas, every one of them wrong, with the most confirmations before it.

use super::*;
use frame_support::{traits::EnsureOrigin, BoundedVec};
use polkadot_sdk::{frame_benchmarking::v2::*, sp_runtime::Perbill};

/// The salt the benchmarks' setter seals its answer with.
const SALT: [u8; 32] = [7; 32];

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn seal_trap() -> Result<(), BenchmarkError> {
		let origin =
			T::TrapOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let seal = H256::repeat_byte(0x5e);

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, seal);

		assert!(TrapSeals::<T>::contains_key(seal));
		Ok(())
	}

	/// Springing a trap on an accepted job of the most replicas, every one of them wrong,
	/// with the most confirmations of other setters before it.
	#[benchmark]
	fn reveal_trap() -> Result<(), BenchmarkError> {
		let origin =
			T::TrapOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
		let setter = T::TrapOrigin::ensure_origin(origin.clone())
			.map_err(|_| BenchmarkError::Stop("the trap origin's account"))?;
		let expected = H256::repeat_byte(0xee);
		let job = T::Jobs::next_job();
		Pallet::<T>::do_seal_trap(setter.clone(), trap_seal(job, &expected, &SALT))?;
		let now = frame_system::Pallet::<T>::block_number();
		frame_system::Pallet::<T>::set_block_number(now + 1u32.into());
		let job = T::Jobs::accepted_job(setter)?;
		let last = T::Jobs::job(job).map_or(0, |job| job.checkpoints.saturating_sub(1));
		assert!(
			T::Jobs::reveals(job, last).iter().all(|(_, revealed)| revealed
				.as_ref()
				.is_some_and(|payload| payload.weights_digest != expected)),
			"every replica revealed another answer"
		);
		let others: Vec<T::AccountId> =
			(1..MAX_TRAP_SETTERS).map(|index| account("other setter", index, 0)).collect();
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
