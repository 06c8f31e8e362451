//! The logic behind the calls, the heartbeat sweep, and the traits other pallets use.

use super::*;
use frame_support::{
	ensure,
	pallet_prelude::*,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::{
	traits::{Saturating, Zero},
	Perbill, RuntimeAppPublic, SaturatedConversion,
};
use tessera_primitives::{node::InactiveReason, DidId, NodeRole, Outcome, SlashReason};
use types::{key_ownership_message, Sweep};

impl<T: Config> Pallet<T> {
	/// The hash of this chain's genesis block, which every message a node key signs names
	/// ([`tessera_primitives::signing`]). `frame_system` keeps it when it prunes older hashes.
	pub fn genesis_hash() -> T::Hash {
		frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
	}

	/// The heartbeat period block `block` lies in.
	pub fn period_of(block: BlockNumberFor<T>) -> PeriodIndex {
		(block / T::HeartbeatPeriod::get()).saturated_into()
	}

	/// The first block of `period`.
	pub fn period_start(period: PeriodIndex) -> BlockNumberFor<T> {
		BlockNumberFor::<T>::from(period).saturating_mul(T::HeartbeatPeriod::get())
	}

	/// The least stake a node with `capabilities` must hold.
	pub fn minimum_stake(capabilities: &Capabilities) -> BalanceOf<T> {
		if capabilities.tee() {
			T::MinStakeTee::get()
		} else if capabilities.gpu() {
			T::MinStakeGpu::get()
		} else {
			T::MinStakeBasic::get()
		}
	}

	/// Whether the node's stake earns it priority in assignment.
	pub fn has_priority(node: NodeId) -> bool {
		Nodes::<T>::get(node).is_some_and(|info| info.stake >= T::PriorityStake::get())
	}

	pub(crate) fn do_register(
		owner: T::AccountId,
		mut roles: Roles,
		region: RegionOf<T>,
		capabilities: Capabilities,
		hw_hash: sp_core::H256,
		node_key: NodePublic,
		key_proof: NodeSignature,
		stake: BalanceOf<T>,
	) -> DispatchResult {
		Self::ensure_valid_description(&mut roles, &region, &capabilities)?;
		ensure!(stake >= Self::minimum_stake(&capabilities), Error::<T>::StakeBelowMinimum);
		ensure!(!NodeOfKey::<T>::contains_key(&node_key), Error::<T>::NodeKeyInUse);
		ensure!(
			node_key.verify(&key_ownership_message(&Self::genesis_hash(), &owner), &key_proof),
			Error::<T>::BadKeyOwnershipProof
		);
		let count = NodeCount::<T>::get();
		ensure!(count < T::MaxNodes::get(), Error::<T>::TooManyNodes);

		let node = NextNodeId::<T>::get();
		NodesOf::<T>::try_mutate(&owner, |nodes| nodes.try_push(node))
			.map_err(|_| Error::<T>::TooManyNodesForOwner)?;
		T::Currency::hold(&HoldReason::NodeStake.into(), &owner, stake)?;
		let deposit = T::NodeDeposit::get();
		T::Currency::hold(&HoldReason::NodeDeposit.into(), &owner, deposit)?;

		let now = frame_system::Pallet::<T>::block_number();
		NextNodeId::<T>::put(node.saturating_add(1));
		NodeCount::<T>::put(count.saturating_add(1));
		NodeOfKey::<T>::insert(&node_key, node);
		Self::put_node(
			node,
			NodeInfo {
				owner: owner.clone(),
				node_key,
				roles,
				region,
				capabilities,
				hw_hash,
				stake,
				deposit,
				status: NodeStatus::Active,
				registered_at: now,
				last_heartbeat: None,
				accounted_through: Self::period_of(now),
				missed_heartbeats: 0,
				offences: 0,
			},
		);
		Self::deposit_event(Event::NodeRegistered { node, owner, stake, deposit });
		Ok(())
	}

	pub(crate) fn do_set_endpoint(
		owner: T::AccountId,
		node: NodeId,
		endpoint: BoundedVec<u8, T::MaxEndpointLen>,
	) -> DispatchResult {
		Self::owned(&owner, node)?;
		ensure!(
			endpoint.starts_with(b"http://") || endpoint.starts_with(b"https://"),
			Error::<T>::BadEndpoint
		);
		Endpoints::<T>::insert(node, endpoint.clone());
		Self::deposit_event(Event::EndpointSet { node, endpoint });
		Ok(())
	}

	pub(crate) fn do_link_did(
		owner: T::AccountId,
		node: NodeId,
		did: Option<DidId>,
	) -> DispatchResult {
		Self::owned(&owner, node)?;
		match did {
			Some(did) => {
				ensure!(T::Dids::is_controller(&did, &owner), Error::<T>::NotDidController);
				DidOfNode::<T>::insert(node, did);
			}
			None => DidOfNode::<T>::remove(node),
		}
		Self::deposit_event(Event::DidLinked { node, did });
		Ok(())
	}

	pub(crate) fn do_update(
		owner: T::AccountId,
		node: NodeId,
		mut roles: Roles,
		region: RegionOf<T>,
		capabilities: Capabilities,
	) -> DispatchResult {
		Self::ensure_valid_description(&mut roles, &region, &capabilities)?;
		Self::mutate_owned(&owner, node, |info| {
			ensure!(
				info.stake >= Self::minimum_stake(&capabilities),
				Error::<T>::StakeBelowMinimum
			);
			info.roles = roles;
			info.region = region;
			info.capabilities = capabilities;
			Ok(())
		})?;
		Self::deposit_event(Event::NodeUpdated { node });
		Ok(())
	}

	pub(crate) fn do_bond_extra(
		owner: T::AccountId,
		node: NodeId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		let total = Self::mutate_owned(&owner, node, |info| {
			ensure!(!matches!(info.status, NodeStatus::Unbonding { .. }), Error::<T>::Unbonding);
			T::Currency::hold(&HoldReason::NodeStake.into(), &owner, amount)?;
			info.stake = info.stake.saturating_add(amount);
			Ok(info.stake)
		})?;
		Self::deposit_event(Event::StakeBonded { node, amount, total });
		Ok(())
	}

	pub(crate) fn do_deregister(owner: T::AccountId, node: NodeId) -> DispatchResult {
		ensure!(!T::Workload::has_open_jobs(node), Error::<T>::HasOpenJobs);
		let until =
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
		Self::mutate_owned(&owner, node, |info| {
			ensure!(!matches!(info.status, NodeStatus::Unbonding { .. }), Error::<T>::Unbonding);
			info.status = NodeStatus::Unbonding { until };
			Ok(())
		})?;
		Self::deposit_event(Event::NodeUnbonding { node, until });
		Ok(())
	}

	pub(crate) fn do_withdraw_unbonded(owner: T::AccountId, node: NodeId) -> DispatchResult {
		let info = Self::owned(&owner, node)?;
		let NodeStatus::Unbonding { until } = info.status else {
			return Err(Error::<T>::NotUnbonding.into());
		};
		ensure!(frame_system::Pallet::<T>::block_number() >= until, Error::<T>::StillUnbonding);

		let released = T::Currency::release(
			&HoldReason::NodeStake.into(),
			&owner,
			info.stake,
			Precision::BestEffort,
		)?;
		let deposit = T::Currency::release(
			&HoldReason::NodeDeposit.into(),
			&owner,
			info.deposit,
			Precision::BestEffort,
		)?;
		Nodes::<T>::remove(node);
		NodeOfKey::<T>::remove(&info.node_key);
		Endpoints::<T>::remove(node);
		DidOfNode::<T>::remove(node);
		NodesOf::<T>::mutate_exists(&owner, |nodes| {
			if let Some(list) = nodes {
				list.retain(|id| *id != node);
				if list.is_empty() {
					*nodes = None;
				}
			}
		});
		NodeCount::<T>::mutate(|count| *count = count.saturating_sub(1));
		T::Reputation::forget(node);
		Self::deposit_event(Event::NodeRemoved { node, released, deposit });
		Ok(())
	}

	pub(crate) fn do_reactivate(owner: T::AccountId, node: NodeId) -> DispatchResult {
		let period = Self::period_of(frame_system::Pallet::<T>::block_number());
		Self::mutate_owned(&owner, node, |info| {
			match info.status {
				NodeStatus::Active => return Err(Error::<T>::AlreadyActive.into()),
				NodeStatus::Unbonding { .. } => return Err(Error::<T>::Unbonding.into()),
				NodeStatus::Inactive(_) => {}
			}
			ensure!(
				info.stake >= Self::minimum_stake(&info.capabilities),
				Error::<T>::StakeBelowMinimum
			);
			info.status = NodeStatus::Active;
			info.missed_heartbeats = 0;
			info.accounted_through = period;
			Ok(())
		})?;
		Self::deposit_event(Event::NodeReactivated { node });
		Ok(())
	}

	pub(crate) fn do_heartbeat(heartbeat: Heartbeat<BlockNumberFor<T>>) -> DispatchResult {
		let period = Self::period_of(frame_system::Pallet::<T>::block_number());
		ensure!(heartbeat.period == period, Error::<T>::WrongPeriod);
		let mut info = Nodes::<T>::get(heartbeat.node).ok_or(Error::<T>::UnknownNode)?;
		ensure!(info.status.is_active(), Error::<T>::NotActive);
		ensure!(info.last_heartbeat != Some(period), Error::<T>::DuplicateHeartbeat);

		// Periods the sweep has not reached yet are accounted for now, so that a heartbeat
		// arriving before the sweep cannot hide the miss before it.
		Self::account_misses(heartbeat.node, &mut info, period.saturating_sub(1));
		if info.status.is_active() {
			info.last_heartbeat = Some(period);
			info.accounted_through = period;
			info.missed_heartbeats = 0;
			T::Reputation::report(heartbeat.node, Outcome::HeartbeatKept);
			Self::deposit_event(Event::HeartbeatReceived { node: heartbeat.node, period });
		}
		Self::put_node(heartbeat.node, info);
		Ok(())
	}

	/// Checks a batch of nodes for the period that just ended. A sweep starts at the first
	/// block of every period and visits every node once; `integrity_test` makes sure it ends
	/// before the next period starts.
	pub(crate) fn sweep_heartbeats(now: BlockNumberFor<T>) -> Weight {
		let period = Self::period_of(now);
		let mut sweep = match CurrentSweep::<T>::get() {
			_ if period > 0 && now == Self::period_start(period) => {
				Sweep { period: period - 1, last: None }
			}
			Some(sweep) => sweep,
			None => return T::DbWeight::get().reads(1),
		};
		let mut nodes = match sweep.last {
			Some(last) => Nodes::<T>::iter_from(Nodes::<T>::hashed_key_for(last)),
			None => Nodes::<T>::iter(),
		};
		let mut checked = 0;
		let mut reported = Weight::zero();
		while checked < T::SweepBatch::get() {
			let Some((node, mut info)) = nodes.next() else { break };
			checked += 1;
			sweep.last = Some(node);
			if info.accounted_through < sweep.period && info.status.is_active() {
				reported.saturating_accrue(Self::account_misses(node, &mut info, sweep.period));
				Self::put_node(node, info);
			}
		}
		if checked < T::SweepBatch::get() {
			CurrentSweep::<T>::kill();
		} else {
			CurrentSweep::<T>::put(sweep);
		}
		T::WeightInfo::sweep_heartbeats(checked).saturating_add(reported)
	}

	/// Counts every period after `info.accounted_through` up to and including `through` as
	/// missed, warning for each and slashing and deactivating the node once it has missed
	/// too many in a row. The caller stores `info`. Returns the weight of the reputation
	/// reports made, which is at most [`Self::worst_reputation_weight`].
	fn account_misses(node: NodeId, info: &mut NodeInfoOf<T>, through: PeriodIndex) -> Weight {
		let mut reported = Weight::zero();
		while info.accounted_through < through && info.status.is_active() {
			info.accounted_through += 1;
			info.missed_heartbeats = info.missed_heartbeats.saturating_add(1);
			T::Reputation::report(node, Outcome::HeartbeatMissed);
			reported.saturating_accrue(T::Reputation::report_weight());
			Self::deposit_event(Event::HeartbeatMissed {
				node,
				period: info.accounted_through,
				consecutive: info.missed_heartbeats,
			});
			if info.missed_heartbeats >= T::MaxMissedHeartbeats::get() {
				Self::slash_record(
					node,
					info,
					SlashReason::MissedHeartbeats,
					T::SlashBeneficiary::get(),
				);
				reported.saturating_accrue(T::Reputation::slashed_weight());
			}
		}
		info.accounted_through = info.accounted_through.max(through);
		reported
	}

	/// The most reputation weight one heartbeat, or one node's turn in the sweep, costs: a
	/// report for each miss up to the one that deactivates the node, the slash of that one,
	/// and the report of the heartbeat itself.
	pub(crate) fn worst_reputation_weight() -> Weight {
		T::Reputation::report_weight()
			.saturating_mul(T::MaxMissedHeartbeats::get().into())
			.saturating_add(T::Reputation::slashed_weight())
			.saturating_add(T::Reputation::report_weight())
	}

	/// Takes the share of the stake `reason` calls for from the record and the owner's hold,
	/// pays it to `beneficiary` and deactivates the node where the reason demands it. The
	/// caller stores `info`. Returns what was taken.
	fn slash_record(
		node: NodeId,
		info: &mut NodeInfoOf<T>,
		reason: SlashReason,
		beneficiary: T::AccountId,
	) -> BalanceOf<T> {
		let is_offence = !matches!(
			reason,
			SlashReason::MissedHeartbeats
				| SlashReason::MissedVerdict(_)
				| SlashReason::DataUnavailable(_)
		);
		if is_offence {
			info.offences = info.offences.saturating_add(1);
		}
		let last_offence = is_offence && info.offences >= T::MaxOffences::get();
		let share = match reason {
			_ if last_offence => Perbill::one(),
			SlashReason::FailedVerification => T::FailedVerificationSlash::get(),
			SlashReason::ForgedResult => T::ForgedResultSlash::get(),
			SlashReason::TrapFailure => Perbill::one(),
			SlashReason::AbandonedJob(share)
			| SlashReason::DataUnavailable(share)
			| SlashReason::MissedVerdict(share) => share,
			SlashReason::MissedHeartbeats => T::MissedHeartbeatSlash::get(),
		};
		let wanted = share * info.stake;
		let amount = if wanted.is_zero() {
			Zero::zero()
		} else {
			T::Currency::transfer_on_hold(
				&HoldReason::NodeStake.into(),
				&info.owner,
				&beneficiary,
				wanted,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			)
			.unwrap_or_else(|error| {
				log::error!(target: LOG_TARGET, "could not slash node {node}: {error:?}");
				Zero::zero()
			})
		};
		info.stake = info.stake.saturating_sub(amount);
		T::Reputation::slashed(node, reason);
		Self::deposit_event(Event::NodeSlashed { node, reason, amount, beneficiary });

		let deactivation = if matches!(reason, SlashReason::MissedHeartbeats) {
			Some(InactiveReason::MissedHeartbeats)
		} else if last_offence || matches!(reason, SlashReason::TrapFailure) {
			Some(InactiveReason::Slashed)
		} else if info.stake < Self::minimum_stake(&info.capabilities) {
			Some(InactiveReason::InsufficientStake)
		} else {
			None
		};
		if let (Some(reason), NodeStatus::Active) = (deactivation, info.status) {
			info.status = NodeStatus::Inactive(reason);
			T::Workload::node_deactivated(node);
			Self::deposit_event(Event::NodeDeactivated { node, reason });
		}
		amount
	}

	/// Checks a node's description, putting its roles in the order the record keeps them.
	fn ensure_valid_description(
		roles: &mut Roles,
		region: &RegionOf<T>,
		capabilities: &Capabilities,
	) -> DispatchResult {
		ensure!(!roles.is_empty(), Error::<T>::NoRoles);
		roles.sort();
		ensure!(roles.windows(2).all(|pair| pair[0] < pair[1]), Error::<T>::DuplicateRole);
		ensure!(!region.is_empty(), Error::<T>::EmptyRegion);
		ensure!(capabilities.is_valid(), Error::<T>::InvalidCapabilities);
		Ok(())
	}

	fn owned(owner: &T::AccountId, node: NodeId) -> Result<NodeInfoOf<T>, DispatchError> {
		let info = Nodes::<T>::get(node).ok_or(Error::<T>::UnknownNode)?;
		ensure!(&info.owner == owner, Error::<T>::NotOwner);
		Ok(info)
	}

	pub(crate) fn mutate_owned<R>(
		owner: &T::AccountId,
		node: NodeId,
		change: impl FnOnce(&mut NodeInfoOf<T>) -> Result<R, DispatchError>,
	) -> Result<R, DispatchError> {
		let mut info = Self::owned(owner, node)?;
		let result = change(&mut info)?;
		Self::put_node(node, info);
		Ok(result)
	}

	/// Stores `node`'s record, keeping the [`RoleIndex`] of active nodes by role in step:
	/// every write of a record goes through here.
	pub(crate) fn put_node(node: NodeId, info: NodeInfoOf<T>) {
		let listed = |info: &NodeInfoOf<T>| {
			if info.status.is_active() {
				info.roles.to_vec()
			} else {
				alloc::vec::Vec::new()
			}
		};
		let before = Nodes::<T>::get(node).map(|before| listed(&before)).unwrap_or_default();
		let after = listed(&info);
		for role in before.iter().filter(|role| !after.contains(role)) {
			Self::delist(*role, node);
		}
		for role in after.iter().filter(|role| !before.contains(role)) {
			Self::enlist(*role, node);
		}
		Nodes::<T>::insert(node, info);
	}

	fn enlist(role: NodeRole, node: NodeId) {
		if RolePosition::<T>::contains_key(role, node) {
			return;
		}
		let position = RoleCount::<T>::get(role);
		RoleIndex::<T>::insert(role, position, node);
		RolePosition::<T>::insert(role, node, position);
		RoleCount::<T>::insert(role, position.saturating_add(1));
	}

	fn delist(role: NodeRole, node: NodeId) {
		let Some(position) = RolePosition::<T>::take(role, node) else { return };
		let last = RoleCount::<T>::get(role).saturating_sub(1);
		if position != last {
			if let Some(moved) = RoleIndex::<T>::get(role, last) {
				RoleIndex::<T>::insert(role, position, moved);
				RolePosition::<T>::insert(role, moved, position);
			}
		}
		RoleIndex::<T>::remove(role, last);
		RoleCount::<T>::insert(role, last);
	}

	/// Checks the pallet's invariants.
	///
	/// # Invariants
	///
	/// - The stake held from each owner equals the sum of the stakes recorded for its nodes,
	///   and the deposit held from it the sum of their deposits.
	/// - [`NodeCount`] is the number of [`Nodes`], below [`Config::MaxNodes`], and every id
	///   is below [`NextNodeId`].
	/// - [`NodeOfKey`] maps every node's key to that node and nothing else.
	/// - [`NodesOf`] lists every node under its owner and nothing else, without empty lists.
	/// - Every node has roles in ascending order without duplicates, valid capabilities, and
	///   has not been accounted for beyond the current period.
	/// - Every active node holds at least its tier's minimum stake.
	/// - No unbonding node has work to finish ([`NodeWorkload::has_open_jobs`]): it left
	///   without any, and draws pick active nodes alone.
	#[cfg(any(test, feature = "try-runtime", feature = "invariants"))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;

		let period = Self::period_of(frame_system::Pallet::<T>::block_number());
		let mut stake_of = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let mut deposit_of = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let mut count = 0u32;
		for (node, info) in Nodes::<T>::iter() {
			count += 1;
			ensure!(node < NextNodeId::<T>::get(), "a node id at or above NextNodeId");
			ensure!(NodeOfKey::<T>::get(&info.node_key) == Some(node), "node key not indexed");
			ensure!(NodesOf::<T>::get(&info.owner).contains(&node), "node not listed under owner");
			ensure!(
				!info.roles.is_empty() && info.roles.windows(2).all(|pair| pair[0] < pair[1]),
				"roles empty, unordered or repeated"
			);
			ensure!(info.capabilities.is_valid(), "capabilities set reserved bits");
			ensure!(info.accounted_through <= period, "accounted beyond the current period");
			ensure!(
				!info.status.is_active() || info.stake >= Self::minimum_stake(&info.capabilities),
				"an active node below its minimum stake"
			);
			ensure!(
				!matches!(info.status, NodeStatus::Unbonding { .. })
					|| !T::Workload::has_open_jobs(node),
				"an unbonding node with work to finish"
			);
			let total = stake_of.entry(info.owner.clone()).or_default();
			*total = total.saturating_add(info.stake);
			let total = deposit_of.entry(info.owner.clone()).or_default();
			*total = total.saturating_add(info.deposit);
		}
		ensure!(count == NodeCount::<T>::get(), "NodeCount differs from the number of nodes");
		ensure!(count <= T::MaxNodes::get(), "more nodes than MaxNodes");
		ensure!(
			NodeOfKey::<T>::iter().count() as u32 == count,
			"node keys indexed for removed nodes"
		);
		for (owner, nodes) in NodesOf::<T>::iter() {
			ensure!(!nodes.is_empty(), "an empty NodesOf entry");
			for node in nodes {
				ensure!(
					Nodes::<T>::get(node).is_some_and(|info| info.owner == owner),
					"NodesOf lists a node of another owner or a removed node"
				);
			}
		}
		for (owner, total) in stake_of {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::NodeStake.into(), &owner) == total,
				"held stake differs from the recorded stakes"
			);
		}
		for (owner, total) in deposit_of {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::NodeDeposit.into(), &owner) == total,
				"held deposit differs from the recorded deposits"
			);
		}
		// The role index lists exactly the active nodes with each role, each once.
		let mut listed = alloc::collections::BTreeSet::new();
		for (role, count) in RoleCount::<T>::iter() {
			for position in 0..count {
				let node = RoleIndex::<T>::get(role, position).ok_or("a gap in a role index")?;
				ensure!(
					RolePosition::<T>::get(role, node) == Some(position),
					"a role index and its positions disagree"
				);
				ensure!(
					Nodes::<T>::get(node)
						.is_some_and(|info| info.status.is_active() && info.roles.contains(&role)),
					"a role index lists a node that is not active with the role"
				);
				listed.insert((role, node));
			}
		}
		ensure!(
			RoleIndex::<T>::iter().count() == listed.len()
				&& RolePosition::<T>::iter().count() == listed.len(),
			"role index entries past a role's count"
		);
		for (node, info) in Nodes::<T>::iter().filter(|(_, info)| info.status.is_active()) {
			ensure!(
				info.roles.iter().all(|role| listed.contains(&(*role, node))),
				"an active node missing from the index of one of its roles"
			);
		}
		Ok(())
	}
}

