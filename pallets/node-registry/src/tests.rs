//! Behaviour of the node registry: calls, heartbeats, the sweep, slashing, the off-chain worker.

use crate::{mock::*, types::key_ownership_message, Error, Event, HoldReason, NodeOfKey, Nodes};
use codec::{Decode, Encode};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		pallet_prelude::{Authorize, InvalidTransaction, TransactionSource},
		traits::{
			fungible::{InspectHold, Mutate},
			Hooks,
		},
	},
	frame_system::RawOrigin,
	sp_core::offchain::{
		testing::{TestOffchainExt, TestTransactionPoolExt},
		OffchainDbExt, OffchainWorkerExt, TransactionPoolExt,
	},
	sp_runtime::{DispatchError, Perbill, RuntimeAppPublic},
};
use tessera_primitives::{
	node::InactiveReason, Capabilities, NodeInspect, NodePublic, NodeRole, NodeSigned, NodeStatus,
	Outcome, SigningContext, SlashReason, Slasher,
};

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::NodeStake.into(), &who)
}

fn deposit_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::NodeDeposit.into(), &who)
}

fn status(node: u32) -> NodeStatus<u64> {
	Nodes::<Test>::get(node).expect("node exists").status
}

fn register_with(
	owner: AccountId,
	seed: &str,
	node_roles: &[NodeRole],
	node_region: &str,
	capabilities: Capabilities,
	stake: Balance,
) -> Result<(), DispatchError> {
	let pair = node_pair(seed);
	NodeRegistry::register(
		RuntimeOrigin::signed(owner),
		roles(node_roles),
		region(node_region),
		capabilities,
		hw_hash(seed),
		node_public(&pair),
		node_sign(&pair, &key_ownership_message(&NodeRegistry::genesis_hash(), &owner)),
		stake,
	)
}

fn authorize(
	heartbeat: crate::Heartbeat<u64>,
	signature: tessera_primitives::NodeSignature,
) -> Result<(), InvalidTransaction> {
	let call = RuntimeCall::NodeRegistry(crate::Call::heartbeat { heartbeat, signature });
	match call.authorize(TransactionSource::External).expect("heartbeat has authorize logic") {
		Ok(_) => Ok(()),
		Err(polkadot_sdk::sp_runtime::transaction_validity::TransactionValidityError::Invalid(
			e,
		)) => Err(e),
		Err(other) => panic!("unexpected validity error {other:?}"),
	}
}

fn send_heartbeat(node: u32, seed: &str) {
	let (heartbeat, signature) = signed_heartbeat(node, &node_pair(seed));
	assert_ok!(authorize(heartbeat.clone(), signature.clone()));
	assert_ok!(NodeRegistry::heartbeat(RawOrigin::Authorized.into(), heartbeat, signature));
}

#[test]
fn register_holds_stake_and_records_the_node() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);

		let info = Nodes::<Test>::get(node).unwrap();
		assert_eq!(info.owner, ALICE);
		assert_eq!(info.node_key, node_public(&node_pair("node-a")));
		assert_eq!(info.stake, 50);
		assert_eq!(info.status, NodeStatus::Active);
		assert_eq!(info.hw_hash, hw_hash("node-a"));
		assert!(info.has_role(NodeRole::Trainer) && !info.has_role(NodeRole::Validator));
		assert_eq!(held(ALICE), 50);
		assert_eq!(Balances::free_balance(ALICE), INITIAL_BALANCE - 50 - NODE_DEPOSIT);
		assert_eq!(NodeOfKey::<Test>::get(node_public(&node_pair("node-a"))), Some(node));
		assert_eq!(crate::NodesOf::<Test>::get(ALICE).into_inner(), vec![node]);
		assert_eq!(info.deposit, NODE_DEPOSIT);
		assert_eq!(deposit_held(ALICE), NODE_DEPOSIT);
		System::assert_last_event(
			Event::NodeRegistered { node, owner: ALICE, stake: 50, deposit: NODE_DEPOSIT }.into(),
		);
	});
}

#[test]
fn one_owner_runs_several_nodes_with_separate_stakes() {
	test(|| {
		let first = register_node(ALICE, "node-a", 20);
		let second = register_node(ALICE, "node-b", 30);
		assert_ne!(first, second);
		assert_eq!(held(ALICE), 50);
		assert_eq!(<NodeRegistry as NodeInspect<_>>::stake(second), 30);
	});
}

#[test]
fn stake_must_cover_the_capability_tier() {
	test(|| {
		let gpu = Capabilities::new(true, false, 0, 0, 0);
		let tee = Capabilities::new(false, true, 0, 0, 0);
		for (seed, capabilities, minimum) in [
			("basic", basic_capabilities(), MIN_BASIC),
			("gpu", gpu, MIN_GPU),
			("tee", tee, MIN_TEE),
		] {
			assert_noop!(
				register_with(ALICE, seed, &[NodeRole::Trainer], "eu", capabilities, minimum - 1),
				Error::<Test>::StakeBelowMinimum
			);
			assert_ok!(register_with(BOB, seed, &[NodeRole::Trainer], "eu", capabilities, minimum));
		}
	});
}

