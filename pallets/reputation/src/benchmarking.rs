//! Benchmarks of the call and of the hooks other pallets call, each on the largest record.

use super::*;
use core::hint::black_box;
use frame_support::traits::{EnsureOrigin, Get};
use polkadot_sdk::frame_benchmarking::v2::*;
use sp_runtime::{traits::Saturating, Perbill, Permill};
use tessera_primitives::{ReputationInspect, ReputationSink};

/// A registered node whose record is as large and as stale as it gets: every violation slot
/// taken, and decay and many slash-free epochs still to be computed.
fn worst_record<T: Config>() -> NodeId {
	let node = T::BenchmarkHelper::registered_node();
	for _ in 0..T::MaxViolations::get() {
		Pallet::<T>::slashed(node, SlashReason::AbandonedJob(Perbill::from_percent(1)));
	}
	let decay = T::Decay::get();
	let later = frame_system::Pallet::<T>::block_number()
		.saturating_add(decay.grace)
		.saturating_add(decay.step.saturating_mul(10u32.into()))
		.saturating_add(T::EpochLength::get().saturating_mul(10u32.into()));
	frame_system::Pallet::<T>::set_block_number(later);
	node
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn force_reset() -> Result<(), BenchmarkError> {
		let node = worst_record::<T>();
		let origin =
			T::ForceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, node);

		let record = ReputationOfNode::<T>::get(node).expect("reset to neutral");
		assert!(record.violations.is_empty());
		Ok(())
	}

	#[benchmark]
	fn report() {
		let node = worst_record::<T>();

		#[block]
		{
			Pallet::<T>::report(node, Outcome::BandwidthMeasured { bytes: u64::MAX, millis: 1 });
		}

		let now = frame_system::Pallet::<T>::block_number();
		assert_eq!(ReputationOfNode::<T>::get(node).map(|record| record.last_work), Some(now));
	}

	#[benchmark]
	fn slashed() {
		let node = worst_record::<T>();

		#[block]
		{
			Pallet::<T>::slashed(node, SlashReason::DataUnavailable(Perbill::from_percent(10)));
		}

		let now = frame_system::Pallet::<T>::block_number();
		let record = ReputationOfNode::<T>::get(node).expect("a record");
		assert_eq!(record.violations.last(), Some(&now));
	}

	#[benchmark]
	fn forget() {
		let node = worst_record::<T>();

		#[block]
		{
			Pallet::<T>::forget(node);
		}

		assert!(ReputationOfNode::<T>::get(node).is_none());
	}

	#[benchmark]
	fn should_spot_check() {
		let node = worst_record::<T>();

		#[block]
		{
			black_box(Pallet::<T>::should_spot_check(node, u64::MAX));
		}
	}

	#[benchmark]
	fn set_spot_check_base() -> Result<(), BenchmarkError> {
		let origin =
			T::ForceOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;

		#[extrinsic_call]
		_(origin as T::RuntimeOrigin, Permill::one());

		assert_eq!(SpotCheckBase::<T>::get(), Permill::one());
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