impl<T: Config> NodeInspect<T::AccountId> for Pallet<T> {
	type Balance = BalanceOf<T>;

	fn is_active(node: NodeId) -> bool {
		Nodes::<T>::get(node).is_some_and(|info| info.status.is_active())
	}

	fn owner(node: NodeId) -> Option<T::AccountId> {
		Nodes::<T>::get(node).map(|info| info.owner)
	}

	fn has_role(node: NodeId, role: NodeRole) -> bool {
		Nodes::<T>::get(node).is_some_and(|info| info.has_role(role))
	}

	fn capabilities(node: NodeId) -> Option<Capabilities> {
		Nodes::<T>::get(node).map(|info| info.capabilities)
	}

	fn node_key(node: NodeId) -> Option<NodePublic> {
		Nodes::<T>::get(node).map(|info| info.node_key)
	}

	fn node_of_key(key: &NodePublic) -> Option<NodeId> {
		NodeOfKey::<T>::get(key)
	}

	fn active_count(role: NodeRole) -> u32 {
		RoleCount::<T>::get(role)
	}

	fn active_at(role: NodeRole, position: u32) -> Option<NodeId> {
		RoleIndex::<T>::get(role, position)
	}

	fn endpoint(node: NodeId) -> Option<alloc::vec::Vec<u8>> {
		Endpoints::<T>::get(node).map(|endpoint| endpoint.into_inner())
	}

	fn did(node: NodeId) -> Option<DidId> {
		DidOfNode::<T>::get(node)
	}

	fn stake(node: NodeId) -> BalanceOf<T> {
		Nodes::<T>::get(node).map(|info| info.stake).unwrap_or_default()
	}
}

impl<T: Config> Slasher<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn slash(
		node: NodeId,
		reason: SlashReason,
		beneficiary: Option<T::AccountId>,
	) -> Result<BalanceOf<T>, DispatchError> {
		let mut info = Nodes::<T>::get(node).ok_or(Error::<T>::UnknownNode)?;
		let beneficiary = beneficiary.unwrap_or_else(T::SlashBeneficiary::get);
		let amount = Self::slash_record(node, &mut info, reason, beneficiary);
		Self::put_node(node, info);
		Ok(amount)
	}
}

impl<T: Config> Pallet<T> {
	/// The record of `node` for the runtime API, its region as plain bytes.
	pub fn node_record(
		node: NodeId,
	) -> Option<runtime_api::NodeRecord<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
		Nodes::<T>::get(node).map(|info| info.map_region(|region| region.into_inner()))
	}
}