#[test]
fn register_refuses_malformed_descriptions() {
	test(|| {
		let caps = basic_capabilities();
		assert_noop!(register_with(ALICE, "a", &[], "eu", caps, 50), Error::<Test>::NoRoles);
		assert_noop!(
			register_with(ALICE, "a", &[NodeRole::Trainer, NodeRole::Trainer], "eu", caps, 50),
			Error::<Test>::DuplicateRole
		);
		assert_noop!(
			register_with(
				ALICE,
				"a",
				&[NodeRole::Validator, NodeRole::Trainer, NodeRole::Validator],
				"eu",
				caps,
				50
			),
			Error::<Test>::DuplicateRole
		);
		assert_noop!(
			register_with(ALICE, "a", &[NodeRole::Trainer], "", caps, 50),
			Error::<Test>::EmptyRegion
		);
		let reserved = Capabilities::decode(&mut &(1u128 << 110).encode()[..]).unwrap();
		assert_noop!(
			register_with(ALICE, "a", &[NodeRole::Trainer], "eu", reserved, 50),
			Error::<Test>::InvalidCapabilities
		);
	});
}

#[test]
fn roles_are_kept_in_ascending_order_whatever_order_they_came_in() {
	test(|| {
		assert_ok!(register_with(
			ALICE,
			"a",
			&[NodeRole::Storage, NodeRole::Trainer, NodeRole::Aggregator],
			"eu",
			basic_capabilities(),
			50
		));
		assert_eq!(
			Nodes::<Test>::get(0).unwrap().roles.into_inner(),
			vec![NodeRole::Trainer, NodeRole::Aggregator, NodeRole::Storage]
		);
	});
}

#[test]
fn node_keys_are_unique_and_need_a_proof_of_ownership() {
	test(|| {
		register_node(ALICE, "node-a", 50);
		assert_noop!(
			register_with(BOB, "node-a", &[NodeRole::Trainer], "eu", basic_capabilities(), 50),
			Error::<Test>::NodeKeyInUse
		);

		// Bob offers Carol's key with a proof Carol made for Alice.
		let carol = node_pair("carol");
		assert_noop!(
			NodeRegistry::register(
				RuntimeOrigin::signed(BOB),
				roles(&[NodeRole::Trainer]),
				region("eu"),
				basic_capabilities(),
				hw_hash("carol"),
				node_public(&carol),
				node_sign(&carol, &key_ownership_message(&NodeRegistry::genesis_hash(), &ALICE)),
				50,
			),
			Error::<Test>::BadKeyOwnershipProof
		);
	});
}

#[test]
fn register_respects_node_limits_and_balance() {
	test(|| {
		for seed in ["a", "b", "c"] {
			register_node(ALICE, seed, MIN_BASIC);
		}
		assert_noop!(
			register_with(ALICE, "d", &[NodeRole::Trainer], "eu", basic_capabilities(), 50),
			Error::<Test>::TooManyNodesForOwner
		);
		assert!(register_with(
			BOB,
			"e",
			&[NodeRole::Trainer],
			"eu",
			basic_capabilities(),
			INITIAL_BALANCE + 1
		)
		.is_err());
		assert_eq!(held(BOB), 0);
	});
}

#[test]
fn registry_stops_at_max_nodes() {
	test(|| {
		for owner in 0..16u64 {
			assert_ok!(Balances::mint_into(&(100 + owner), 1_000));
			register_node(100 + owner, &format!("n{owner}"), MIN_BASIC);
		}
		assert_noop!(
			register_with(ALICE, "last", &[NodeRole::Trainer], "eu", basic_capabilities(), 50),
			Error::<Test>::TooManyNodes
		);
	});
}

#[test]
fn update_changes_the_description_within_the_stake() {
	test(|| {
		let node = register_node(ALICE, "node-a", MIN_GPU);
		let gpu = Capabilities::new(true, false, 1_000, 10_000, 64);
		assert_ok!(NodeRegistry::update(
			RuntimeOrigin::signed(ALICE),
			node,
			roles(&[NodeRole::Trainer, NodeRole::Validator]),
			region("us-east"),
			gpu,
		));
		let info = Nodes::<Test>::get(node).unwrap();
		assert_eq!(info.capabilities, gpu);
		assert_eq!(info.region.as_slice(), b"us-east");
		assert!(info.has_role(NodeRole::Validator));
		System::assert_last_event(Event::NodeUpdated { node }.into());

		let tee = Capabilities::new(false, true, 0, 0, 0);
		assert_noop!(
			NodeRegistry::update(
				RuntimeOrigin::signed(ALICE),
				node,
				roles(&[NodeRole::Trainer]),
				region("eu"),
				tee
			),
			Error::<Test>::StakeBelowMinimum
		);
		assert_noop!(
			NodeRegistry::update(
				RuntimeOrigin::signed(BOB),
				node,
				roles(&[NodeRole::Trainer]),
				region("eu"),
				gpu
			),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			NodeRegistry::update(
				RuntimeOrigin::signed(ALICE),
				7,
				roles(&[NodeRole::Trainer]),
				region("eu"),
				gpu
			),
			Error::<Test>::UnknownNode
		);
	});
}

