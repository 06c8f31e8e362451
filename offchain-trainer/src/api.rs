//! The HTTP service: `tessera-trainer serve --listen 127.0.0.1:7070 --public-listen
//! 0.0.0.0:7071`.
//!
//! Two listeners share one trainer. The control API (`--listen`, loopback by default) is what
//! the node's off-chain worker calls: jobs, re-executions, aggregates, uploads, garbage
//! collection and fetches from peers, behind the checks of [`access`]. The public listener
//! ([`public`], `--public-listen`) serves content by CID and nothing else; its URL is the one
//! an operator publishes with `nodeRegistry.setEndpoint`. See [`types`] for the routes and
//! their bodies, and [`request`] for how the trainer reads the requests.
//!
//! Every start state a request names — a job's `base_state` (a model version's weights), a
//! `resume`, a segment's `start_state` — carries the weights digest the chain agreed on, and
//! the trainer refuses (`422 wrong_state`) content under the CID whose weights hash to
//! anything else, so a replica that reveals the agreed digest with a state of its own making
//! cannot make a panel or a replacement start from it. A run reports its work units
//! (`work`) by the rule the chain pays by, never wall-clock seconds, which load inflates.

pub mod access;
pub mod capacity;
pub mod connections;
mod error;
pub mod public;
pub mod request;
pub mod types;

pub use access::{AccessError, ControlAccess};
pub use capacity::{Bounds, MemoryBudget, PoolSize};
pub use error::{ApiError, ErrorBody};
pub use public::PublicLimits;

use crate::{
	aggregate::{fed_avg, RoundShape},
	data::{Dataset, DatasetError, DatasetRef},
	hwinfo::HardwareReport,
	model::Architecture,
	store::{self, ContentStore},
	train::{Commitment, Session, TrainError},
};
use axum::{
	body::{Body, BodyDataStream, Bytes, HttpBody},
	extract::{
		rejection::{JsonRejection, QueryRejection},
		DefaultBodyLimit, Path, Query, State,
	},
	http::{header, Method, StatusCode},
	response::{IntoResponse, Response},
	routing::{get, post, put},
	Json, Router,
};
use capacity::Capacity;
use futures_util::{stream, StreamExt};
use request::{Resume, Segment, TrainingSpec};
use std::{
	collections::HashMap,
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc, Mutex,
	},
};
use tessera_primitives::trainer_api::Round;
use tower_http::cors::{AllowOrigin, CorsLayer};
use types::*;

/// The largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 1 << 20;
/// The largest blob accepted or fetched.
pub const MAX_BLOB_BYTES: usize = 256 << 20;

/// Whether the service reports what it computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduct {
	/// Reports its commitments as computed.
	Honest,
	/// Reports every commitment with a wrong weights digest, as a node that cheats or whose
	/// hardware is faulty would: for demonstrations and tests of verification only.
	WrongDigests,
}

/// Re-executions kept, finished or not; the oldest finished one goes first.
pub const MAX_VERIFICATIONS: usize = 64;
/// Runs kept in the job table, finished or not; the oldest finished one goes first. Runs
/// not finished are at most the jobs pool's running and waiting ones.
pub const MAX_RUNS: usize = 256;
/// The most commitments one page of a job's report holds (`GET /v1/jobs/{id}?from=&limit=`):
/// the chain's `MaxCheckpoints`, so a page of a chain job is all of it.
pub const MAX_PAGE: usize = 256;
/// How long `POST /v1/verify` waits for a re-execution before answering that it runs.
const VERIFY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What the handlers share.
#[derive(Clone)]
pub struct Service {
	store: ContentStore,
	conduct: Conduct,
	jobs: Arc<Mutex<HashMap<JobKey, Run>>>,
	/// The id the next run gets.
	next_run: Arc<AtomicU64>,
	verifications: Arc<Mutex<Verifications>>,
	verify_wait: std::time::Duration,
	capacity: Capacity,
}

/// A job in the trainer's table: the chain's job id and, for a federated job, the round and
/// the state it resumed, so that each round (and a round trained again from another start,
/// after a rewind) is a run of its own.
type JobKey = (u64, Option<(u32, Option<String>)>);

