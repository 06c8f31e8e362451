//! PROVISIONAL weights for `pallet_proof_of_compute`, counted by hand from the storage each
//! call touches (reads and writes at the runtime's database weights, plus a compute
//! estimate). To be replaced by `scripts/benchmark-pallets.sh proof-of-compute` once the
//! pallet's benchmarks exist.

#![allow(missing_docs)]

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{traits::Get, weights::Weight};

/// Weight functions needed for `pallet_proof_of_compute`.
pub trait WeightInfo {
	fn create_job() -> Weight;
	fn cancel_job() -> Weight;
	fn commit() -> Weight;
	fn reveal() -> Weight;
	fn authorize_commit() -> Weight;
	fn authorize_reveal() -> Weight;
	fn challenge() -> Weight;
	fn assign_job() -> Weight;
	fn finalize(replicas: u32) -> Weight;
}

/// Hand-counted weights at the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn create_job() -> Weight {
		Weight::from_parts(60_000_000, 8_000).saturating_add(T::DbWeight::get().reads_writes(5, 5))
	}
	fn cancel_job() -> Weight {
		Weight::from_parts(40_000_000, 8_000).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn commit() -> Weight {
		Weight::from_parts(30_000_000, 6_000).saturating_add(T::DbWeight::get().reads_writes(4, 4))
	}
	fn reveal() -> Weight {
		Weight::from_parts(90_000_000, 20_000)
			.saturating_add(T::DbWeight::get().reads_writes(20, 4))
	}
	fn authorize_commit() -> Weight {
		Weight::from_parts(60_000_000, 6_000).saturating_add(T::DbWeight::get().reads(4))
	}
	fn authorize_reveal() -> Weight {
		Weight::from_parts(70_000_000, 8_000).saturating_add(T::DbWeight::get().reads(6))
	}
	fn challenge() -> Weight {
		Weight::from_parts(50_000_000, 8_000).saturating_add(T::DbWeight::get().reads_writes(3, 4))
	}
	fn assign_job() -> Weight {
		Weight::from_parts(500_000_000, 200_000)
			.saturating_add(T::DbWeight::get().reads_writes(260, 8))
	}
	fn finalize(replicas: u32) -> Weight {
		Weight::from_parts(40_000_000, 6_000)
			.saturating_add(Weight::from_parts(60_000_000, 6_000).saturating_mul(replicas.into()))
			.saturating_add(T::DbWeight::get().reads_writes(4, 4))
			.saturating_add(T::DbWeight::get().reads_writes(6, 6).saturating_mul(replicas.into()))
	}
}

impl WeightInfo for () {
	fn create_job() -> Weight {
		Weight::zero()
	}
	fn cancel_job() -> Weight {
		Weight::zero()
	}
	fn commit() -> Weight {
		Weight::zero()
	}
	fn reveal() -> Weight {
		Weight::zero()
	}
	fn authorize_commit() -> Weight {
		Weight::zero()
	}
	fn authorize_reveal() -> Weight {
		Weight::zero()
	}
	fn challenge() -> Weight {
		Weight::zero()
	}
	fn assign_job() -> Weight {
		Weight::zero()
	}
	fn finalize(_: u32) -> Weight {
		Weight::zero()
	}
}