#[test]
fn bond_extra_adds_to_the_held_stake() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		assert_ok!(NodeRegistry::bond_extra(RuntimeOrigin::signed(ALICE), node, 25));
		assert_eq!(Nodes::<Test>::get(node).unwrap().stake, 75);
		assert_eq!(held(ALICE), 75);
		System::assert_last_event(Event::StakeBonded { node, amount: 25, total: 75 }.into());
		assert_noop!(
			NodeRegistry::bond_extra(RuntimeOrigin::signed(BOB), node, 25),
			Error::<Test>::NotOwner
		);
	});
}

#[test]
fn attest_hardware_records_the_new_hash() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		let report = hw_hash("new report");
		assert_ok!(NodeRegistry::attest_hardware(RuntimeOrigin::signed(ALICE), node, report));
		assert_eq!(Nodes::<Test>::get(node).unwrap().hw_hash, report);
		System::assert_last_event(Event::HardwareAttested { node, hw_hash: report }.into());
		assert_noop!(
			NodeRegistry::attest_hardware(RuntimeOrigin::signed(BOB), node, report),
			Error::<Test>::NotOwner
		);
	});
}

#[test]
fn a_node_is_linked_only_to_a_did_its_owner_controls_and_forgets_it_when_it_leaves() {
	use tessera_primitives::DidId;
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		let alices = DidId([ALICE as u8; 32]);
		let bobs = DidId([BOB as u8; 32]);
		// Claiming another's DID would let the node train on data granted to it.
		assert_noop!(
			NodeRegistry::link_did(RuntimeOrigin::signed(ALICE), node, Some(bobs)),
			Error::<Test>::NotDidController
		);
		assert_noop!(
			NodeRegistry::link_did(RuntimeOrigin::signed(BOB), node, Some(bobs)),
			Error::<Test>::NotOwner
		);
		assert_ok!(NodeRegistry::link_did(RuntimeOrigin::signed(ALICE), node, Some(alices)));
		System::assert_last_event(Event::DidLinked { node, did: Some(alices) }.into());
		assert_eq!(<NodeRegistry as NodeInspect<_>>::did(node), Some(alices));
		assert_ok!(NodeRegistry::link_did(RuntimeOrigin::signed(ALICE), node, None));
		System::assert_last_event(Event::DidLinked { node, did: None }.into());
		assert_eq!(<NodeRegistry as NodeInspect<_>>::did(node), None);

		assert_ok!(NodeRegistry::link_did(RuntimeOrigin::signed(ALICE), node, Some(alices)));
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node));
		System::set_block_number(System::block_number() + UNBONDING);
		assert_ok!(NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(ALICE), node));
		assert!(!crate::DidOfNode::<Test>::contains_key(node));
	});
}

#[test]
fn the_owner_says_where_the_node_serves_its_content() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		assert_eq!(<NodeRegistry as NodeInspect<_>>::endpoint(node), None);
		let endpoint: polkadot_sdk::frame_support::BoundedVec<u8, _> =
			b"http://10.0.0.7:7070".to_vec().try_into().unwrap();
		assert_ok!(NodeRegistry::set_endpoint(
			RuntimeOrigin::signed(ALICE),
			node,
			endpoint.clone()
		));
		System::assert_last_event(Event::EndpointSet { node, endpoint: endpoint.clone() }.into());
		assert_eq!(
			<NodeRegistry as NodeInspect<_>>::endpoint(node),
			Some(b"http://10.0.0.7:7070".to_vec())
		);
		assert_noop!(
			NodeRegistry::set_endpoint(RuntimeOrigin::signed(BOB), node, endpoint.clone()),
			Error::<Test>::NotOwner
		);
		assert_noop!(
			NodeRegistry::set_endpoint(
				RuntimeOrigin::signed(ALICE),
				node,
				b"file:///etc/passwd".to_vec().try_into().unwrap()
			),
			Error::<Test>::BadEndpoint
		);

		// A node that leaves takes its endpoint along.
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node));
		run_to_block(1 + UNBONDING);
		assert_ok!(NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(ALICE), node));
		assert!(crate::Endpoints::<Test>::get(node).is_none());
	});
}

#[test]
fn deregister_unbonds_and_withdraw_releases_after_the_period() {
	test(|| {
		let key = node_public(&node_pair("node-a"));
		let node = register_node(ALICE, "node-a", 50);
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node));
		let until = 1 + UNBONDING;
		assert_eq!(status(node), NodeStatus::Unbonding { until });
		assert!(!<NodeRegistry as NodeInspect<_>>::is_active(node));
		System::assert_last_event(Event::NodeUnbonding { node, until }.into());
		assert_noop!(
			NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node),
			Error::<Test>::Unbonding
		);
		assert_noop!(
			NodeRegistry::bond_extra(RuntimeOrigin::signed(ALICE), node, 5),
			Error::<Test>::Unbonding
		);

		run_to_block(until - 1);
		assert_noop!(
			NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(ALICE), node),
			Error::<Test>::StillUnbonding
		);
		run_to_block(until);
		assert_ok!(NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(ALICE), node));
		System::assert_last_event(
			Event::NodeRemoved { node, released: 50, deposit: NODE_DEPOSIT }.into(),
		);
		assert_eq!((held(ALICE), deposit_held(ALICE)), (0, 0));
		assert_eq!(Balances::free_balance(ALICE), INITIAL_BALANCE);
		assert!(Nodes::<Test>::get(node).is_none());
		assert!(NodeOfKey::<Test>::get(&key).is_none());
		assert!(!crate::NodesOf::<Test>::contains_key(ALICE));

		// The key is free again.
		register_node(BOB, "node-a", 50);
	});
}