/// A run in the trainer's table.
struct Run {
	/// What it trains: a request for its key with another spec is refused.
	spec: TrainingSpec,
	/// Where it is.
	status: JobStatus,
	/// The run's id, larger for every later run: of a round trained again from another
	/// start, the later run is the one `GET /v1/jobs/{job}` reports. A run cancelled and
	/// asked for again is another run, which the first one's thread never updates.
	id: u64,
	/// Set to stop the run before its next step.
	cancelled: Arc<AtomicBool>,
}

fn job_key(job: u64, spec: &TrainingSpec) -> JobKey {
	let round = spec.round.map(|round| {
		(round.round, spec.resume.as_ref().map(|resume| resume.state.state_cid.clone()))
	});
	(job, round)
}

/// Re-executions by request (its canonical JSON): `None` while running.
#[derive(Default)]
struct Verifications {
	results: HashMap<String, Option<Result<Commitments, String>>>,
	order: std::collections::VecDeque<String>,
}

impl Verifications {
	/// Records a started re-execution, making room by dropping the oldest finished one.
	fn start(&mut self, key: String) -> bool {
		if self.results.len() >= MAX_VERIFICATIONS {
			let finished = self
				.order
				.iter()
				.position(|key| self.results.get(key).is_some_and(|result| result.is_some()));
			match finished.and_then(|index| self.order.remove(index)) {
				Some(oldest) => {
					self.results.remove(&oldest);
				}
				None => return false,
			}
		}
		self.results.insert(key.clone(), None);
		self.order.push_back(key);
		true
	}
}

impl Service {
	/// A service over this content store.
	pub fn new(store: ContentStore, conduct: Conduct) -> Self {
		Self {
			store,
			conduct,
			jobs: Arc::default(),
			next_run: Arc::default(),
			verifications: Arc::default(),
			verify_wait: VERIFY_WAIT,
			capacity: Capacity::new(Bounds::DEFAULT, MemoryBudget::of_this_machine()),
		}
	}

	/// The same service with pools of these sizes.
	pub fn with_bounds(self, bounds: Bounds) -> Self {
		Self { capacity: Capacity::new(bounds, self.capacity.budget), ..self }
	}

	/// The same service with this memory budget for its jobs and duties.
	pub fn with_memory(self, budget: MemoryBudget) -> Self {
		Self { capacity: Capacity::new(self.capacity.bounds, budget), ..self }
	}

	/// The same service answering `202` to every re-execution it has not finished yet, however
	/// short: the tests ask the way a panel's worker does.
	#[cfg(test)]
	fn answering_at_once(self) -> Self {
		Self { verify_wait: std::time::Duration::ZERO, ..self }
	}

	fn verification(&self, key: &str) -> Option<Option<Result<Commitments, String>>> {
		self.verifications.lock().unwrap_or_else(|e| e.into_inner()).results.get(key).cloned()
	}

	/// The control API on loopback with no token and no web origin allowed: what the tests
	/// ask.
	#[cfg(test)]
	fn router(self) -> Router {
		self.control(ControlAccess::default())
	}

	/// The routes of the control API, admitting what `access` admits.
	pub fn control(self, access: ControlAccess) -> Router {
		let json = Router::new()
			.route("/v1/health", get(health))
			.route("/v1/hwinfo", get(hwinfo))
			.route("/v1/jobs", post(start_job))
			.route("/v1/jobs/{job}", get(job_status).delete(cancel_job))
			.route("/v1/verify", post(verify))
			.route("/v1/aggregate", post(aggregate))
			.route("/v1/blobs/{cid}", get(get_blob))
			.route("/v1/blobs/{cid}/fetch", post(fetch_blob))
			.route("/v1/gc", post(gc))
			.layer(DefaultBodyLimit::max(MAX_JSON_BYTES));
		// A blob is read as it arrives, within `MAX_BLOB_BYTES` counted by `put_blob` itself.
		let blobs = Router::new().route("/v1/blobs", put(put_blob));
		// Pages of the allowed origins may read (the dashboard draws loss curves from job
		// reports) but not write: a cross-origin POST or PUT needs a preflight, which this
		// refuses.
		let reads = CorsLayer::new()
			.allow_origin(AllowOrigin::list(access.origins().iter().cloned()))
			.allow_methods([Method::GET]);
		let guard = axum::middleware::from_fn_with_state(Arc::new(access), access::guard);
		json.merge(blobs).layer(reads).layer(guard).with_state(self)
	}

