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

use super::ApiError;
use axum::http::StatusCode;
use std::{sync::Arc, time::Duration};
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

/// The three pools.
#[derive(Clone)]
pub(super) struct Capacity {
	pub jobs: Pool,
	pub duties: Pool,
	pub fetches: Pool,
}

impl Capacity {
	pub fn new(bounds: Bounds) -> Self {
		Self {
			jobs: Pool::new("training jobs", bounds.jobs, Duration::from_secs(30)),
			duties: Pool::new(
				"re-executions and aggregations",
				bounds.duties,
				Duration::from_secs(5),
			),
			fetches: Pool::new("fetches", bounds.fetches, Duration::from_secs(5)),
		}
	}
}

/// Work of one kind: admitted up to `running + waiting`, run up to `running` at once.
#[derive(Clone)]
pub(super) struct Pool {
	what: &'static str,
	size: PoolSize,
	admitted: Arc<Semaphore>,
	running: Arc<Semaphore>,
	retry_after: Duration,
}

/// A place in a pool's queue; dropping it gives the place up.
pub(super) struct Ticket {
	_admitted: OwnedSemaphorePermit,
	running: Arc<Semaphore>,
}

/// A turn to run; dropping it ends the turn and gives the place up.
pub(super) struct Turn {
	_admitted: OwnedSemaphorePermit,
	_running: Option<OwnedSemaphorePermit>,
}

impl Pool {
	fn new(what: &'static str, size: PoolSize, retry_after: Duration) -> Self {
		Self {
			what,
			size,
			admitted: Arc::new(Semaphore::new(size.running.saturating_add(size.waiting))),
			running: Arc::new(Semaphore::new(size.running)),
			retry_after,
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
		Ok(Ticket { _admitted: admitted, running: self.running.clone() })
	}
}

impl Ticket {
	/// Waits for a turn to run.
	pub async fn turn(self) -> Turn {
		// The semaphore is never closed, so acquiring fails never.
		let running = self.running.clone().acquire_owned().await.ok();
		Turn { _admitted: self._admitted, _running: running }
	}
}
