//! Benchmarks of every call, the heartbeat's authorize path and the sweep, at their worst.
//! The heartbeat is benchmarked as its whole extrinsic, its authorize path included.

use super::*;
use crate::types::key_ownership_message;
use alloc::vec;
use frame_support::{
	pallet_prelude::{Authorize, TransactionSource},
	traits::{
		fungible::{InspectHold, Mutate},
		Get, UnfilteredDispatchable,
	},
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use polkadot_sdk::frame_benchmarking::v2::*;
use sp_runtime::{traits::Saturating, RuntimeAppPublic};
use tessera_primitives::NodeRole;

/// An account with enough free balance to stake any tier many times over.
pub fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	let plenty =
		T::MinStakeTee::get().saturating_add(T::NodeDeposit::get()).saturating_mul(100u32.into());
	T::Currency::set_balance(&who, plenty);
	who
}

fn all_roles() -> Roles {
	vec![NodeRole::Trainer, NodeRole::Validator, NodeRole::Aggregator, NodeRole::Storage]
		.try_into()
		.expect("four roles fit")
}

fn longest_region<T: Config>() -> RegionOf<T> {
	vec![b'r'; T::MaxRegionLen::get() as usize].try_into().expect("exactly the bound")
}

fn tee_capabilities() -> Capabilities {
	Capabilities::new(true, true, u32::MAX, u32::MAX, u32::MAX)
}

/// Registers a TEE node with every role for `owner`; returns its id and key.
pub fn registered<T: Config>(owner: &T::AccountId) -> (NodeId, NodePublic) {
	let key = NodePublic::generate_pair(None);
	let genesis = Pallet::<T>::genesis_hash();
	let proof = key.sign(&key_ownership_message(&genesis, owner)).expect("the keystore signs");
	let node = NextNodeId::<T>::get();
	Pallet::<T>::do_register(
		owner.clone(),
		all_roles(),
		longest_region::<T>(),
		tee_capabilities(),
		Default::default(),
		key.clone(),
		proof,
		T::MinStakeTee::get(),
	)
	.expect("registration succeeds");
	(node, key)
}