	/// Changes the status of run `id` of `key`, if it is still in the table.
	fn update(&self, key: &JobKey, id: u64, change: impl FnOnce(&mut JobStatus)) {
		let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
		if let Some(run) = jobs.get_mut(key).filter(|run| run.id == id) {
			change(&mut run.status);
		}
	}
}

/// Where the service listens.
#[derive(Clone, Copy, Debug)]
pub struct Listeners {
	/// The control API.
	pub control: std::net::SocketAddr,
	/// The public listener, if any.
	pub public: Option<std::net::SocketAddr>,
}

/// Serves `service` on `listen` until interrupted: the control API admitting what `access`
/// admits, and the public listener within [`PublicLimits::DEFAULT`], each listener's
/// connections within its [`connections::Connections`].
pub async fn serve(
	service: Service,
	access: ControlAccess,
	listen: Listeners,
) -> std::io::Result<()> {
	use connections::{Connections, Guarded};
	let control = tokio::net::TcpListener::bind(listen.control).await?;
	let control = Guarded::new(control, Connections::CONTROL);
	let public = match listen.public {
		Some(address) => {
			Some(Guarded::new(tokio::net::TcpListener::bind(address).await?, Connections::PUBLIC))
		}
		None => None,
	};
	let (stop, stopped) = tokio::sync::watch::channel(false);
	tokio::spawn(async move {
		let _ = tokio::signal::ctrl_c().await;
		let _ = stop.send(true);
	});
	let until_stopped = move || {
		let mut stopped = stopped.clone();
		async move {
			let _ = stopped.wait_for(|stopped| *stopped).await;
		}
	};
	let control = axum::serve(control, service.clone().control(access))
		.with_graceful_shutdown(until_stopped());
	let Some(public) = public else { return control.await };
	let public = axum::serve(
		public,
		service
			.public(PublicLimits::DEFAULT)
			.into_make_service_with_connect_info::<connections::Client>(),
	)
	.with_graceful_shutdown(until_stopped());
	use std::future::IntoFuture;
	tokio::try_join!(control.into_future(), public.into_future())?;
	Ok(())
}

type Reply<T> = Result<Json<T>, ApiError>;

impl From<TrainError> for ApiError {
	fn from(error: TrainError) -> Self {
		let message = error.to_string();
		match error {
			TrainError::InvalidHyperParameters(_) | TrainError::InvalidOptimizer(_) => {
				Self::bad_request("invalid_hyper_parameters", message)
			}
			TrainError::Architecture(_) => Self::bad_request("invalid_architecture", message),
			TrainError::EmptyDataset => Self::bad_request("empty_dataset", message),
			TrainError::OverLimit(error) => error.into(),
			TrainError::State(error) => error.into(),
			TrainError::Diverged(_) => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, "diverged", message)
			}
			TrainError::Cancelled(_) => Self::new(StatusCode::CONFLICT, "cancelled", message),
		}
	}
}

/// Runs blocking work (training, hashing large blobs) off the async workers.
async fn blocking<T: Send + 'static>(
	work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
	tokio::task::spawn_blocking(work)
		.await
		.map_err(|error| ApiError::internal(format!("the work stopped unexpectedly: {error}")))?
}

/// The data a job trains on: the whole set, or for a round of a federated job the
/// participant's shard of it.
///
/// The hyper-parameters are checked first: what they cost needs no data, and whatever the
/// data, a request they make impossible is refused before any of it is loaded.
fn training_data(spec: &TrainingSpec, store: &ContentStore) -> Result<Dataset, ApiError> {
	spec.hyper_parameters.check()?;
	let Some(Round { shard, shards, .. }) = spec.round else {
		return load_dataset(&spec.dataset, &spec.architecture, store);
	};
	// A shard that cannot exist is the request's fault whatever the data, so it is refused
	// before the data is loaded (or found missing).
	if shard >= shards {
		return Err(ApiError::bad_request(
			"invalid_round",
			format!("shard {shard} does not exist among {shards} (shards must be at least 1)"),
		));
	}
	let dataset = load_dataset(&spec.dataset, &spec.architecture, store)?;
	let part = dataset.shard(shard as usize, shards as usize);
	if part.is_empty() {
		return Err(ApiError::bad_request(
			"empty_shard",
			format!("shard {shard} of {shards} holds none of the {} samples", dataset.len()),
		));
	}
	Ok(part)
}

