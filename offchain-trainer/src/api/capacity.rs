//! How much work the trainer takes on: a few runs at a time, a bounded queue behind them, and
//! capacity of their own for the chain's duties.
//!
//! Work comes in three pools. Training jobs are what a flood would be made of: anyone can
//! create jobs on the chain, and the off-chain worker hands each assigned one to the trainer.
//! Re-executions for dispute panels and aggregations of federated rounds are duties the
//! chain slashes a node for missing, so they run in a pool of their own that no job can take
//! a slot of. Fetches from peers (availability checks, resumptions) wait on the network, not
//! the processor, and have a pool of their own too. Each pool runs a bounded number at once
//! and keeps a bounded number waiting; past that, a request is refused with `503 queue_full`
//! and a `Retry-After`, before anything is loaded for it.
//!
//! Jobs and duties also share a [`MemoryBudget`]. Once a request's data is loaded (its shape
//! decides what it costs), its place in the queue reserves the bytes its run holds at most
//! ([`crate::limits::footprint`]) until the run ends, before the network is built; what does
//! not fit beside the work already admitted is refused with `503 memory_full` and a
//! `Retry-After`, and what could never fit with `422 over_limit`. Jobs never take the share
//! of the budget reserved for duties. Fetches stream what they move and reserve nothing.
//!
//! `offchain-trainer/tests/abuse.rs` holds the binary to these bounds on loopback under a
//! flood (300 idle and 4 trickling connections to the public listener, 50 rapid GETs from a
//! second address, 40 endless jobs, 20 fetches from a peer that never answers): a health
//! check under 500 ms, a panel's re-execution under 10 s, 512 MiB resident and its
//! acknowledged content intact.

use super::ApiError;
use crate::limits::OverLimit;
use axum::http::StatusCode;
use std::{
	sync::{Arc, Mutex},
	time::Duration,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The size of each pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
	/// Training jobs.
	pub jobs: PoolSize,
	/// Re-executions and aggregations: the chain's duties.
	pub duties: PoolSize,
	/// Fetches from peers.
	pub fetches: PoolSize,
}

/// How many run at once, and how many more may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSize {
	/// Running at once.
	pub running: usize,
	/// Waiting for a turn.
	pub waiting: usize,
}

impl Bounds {
	/// Two jobs at a time and sixteen waiting (a job's matrix products already use every
	/// core, so more at once only share them); two duties at a time and thirty waiting, in
	/// capacity no job can take; four fetches at a time and twelve waiting.
	pub const DEFAULT: Self = Self {
		jobs: PoolSize { running: 2, waiting: 16 },
		duties: PoolSize { running: 2, waiting: 30 },
		fetches: PoolSize { running: 4, waiting: 12 },
	};
}

/// The bytes of memory the work admitted may hold at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryBudget {
	/// Jobs and duties together.
	pub total: u64,
	/// The part of `total` only duties may hold: jobs are admitted up to `total − for_duties`.
	pub for_duties: u64,
}

impl MemoryBudget {
	/// The budget of a machine whose memory cannot be read: 2 GiB.
	const UNKNOWN_MACHINE: u64 = 2 << 30;

	/// `total` bytes, a quarter of them reserved for duties: from a 5 GiB budget (the
	/// default on a machine of 10 GiB), room for a duty of the largest size
	/// [`crate::limits`] allows, some 1.2 GiB, however many jobs run.
	pub fn new(total: u64) -> Self {
		Self { total, for_duties: total / 4 }
	}

	/// Half the memory of this machine (or of its cgroup, if that is less; 2 GiB when
	/// neither can be read): the other half is left to the node beside the trainer, the
	/// system and the page cache the content store reads through, and to what the estimates
	/// leave out (the allocator's slack, the runtime, connections).
	pub fn of_this_machine() -> Self {
		use sysinfo::{MemoryRefreshKind, RefreshKind, System};
		let system = System::new_with_specifics(
			RefreshKind::new().with_memory(MemoryRefreshKind::new().with_ram()),
		);
		let cgroup = system.cgroup_limits().map(|limits| limits.total_memory);
		let memory = [Some(system.total_memory()), cgroup]
			.into_iter()
			.flatten()
			.filter(|bytes| *bytes > 0)
			.min()
			.unwrap_or(Self::UNKNOWN_MACHINE);
		Self::new(memory / 2)
	}

	/// What work of `share` may hold when nothing else is admitted.
	fn limit(&self, share: Share) -> u64 {
		match share {
			Share::Jobs => self.total.saturating_sub(self.for_duties),
			Share::Duties => self.total,
		}
	}
}

/// The pools and the memory budget jobs and duties share.
#[derive(Clone)]
pub(super) struct Capacity {
	pub jobs: Pool,
	pub duties: Pool,
	pub fetches: Pool,
	/// The sizes the pools were made with.
	pub bounds: Bounds,
	/// The budget they were made with.
	pub budget: MemoryBudget,
}