fn signed_heartbeat<T: Config>(
	node: NodeId,
	key: &NodePublic,
) -> (Heartbeat<BlockNumberFor<T>>, NodeSignature) {
	let now = frame_system::Pallet::<T>::block_number();
	let heartbeat = Heartbeat { node, period: Pallet::<T>::period_of(now), block: now };
	let signature = key
		.sign(&heartbeat.signed_bytes(&Pallet::<T>::genesis_hash()))
		.expect("the keystore signs");
	(heartbeat, signature)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		let owner = funded::<T>("owner", 0);
		// The owner already runs all but one of the nodes it may run.
		for _ in 1..T::MaxNodesPerOwner::get() {
			registered::<T>(&owner);
		}
		let key = NodePublic::generate_pair(None);
		let genesis = Pallet::<T>::genesis_hash();
		let proof = key.sign(&key_ownership_message(&genesis, &owner)).expect("the keystore signs");
		let node = NextNodeId::<T>::get();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner.clone()),
			all_roles(),
			longest_region::<T>(),
			tee_capabilities(),
			Default::default(),
			key,
			proof,
			T::MinStakeTee::get(),
		);

		assert_eq!(
			Nodes::<T>::get(node).map(|info| (info.owner, info.deposit)),
			Some((owner, T::NodeDeposit::get()))
		);
	}

	#[benchmark]
	fn update() {
		let owner = funded::<T>("owner", 0);
		let (node, _) = registered::<T>(&owner);

		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			node,
			all_roles(),
			longest_region::<T>(),
			Capabilities::default(),
		);

		assert_eq!(
			Nodes::<T>::get(node).map(|info| info.capabilities),
			Some(Capabilities::default())
		);
	}

	#[benchmark]
	fn bond_extra() {
		let owner = funded::<T>("owner", 0);
		let (node, _) = registered::<T>(&owner);
		let extra = T::MinStakeBasic::get();

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), node, extra);

		assert_eq!(
			Nodes::<T>::get(node).map(|info| info.stake),
			Some(T::MinStakeTee::get().saturating_add(extra))
		);
	}

	#[benchmark]
	fn attest_hardware() {
		let owner = funded::<T>("owner", 0);
		let (node, _) = registered::<T>(&owner);
		let hw_hash = sp_core::H256::repeat_byte(7);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), node, hw_hash);

		assert_eq!(Nodes::<T>::get(node).map(|info| info.hw_hash), Some(hw_hash));
	}

	#[benchmark]
	fn deregister() {
		let owner = funded::<T>("owner", 0);
		let (node, _) = registered::<T>(&owner);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), node);

		assert!(matches!(
			Nodes::<T>::get(node).map(|info| info.status),
			Some(NodeStatus::Unbonding { .. })
		));
	}

	#[benchmark]
	fn withdraw_unbonded() {
		let owner = funded::<T>("owner", 0);
		// The node to remove is last in the owner's full list.
		for _ in 1..T::MaxNodesPerOwner::get() {
			registered::<T>(&owner);
		}
		let (node, _) = registered::<T>(&owner);
		Pallet::<T>::do_deregister(owner.clone(), node).expect("deregistration succeeds");
		let later =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		frame_system::Pallet::<T>::set_block_number(later);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner.clone()), node);

		assert!(Nodes::<T>::get(node).is_none());
		let deposits = T::NodeDeposit::get()
			.saturating_mul((T::MaxNodesPerOwner::get().saturating_sub(1)).into());
		assert_eq!(T::Currency::balance_on_hold(&HoldReason::NodeDeposit.into(), &owner), deposits);
	}

	#[benchmark]
	fn reactivate() {
		let owner = funded::<T>("owner", 0);
		let (node, _) = registered::<T>(&owner);
		Nodes::<T>::mutate(node, |info| {
			if let Some(info) = info {
				info.status = NodeStatus::Inactive(
					tessera_primitives::node::InactiveReason::MissedHeartbeats,
				);
			}
		});

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), node);

		assert_eq!(Nodes::<T>::get(node).map(|info| info.status), Some(NodeStatus::Active));
	}

	#[benchmark]
	fn set_endpoint() {
		let owner = funded::<T>("owner", 0);
		let (node, _) = registered::<T>(&owner);
		let mut url = b"https://".to_vec();
		url.resize(T::MaxEndpointLen::get() as usize, b'a');
		let endpoint = frame_support::BoundedVec::truncate_from(url);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), node, endpoint.clone());

		assert_eq!(Endpoints::<T>::get(node), Some(endpoint));
	}

	#[benchmark]
	fn link_did() {
		let owner = funded::<T>("owner", 0);
		let (node, _) = registered::<T>(&owner);
		let did = T::Dids::controlled_by(&owner);

		#[extrinsic_call]
		_(RawOrigin::Signed(owner), node, Some(did));

		assert_eq!(DidOfNode::<T>::get(node), Some(did));
	}

	/// The whole extrinsic, its authorize path first, as a block applies it; the call charges
	/// what the dispatch adds ([`tessera_primitives::dispatch_after_authorize`]).
	#[benchmark]
	fn heartbeat() -> Result<(), BenchmarkError> {
		let owner = funded::<T>("owner", 0);
		let (node, key) = registered::<T>(&owner);
		// The sweep has not reached the node for the last period, so the call accounts for it.
		let period_after_next = Pallet::<T>::period_start(2);
		frame_system::Pallet::<T>::set_block_number(period_after_next);
		// Named apart from `heartbeat`, which the benchmark macro defines as a type.
		let (beat, signature) = signed_heartbeat::<T>(node, &key);
		let call = Call::<T>::heartbeat { heartbeat: beat, signature };

		#[block]
		{
			call.authorize(TransactionSource::InBlock)
				.ok_or("heartbeat has authorize logic")?
				.map_err(|_| "a valid heartbeat is authorized")?;
			call.dispatch_bypass_filter(RawOrigin::Authorized.into())
				.map_err(|_| "a valid heartbeat is recorded")?;
		}

		assert_eq!(Nodes::<T>::get(node).and_then(|info| info.last_heartbeat), Some(2));
		Ok(())
	}

	#[benchmark]
	fn authorize_heartbeat() -> Result<(), BenchmarkError> {
		let owner = funded::<T>("owner", 0);
		let (node, key) = registered::<T>(&owner);
		let (beat, signature) = signed_heartbeat::<T>(node, &key);
		let call = Call::<T>::heartbeat { heartbeat: beat, signature };

		#[block]
		{
			call.authorize(TransactionSource::External)
				.ok_or("heartbeat has authorize logic")?
				.map_err(|_| "a valid heartbeat is authorized")?;
		}

		Ok(())
	}

	/// `n` nodes, each of which misses enough periods in this sweep to be slashed.
	#[benchmark]
	fn sweep_heartbeats(n: Linear<1, { T::SweepBatch::get() }>) {
		let nodes: alloc::vec::Vec<NodeId> =
			(0..n).map(|index| registered::<T>(&funded::<T>("owner", index)).0).collect();
		let period = T::MaxMissedHeartbeats::get().saturating_add(1);
		let start = Pallet::<T>::period_start(period);
		frame_system::Pallet::<T>::set_block_number(start);

		#[block]
		{
			Pallet::<T>::sweep_heartbeats(start);
		}

		for node in nodes {
			assert!(Nodes::<T>::get(node).is_some_and(|info| !info.status.is_active()));
		}
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