fn load_dataset(
	reference: &DatasetRef,
	architecture: &Architecture,
	store: &ContentStore,
) -> Result<Dataset, ApiError> {
	reference.load(architecture, store).map_err(|error| match error {
		DatasetError::Store(error) => error.into(),
		DatasetError::OverLimit(error) => error.into(),
		other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_dataset", other.to_string()),
	})
}

async fn health() -> Json<Health> {
	Json(Health { version: env!("CARGO_PKG_VERSION").into(), api: "v1".into() })
}

async fn hwinfo() -> Reply<Hardware> {
	let report = blocking(|| Ok(HardwareReport::detect())).await?;
	Ok(Json(Hardware { hw_hash: report.hash(), report }))
}

async fn start_job(
	State(service): State<Service>,
	payload: Result<Json<JobRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<JobStatus>), ApiError> {
	let Json(JobRequest { job, spec }) = payload?;
	let spec = TrainingSpec::try_from(spec)?;
	let key = job_key(job, &spec);
	if let Some(known) = known_run(&service, &key, &spec)? {
		return Ok((StatusCode::OK, Json(known)));
	}
	// A place in the queue first: a full queue refuses before anything is loaded.
	let ticket = service.capacity.jobs.admit()?;
	// Everything that can be refused is checked before the job is accepted, and its memory
	// reserved before its network is built. The data is loaded again when the run's turn
	// comes, so that waiting jobs hold none.
	let (store, checked) = (service.store.clone(), spec.clone());
	let ticket = blocking(move || {
		let dataset = training_data(&checked, &store)?;
		let ticket = ticket.reserve(footprint(&checked, &dataset)?)?;
		session(checked, &dataset, &store)?;
		Ok(ticket)
	})
	.await?;
	let status = JobStatus {
		job,
		state: RunState::Running,
		step: spec.resume.as_ref().map_or(0, |resume| resume.step),
		steps: spec.hyper_parameters.steps,
		commitments: Vec::new(),
		error: None,
		work: None,
		page: None,
	};
	let id = service.next_run.fetch_add(1, Ordering::Relaxed);
	let cancelled = Arc::new(AtomicBool::new(false));
	{
		let mut jobs = service.jobs.lock().unwrap_or_else(|e| e.into_inner());
		if let Some(known) = jobs.get(&key) {
			return Ok((StatusCode::OK, Json(known.status.clone())));
		}
		make_room(&mut jobs);
		let run =
			Run { spec: spec.clone(), status: status.clone(), id, cancelled: cancelled.clone() };
		jobs.insert(key.clone(), run);
	}
	tokio::spawn(async move {
		// A run cancelled while it waits gives its place in the queue up at once.
		let turn = tokio::select! {
			turn = ticket.turn() => turn,
			() = set(&cancelled) => return,
		};
		let worker = tokio::task::spawn_blocking(move || {
			let outcome = train_job(&service, &key, id, &spec, &cancelled);
			// The slot and the memory are given back before the run is reported ended, so
			// that whoever sees it ended finds them free.
			drop(turn);
			service.update(&key, id, |status| match outcome {
				Ok(()) => {
					status.state = RunState::Done;
					status.work = spec.work();
				}
				Err(error) => {
					status.state = RunState::Failed;
					status.error = Some(error);
				}
			});
		});
		let _ = worker.await;
	});
	Ok((StatusCode::ACCEPTED, Json(status)))
}

/// Returns once `flag` is set, looking every 50 ms.
async fn set(flag: &AtomicBool) {
	while !flag.load(Ordering::Relaxed) {
		tokio::time::sleep(std::time::Duration::from_millis(50)).await;
	}
}