/// What a draw for `role` can pick from: the index of active nodes with it.
fn drawable(role: NodeRole) -> Vec<u32> {
	let count = <NodeRegistry as NodeInspect<_>>::active_count(role);
	let mut nodes: Vec<u32> = (0..count)
		.map(|position| <NodeRegistry as NodeInspect<_>>::active_at(role, position).unwrap())
		.collect();
	nodes.sort();
	nodes
}

#[test]
fn register_withdraw_churn_never_dilutes_the_nodes_a_draw_picks_from() {
	test(|| {
		let honest = register_node(ALICE, "honest", 50);
		// Nodes that come and go leave no dead ids behind for a draw to land on.
		for round in 0..5 {
			let seed = format!("churn-{round}");
			let node = register_node(BOB, &seed, 50);
			assert_eq!(drawable(NodeRole::Trainer), vec![honest, node]);
			assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(BOB), node));
			assert_eq!(drawable(NodeRole::Trainer), vec![honest]);
			for _ in 0..UNBONDING / PERIOD {
				run_to_block(System::block_number() + PERIOD);
				send_heartbeat(honest, "honest");
			}
			assert_ok!(NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(BOB), node));
		}
		assert_eq!(crate::NextNodeId::<Test>::get(), 6);
		assert_eq!(drawable(NodeRole::Trainer), vec![honest]);
		assert!(drawable(NodeRole::Validator).is_empty());

		// A node that is slashed out of activity leaves the index; one that comes back returns.
		let missed = SlashReason::MissedHeartbeats;
		assert_ok!(<NodeRegistry as Slasher<_, _>>::slash(honest, missed, None));
		assert!(drawable(NodeRole::Trainer).is_empty());
		assert_ok!(NodeRegistry::reactivate(RuntimeOrigin::signed(ALICE), honest));
		assert_eq!(drawable(NodeRole::Trainer), vec![honest]);
	});
}

#[test]
fn withdraw_needs_a_deregistered_node() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		assert_noop!(
			NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(ALICE), node),
			Error::<Test>::NotUnbonding
		);
	});
}

#[test]
fn a_node_with_open_jobs_cannot_deregister() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		Busy::set(vec![node]);
		assert_noop!(
			NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node),
			Error::<Test>::HasOpenJobs
		);
		Busy::set(vec![]);
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node));
	});
}

#[test]
fn authorize_accepts_a_valid_heartbeat_once_per_period() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		let (heartbeat, signature) = signed_heartbeat(node, &node_pair("node-a"));
		assert_ok!(authorize(heartbeat.clone(), signature.clone()));
		assert_ok!(NodeRegistry::heartbeat(
			RawOrigin::Authorized.into(),
			heartbeat.clone(),
			signature.clone()
		));
		assert_eq!(Nodes::<Test>::get(node).unwrap().last_heartbeat, Some(0));
		System::assert_last_event(Event::HeartbeatReceived { node, period: 0 }.into());

		// Replaying it is stale for the pool and refused by the call.
		assert_eq!(authorize(heartbeat.clone(), signature.clone()), Err(InvalidTransaction::Stale));
		assert_noop!(
			NodeRegistry::heartbeat(RawOrigin::Authorized.into(), heartbeat, signature),
			Error::<Test>::DuplicateHeartbeat
		);
	});
}

fn genesis() -> polkadot_sdk::sp_core::H256 {
	NodeRegistry::genesis_hash()
}

#[test]
fn replaying_a_heartbeat_from_another_chain_or_another_kind_of_message_fails() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		let (heartbeat, _) = signed_heartbeat(node, &node_pair("node-a"));
		let other_chain = polkadot_sdk::sp_core::H256::repeat_byte(0xee);
		assert_ne!(other_chain, genesis());
		let elsewhere = node_sign(&node_pair("node-a"), &heartbeat.signed_bytes(&other_chain));
		assert_eq!(authorize(heartbeat.clone(), elsewhere), Err(InvalidTransaction::BadProof));
		let as_a_commit = node_sign(
			&node_pair("node-a"),
			&SigningContext::Commit.message(&genesis(), &heartbeat),
		);
		assert_eq!(authorize(heartbeat.clone(), as_a_commit), Err(InvalidTransaction::BadProof));
		let unbound = node_sign(&node_pair("node-a"), &heartbeat.encode());
		assert_eq!(authorize(heartbeat, unbound), Err(InvalidTransaction::BadProof));
	});
}

#[test]
fn replaying_a_key_ownership_proof_from_another_chain_fails() {
	test(|| {
		let pair = node_pair("node-a");
		let other_chain = polkadot_sdk::sp_core::H256::repeat_byte(0xee);
		assert_noop!(
			NodeRegistry::register(
				RuntimeOrigin::signed(ALICE),
				roles(&[NodeRole::Trainer]),
				region("eu"),
				basic_capabilities(),
				hw_hash("node-a"),
				node_public(&pair),
				node_sign(&pair, &key_ownership_message(&other_chain, &ALICE)),
				50,
			),
			Error::<Test>::BadKeyOwnershipProof
		);
	});
}