impl Capacity {
	pub fn new(bounds: Bounds, budget: MemoryBudget) -> Self {
		let memory = Arc::new(Memory { budget, held: Mutex::default() });
		let account = |share| Some(Account { memory: memory.clone(), share });
		Self {
			bounds,
			budget,
			jobs: Pool::new(
				"training jobs",
				bounds.jobs,
				Duration::from_secs(30),
				account(Share::Jobs),
			),
			duties: Pool::new(
				"re-executions and aggregations",
				bounds.duties,
				Duration::from_secs(5),
				account(Share::Duties),
			),
			fetches: Pool::new("fetches", bounds.fetches, Duration::from_secs(5), None),
		}
	}
}

/// Whose share of the budget a reservation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Share {
	/// Training jobs: the budget less what is reserved for duties.
	Jobs,
	/// The chain's duties: the whole budget.
	Duties,
}

/// The budget and what admitted work holds of it.
struct Memory {
	budget: MemoryBudget,
	held: Mutex<Held>,
}

/// Bytes reserved, by share.
#[derive(Default)]
struct Held {
	jobs: u64,
	duties: u64,
}

impl Memory {
	/// Reserves `bytes` for work of `share` if they fit beside what is held: in all, within
	/// the budget, and of jobs, within the budget less the duties' reserve.
	fn reserve(&self, share: Share, bytes: u64) -> bool {
		let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
		let total = held.jobs.checked_add(held.duties).and_then(|sum| sum.checked_add(bytes));
		let fits = total.is_some_and(|total| total <= self.budget.total)
			&& match share {
				Share::Jobs => held
					.jobs
					.checked_add(bytes)
					.is_some_and(|jobs| jobs <= self.budget.limit(Share::Jobs)),
				Share::Duties => true,
			};
		if fits {
			// Within the budget, checked above.
			match share {
				Share::Jobs => held.jobs += bytes,
				Share::Duties => held.duties += bytes,
			}
		}
		fits
	}

	fn release(&self, share: Share, bytes: u64) {
		let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
		let held = match share {
			Share::Jobs => &mut held.jobs,
			Share::Duties => &mut held.duties,
		};
		*held = held.saturating_sub(bytes);
	}
}

/// A pool's claim on the memory budget.
#[derive(Clone)]
struct Account {
	memory: Arc<Memory>,
	share: Share,
}

/// Bytes of the budget held for one request's run; dropping it gives them back.
struct Reservation {
	account: Account,
	bytes: u64,
}

impl Drop for Reservation {
	fn drop(&mut self) {
		self.account.memory.release(self.account.share, self.bytes);
	}
}

/// Work of one kind: admitted up to `running + waiting`, run up to `running` at once, and
/// with an account, within its share of the memory budget.
#[derive(Clone)]
pub(super) struct Pool {
	what: &'static str,
	size: PoolSize,
	admitted: Arc<Semaphore>,
	running: Arc<Semaphore>,
	retry_after: Duration,
	account: Option<Account>,
}

/// A place in a pool's queue and the memory reserved for it; dropping it gives both up.
pub(super) struct Ticket {
	_admitted: OwnedSemaphorePermit,
	running: Arc<Semaphore>,
	retry_after: Duration,
	account: Option<Account>,
	reservation: Option<Reservation>,
}

/// A turn to run; dropping it ends the turn and gives the place and the memory up.
pub(super) struct Turn {
	_admitted: OwnedSemaphorePermit,
	_running: Option<OwnedSemaphorePermit>,
	_reservation: Option<Reservation>,
}

impl Pool {
	fn new(
		what: &'static str,
		size: PoolSize,
		retry_after: Duration,
		account: Option<Account>,
	) -> Self {
		Self {
			what,
			size,
			admitted: Arc::new(Semaphore::new(size.running.saturating_add(size.waiting))),
			running: Arc::new(Semaphore::new(size.running)),
			retry_after,
			account,
		}
	}

	/// A place in the queue, or `503 queue_full` when it is full.
	pub fn admit(&self) -> Result<Ticket, ApiError> {
		let admitted = self.admitted.clone().try_acquire_owned().map_err(|_| {
			let PoolSize { running, waiting } = self.size;
			ApiError::new(
				StatusCode::SERVICE_UNAVAILABLE,
				"queue_full",
				format!(
					"{running} {} are running and {waiting} waiting, as many as this trainer takes; ask again later",
					self.what
				),
			)
			.retry_after(self.retry_after)
		})?;
		Ok(Ticket {
			_admitted: admitted,
			running: self.running.clone(),
			retry_after: self.retry_after,
			account: self.account.clone(),
			reservation: None,
		})
	}
}