/// The status of the run `key` names, if there is one for `spec`; a conflict if there is one
/// for another spec.
fn known_run(
	service: &Service,
	key: &JobKey,
	spec: &TrainingSpec,
) -> Result<Option<JobStatus>, ApiError> {
	let jobs = service.jobs.lock().unwrap_or_else(|e| e.into_inner());
	match jobs.get(key) {
		None => Ok(None),
		Some(known) if known.spec == *spec => Ok(Some(known.status.clone())),
		Some(_) => Err(ApiError::new(
			StatusCode::CONFLICT,
			"job_conflict",
			format!("job {} is already known with another spec", key.0),
		)),
	}
}

/// Drops the oldest finished run while the table holds [`MAX_RUNS`].
fn make_room(jobs: &mut HashMap<JobKey, Run>) {
	while jobs.len() >= MAX_RUNS {
		let oldest = jobs
			.iter()
			.filter(|(_, run)| run.status.state != RunState::Running)
			.min_by_key(|(_, run)| run.id)
			.map(|(key, _)| key.clone());
		match oldest {
			Some(key) => jobs.remove(&key),
			None => return,
		};
	}
}

fn train_job(
	service: &Service,
	key: &JobKey,
	id: u64,
	spec: &TrainingSpec,
	cancelled: &AtomicBool,
) -> Result<(), String> {
	let step = spec.resume.as_ref().map_or(0, |resume| resume.step);
	if cancelled.load(Ordering::Relaxed) {
		return Err(TrainError::Cancelled(step.saturating_add(1)).to_string());
	}
	// Checked when the job was accepted, but the store may have changed since.
	let dataset =
		training_data(spec, &service.store).map_err(|error| error.message().to_owned())?;
	train_on(service, key, id, spec, &dataset, cancelled).map_err(|error| error.to_string())
}

fn train_on(
	service: &Service,
	key: &JobKey,
	id: u64,
	spec: &TrainingSpec,
	dataset: &Dataset,
	cancelled: &AtomicBool,
) -> Result<(), TrainError> {
	let hyper = spec.hyper_parameters.clone();
	let mut session = session(spec.clone(), dataset, &service.store)?;
	while session.step() < hyper.steps {
		let checkpoint = session.next_checkpoint();
		let mut commitments = session.run_until_cancelled(
			checkpoint,
			|report| service.update(key, id, |status| status.step = report.step),
			cancelled,
		)?;
		if service.conduct == Conduct::WrongDigests {
			for commitment in &mut commitments {
				commitment.weights_digest.0.iter_mut().for_each(|byte| *byte = !*byte);
			}
		}
		service.update(key, id, |status| status.commitments.extend(commitments));
	}
	Ok(())
}

/// The bytes a run of `spec` on `dataset` holds at most.
fn footprint(spec: &TrainingSpec, dataset: &Dataset) -> Result<u64, TrainError> {
	crate::train::footprint(&spec.architecture, &spec.hyper_parameters, dataset)
}

/// A job's first session: where a replica that took over resumes, else at step 0 from the
/// job's base state when it names one, else from the seed.
fn session<'a>(
	spec: TrainingSpec,
	dataset: &'a Dataset,
	store: &'a ContentStore,
) -> Result<Session<'a>, TrainError> {
	let TrainingSpec { architecture, hyper_parameters, backend, base_state, resume, .. } = spec;
	let (state, step) = match (resume, base_state) {
		(Some(Resume { state, step }), _) => (state, step),
		(None, Some(base)) => (base, 0),
		(None, None) => {
			return Session::start(architecture, dataset, hyper_parameters, backend, store)
		}
	};
	Session::resume(architecture, dataset, hyper_parameters, backend, store, &state, step)
}

/// A job's report: every commitment, or with a [`PageQuery`] a page of them.
async fn job_status(
	State(service): State<Service>,
	Path(job): Path<u64>,
	query: Result<Query<PageQuery>, QueryRejection>,
) -> Reply<JobStatus> {
	let Query(query) =
		query.map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))?;
	let jobs = service.jobs.lock().unwrap_or_else(|e| e.into_inner());
	// A federated job answers for its latest round, and for the latest run of a round trained
	// again from another start.
	let status = jobs
		.iter()
		.filter(|((id, _), _)| *id == job)
		.max_by_key(|((_, round), run)| (round.as_ref().map(|(round, _)| *round), run.id))
		.map(|(_, run)| &run.status)
		.ok_or_else(|| {
			ApiError::not_found("unknown_job", format!("no job {job} on this trainer"))
		})?;
	if query == PageQuery::default() {
		return Ok(Json(status.clone()));
	}
	Ok(Json(page_of(status, query)))
}