#[test]
fn authorize_refuses_forged_unknown_and_mistimed_heartbeats() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		register_node(BOB, "node-b", 50);
		let (heartbeat, _) = signed_heartbeat(node, &node_pair("node-a"));

		let mut tampered = heartbeat.encode();
		tampered[0] ^= 1;
		let bad_signature = node_sign(&node_pair("node-a"), &tampered);
		assert_eq!(authorize(heartbeat.clone(), bad_signature), Err(InvalidTransaction::BadProof));

		let (_, other_key) = signed_heartbeat(node, &node_pair("node-b"));
		assert_eq!(authorize(heartbeat.clone(), other_key), Err(InvalidTransaction::BadProof));

		let (unknown, signature) = signed_heartbeat(42, &node_pair("node-a"));
		assert_eq!(authorize(unknown, signature), Err(InvalidTransaction::BadSigner));

		let future = crate::Heartbeat { period: 1, ..heartbeat.clone() };
		let signature = node_sign(&node_pair("node-a"), &future.signed_bytes(&genesis()));
		assert_eq!(authorize(future, signature), Err(InvalidTransaction::Future));

		run_to_block(PERIOD);
		let signature = node_sign(&node_pair("node-a"), &heartbeat.signed_bytes(&genesis()));
		assert_eq!(authorize(heartbeat.clone(), signature.clone()), Err(InvalidTransaction::Stale));
		assert_noop!(
			NodeRegistry::heartbeat(RawOrigin::Authorized.into(), heartbeat, signature),
			Error::<Test>::WrongPeriod
		);
	});
}

#[test]
fn heartbeat_needs_the_authorized_origin() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		let (heartbeat, signature) = signed_heartbeat(node, &node_pair("node-a"));
		assert_noop!(
			NodeRegistry::heartbeat(RuntimeOrigin::signed(ALICE), heartbeat, signature),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn inactive_nodes_cannot_send_heartbeats() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node));
		let (heartbeat, signature) = signed_heartbeat(node, &node_pair("node-a"));
		assert_eq!(authorize(heartbeat, signature), Err(InvalidTransaction::BadSigner));
	});
}

#[test]
fn sweep_warns_on_each_miss_and_slashes_after_three_in_a_row() {
	test(|| {
		let node = register_node(ALICE, "node-a", 100);
		// Registered in period 0, which is never held against it.
		run_to_block(2 * PERIOD);
		System::assert_has_event(Event::HeartbeatMissed { node, period: 1, consecutive: 1 }.into());
		run_to_block(3 * PERIOD);
		System::assert_has_event(Event::HeartbeatMissed { node, period: 2, consecutive: 2 }.into());
		assert_eq!(status(node), NodeStatus::Active);

		run_to_block(4 * PERIOD);
		System::assert_has_event(Event::HeartbeatMissed { node, period: 3, consecutive: 3 }.into());
		System::assert_has_event(
			Event::NodeSlashed {
				node,
				reason: SlashReason::MissedHeartbeats,
				amount: 10,
				beneficiary: TREASURY,
			}
			.into(),
		);
		System::assert_has_event(
			Event::NodeDeactivated { node, reason: InactiveReason::MissedHeartbeats }.into(),
		);
		assert_eq!(status(node), NodeStatus::Inactive(InactiveReason::MissedHeartbeats));
		assert_eq!(Deactivated::get(), vec![node], "its unfinished work is handed on");
		assert_eq!(held(ALICE), 90);
		assert_eq!(Balances::free_balance(TREASURY), 1 + 10);

		// An inactive node is not held to heartbeats.
		System::reset_events();
		run_to_block(6 * PERIOD);
		assert!(System::events().is_empty());
	});
}

#[test]
fn heartbeats_misses_slashes_and_removal_are_reported_to_reputation() {
	test(|| {
		let node = register_node(ALICE, "node-a", 100);
		run_to_block(PERIOD + 1);
		send_heartbeat(node, "node-a");
		run_to_block(5 * PERIOD);
		assert_ok!(<NodeRegistry as Slasher<_, _>>::slash(node, SlashReason::ForgedResult, None));
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node));
		run_to_block(5 * PERIOD + UNBONDING);
		assert_ok!(NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(ALICE), node));

		let missed = Reported::Outcome(node, Outcome::HeartbeatMissed);
		assert_eq!(
			ReputationReports::get(),
			vec![
				Reported::Outcome(node, Outcome::HeartbeatKept),
				missed,
				missed,
				missed,
				Reported::Slashed(node, SlashReason::MissedHeartbeats),
				Reported::Slashed(node, SlashReason::ForgedResult),
				Reported::Forgotten(node),
			]
		);
	});
}

#[test]
fn a_kept_heartbeat_resets_the_miss_count() {
	test(|| {
		let node = register_node(ALICE, "node-a", 100);
		run_to_block(PERIOD + 1);
		run_to_block(2 * PERIOD + 1);
		run_to_block(3 * PERIOD + 1);
		assert_eq!(Nodes::<Test>::get(node).unwrap().missed_heartbeats, 2);
		send_heartbeat(node, "node-a");
		assert_eq!(Nodes::<Test>::get(node).unwrap().missed_heartbeats, 0);
		run_to_block(5 * PERIOD + 1);
		let info = Nodes::<Test>::get(node).unwrap();
		assert_eq!((info.missed_heartbeats, info.status), (1, NodeStatus::Active));
	});
}

