//! The pallet's invariants, checked by `try_state` after every block under try-runtime and
//! after every unit test.

use crate::{pallet::*, types::*, BalanceOf};
use alloc::{collections::BTreeMap, vec::Vec};
use polkadot_sdk::{
	frame_support::{ensure, pallet_prelude::*},
	sp_runtime::traits::{Saturating, Zero},
};
use tessera_primitives::{JobId, JobState, NodeInspect};

impl<T: Config> Pallet<T> {
	/// Checks the pallet's storage.
	///
	/// # Invariants
	///
	/// - Every open job is scheduled, and every requester's budget hold is the budgets of
	///   their open jobs.
	/// - No open job has more replicas than it asked for; `OpenJobs` lists exactly the
	///   replicas of open jobs.
	/// - Exactly the disputed jobs have a dispute; their panels are no larger than
	///   `PanelSize`, never seat a replica, are what `PanelDuties` lists, and only seated
	///   members have verdicts committed or revealed.
	/// - Only disputed jobs are challenged, and every challenger's bond hold is their bonds.
	/// - No duty (a replica or panel seat, an availability check to report, an aggregation)
	///   names a node that is not registered.
	/// - Every open availability check is indexed once, scheduled and its validator's duty.
	/// - The invariants of availability, retention, disputes and federations.
	pub fn do_try_state() -> Result<(), polkadot_sdk::sp_runtime::TryRuntimeError> {
		use polkadot_sdk::frame_support::traits::fungible::InspectHold;
		let open = |state: JobState| {
			matches!(
				state,
				JobState::Created
					| JobState::Assigned
					| JobState::Running
					| JobState::Verifying
					| JobState::Accepted
					| JobState::Disputed
			)
		};
		let mut held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut replicas_of_open = alloc::collections::BTreeSet::new();
		let scheduled: alloc::collections::BTreeSet<JobId> =
			Due::<T>::iter_values().flatten().collect();
		let next_job = NextJobId::<T>::get();
		let mut created = alloc::collections::BTreeSet::new();
		for (job, info) in Jobs::<T>::iter() {
			ensure!(job < next_job, "a job id the counter has not reached");
			if info.state == JobState::Created {
				created.insert(job);
			}
			if !open(info.state) {
				continue;
			}
			ensure!(scheduled.contains(&job), "an open job with nothing scheduled");
			let entry = held.entry(info.requester.clone()).or_insert_with(Zero::zero);
			*entry = entry.saturating_add(info.budget);
			let replicas = Assignments::<T>::get(job).unwrap_or_default();
			ensure!(replicas.len() <= usize::from(info.redundancy), "more replicas than asked for");
			let owners: alloc::collections::BTreeSet<T::AccountId> =
				replicas.iter().filter_map(|node| T::Nodes::owner(*node)).collect();
			ensure!(owners.len() == replicas.len(), "replicas of one owner, or unregistered");
			replicas_of_open.extend(replicas.into_iter().map(|node| (node, job)));
		}
		let pending = Pending::<T>::get();
		ensure!(
			pending.len() == created.len() && pending.iter().all(|job| created.contains(job)),
			"Pending is not exactly the jobs waiting for replicas"
		);
		for (who, budget) in held {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::JobBudget.into(), &who) == budget,
				"a requester's hold is not the budgets of their open jobs"
			);
		}
		let listed: alloc::collections::BTreeSet<_> = OpenJobs::<T>::iter_keys().collect();
		ensure!(listed == replicas_of_open, "OpenJobs out of step with the open assignments");

		let mut seats = alloc::collections::BTreeSet::new();
		for (job, info) in Jobs::<T>::iter() {
			let disputed = info.state == JobState::Disputed;
			ensure!(disputed == Disputes::<T>::contains_key(job), "a dispute without its job");
			let panel = Panels::<T>::get(job);
			ensure!(disputed || panel.is_empty(), "a panel outside a dispute");
			let replicas = Assignments::<T>::get(job).unwrap_or_default();
			ensure!(
				panel.iter().all(|member| !replicas.contains(member)),
				"a replica on its panel"
			);
			seats.extend(panel.into_iter().map(|member| (member, job)));
		}
		let duties: alloc::collections::BTreeSet<_> = PanelDuties::<T>::iter_keys().collect();
		ensure!(duties == seats, "PanelDuties out of step with the panels");
		let next_check = NextAvailabilityCheck::<T>::get();
		for (id, check) in AvailabilityChecks::<T>::iter() {
			ensure!(id < next_check, "a check id the counter has not reached");
			ensure!(
				CheckOf::<T>::get((check.job, check.node, check.checkpoint)) == Some(id)
					&& AvailabilityDuties::<T>::contains_key(check.validator, id),
				"an availability check without its index or duty"
			);
		}
		ensure!(
			CheckOf::<T>::iter().count() == AvailabilityChecks::<T>::iter().count()
				&& AvailabilityDuties::<T>::iter().count() == CheckOf::<T>::iter().count(),
			"availability indexes out of step with the checks"
		);
		for job in LastAgreed::<T>::iter_keys() {
			ensure!(
				Jobs::<T>::get(job).is_some_and(|info| open(info.state)),
				"an agreed checkpoint kept for a job that ended"
			);
		}
		for (job, replaced) in Replacements::<T>::iter() {
			ensure!(
				Jobs::<T>::get(job).is_some_and(|info| info.ended.is_none()),
				"a replacement count kept for a job that ended"
			);
			ensure!(replaced <= T::MaxReplacements::get(), "seats changed hands too often");
		}
		// What a job pays when it ends is charged for its first seat holders and those who
		// took a seat over, never more.
		let mut contributors: BTreeMap<JobId, u32> = BTreeMap::new();
		for (job, _) in Contributions::<T>::iter_keys() {
			contributors.entry(job).or_default().saturating_inc();
		}
		for (job, count) in contributors {
			let redundancy = Jobs::<T>::get(job).map_or(0, |info| info.redundancy);
			ensure!(
				count <= u32::from(redundancy).saturating_add(Replacements::<T>::get(job)),
				"more contributors than the job's seats and their replacements"
			);
		}
		for (job, node) in ReplicaStarts::<T>::iter_keys() {
			ensure!(
				Assignments::<T>::get(job).is_some_and(|replicas| replicas.contains(&node)),
				"a replacement's start outside its job's replicas"
			);
			ensure!(
				Jobs::<T>::get(job).is_some_and(|info| open(info.state)),
				"a replacement's start kept for a job that ended"
			);
		}
		for ((job, node, checkpoint), payload) in Reveals::<T>::iter() {
			ensure!(
				Commits::<T>::contains_key((job, node, checkpoint)),
				"a reveal without its commit"
			);
			// A job being pruned loses its reveals and tallies over several blocks.
			let vote = vote_of(&payload.weights_digest, &payload.state_cid);
			ensure!(
				Self::is_federated(job)
					|| Prunable::<T>::contains_key(job)
					|| Tallies::<T>::get(job, checkpoint).contains(&(node, vote)),
				"a reveal its checkpoint's tally does not count"
			);
		}
		for (job, node, checkpoint) in SampledReveals::<T>::iter_keys() {
			ensure!(
				Reveals::<T>::contains_key((job, node, checkpoint)),
				"an availability sample of nothing revealed"
			);
		}
		for (job, checkpoint, tally) in Tallies::<T>::iter() {
			if Prunable::<T>::contains_key(job) {
				continue;
			}
			for (node, vote) in tally {
				ensure!(
					Reveals::<T>::get((job, node, checkpoint)).is_some_and(|payload| {
						vote_of(&payload.weights_digest, &payload.state_cid) == vote
					}),
					"a tallied vote without the reveal it counts"
				);
			}
		}
		for (job, node, (checkpoints, work)) in Contributions::<T>::iter() {
			let info = Jobs::<T>::get(job).ok_or("a contribution to a job that does not exist")?;
			ensure!(open(info.state), "a contribution kept for a job that ended");
			if info.is_federated() {
				continue;
			}
			// Content found missing is not paid for.
			let revealed: Vec<u32> = Reveals::<T>::iter_key_prefix((job, node))
				.filter(|checkpoint| !LostContent::<T>::contains_key((job, node, *checkpoint)))
				.collect();
			let revealed_work = revealed.iter().fold(0u64, |total, checkpoint| {
				total.saturating_add(info.workload.work_of_checkpoint(*checkpoint))
			});
			ensure!(
				checkpoints as usize == revealed.len() && work == revealed_work,
				"a replica's delivered work is not that of the checkpoints it revealed and kept"
			);
		}

		let mut bonds: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (job, (challenger, _, bond)) in Challenges::<T>::iter() {
			ensure!(
				Jobs::<T>::get(job).is_some_and(|info| info.state == JobState::Disputed),
				"a challenge of a job that is not disputed"
			);
			let entry = bonds.entry(challenger).or_insert_with(Zero::zero);
			*entry = entry.saturating_add(bond);
		}
		for (who, bond) in bonds {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChallengeBond.into(), &who) == bond,
				"a challenger's hold is not their bonds"
			);
		}
		for (job, member) in PanelCommits::<T>::iter_keys().chain(PanelVerdicts::<T>::iter_keys()) {
			ensure!(Panels::<T>::get(job).contains(&member), "a verdict of no seated member");
		}
		// Nodes leave only without work (`NodeWorkload::has_open_jobs`), and draws pick
		// active nodes alone: no duty outlives its node's registration.
		let duties = OpenJobs::<T>::iter_keys()
			.map(|(node, _)| node)
			.chain(PanelDuties::<T>::iter_keys().map(|(node, _)| node))
			.chain(AvailabilityDuties::<T>::iter_keys().map(|(node, _)| node))
			.chain(AggregatorDuties::<T>::iter_keys().map(|(node, _)| node));
		for node in duties {
			ensure!(T::Nodes::owner(node).is_some(), "a duty of a node that is not registered");
		}
		Self::dispute_invariants()?;
		Self::availability_invariants()?;
		Self::retention_invariants()?;
		Self::federation_invariants()
	}
}