/// `status` with the page of its commitments `query` asks for (see [`PageQuery`]), copying
/// those alone.
fn page_of(status: &JobStatus, query: PageQuery) -> JobStatus {
	let from = query.from.unwrap_or(0);
	let limit = query.limit.map_or(MAX_PAGE, |limit| limit.min(MAX_PAGE));
	let commitments: Vec<Commitment> =
		status.commitments.iter().skip(from).take(limit).cloned().collect();
	let (total, end) = (status.commitments.len(), from.saturating_add(commitments.len()));
	JobStatus {
		job: status.job,
		state: status.state,
		step: status.step,
		steps: status.steps,
		commitments,
		error: status.error.clone(),
		work: status.work,
		page: Some(Page { from, total, next: (end < total).then_some(end) }),
	}
}

/// Cancels every run of job `job` still training (each stops before its next step) and
/// drops every finished one: whatever it reported is gone, and a request for the job later
/// trains it anew.
async fn cancel_job(State(service): State<Service>, Path(job): Path<u64>) -> Reply<Cancelled> {
	let mut jobs = service.jobs.lock().unwrap_or_else(|e| e.into_inner());
	let (mut cancelled, mut evicted) = (0, 0);
	jobs.retain(|(id, _), run| {
		if *id != job {
			return true;
		}
		if run.status.state == RunState::Running {
			run.cancelled.store(true, Ordering::Relaxed);
			cancelled += 1;
		} else {
			evicted += 1;
		}
		false
	});
	if cancelled + evicted == 0 {
		return Err(ApiError::not_found("unknown_job", format!("no job {job} on this trainer")));
	}
	Ok(Json(Cancelled { job, cancelled, evicted }))
}

/// Re-executes a segment in the background, on the reference backend (a request naming
/// another is refused), once per request: the answer is `200` with the commitments, and the
/// distances of the states it names to measure, when they are there within [`VERIFY_WAIT`]
/// (two seconds), else `202` with none, and the caller asks again. What can be refused (a
/// missing state or dataset) is refused at once.
async fn verify(
	State(service): State<Service>,
	payload: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Commitments>), ApiError> {
	let Json(request) = payload?;
	let request = Segment::try_from(request)?;
	if request.to_step <= request.from_step {
		return Err(ApiError::bad_request("empty_segment", "to_step must be after from_step"));
	}
	if request.start_state.is_none() && request.from_step != 0 {
		return Err(ApiError::bad_request(
			"missing_state",
			"a segment that does not start at step 0 needs the start_state it starts from",
		));
	}
	let key =
		serde_json::to_string(&request).map_err(|error| ApiError::internal(error.to_string()))?;
	if service.verification(&key).is_none() {
		// A place among the duties first: a full queue refuses before anything is loaded.
		let ticket = service.capacity.duties.admit()?;
		let checked = request.clone();
		let store = service.store.clone();
		let (dataset, ticket) = blocking(move || {
			let dataset = training_data(&checked.spec, &store)?;
			let ticket = ticket.reserve(footprint(&checked.spec, &dataset)?)?;
			reexecution(&checked, &dataset, &store)?;
			// A state to measure that is not here is refused now, so that the caller fetches
			// it, rather than found missing after the segment ran.
			for claim in &checked.measure {
				let cid = crate::store::parse_cid(&claim.state_cid)?;
				if !store.has(&cid) {
					return Err(store::StoreError::NotFound(cid).into());
				}
			}
			Ok((dataset, ticket))
		})
		.await?;
		let started =
			service.verifications.lock().unwrap_or_else(|e| e.into_inner()).start(key.clone());
		if !started {
			return Err(ApiError::new(
				StatusCode::SERVICE_UNAVAILABLE,
				"busy",
				format!("{MAX_VERIFICATIONS} re-executions are running; ask again later"),
			)
			.retry_after(std::time::Duration::from_secs(5)));
		}
		let (worker, key) = (service.clone(), key.clone());
		tokio::spawn(async move {
			let turn = ticket.turn().await;
			let reexecuting = tokio::task::spawn_blocking(move || {
				let result = reexecution(&request, &dataset, &worker.store)
					.and_then(|mut session| {
						let start = session.weights();
						let commitments = session.run_until(request.to_step, |_| {})?;
						let distances = session.distances(&start, &request.measure)?;
						Ok(Commitments { commitments, distances })
					})
					.map_err(|error| error.to_string());
				// Given back before the result is, as a job's are.
				drop((turn, dataset));
				let mut verifications =
					worker.verifications.lock().unwrap_or_else(|e| e.into_inner());
				if let Some(slot) = verifications.results.get_mut(&key) {
					*slot = Some(result);
				}
			});
			let _ = reexecuting.await;
		});
	}
	let waiting_since = std::time::Instant::now();
	loop {
		match service.verification(&key) {
			Some(Some(Ok(reexecuted))) => return Ok((StatusCode::OK, Json(reexecuted))),
			Some(Some(Err(message))) => {
				return Err(ApiError::new(
					StatusCode::UNPROCESSABLE_ENTITY,
					"reexecution_failed",
					message,
				))
			}
			_ if waiting_since.elapsed() >= service.verify_wait => {
				let none = Commitments { commitments: Vec::new(), distances: Vec::new() };
				return Ok((StatusCode::ACCEPTED, Json(none)));
			}
			_ => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
		}
	}
}