#[test]
fn a_heartbeat_before_the_sweep_accounts_for_the_missed_period() {
	test(|| {
		// Three nodes and a batch of two: the sweep of period 1 reaches one node a block late.
		let nodes = [
			register_node(ALICE, "a", 50),
			register_node(ALICE, "b", 50),
			register_node(BOB, "c", 50),
		];
		run_to_block(2 * PERIOD - 1);
		for (node, seed) in nodes.iter().zip(["a", "b", "c"]) {
			send_heartbeat(*node, seed);
		}
		// Nobody sends in period 2. When period 3 starts, the sweep checks two nodes; the third
		// sends its period-3 heartbeat before the sweep reaches it.
		run_to_block(3 * PERIOD);
		let unswept = nodes
			.iter()
			.copied()
			.find(|node| Nodes::<Test>::get(node).unwrap().accounted_through < 2)
			.expect("one node is left for the next block");
		let seed = ["a", "b", "c"][nodes.iter().position(|n| *n == unswept).unwrap()];
		send_heartbeat(unswept, seed);
		System::assert_has_event(
			Event::HeartbeatMissed { node: unswept, period: 2, consecutive: 1 }.into(),
		);
		let info = Nodes::<Test>::get(unswept).unwrap();
		assert_eq!(
			(info.missed_heartbeats, info.last_heartbeat, info.accounted_through),
			(0, Some(3), 3)
		);
		run_to_block(3 * PERIOD + 1);
		assert_eq!(Nodes::<Test>::get(unswept).unwrap().missed_heartbeats, 0);
	});
}

#[test]
fn reactivate_restores_a_node_that_covers_its_tier() {
	test(|| {
		let node = register_node(ALICE, "node-a", MIN_BASIC);
		assert_noop!(
			NodeRegistry::reactivate(RuntimeOrigin::signed(ALICE), node),
			Error::<Test>::AlreadyActive
		);
		run_to_block(4 * PERIOD);
		assert_eq!(status(node), NodeStatus::Inactive(InactiveReason::MissedHeartbeats));
		// 10% of 10 was slashed: 9 is below the basic minimum.
		assert_noop!(
			NodeRegistry::reactivate(RuntimeOrigin::signed(ALICE), node),
			Error::<Test>::StakeBelowMinimum
		);
		assert_ok!(NodeRegistry::bond_extra(RuntimeOrigin::signed(ALICE), node, 1));
		assert_ok!(NodeRegistry::reactivate(RuntimeOrigin::signed(ALICE), node));
		System::assert_last_event(Event::NodeReactivated { node }.into());
		let info = Nodes::<Test>::get(node).unwrap();
		assert_eq!(
			(info.status, info.missed_heartbeats, info.accounted_through),
			(NodeStatus::Active, 0, 4)
		);
		// The period of reactivation is not held against it.
		run_to_block(5 * PERIOD);
		assert_eq!(Nodes::<Test>::get(node).unwrap().missed_heartbeats, 0);
	});
}

#[test]
fn slashes_take_the_share_of_the_reason_and_pay_the_beneficiary() {
	test(|| {
		let node = register_node(ALICE, "node-a", 1_000);
		let slash = |reason, to| <NodeRegistry as Slasher<_, _>>::slash(node, reason, to);

		assert_eq!(slash(SlashReason::FailedVerification, None), Ok(100));
		assert_eq!(Balances::free_balance(TREASURY), 101);
		System::assert_last_event(
			Event::NodeSlashed {
				node,
				reason: SlashReason::FailedVerification,
				amount: 100,
				beneficiary: TREASURY,
			}
			.into(),
		);
		assert_eq!(slash(SlashReason::ForgedResult, Some(BOB)), Ok(450));
		assert_eq!(Balances::free_balance(BOB), INITIAL_BALANCE + 450);
		assert_eq!((held(ALICE), Nodes::<Test>::get(node).unwrap().stake), (450, 450));
		assert_eq!(status(node), NodeStatus::Active);

		// The third offence takes everything, whatever its reason.
		assert_eq!(slash(SlashReason::AbandonedJob(Perbill::from_percent(1)), None), Ok(450));
		assert_eq!(held(ALICE), 0);
		assert_eq!(status(node), NodeStatus::Inactive(InactiveReason::Slashed));
		assert_eq!(slash(SlashReason::FailedVerification, None), Ok(0));
	});
}

#[test]
fn missed_verdicts_and_lost_content_take_the_callers_share_and_never_count_as_offences() {
	test(|| {
		let node = register_node(ALICE, "node-a", 1_000);
		let missed = SlashReason::MissedVerdict(Perbill::from_percent(5));
		let lost = SlashReason::DataUnavailable(Perbill::from_percent(5));
		for (reason, expected) in [(missed, 50), (lost, 47), (missed, 45), (lost, 43)] {
			assert_eq!(<NodeRegistry as Slasher<_, _>>::slash(node, reason, None), Ok(expected));
		}
		let info = Nodes::<Test>::get(node).unwrap();
		assert_eq!((info.offences, info.stake, held(ALICE)), (0, 815, 815));
		assert_eq!(status(node), NodeStatus::Active);
	});
}