impl Ticket {
	/// Reserves `bytes` of the pool's share of the memory budget until the run ends:
	/// `422 over_limit` if they exceed the share itself, `503 memory_full` with `Retry-After` if they do not fit beside the work
	/// admitted now. A pool without an account (fetches) reserves nothing.
	pub fn reserve(mut self, bytes: u64) -> Result<Self, ApiError> {
		let Some(account) = self.account.clone() else { return Ok(self) };
		let (share, budget) = (account.share, account.memory.budget);
		let what = match share {
			Share::Jobs => {
				"the memory a training job holds in bytes (out of the budget less the duties' reserve)"
			}
			Share::Duties => "the memory a re-execution or aggregation holds in bytes",
		};
		OverLimit::check(
			"--memory-budget-mib",
			what,
			Some(bytes.into()),
			budget.limit(share).into(),
		)?;
		if !account.memory.reserve(share, bytes) {
			return Err(ApiError::new(
				StatusCode::SERVICE_UNAVAILABLE,
				"memory_full",
				format!(
					"the work admitted holds too much of this trainer's {} byte memory budget to take {bytes} bytes more; ask again later",
					budget.total
				),
			)
			.retry_after(self.retry_after));
		}
		self.reservation = Some(Reservation { account, bytes });
		Ok(self)
	}

	/// Waits for a turn to run.
	pub async fn turn(self) -> Turn {
		// The semaphore is never closed, so acquiring fails never.
		let running = self.running.clone().acquire_owned().await.ok();
		Turn { _admitted: self._admitted, _running: running, _reservation: self.reservation }
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use axum::response::IntoResponse;

	/// Pools of the default sizes sharing 100 bytes, 25 of them kept for duties.
	fn capacity() -> Capacity {
		Capacity::new(Bounds::DEFAULT, MemoryBudget { total: 100, for_duties: 25 })
	}

	/// Whether `pool` admits a request of `bytes` now; the ticket holds them if so.
	fn reserve(pool: &Pool, bytes: u64) -> Result<Ticket, ApiError> {
		pool.admit()?.reserve(bytes)
	}

	#[test]
	fn work_that_does_not_fit_beside_what_is_admitted_is_refused_with_retry_after() {
		let capacity = capacity();
		let _first = reserve(&capacity.jobs, 50).unwrap();
		let _second = reserve(&capacity.jobs, 25).unwrap();
		let refused = reserve(&capacity.jobs, 1).map(drop).unwrap_err();
		assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
		assert!(refused.message().contains("100 byte memory budget"), "{}", refused.message());
		assert_eq!(refused.into_response().headers()["retry-after"], "30");
	}

	#[tokio::test]
	async fn memory_is_given_back_when_the_run_ends_or_its_ticket_is_dropped() {
		let capacity = capacity();
		let turn = reserve(&capacity.jobs, 75).unwrap().turn().await;
		assert!(reserve(&capacity.jobs, 75).is_err(), "held while the run runs");
		drop(turn);
		let waiting = reserve(&capacity.jobs, 75).unwrap();
		drop(waiting);
		assert!(reserve(&capacity.jobs, 75).is_ok(), "a ticket given up gives its memory up");
	}

	#[test]
	fn a_flood_of_jobs_cannot_take_the_memory_reserved_for_chain_duties() {
		let capacity = capacity();
		let _jobs = reserve(&capacity.jobs, 75).unwrap();
		assert!(reserve(&capacity.jobs, 1).is_err(), "jobs stop at the budget less the reserve");
		let _duty = reserve(&capacity.duties, 25).unwrap();
		assert!(reserve(&capacity.duties, 1).is_err(), "the whole budget is held");
	}

	#[test]
	fn duties_may_use_what_jobs_leave_but_jobs_never_the_duties_reserve() {
		let capacity = capacity();
		let duties = reserve(&capacity.duties, 90).unwrap();
		assert!(reserve(&capacity.jobs, 11).is_err());
		let _job = reserve(&capacity.jobs, 10).unwrap();
		drop(duties);
		// 10 held by jobs: 65 more of their share, not the 90 the budget has free.
		assert!(reserve(&capacity.jobs, 66).is_err());
		assert!(reserve(&capacity.jobs, 65).is_ok());
	}

	#[test]
	fn work_larger_than_its_whole_share_is_refused_as_over_the_bound() {
		let capacity = capacity();
		for (pool, bytes) in
			[(&capacity.jobs, 76), (&capacity.duties, 101), (&capacity.jobs, u64::MAX)]
		{
			let refused = reserve(pool, bytes).map(drop).unwrap_err();
			assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
			assert!(refused.message().contains("--memory-budget-mib"), "{}", refused.message());
		}
		assert!(reserve(&capacity.duties, 100).is_ok(), "a duty may take the whole budget");
	}

	#[test]
	fn fetches_reserve_no_memory() {
		let capacity = capacity();
		let _fetch = reserve(&capacity.fetches, u64::MAX).unwrap();
		assert!(reserve(&capacity.duties, 100).is_ok());
	}
}