/// The session a re-execution runs: from its state, or from the job's own start.
fn reexecution<'a>(
	request: &Segment,
	dataset: &'a Dataset,
	store: &'a ContentStore,
) -> Result<Session<'a>, TrainError> {
	match &request.start_state {
		Some(state) => Session::resume(
			request.spec.architecture.clone(),
			dataset,
			request.spec.hyper_parameters.clone(),
			request.spec.backend,
			store,
			state,
			request.from_step,
		),
		None => session(request.spec.clone(), dataset, store),
	}
}

async fn aggregate(
	State(service): State<Service>,
	payload: Result<Json<AggregateRequest>, JsonRejection>,
) -> Reply<Aggregate> {
	let Json(AggregateRequest { architecture, dataset, base_state_cid, updates, privacy }) =
		payload?;
	let (architecture, dataset_ref) = (Architecture::from(architecture), DatasetRef::from(dataset));
	let ticket = service.capacity.duties.admit()?;
	let (store, checked) = (service.store.clone(), architecture.clone());
	let (dataset, ticket) = blocking(move || {
		let dataset = load_dataset(&dataset_ref, &checked, &store)?;
		let ticket = ticket
			.reserve(crate::aggregate::footprint(&round_shape(&checked, &dataset), &dataset)?)?;
		Ok((dataset, ticket))
	})
	.await?;
	// Dropped if the caller goes away while it waits, which gives its place and memory up.
	let turn = ticket.turn().await;
	blocking(move || {
		let _turn = turn;
		let shape = round_shape(&architecture, &dataset);
		Ok(Json(fed_avg(
			&shape,
			&service.store,
			base_state_cid.as_deref(),
			&updates,
			privacy.as_ref(),
		)?))
	})
	.await
}

/// The shape of every state of a round of `architecture` on `dataset`.
fn round_shape<'a>(architecture: &'a Architecture, dataset: &Dataset) -> RoundShape<'a> {
	RoundShape {
		architecture,
		inputs: dataset.num_features,
		image: dataset.image,
		classes: dataset.num_classes,
	}
}

/// Stores the request's body as a blob, cut into leaves and written as it arrives: a blob
/// is never held whole. More than [`MAX_BLOB_BYTES`] is refused with `413 too_large` (before
/// anything is read when the length is announced), and nothing of a refused blob is pinned.
async fn put_blob(State(service): State<Service>, body: Body) -> Reply<Stored> {
	if body.size_hint().lower() > MAX_BLOB_BYTES as u64 {
		return Err(too_large());
	}
	let mut upload = Upload {
		pieces: body.into_data_stream(),
		runtime: tokio::runtime::Handle::current(),
		piece: Bytes::new(),
		received: 0,
		refused: None,
	};
	blocking(move || match service.store.put_reader(&mut upload) {
		Ok((cid, bytes)) => Ok(Json(Stored { cid: cid.to_string(), bytes })),
		Err(error) => Err(upload.refused.take().unwrap_or_else(|| error.into())),
	})
	.await
}