#[test]
fn a_trap_failure_takes_the_whole_stake_and_deactivates() {
	test(|| {
		let node = register_node(ALICE, "node-a", 300);
		assert_eq!(
			<NodeRegistry as Slasher<_, _>>::slash(node, SlashReason::TrapFailure, None),
			Ok(300)
		);
		assert_eq!(held(ALICE), 0);
		assert_eq!(status(node), NodeStatus::Inactive(InactiveReason::Slashed));
		System::assert_has_event(
			Event::NodeDeactivated { node, reason: InactiveReason::Slashed }.into(),
		);
		assert_eq!(Deactivated::get(), vec![node]);
	});
}

#[test]
fn a_slash_below_the_tier_minimum_deactivates_and_abandonment_uses_the_callers_share() {
	test(|| {
		let node = register_node(ALICE, "node-a", 20);
		let taken = <NodeRegistry as Slasher<_, _>>::slash(
			node,
			SlashReason::AbandonedJob(Perbill::from_percent(60)),
			None,
		);
		assert_eq!(taken, Ok(12));
		assert_eq!(status(node), NodeStatus::Inactive(InactiveReason::InsufficientStake));
	});
}

#[test]
fn slashing_an_unknown_node_fails() {
	test(|| {
		assert_eq!(
			<NodeRegistry as Slasher<_, _>>::slash(3, SlashReason::ForgedResult, None),
			Err(Error::<Test>::UnknownNode.into())
		);
	});
}

#[test]
fn unbonding_stake_stays_slashable() {
	test(|| {
		let node = register_node(ALICE, "node-a", 100);
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node));
		assert_eq!(
			<NodeRegistry as Slasher<_, _>>::slash(node, SlashReason::ForgedResult, None),
			Ok(50)
		);
		run_to_block(1 + UNBONDING);
		assert_ok!(NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(ALICE), node));
		assert_eq!(Balances::free_balance(ALICE), INITIAL_BALANCE - 50);
	});
}

#[test]
fn node_inspect_reports_the_record() {
	test(|| {
		let node = register_node(ALICE, "node-a", 50);
		assert!(<NodeRegistry as NodeInspect<_>>::is_active(node));
		assert_eq!(<NodeRegistry as NodeInspect<_>>::owner(node), Some(ALICE));
		assert!(<NodeRegistry as NodeInspect<AccountId>>::has_role(node, NodeRole::Trainer));
		assert_eq!(
			<NodeRegistry as NodeInspect<AccountId>>::capabilities(node),
			Some(basic_capabilities())
		);
		assert_eq!(
			<NodeRegistry as NodeInspect<AccountId>>::node_key(node),
			Some(node_public(&node_pair("node-a")))
		);
		assert_eq!(<NodeRegistry as NodeInspect<AccountId>>::stake(9), 0);
		assert!(!NodeRegistry::has_priority(node));
	});
}

/// Runs `body` with an offchain database, a worker context and a transaction pool; `body`
/// gets a function that takes the pooled transactions out of the pool.
fn offchain_test(body: impl FnOnce(&dyn Fn() -> Vec<Vec<u8>>)) {
	let mut ext = new_test_ext();
	let (offchain, _) = TestOffchainExt::new();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	ext.register_extension(OffchainDbExt::new(offchain.clone()));
	ext.register_extension(OffchainWorkerExt::new(offchain));
	ext.register_extension(TransactionPoolExt::new(pool));
	let take_pooled = move || std::mem::take(&mut pool_state.write().transactions);
	ext.execute_with(|| {
		body(&take_pooled);
		NodeRegistry::do_try_state().expect("invariants hold after the test");
	});
}

fn pooled_heartbeat(xt: &[u8]) -> (crate::Heartbeat<u64>, tessera_primitives::NodeSignature) {
	let xt = Extrinsic::decode(&mut &xt[..]).expect("a decodable extrinsic");
	match xt.function {
		RuntimeCall::NodeRegistry(crate::Call::heartbeat { heartbeat, signature }) => {
			(heartbeat, signature)
		}
		other => panic!("not a heartbeat: {other:?}"),
	}
}

#[test]
fn offchain_worker_signs_and_pools_one_heartbeat_per_period() {
	offchain_test(|take_pooled| {
		let key = NodePublic::generate_pair(Some(b"//node-a".to_vec()));
		assert_eq!(key, node_public(&node_pair("node-a")));
		let node = register_node(ALICE, "node-a", 50);
		register_node(BOB, "not-local", 50);

		NodeRegistry::offchain_worker(1);
		let pooled = take_pooled();
		assert_eq!(pooled.len(), 1, "one heartbeat, for the local key only");
		let (heartbeat, signature) = pooled_heartbeat(&pooled[0]);
		assert_eq!(heartbeat, crate::Heartbeat { node, period: 0, block: 1 });
		assert_ok!(authorize(heartbeat, signature));

		// The next blocks' workers do not send it again while it may still land...
		let resend_at = 1 + u64::from(tessera_primitives::offchain::RESEND_AFTER_BLOCKS);
		for block in 2..resend_at {
			run_to_block(block);
			NodeRegistry::offchain_worker(block);
			assert!(take_pooled().is_empty(), "sent again at block {block}");
		}
		// ...but do once it has clearly been lost...
		run_to_block(resend_at);
		NodeRegistry::offchain_worker(resend_at);
		assert_eq!(take_pooled().len(), 1);
		// ...and send the next period's at once.
		run_to_block(PERIOD);
		NodeRegistry::offchain_worker(PERIOD);
		let pooled = take_pooled();
		assert_eq!(
			pooled_heartbeat(&pooled[0]).0,
			crate::Heartbeat { node, period: 1, block: PERIOD }
		);
	});
}

#[test]
fn offchain_worker_is_quiet_once_the_heartbeat_landed() {
	offchain_test(|take_pooled| {
		NodePublic::generate_pair(Some(b"//node-a".to_vec()));
		let node = register_node(ALICE, "node-a", 50);
		send_heartbeat(node, "node-a");
		NodeRegistry::offchain_worker(1);
		assert!(take_pooled().is_empty());
	});
}

#[test]
fn integrity_test_accepts_the_mock_configuration() {
	new_test_ext().execute_with(NodeRegistry::integrity_test);
}

#[test]
fn filling_the_registry_with_junk_nodes_costs_a_deposit_each() {
	test(|| {
		// An attacker with one account per MaxNodesPerOwner nodes fills every slot with the
		// cheapest nodes there are.
		let junk: Vec<(AccountId, u32)> = (0..16u64)
			.map(|n| {
				let owner = 100 + n / 3;
				assert_ok!(Balances::mint_into(&owner, if n % 3 == 0 { 1_000 } else { 0 }));
				(owner, register_node(owner, &format!("junk-{n}"), MIN_BASIC))
			})
			.collect();
		System::assert_last_event(
			Event::NodeRegistered { node: 15, owner: 105, stake: MIN_BASIC, deposit: NODE_DEPOSIT }
				.into(),
		);
		assert_eq!(crate::NodeCount::<Test>::get(), 16);
		// Every slot holds its stake and its deposit: filling the registry costs
		// MaxNodes × (MinStakeBasic + NodeDeposit).
		let total: Balance = (100..106).map(|owner| held(owner) + deposit_held(owner)).sum();
		assert_eq!(total, 16 * (MIN_BASIC + NODE_DEPOSIT));
		assert_eq!((held(100), deposit_held(100)), (3 * MIN_BASIC, 3 * NODE_DEPOSIT));
		assert_eq!(Balances::free_balance(100), 1_000 - 3 * (MIN_BASIC + NODE_DEPOSIT));
		assert_noop!(
			register_with(ALICE, "honest", &[NodeRole::Trainer], "eu", basic_capabilities(), 50),
			Error::<Test>::TooManyNodes
		);

		// A junk node slashed to nothing still pays for its slot: the deposit is never slashed.
		let (owner, node) = junk[0];
		assert_eq!(
			<NodeRegistry as Slasher<_, _>>::slash(node, SlashReason::TrapFailure, None),
			Ok(MIN_BASIC)
		);
		assert_eq!(Nodes::<Test>::get(node).unwrap().stake, 0);
		assert_eq!((held(owner), deposit_held(owner)), (2 * MIN_BASIC, 3 * NODE_DEPOSIT));
		assert_eq!(Balances::free_balance(TREASURY), 1 + MIN_BASIC);

		// Only removal returns the deposit, to the unit.
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(owner), node));
		run_to_block(1 + UNBONDING);
		assert_ok!(NodeRegistry::withdraw_unbonded(RuntimeOrigin::signed(owner), node));
		System::assert_last_event(
			Event::NodeRemoved { node, released: 0, deposit: NODE_DEPOSIT }.into(),
		);
		assert_eq!((held(owner), deposit_held(owner)), (2 * MIN_BASIC, 2 * NODE_DEPOSIT));
		assert_eq!(Balances::free_balance(owner), 1_000 - 3 * MIN_BASIC - 2 * NODE_DEPOSIT);
		assert_eq!(crate::NodeCount::<Test>::get(), 15);
	});
}

#[test]
fn try_state_catches_a_deposit_hold_that_does_not_match() {
	new_test_ext().execute_with(|| {
		let node = register_node(ALICE, "node-a", 50);
		assert_ok!(NodeRegistry::do_try_state());
		Nodes::<Test>::mutate(node, |info| info.as_mut().unwrap().deposit = NODE_DEPOSIT - 1);
		assert_eq!(
			NodeRegistry::do_try_state(),
			Err("held deposit differs from the recorded deposits".into())
		);
	});
}

#[test]
fn try_state_catches_an_unbonding_node_with_work_to_finish() {
	new_test_ext().execute_with(|| {
		let node = register_node(ALICE, "node-a", 50);
		assert_ok!(NodeRegistry::deregister(RuntimeOrigin::signed(ALICE), node));
		assert_ok!(NodeRegistry::do_try_state());
		Busy::set(vec![node]);
		assert_eq!(
			NodeRegistry::do_try_state(),
			Err("an unbonding node with work to finish".into())
		);
	});
}