fn too_large() -> ApiError {
	ApiError::new(
		StatusCode::PAYLOAD_TOO_LARGE,
		"too_large",
		format!("a blob may be at most {MAX_BLOB_BYTES} bytes"),
	)
}

/// A request body read as it arrives by a blocking thread, at most [`MAX_BLOB_BYTES`] of it.
struct Upload {
	pieces: BodyDataStream,
	runtime: tokio::runtime::Handle,
	/// What is left of the piece last received.
	piece: Bytes,
	received: u64,
	/// Why the body was refused, once it is.
	refused: Option<ApiError>,
}

impl std::io::Read for Upload {
	fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
		while self.piece.is_empty() {
			// A blocking thread may wait on the runtime: the body arrives on its workers.
			let refusal = match self.runtime.block_on(self.pieces.next()) {
				None => return Ok(0),
				Some(Ok(piece)) => {
					self.received += piece.len() as u64;
					self.piece = piece;
					if self.received <= MAX_BLOB_BYTES as u64 {
						continue;
					}
					too_large()
				}
				Some(Err(error)) => ApiError::bad_request(
					"unreadable_body",
					format!("the request body could not be read: {error}"),
				),
			};
			let message = refusal.message().to_owned();
			self.refused = Some(refusal);
			return Err(std::io::Error::other(message));
		}
		let piece = self.piece.split_to(buffer.len().min(self.piece.len()));
		buffer[..piece.len()].copy_from_slice(&piece);
		Ok(piece.len())
	}
}

/// Serves a blob leaf by leaf, each read and checked against its CID as it is sent: a blob
/// is never held whole. Content missing, or corrupt at its first leaf, gets its error status;
/// a leaf found corrupt later ends the body with an error, never with bytes that are not the
/// content.
async fn get_blob(State(service): State<Service>, Path(cid): Path<String>) -> Response {
	let opened = match store::parse_cid(&cid) {
		Ok(cid) => {
			blocking(move || {
				let mut content = service.store.read(&cid)?;
				let first = content.next().transpose()?;
				Ok((first, content))
			})
			.await
		}
		Err(error) => Err(error.into()),
	};
	let (first, content) = match opened {
		Ok(opened) => opened,
		Err(error) => return error.into_response(),
	};
	let size = content.size();
	let rest = stream::unfold(Some(content), |content| async move {
		let mut content = content?;
		let read = tokio::task::spawn_blocking(move || content.next().map(|leaf| (leaf, content)));
		match read.await {
			Ok(None) => None,
			Ok(Some((Ok(leaf), content))) => Some((Ok(leaf), Some(content))),
			Ok(Some((Err(error), _))) => Some((Err(error), None)),
			Err(stopped) => {
				Some((Err(store::StoreError::Io(std::io::Error::other(stopped))), None))
			}
		}
	});
	let leaves = stream::iter(first.map(Ok)).chain(rest).map(|leaf| leaf.map(Bytes::from));
	let headers = [
		(header::CONTENT_TYPE, "application/octet-stream".to_owned()),
		(header::CONTENT_LENGTH, size.to_string()),
	];
	(headers, Body::from_stream(leaves)).into_response()
}

async fn fetch_blob(
	State(service): State<Service>,
	Path(cid): Path<String>,
	payload: Result<Json<FetchRequest>, JsonRejection>,
) -> Reply<Stored> {
	let Json(FetchRequest { peer }) = payload?;
	let cid = store::parse_cid(&cid)?;
	let turn = service.capacity.fetches.admit()?.turn().await;
	blocking(move || {
		let _turn = turn;
		let bytes = service.store.fetch(&peer, &cid, MAX_BLOB_BYTES as u64)?;
		Ok(Json(Stored { cid: cid.to_string(), bytes }))
	})
	.await
}

async fn gc(State(service): State<Service>) -> Reply<GcReport> {
	blocking(move || Ok(Json(service.store.gc()?))).await
}

#[cfg(test)]
mod tests;
