use super::*;
use axum::{body::Body, http::Request, response::Response};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

fn service() -> (tempfile::TempDir, Router) {
	service_with(Conduct::Honest)
}

/// Another service over the store in `dir`.
fn service_of(dir: &tempfile::TempDir) -> Service {
	Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest)
}

fn service_with(conduct: Conduct) -> (tempfile::TempDir, Router) {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	(dir, Service::new(store, conduct).answering_at_once().router())
}

async fn call(router: &Router, method: &str, uri: &str, body: Body) -> Response {
	let request = Request::builder()
		.method(method)
		.uri(uri)
		.header("content-type", "application/json")
		.body(body)
		.unwrap();
	router.clone().oneshot(request).await.unwrap()
}

async fn json_call(router: &Router, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
	let response = call(router, method, uri, Body::from(body.to_string())).await;
	let status = response.status();
	let bytes = response.into_body().collect().await.unwrap().to_bytes();
	(status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn job(id: u64, steps: u64) -> Value {
	json!({
		"job": id,
		"architecture": { "kind": "mlp", "hidden": [16] },
		"dataset": { "builtin": "digits" },
		"hyper_parameters": {
			"learning_rate": 0.1, "batch_size": 16, "steps": steps, "checkpoint_every": 10, "seed": 1
		},
		"backend": "reference"
	})
}

/// Asks `/v1/verify` for `request` until the re-execution is done (`202` means it runs).
async fn verified(router: &Router, request: Value) -> (StatusCode, Value) {
	for _ in 0..600 {
		let (status, body) = json_call(router, "POST", "/v1/verify", request.clone()).await;
		if status != StatusCode::ACCEPTED {
			return (status, body);
		}
		assert_eq!(body["commitments"], json!([]), "nothing before the end");
		tokio::time::sleep(std::time::Duration::from_millis(20)).await;
	}
	panic!("the re-execution did not finish");
}

async fn finished(router: &Router, id: u64) -> Value {
	for _ in 0..600 {
		let (status, body) = json_call(router, "GET", &format!("/v1/jobs/{id}"), Value::Null).await;
		assert_eq!(status, StatusCode::OK);
		if body["state"] != "running" {
			return body;
		}
		tokio::time::sleep(std::time::Duration::from_millis(50)).await;
	}
	panic!("job {id} did not finish");
}

#[tokio::test]
async fn health_names_the_api_version() {
	let (_dir, router) = service();
	let (status, body) = json_call(&router, "GET", "/v1/health", Value::Null).await;
	assert_eq!((status, body["api"].clone()), (StatusCode::OK, json!("v1")));
}

#[tokio::test]
async fn allowed_web_pages_may_read_reports_but_not_start_jobs() {
	let dir = tempfile::tempdir().unwrap();
	let access =
		ControlAccess::default().allowing_origins(&["http://127.0.0.1:8080/".into()]).unwrap();
	let router =
		Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest).control(access);
	let read = Request::get("/v1/health").header("origin", "http://127.0.0.1:8080");
	let response = router.clone().oneshot(read.body(Body::empty()).unwrap()).await.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
	assert_eq!(response.headers()["access-control-allow-origin"], "http://127.0.0.1:8080");

	let preflight = Request::options("/v1/jobs")
		.header("origin", "http://127.0.0.1:8080")
		.header("access-control-request-method", "POST")
		.header("access-control-request-headers", "content-type");
	let response = router.clone().oneshot(preflight.body(Body::empty()).unwrap()).await.unwrap();
	let allowed = response.headers().get("access-control-allow-methods");
	assert!(allowed.is_none_or(|methods| !methods.to_str().unwrap().contains("POST")));

	let elsewhere = Request::get("/v1/health").header("origin", "http://127.0.0.1:9090");
	let response = router.oneshot(elsewhere.body(Body::empty()).unwrap()).await.unwrap();
	assert_eq!(response.status(), StatusCode::FORBIDDEN);
	assert_eq!(error_of(response).await, "origin_not_allowed");
}

/// The `error` code of an error response.
async fn error_of(response: Response) -> String {
	let bytes = response.into_body().collect().await.unwrap().to_bytes();
	serde_json::from_slice::<ErrorBody>(&bytes).unwrap().error
}

/// Sends `request` to `router` as if from `client`.
async fn from_client(router: &Router, client: [u8; 4], request: Request<Body>) -> Response {
	let mut request = request;
	let address = std::net::SocketAddr::from((client, 40_000));
	request.extensions_mut().insert(axum::extract::ConnectInfo(address));
	router.clone().oneshot(request).await.unwrap()
}

#[tokio::test]
async fn the_public_listener_serves_content_and_nothing_else() {
	let dir = tempfile::tempdir().unwrap();
	let service = Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest);
	let (control, public) = (service.clone().router(), service.public(PublicLimits::DEFAULT));
	let content = b"a committed state".to_vec();
	put(&control, content.clone()).await;
	let cid = store::cid_of(&content).to_string();
	let get = |method: &str, uri: &str| {
		Request::builder().method(method).uri(uri).body(Body::empty()).unwrap()
	};

	let response =
		from_client(&public, [10, 0, 0, 1], get("GET", &format!("/v1/blobs/{cid}"))).await;
	assert_eq!(response.status(), StatusCode::OK);
	assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), content);
	let response =
		from_client(&public, [10, 0, 0, 1], get("HEAD", &format!("/v1/blobs/{cid}"))).await;
	assert_eq!(response.status(), StatusCode::OK);
	assert!(response.into_body().collect().await.unwrap().to_bytes().is_empty());
	let response = from_client(&public, [10, 0, 0, 1], get("GET", "/v1/blobs/not-a-cid")).await;
	assert_eq!(response.status(), StatusCode::BAD_REQUEST);

	let control_routes = [
		("GET", "/v1/health".to_owned()),
		("GET", "/v1/hwinfo".to_owned()),
		("POST", "/v1/jobs".to_owned()),
		("GET", "/v1/jobs/1".to_owned()),
		("DELETE", "/v1/jobs/1".to_owned()),
		("POST", "/v1/verify".to_owned()),
		("POST", "/v1/aggregate".to_owned()),
		("PUT", "/v1/blobs".to_owned()),
		("POST", format!("/v1/blobs/{cid}/fetch")),
		("POST", "/v1/gc".to_owned()),
	];
	for (method, uri) in control_routes {
		let request = Request::builder()
			.method(method)
			.uri(&uri)
			.header("content-type", "application/json")
			.body(Body::from("{}"))
			.unwrap();
		let response = from_client(&public, [10, 0, 0, 1], request).await;
		assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {uri}");
		assert_eq!(error_of(response).await, "not_served", "{method} {uri}");
	}
	for method in ["PUT", "POST", "DELETE"] {
		let response =
			from_client(&public, [10, 0, 0, 1], get(method, &format!("/v1/blobs/{cid}"))).await;
		assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
	}
	assert_eq!(service_content(&dir), 1, "nothing was written through the public listener");
}

/// The blocks in the store at `dir`.
fn service_content(dir: &tempfile::TempDir) -> usize {
	std::fs::read_dir(dir.path().join("blocks")).map_or(0, |blocks| blocks.count())
}

#[tokio::test]
async fn a_client_asking_the_public_listener_too_often_is_told_when_to_come_back() {
	let dir = tempfile::tempdir().unwrap();
	let limits = PublicLimits { burst: 2, per_second: 0.5, ..PublicLimits::DEFAULT };
	let public =
		Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest).public(limits);
	let ask = || Request::get("/v1/blobs/not-a-cid").body(Body::empty()).unwrap();
	for _ in 0..2 {
		let response = from_client(&public, [10, 0, 0, 1], ask()).await;
		assert_eq!(response.status(), StatusCode::BAD_REQUEST);
	}
	let response = from_client(&public, [10, 0, 0, 1], ask()).await;
	assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
	assert_eq!(response.headers()["retry-after"], "2");
	assert_eq!(error_of(response).await, "rate_limited");
	// Another client has an allowance of its own.
	let response = from_client(&public, [10, 0, 0, 2], ask()).await;
	assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_public_listener_serves_a_bounded_number_of_requests_at_once() {
	let dir = tempfile::tempdir().unwrap();
	let limits = PublicLimits { concurrent: 0, ..PublicLimits::DEFAULT };
	let public =
		Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest).public(limits);
	let ask = Request::get("/v1/blobs/not-a-cid").body(Body::empty()).unwrap();
	let response = from_client(&public, [10, 0, 0, 1], ask).await;
	assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
	assert_eq!(response.headers()["retry-after"], "1");
	assert_eq!(error_of(response).await, "busy");
}

#[tokio::test]
async fn a_cross_origin_simple_post_cannot_reach_gc() {
	let dir = tempfile::tempdir().unwrap();
	let access =
		ControlAccess::default().allowing_origins(&["http://127.0.0.1:8080".into()]).unwrap();
	let router =
		Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest).control(access);
	let gc = |origin: Option<&str>, content_type: Option<&str>| {
		let mut request = Request::post("/v1/gc");
		if let Some(origin) = origin {
			request = request.header("origin", origin);
		}
		if let Some(content_type) = content_type {
			request = request.header("content-type", content_type);
		}
		request.body(Body::from("x=1")).unwrap()
	};
	// A page elsewhere: refused for its origin whatever it sends.
	for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
		let response = router.clone().oneshot(gc(Some("http://evil.example"), content_type));
		let response = response.await.unwrap();
		assert_eq!(response.status(), StatusCode::FORBIDDEN);
		assert_eq!(error_of(response).await, "origin_not_allowed");
	}
	// Even an allowed page, or no page, may only POST what a browser must preflight.
	for origin in [Some("http://127.0.0.1:8080"), None] {
		for content_type in [
			None,
			Some("text/plain"),
			Some("multipart/form-data; boundary=x"),
			Some("application/x-www-form-urlencoded"),
		] {
			let response = router.clone().oneshot(gc(origin, content_type)).await.unwrap();
			assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
			assert_eq!(error_of(response).await, "json_required");
		}
	}
	let response = router.oneshot(gc(None, Some("application/json"))).await.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_rebound_host_name_is_refused() {
	let dir = tempfile::tempdir().unwrap();
	let access = ControlAccess::default().allowing_hosts(["trainer.internal".to_owned()]);
	let router =
		Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest).control(access);
	let health = |host: &str| Request::get("/v1/health").header("host", host).body(Body::empty());
	for host in ["evil.example:7070", "evil.example", "localhost.evil.example:7070"] {
		let response = router.clone().oneshot(health(host).unwrap()).await.unwrap();
		assert_eq!(response.status(), StatusCode::FORBIDDEN, "{host}");
		assert_eq!(error_of(response).await, "host_not_allowed");
	}
	for host in [
		"127.0.0.1:7070",
		"localhost:7070",
		"LOCALHOST",
		"[::1]:7070",
		"10.1.2.3",
		"trainer.internal:7070",
	] {
		let response = router.clone().oneshot(health(host).unwrap()).await.unwrap();
		assert_eq!(response.status(), StatusCode::OK, "{host}");
	}
}

#[tokio::test]
async fn a_control_api_bound_beyond_loopback_needs_its_token() {
	let everywhere: std::net::SocketAddr = "0.0.0.0:7070".parse().unwrap();
	assert!(matches!(
		ControlAccess::for_listener(everywhere, None),
		Err(AccessError::NoToken(address)) if address == everywhere
	));
	assert!(matches!(
		ControlAccess::for_listener(everywhere, Some(String::new())),
		Err(AccessError::BadToken)
	));
	assert!(ControlAccess::for_listener("127.0.0.1:7070".parse().unwrap(), None).is_ok());
	assert!(ControlAccess::for_listener("[::1]:7070".parse().unwrap(), None).is_ok());

	let access = ControlAccess::for_listener(everywhere, Some("s3cret-token".into())).unwrap();
	let dir = tempfile::tempdir().unwrap();
	let router =
		Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest).control(access);
	let gc = |authorization: Option<&str>| {
		let mut request = Request::post("/v1/gc").header("content-type", "application/json");
		if let Some(authorization) = authorization {
			request = request.header("authorization", authorization);
		}
		request.body(Body::empty()).unwrap()
	};
	for wrong in [None, Some("Bearer wrong"), Some("Bearer s3cret-toke"), Some("s3cret-token")] {
		let response = router.clone().oneshot(gc(wrong)).await.unwrap();
		assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
		assert_eq!(response.headers()["www-authenticate"], "Bearer");
		assert_eq!(error_of(response).await, "unauthorized");
	}
	let response = router.oneshot(gc(Some("Bearer s3cret-token"))).await.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_control_api_on_loopback_given_a_token_demands_it_too() {
	let loopback = "127.0.0.1:7070".parse().unwrap();
	let access = ControlAccess::for_listener(loopback, Some("s3cret-token".into())).unwrap();
	let dir = tempfile::tempdir().unwrap();
	let router =
		Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest).control(access);
	let health = |authorization: Option<&str>| {
		let mut request = Request::get("/v1/health");
		if let Some(authorization) = authorization {
			request = request.header("authorization", authorization);
		}
		request.body(Body::empty()).unwrap()
	};
	let response = router.clone().oneshot(health(None)).await.unwrap();
	assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
	let response = router.oneshot(health(Some("Bearer s3cret-token"))).await.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_job_trains_once_however_often_it_is_asked_for() {
	let (_dir, router) = service();
	let (status, body) = json_call(&router, "POST", "/v1/jobs", job(7, 20)).await;
	assert_eq!((status, body["state"].clone()), (StatusCode::ACCEPTED, json!("running")));
	let (status, _) = json_call(&router, "POST", "/v1/jobs", job(7, 20)).await;
	assert_eq!(status, StatusCode::OK);
	let done = finished(&router, 7).await;
	assert_eq!(done["state"], "done");
	assert_eq!(done["commitments"].as_array().unwrap().len(), 2);
	let (status, again) = json_call(&router, "POST", "/v1/jobs", job(7, 20)).await;
	assert_eq!((status, again), (StatusCode::OK, done.clone()));

	let (status, body) = json_call(&router, "POST", "/v1/jobs", job(7, 30)).await;
	assert_eq!((status, body["error"].clone()), (StatusCode::CONFLICT, json!("job_conflict")));

	let verify = json!({
		"architecture": { "kind": "mlp", "hidden": [16] },
		"dataset": { "builtin": "digits" },
		"hyper_parameters": {
			"learning_rate": 0.1, "batch_size": 16, "steps": 20, "checkpoint_every": 10, "seed": 1
		},
		"backend": "reference",
		"start_state": {
			"state_cid": done["commitments"][0]["state_cid"],
			"weights_digest": done["commitments"][0]["weights_digest"]
		},
		"from_step": 10,
		"to_step": 20
	});
	let (status, body) = verified(&router, verify).await;
	assert_eq!(status, StatusCode::OK);
	assert_eq!(body["commitments"][0], done["commitments"][1]);
}

#[tokio::test]
async fn a_service_reporting_wrong_digests_differs_from_an_honest_one_only_in_weights_digests() {
	let (_honest_dir, honest) = service();
	let (_liar_dir, liar) = service_with(Conduct::WrongDigests);
	for router in [&honest, &liar] {
		let (status, _) = json_call(router, "POST", "/v1/jobs", job(3, 20)).await;
		assert_eq!(status, StatusCode::ACCEPTED);
	}
	let (truth, lies) = (finished(&honest, 3).await, finished(&liar, 3).await);
	let (truth, lies) =
		(truth["commitments"].as_array().unwrap(), lies["commitments"].as_array().unwrap());
	assert_eq!(truth.len(), 2);
	for (told, computed) in lies.iter().zip(truth) {
		assert_ne!(told["weights_digest"], computed["weights_digest"]);
		let mut told = told.clone();
		told["weights_digest"] = computed["weights_digest"].clone();
		assert_eq!(&told, computed);
	}
}

#[tokio::test]
async fn a_character_transformer_trains_on_the_texts_a_job_carries() {
	let (_dir, router) = service();
	let mut text_job = job(11, 10);
	text_job["architecture"] =
		json!({ "kind": "char-transformer", "context": 8, "width": 16, "layers": 1 });
	text_job["dataset"] =
		json!({ "texts": ["a proposal's text, in any script: ŝtono", "and a second one"] });
	let (status, _) = json_call(&router, "POST", "/v1/jobs", text_job).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let done = finished(&router, 11).await;
	assert_eq!(
		(done["state"].clone(), done["commitments"].as_array().unwrap().len()),
		(json!("done"), 1)
	);
}

#[tokio::test]
async fn bad_requests_get_a_4xx_with_a_reason_and_change_nothing() {
	let (_dir, router) = service();
	let mut zero_batch = job(1, 20);
	zero_batch["hyper_parameters"]["batch_size"] = json!(0);
	let mut cnn_on_tables = job(2, 20);
	cnn_on_tables["architecture"] = json!({ "kind": "cnn", "channels": [4, 8] });
	cnn_on_tables["dataset"] = json!({ "builtin": "iris" });
	let mut huge = job(4, 20);
	huge["architecture"] = json!({ "kind": "mlp", "hidden": [1_000_000_000] });
	let mut transformer_on_digits = job(5, 20);
	transformer_on_digits["architecture"] =
		json!({ "kind": "char-transformer", "context": 8, "width": 16, "layers": 1 });
	let mut missing_dataset = job(3, 20);
	missing_dataset["dataset"] = json!({ "cid": store::cid_of(b"never stored").to_string() });
	let cases = [
		("POST", "/v1/jobs", Body::from("{not json"), StatusCode::BAD_REQUEST, "invalid_json"),
		(
			"POST",
			"/v1/jobs",
			Body::from(r#"{"job": 1}"#),
			StatusCode::UNPROCESSABLE_ENTITY,
			"invalid_json",
		),
		(
			"POST",
			"/v1/jobs",
			Body::from(zero_batch.to_string()),
			StatusCode::BAD_REQUEST,
			"invalid_hyper_parameters",
		),
		(
			"POST",
			"/v1/jobs",
			Body::from(cnn_on_tables.to_string()),
			StatusCode::BAD_REQUEST,
			"invalid_architecture",
		),
		(
			"POST",
			"/v1/jobs",
			Body::from(missing_dataset.to_string()),
			StatusCode::NOT_FOUND,
			"not_found",
		),
		(
			"POST",
			"/v1/jobs",
			Body::from(huge.to_string()),
			StatusCode::UNPROCESSABLE_ENTITY,
			"over_limit",
		),
		(
			"POST",
			"/v1/jobs",
			Body::from(vec![b' '; MAX_JSON_BYTES + 1]),
			StatusCode::PAYLOAD_TOO_LARGE,
			"invalid_json",
		),
		("GET", "/v1/jobs/99", Body::empty(), StatusCode::NOT_FOUND, "unknown_job"),
		("GET", "/v1/blobs/not-a-cid", Body::empty(), StatusCode::BAD_REQUEST, "invalid_cid"),
		(
			"POST",
			"/v1/verify",
			Body::from(json!({ "state_cid": "x", "from_step": 5, "to_step": 5 }).to_string()),
			StatusCode::UNPROCESSABLE_ENTITY,
			"invalid_json",
		),
	];
	for (method, uri, body, expected, code) in cases {
		let response = call(&router, method, uri, body).await;
		let status = response.status();
		let bytes = response.into_body().collect().await.unwrap().to_bytes();
		let body: ErrorBody =
			serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("{uri}: {bytes:?}"));
		assert_eq!(
			(status, body.error.as_str()),
			(expected, code),
			"{method} {uri}: {}",
			body.message
		);
	}
	for id in [1, 2, 3, 4, 5] {
		let (status, _) = json_call(&router, "GET", &format!("/v1/jobs/{id}"), Value::Null).await;
		assert_eq!(status, StatusCode::NOT_FOUND);
	}
}

#[tokio::test]
async fn blobs_are_stored_served_and_fetched_from_peers_by_cid() {
	let (dir, router) = service();
	let content = b"a checkpoint".to_vec();
	let response = call(&router, "PUT", "/v1/blobs", Body::from(content.clone())).await;
	assert_eq!(response.status(), StatusCode::OK);
	let stored: Stored =
		serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
	assert_eq!(stored.cid, store::cid_of(&content).to_string());

	// A second trainer fetches it from the first's public listener over HTTP and checks it
	// against the CID.
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let peer = format!("http://{}", listener.local_addr().unwrap());
	let server = service_of(&dir).public(PublicLimits::DEFAULT);
	let server = server.into_make_service_with_connect_info::<std::net::SocketAddr>();
	tokio::spawn(async move { axum::serve(listener, server).await });
	let (_other_dir, other) = service();
	let fetch = format!("/v1/blobs/{}/fetch", stored.cid);
	let (status, body) = json_call(&other, "POST", &fetch, json!({ "peer": peer })).await;
	assert_eq!((status, body["bytes"].clone()), (StatusCode::OK, json!(content.len())));
	let response = call(&other, "GET", &format!("/v1/blobs/{}", stored.cid), Body::empty()).await;
	assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), content);

	let missing = format!("/v1/blobs/{}/fetch", store::cid_of(b"nobody has this"));
	let (status, body) = json_call(&other, "POST", &missing, json!({ "peer": peer })).await;
	assert_eq!((status, body["error"].clone()), (StatusCode::BAD_GATEWAY, json!("fetch_failed")));
	let (status, body) =
		json_call(&other, "POST", &fetch, json!({ "peer": "file:///etc/passwd" })).await;
	assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_peer")));
}

#[tokio::test]
async fn a_blob_over_the_limit_is_refused_as_it_arrives_and_nothing_of_it_is_kept() {
	let (dir, router) = service();
	// Sent without announcing its length, so that only counting what arrives can refuse it.
	let piece = Bytes::from(vec![7; 1 << 20]);
	let pieces = (0..=MAX_BLOB_BYTES >> 20).map(move |_| Ok::<_, std::io::Error>(piece.clone()));
	let body = Body::from_stream(futures_util::stream::iter(pieces));
	let response = call(&router, "PUT", "/v1/blobs", body).await;
	assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
	assert_eq!(error_of(response).await, "too_large");
	let store = ContentStore::open(dir.path()).unwrap();
	assert_eq!(store.pins().unwrap(), Vec::new());
	let (status, collected) = json_call(&router, "POST", "/v1/gc", json!({})).await;
	assert_eq!((status, collected["blocks"].clone()), (StatusCode::OK, json!(1)), "its one leaf");

	let response = call(&router, "PUT", "/v1/blobs", Body::from(vec![7; MAX_BLOB_BYTES + 1])).await;
	assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
	assert_eq!(error_of(response).await, "too_large");
}

/// A CSV table of `rows` samples with two features and two classes.
fn table(rows: usize) -> Vec<u8> {
	let mut csv = String::from("x,y,label\n");
	for row in 0..rows {
		let (x, y) = ((row % 7) as f32 / 7.0, (row % 5) as f32 / 5.0);
		csv.push_str(&format!("{x},{y},{}\n", usize::from(x + y > 0.8)));
	}
	csv.into_bytes()
}

/// Stores `content` in the trainer behind `router`; its CID as the chain stores CIDs.
async fn put(router: &Router, content: Vec<u8>) -> tessera_primitives::Cid {
	let response = call(router, "PUT", "/v1/blobs", Body::from(content)).await;
	let bytes = response.into_body().collect().await.unwrap().to_bytes();
	let stored: Stored = serde_json::from_slice(&bytes).unwrap();
	tessera_primitives::trainer_api::cid_from_string(&stored.cid).unwrap()
}

/// A chain job of twenty steps in two checkpoints over a 64-row table, stored in the trainer
/// behind `router`.
async fn chain_spec(router: &Router) -> tessera_primitives::JobSpec {
	use tessera_primitives::{Architecture, BackendClass, HyperParameters, JobSpec};

	JobSpec {
		architecture: Architecture::Mlp { hidden: vec![8].try_into().unwrap() },
		base_weights: Default::default(),
		base_digest: Default::default(),
		dataset: put(router, table(64)).await,
		hyper_parameters: HyperParameters {
			learning_rate: tessera_primitives::job::Perbill::from_percent(10),
			batch_size: 8,
			steps: 20,
			checkpoint_every: 10,
			seed: 3,
			optimizer: tessera_primitives::Optimizer::Sgd,
		},
		texts: Default::default(),
		trainer_build: Default::default(),
		backend: BackendClass::CpuReference,
	}
}

/// A chain job naming AdamW: a panel re-executes its second segment, and a replica takes
/// over after its first, from the state the first checkpoint committed — which carries the
/// optimiser's moments — and both commit what the replica did.
#[tokio::test]
async fn a_chain_job_naming_adamw_re_executes_and_resumes_from_the_state_it_committed() {
	use tessera_primitives::{
		job::Perbill, trainer_api, AdamParameters, BackendClass, Optimizer, TrainedWeights,
	};

	let (_dir, router) = service();
	let mut spec = chain_spec(&router).await;
	spec.hyper_parameters.learning_rate = Perbill::from_percent(1);
	spec.hyper_parameters.optimizer = Optimizer::AdamW(AdamParameters {
		beta1: Perbill::from_percent(90),
		beta2: Perbill::from_parts(999_000_000),
		epsilon: Perbill::from_parts(10),
		weight_decay: Perbill::from_percent(1),
	});
	let request = trainer_api::JobRequest::new(31, &spec).unwrap();
	let (status, _) =
		json_call(&router, "POST", "/v1/jobs", serde_json::to_value(&request).unwrap()).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let done: trainer_api::JobStatus = serde_json::from_value(finished(&router, 31).await).unwrap();
	let first = done.commitments[0].payload(31, 0, 4, BackendClass::CpuReference, None).unwrap();
	let first_state = TrainedWeights { weights: first.state_cid, digest: first.weights_digest };

	let request = trainer_api::VerifyRequest::new(31, &spec, Some(&first_state), 10, 20).unwrap();
	let (status, body) = verified(&router, serde_json::to_value(&request).unwrap()).await;
	assert_eq!(status, StatusCode::OK, "{body}");
	let reexecution: trainer_api::Reexecution = serde_json::from_value(body).unwrap();
	assert_eq!(reexecution.commitments, done.commitments[1..]);

	let takeover = trainer_api::JobRequest::new(32, &spec).unwrap().resuming(&first_state, 10);
	let (status, _) =
		json_call(&router, "POST", "/v1/jobs", serde_json::to_value(&takeover).unwrap()).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let resumed: trainer_api::JobStatus =
		serde_json::from_value(finished(&router, 32).await).unwrap();
	assert_eq!(resumed.commitments, done.commitments[1..]);

	// The same job with SGD ends elsewhere: the optimiser the chain named is the one that ran.
	spec.hyper_parameters.optimizer = Optimizer::Sgd;
	let sgd = trainer_api::JobRequest::new(33, &spec).unwrap();
	let (status, _) =
		json_call(&router, "POST", "/v1/jobs", serde_json::to_value(&sgd).unwrap()).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let plain: trainer_api::JobStatus =
		serde_json::from_value(finished(&router, 33).await).unwrap();
	assert_ne!(plain.commitments[1].weights_digest, done.commitments[1].weights_digest);
}

/// The chain's side of the contract (`tessera_primitives::trainer_api`): a job spec as the
/// off-chain worker sends it trains here, and the status it reads back turns into the very
/// payloads this trainer's own types make.
#[tokio::test]
async fn the_chain_workers_request_trains_and_its_report_parses_into_the_same_payloads() {
	use tessera_primitives::{trainer_api, BackendClass, TrainedWeights};

	let (_dir, router) = service();
	let spec = chain_spec(&router).await;
	let request = trainer_api::JobRequest::new(21, &spec).unwrap();
	let (status, _) =
		json_call(&router, "POST", "/v1/jobs", serde_json::to_value(&request).unwrap()).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let done = finished(&router, 21).await;

	let ours: JobStatus = serde_json::from_value(done.clone()).unwrap();
	let theirs: trainer_api::JobStatus = serde_json::from_value(done).unwrap();
	assert_eq!(theirs.state, trainer_api::RunState::Done);
	let workload = tessera_primitives::Workload::of(&spec);
	let expected_work = (0..2).map(|checkpoint| workload.work_of_checkpoint(checkpoint)).sum();
	assert_eq!(theirs.work, Some(expected_work), "the work the chain pays for the run");
	assert_eq!(theirs.commitments.len(), 2);
	for (checkpoint, (mine, chain)) in ours.commitments.iter().zip(&theirs.commitments).enumerate()
	{
		let class = BackendClass::CpuReference;
		assert_eq!(
			chain.payload(21, checkpoint as u32, 4, class, None).unwrap(),
			mine.payload(21, checkpoint as u32, 4, class, None).unwrap()
		);
	}

	// A dispute panel's worker re-executes either segment: the first from the job's own
	// start, the second from the state the first committed.
	let first = theirs.commitments[0].payload(21, 0, 4, BackendClass::CpuReference, None).unwrap();
	let first_state = TrainedWeights { weights: first.state_cid, digest: first.weights_digest };
	for (segment, state) in [(0u64, None), (1, Some(&first_state))] {
		let request =
			trainer_api::VerifyRequest::new(21, &spec, state, segment * 10, segment * 10 + 10)
				.unwrap();
		let (status, body) = verified(&router, serde_json::to_value(&request).unwrap()).await;
		assert_eq!(status, StatusCode::OK, "{body}");
		let reexecution: trainer_api::Reexecution = serde_json::from_value(body).unwrap();
		assert_eq!(reexecution.commitments, vec![theirs.commitments[segment as usize].clone()]);
	}
	// A replica that takes over from the first checkpoint commits what the first one did next.
	let takeover = trainer_api::JobRequest::new(22, &spec).unwrap().resuming(&first_state, 10);
	let (status, _) =
		json_call(&router, "POST", "/v1/jobs", serde_json::to_value(&takeover).unwrap()).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let resumed: trainer_api::JobStatus =
		serde_json::from_value(finished(&router, 22).await).unwrap();
	assert_eq!(resumed.commitments, theirs.commitments[1..]);

	// A start state the trainer lacks is refused at once, so that the worker fetches it.
	let unknown = crate::store::cid_of(b"no such state").to_string();
	let unknown = TrainedWeights {
		weights: trainer_api::cid_from_string(&unknown).unwrap(),
		digest: first_state.digest,
	};
	let absent = trainer_api::VerifyRequest::new(21, &spec, Some(&unknown), 10, 20).unwrap();
	let (status, _) =
		json_call(&router, "POST", "/v1/verify", serde_json::to_value(&absent).unwrap()).await;
	assert_eq!(status, StatusCode::NOT_FOUND);

	let mut headless = trainer_api::VerifyRequest::new(21, &spec, None, 10, 20).unwrap();
	let (status, body) =
		json_call(&router, "POST", "/v1/verify", serde_json::to_value(&headless).unwrap()).await;
	assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("missing_state")));
	headless.from_step = 0;
	headless.to_step = 0;
	let (status, _) =
		json_call(&router, "POST", "/v1/verify", serde_json::to_value(&headless).unwrap()).await;
	assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The chain's request types name what only people send too: a job on a built-in dataset on
/// the `cpu` backend, and a segment of it without a job id (re-executed, as every segment
/// is, on the reference backend), built from them, are the JSON a person writes by hand, and
/// train and re-execute as it does.
#[tokio::test]
async fn the_chain_types_carry_what_people_send_and_it_runs_as_their_json_does() {
	use tessera_primitives::trainer_api::{self, Backend, BuiltinDataset, Dataset, Network};

	let (_dir, router) = service();
	let spec = trainer_api::TrainingSpec {
		architecture: Network::Mlp { hidden: vec![16] },
		dataset: Dataset::Builtin(BuiltinDataset::Digits),
		hyper_parameters: trainer_api::Training {
			learning_rate: 0.1,
			batch_size: 16,
			steps: 20,
			checkpoint_every: 10,
			seed: 1,
			optimizer: trainer_api::Optimizer::Sgd,
		},
		backend: Backend::Cpu,
		base_state: None,
		resume: None,
		round: None,
	};
	let request = trainer_api::JobRequest { job: 60, spec: spec.clone() };
	let mut by_hand = job(60, 20);
	by_hand["backend"] = json!("cpu");
	assert_eq!(serde_json::to_value(&request).unwrap(), by_hand);
	let (status, _) =
		json_call(&router, "POST", "/v1/jobs", serde_json::to_value(&request).unwrap()).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let done = finished(&router, 60).await;
	assert_eq!(done["state"], "done", "{done}");
	let (status, known) = json_call(&router, "POST", "/v1/jobs", by_hand.clone()).await;
	assert_eq!((status, known), (StatusCode::OK, done.clone()), "the same spec, the same run");

	let first = &done["commitments"][0];
	let start = trainer_api::StartState {
		state_cid: first["state_cid"].as_str().unwrap().into(),
		weights_digest: first["weights_digest"].as_str().unwrap().into(),
	};
	let segment = trainer_api::VerifyRequest {
		job: None,
		spec: trainer_api::TrainingSpec { backend: Backend::Reference, ..spec },
		start_state: Some(start),
		from_step: 10,
		to_step: 20,
		measure: Vec::new(),
	};
	let mut segment_by_hand = segment_of(job(60, 20), 10, 20);
	segment_by_hand["start_state"] =
		json!({ "state_cid": first["state_cid"], "weights_digest": first["weights_digest"] });
	assert_eq!(serde_json::to_value(&segment).unwrap(), segment_by_hand);
	let (status, body) = verified(&router, serde_json::to_value(&segment).unwrap()).await;
	assert_eq!((status, body["commitments"][0]["step"].clone()), (StatusCode::OK, json!(20)));
	// Named as the worker names it, the segment is the same re-execution.
	let named = trainer_api::VerifyRequest { job: Some(60), ..segment };
	let (status, again) =
		json_call(&router, "POST", "/v1/verify", serde_json::to_value(&named).unwrap()).await;
	assert_eq!((status, again), (StatusCode::OK, body));
}

/// Disputes are settled on the reference backend: a re-execution that names another is
/// refused with a 422 that says so, whatever the job trained on, and nothing runs.
#[tokio::test]
async fn a_reexecution_runs_on_the_reference_backend_only() {
	let (_dir, router) = service();
	let backends =
		[("cpu", true), ("wgpu", cfg!(feature = "wgpu")), ("cuda", cfg!(feature = "cuda"))];
	for (backend, built) in backends {
		let mut segment = segment_of(job(0, 20), 0, 10);
		segment["backend"] = json!(backend);
		let (status, body) = json_call(&router, "POST", "/v1/verify", segment).await;
		let code = if built { "reference_only" } else { "unsupported_backend" };
		assert_eq!(
			(status, body["error"].clone()),
			(StatusCode::UNPROCESSABLE_ENTITY, json!(code)),
			"{backend}: {body}"
		);
	}
	let (status, _) = verified(&router, segment_of(job(0, 20), 0, 10)).await;
	assert_eq!(status, StatusCode::OK);
}

/// A GPU job's replica is judged by how far its state lies from the reference re-execution of
/// its segment from its own start. The `cpu` backend's native kernels stand in for a GPU's:
/// the same training with other rounding. Its honest state lies within the chain's
/// tolerance; a replica that did not train the segment (its start state again) lies a whole
/// segment's move away; content that does not hash to the digest revealed with it is forged.
/// Every measured state must be in the store first, so that the worker fetches it.
#[tokio::test]
async fn a_reexecution_measures_each_claimed_state_against_its_result() {
	use tessera_primitives::trainer_api::{FORGED, GPU_TOLERANCE};

	let (_dir, router) = service();
	let mut other_device = job(70, 20);
	other_device["backend"] = json!("cpu");
	let (status, _) = json_call(&router, "POST", "/v1/jobs", other_device).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let trained = finished(&router, 70).await["commitments"].clone();
	let state = |commitment: &Value| json!({ "state_cid": commitment["state_cid"], "weights_digest": commitment["weights_digest"] });
	let (start, honest) = (state(&trained[0]), state(&trained[1]));
	let mut forged = honest.clone();
	forged["weights_digest"] = trained[0]["weights_digest"].clone();

	let mut segment = segment_of(job(0, 20), 10, 20);
	segment["start_state"] = start.clone();
	segment["measure"] = json!([honest, start, forged]);
	let (status, body) = verified(&router, segment.clone()).await;
	assert_eq!(status, StatusCode::OK, "{body}");
	let distances: Vec<u32> = serde_json::from_value(body["distances"].clone()).unwrap();
	println!("one segment on native kernels lies {} ppb from the reference", distances[0]);
	assert!(distances[0] <= GPU_TOLERANCE, "{distances:?}");
	assert_eq!(&distances[1..], [1_000_000_000, FORGED]);
	let reference = state(&body["commitments"][0]);
	assert_ne!(reference, honest, "other rounding, other bits");

	segment["measure"] = json!([reference]);
	let (status, body) = verified(&router, segment.clone()).await;
	assert_eq!((status, body["distances"].clone()), (StatusCode::OK, json!([0])));

	let absent = store::cid_of(b"no such state").to_string();
	segment["measure"] =
		json!([{ "state_cid": absent, "weights_digest": honest["weights_digest"] }]);
	let (status, _) = json_call(&router, "POST", "/v1/verify", segment).await;
	assert_eq!(status, StatusCode::NOT_FOUND);
}

/// What the chain's types can name but this trainer cannot run, or a digest that is not hex,
/// is refused with a 422 that says which, and nothing is kept.
#[tokio::test]
async fn a_backend_not_built_in_or_a_digest_that_is_not_hex_is_refused() {
	let (_dir, router) = service();
	let mut cases = Vec::new();
	for (backend, built) in [("wgpu", cfg!(feature = "wgpu")), ("cuda", cfg!(feature = "cuda"))] {
		if !built {
			let mut request = job(61, 20);
			request["backend"] = json!(backend);
			cases.push(("/v1/jobs", request, "unsupported_backend"));
		}
	}
	let state = store::cid_of(b"a state").to_string();
	let mut fine_tune = job(61, 20);
	fine_tune["base_state"] = json!({ "state_cid": state, "weights_digest": "0xabab" });
	cases.push(("/v1/jobs", fine_tune, "invalid_digest"));
	let mut segment = segment_of(job(0, 20), 10, 20);
	segment["start_state"] = json!({ "state_cid": state, "weights_digest": "ab".repeat(32) });
	cases.push(("/v1/verify", segment, "invalid_digest"));
	for (uri, request, code) in cases {
		let (status, body) = json_call(&router, "POST", uri, request).await;
		assert_eq!(
			(status, body["error"].clone()),
			(StatusCode::UNPROCESSABLE_ENTITY, json!(code)),
			"{body}"
		);
	}
	let (status, _) = json_call(&router, "GET", "/v1/jobs/61", Value::Null).await;
	assert_eq!(status, StatusCode::NOT_FOUND, "a refused job is not kept");
}

#[tokio::test]
async fn a_job_with_a_base_state_trains_on_from_it() {
	let (_dir, router) = service();
	let (status, _) = json_call(&router, "POST", "/v1/jobs", job(30, 10)).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let base_commitment = finished(&router, 30).await["commitments"][0].clone();
	let base = base_commitment["state_cid"].clone();
	let base_state =
		json!({ "state_cid": base, "weights_digest": base_commitment["weights_digest"] });

	let mut fine_tune = job(31, 10);
	fine_tune["base_state"] = base_state.clone();
	let (status, _) = json_call(&router, "POST", "/v1/jobs", fine_tune).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let tuned = finished(&router, 31).await;
	assert_eq!(tuned["state"], "done");

	// Re-executing ten steps from the base state reproduces the fine-tuning exactly.
	let mut verify = job(0, 10);
	let verify = verify.as_object_mut().unwrap();
	verify.remove("job");
	verify.insert("start_state".into(), base_state.clone());
	verify.insert("from_step".into(), json!(0));
	verify.insert("to_step".into(), json!(10));
	let (status, body) = verified(&router, Value::Object(verify.clone())).await;
	assert_eq!(status, StatusCode::OK);
	assert_eq!(body["commitments"][0], tuned["commitments"][0]);
	assert_ne!(tuned["commitments"][0]["state_cid"], base);

	let mut unknown = job(32, 10);
	unknown["base_state"] = json!({
		"state_cid": store::cid_of(b"no such state").to_string(),
		"weights_digest": base_commitment["weights_digest"],
	});
	let (status, _) = json_call(&router, "POST", "/v1/jobs", unknown).await;
	assert!(status.is_client_error() || status.is_server_error(), "{status}");
	let (status, _) = json_call(&router, "GET", "/v1/jobs/32", Value::Null).await;
	assert_eq!(status, StatusCode::NOT_FOUND, "a refused job is not kept");
}

/// A replica that reveals the agreed digest with a state of its own making: the state is in
/// the store, but its weights are not the ones the chain names for it. Nobody trains or
/// re-executes from it, whichever way it is named.
#[tokio::test]
async fn a_poisoned_start_state_is_refused_whichever_way_it_is_named() {
	let (_dir, router) = service();
	let (status, _) = json_call(&router, "POST", "/v1/jobs", job(50, 10)).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let made_up = finished(&router, 50).await["commitments"][0]["state_cid"].clone();
	let named = json!(format!("0x{}", "ab".repeat(32)));
	let poisoned = json!({ "state_cid": made_up, "weights_digest": named });
	let refused = |(status, body): (StatusCode, Value)| {
		assert_eq!(
			(status, body["error"].clone()),
			(StatusCode::UNPROCESSABLE_ENTITY, json!("wrong_state")),
			"{body}"
		);
	};

	let mut fine_tune = job(51, 10);
	fine_tune["base_state"] = poisoned.clone();
	refused(json_call(&router, "POST", "/v1/jobs", fine_tune).await);
	let mut takeover = job(52, 20);
	takeover["resume"] = json!({ "state_cid": made_up, "weights_digest": named, "step": 10 });
	refused(json_call(&router, "POST", "/v1/jobs", takeover).await);
	let mut segment = job(0, 20);
	let segment = segment.as_object_mut().unwrap();
	segment.remove("job");
	segment.insert("start_state".into(), poisoned);
	segment.insert("from_step".into(), json!(10));
	segment.insert("to_step".into(), json!(20));
	refused(json_call(&router, "POST", "/v1/verify", Value::Object(segment.clone())).await);
	for refused_job in [51, 52] {
		let (status, _) =
			json_call(&router, "GET", &format!("/v1/jobs/{refused_job}"), Value::Null).await;
		assert_eq!(status, StatusCode::NOT_FOUND, "a refused job is not kept");
	}
}

/// Round `round` of federated job `id`, ten steps on shard `shard` of four.
fn round_of(id: u64, round: u32, shard: u32) -> Value {
	let mut body = job(id, 10 * u64::from(round + 1));
	body["round"] = json!({ "round": round, "shard": shard, "shards": 4 });
	body
}

async fn update_of(router: &Router, request: Value) -> Value {
	let id = request["job"].as_u64().unwrap();
	let (status, _) = json_call(router, "POST", "/v1/jobs", request).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let done = finished(router, id).await;
	assert_eq!(done["state"], "done", "{done}");
	done["commitments"][0].clone()
}

#[tokio::test]
async fn each_round_of_a_federated_job_trains_its_shard_as_a_run_of_its_own() {
	let (_dir, router) = service();
	let first = update_of(&router, round_of(7, 0, 1)).await;
	// Another shard gives another update; the same shard on another trainer the same one.
	let (_other_dir, other) = service();
	let elsewhere = update_of(&other, round_of(7, 0, 2)).await;
	assert_ne!(first["weights_digest"], elsewhere["weights_digest"]);
	let (_again_dir, again) = service();
	assert_eq!(update_of(&again, round_of(7, 0, 1)).await, first);

	// The next round of the same job is a run of its own, from the round's start state.
	let mut next = round_of(7, 1, 3);
	next["resume"] = json!({
		"state_cid": first["state_cid"], "weights_digest": first["weights_digest"], "step": 10
	});
	let resumed = update_of(&router, next).await;
	assert_eq!(resumed["step"], 20);
	let (status, latest) = json_call(&router, "GET", "/v1/jobs/7", Value::Null).await;
	assert_eq!((status, latest["commitments"][0]["step"].clone()), (StatusCode::OK, json!(20)));

	// An aggregator's request, as the chain's worker builds it, averages the updates.
	use tessera_primitives::trainer_api;
	let request: Value = serde_json::to_value(trainer_api::AggregateRequest {
		architecture: trainer_api::Network::Mlp { hidden: vec![16] },
		dataset: trainer_api::Dataset::Builtin(trainer_api::BuiltinDataset::Digits),
		base_state_cid: None,
		updates: [&first, &resumed]
			.iter()
			.map(|update| trainer_api::Update {
				state_cid: update["state_cid"].as_str().unwrap().into(),
				samples: update["samples"].as_u64().unwrap(),
			})
			.collect(),
		privacy: None,
	})
	.unwrap();
	let (status, body) = json_call(&router, "POST", "/v1/aggregate", request).await;
	assert_eq!(status, StatusCode::OK, "{body}");
	let aggregate: trainer_api::Aggregate = serde_json::from_value(body).unwrap();
	assert!(
		aggregate.digest().is_ok() && trainer_api::cid_from_string(&aggregate.state_cid).is_ok()
	);
}

#[tokio::test]
async fn a_round_trained_again_from_another_start_is_a_run_of_its_own_and_the_latest() {
	let (_dir, router) = service();
	let first = update_of(&router, round_of(8, 0, 0)).await;
	let other = update_of(&router, job(40, 10)).await;
	let round_one_from = |state: &Value| {
		let mut request = round_of(8, 1, 0);
		request["resume"] = json!({
			"state_cid": state["state_cid"], "weights_digest": state["weights_digest"], "step": 10
		});
		request
	};
	let from_first = update_of(&router, round_one_from(&first)).await;
	// After a rewind, say, round 1 starts again from another state.
	let from_other = update_of(&router, round_one_from(&other)).await;
	assert_ne!(from_first["weights_digest"], from_other["weights_digest"]);

	// Either run answers for itself; the job reports the one started last.
	let (status, known) = json_call(&router, "POST", "/v1/jobs", round_one_from(&first)).await;
	assert_eq!((status, known["commitments"][0].clone()), (StatusCode::OK, from_first));
	let (_, latest) = json_call(&router, "GET", "/v1/jobs/8", Value::Null).await;
	assert_eq!(latest["commitments"][0], from_other);
}

#[tokio::test]
async fn a_shard_that_does_not_exist_or_holds_no_samples_is_refused() {
	let (_dir, router) = service();
	let refused = |round: Value| {
		let mut request = job(9, 10);
		request["round"] = round;
		let router = router.clone();
		async move {
			let (status, body) = json_call(&router, "POST", "/v1/jobs", request).await;
			(status, body["error"].clone())
		}
	};
	let invalid = (StatusCode::BAD_REQUEST, json!("invalid_round"));
	assert_eq!(refused(json!({ "round": 0, "shard": 4, "shards": 4 })).await, invalid);
	assert_eq!(refused(json!({ "round": 0, "shard": 0, "shards": 0 })).await, invalid);
	// Digits has 1 797 samples: shard 1 797 of 2 000 has none.
	assert_eq!(
		refused(json!({ "round": 0, "shard": 1797, "shards": 2000 })).await,
		(StatusCode::BAD_REQUEST, json!("empty_shard"))
	);
	let (status, _) = json_call(&router, "GET", "/v1/jobs/9", Value::Null).await;
	assert_eq!(status, StatusCode::NOT_FOUND, "a refused round is not kept");
}

/// The chain's side of a federated round: each participant's request, as its worker builds it,
/// trains its own shard from the round's start, and the aggregator's request averages the
/// updates by the samples they report.
#[tokio::test]
async fn the_chain_workers_rounds_train_their_shards_and_its_aggregate_request_averages_them() {
	use tessera_primitives::{trainer_api, BackendClass};

	let participant = |shard: u32| async move {
		let (dir, router) = service();
		let spec = chain_spec(&router).await;
		let mut request = trainer_api::JobRequest::new(23, &spec).unwrap().in_round(0, shard, 2);
		// The worker asks for the round's steps alone: one checkpoint.
		request.spec.hyper_parameters.steps = 10;
		let (status, _) =
			json_call(&router, "POST", "/v1/jobs", serde_json::to_value(&request).unwrap()).await;
		assert_eq!(status, StatusCode::ACCEPTED);
		let done: trainer_api::JobStatus =
			serde_json::from_value(finished(&router, 23).await).unwrap();
		assert_eq!(done.state, trainer_api::RunState::Done);
		(dir, router, spec, done.commitments[0].clone())
	};
	let (_dir, aggregator, spec, first) = participant(0).await;
	let (_other_dir, other, _, second) = participant(1).await;
	assert_ne!(first.weights_digest, second.weights_digest, "each trains its own shard");
	assert_eq!(participant(0).await.3, first, "a shard trains the same everywhere");
	// Ten steps of eight samples, drawn from the 32 samples of the shard.
	assert_eq!((first.samples, second.samples), (80, 80));

	// The aggregator has the other participant's update fetched first.
	let response =
		call(&other, "GET", &format!("/v1/blobs/{}", second.state_cid), Body::empty()).await;
	let update = response.into_body().collect().await.unwrap().to_bytes();
	put(&aggregator, update.to_vec()).await;
	let state = |commitment: &trainer_api::Commitment| {
		trainer_api::cid_from_string(&commitment.state_cid).unwrap()
	};
	let average = |updates: Vec<(&trainer_api::Commitment, u64)>| {
		let states: Vec<_> =
			updates.iter().map(|(update, samples)| (state(update), *samples)).collect();
		let request = trainer_api::AggregateRequest::new(
			&spec,
			&[],
			states.iter().map(|(state, samples)| (state.as_slice(), *samples)),
		)
		.unwrap();
		let aggregator = aggregator.clone();
		async move {
			let (status, body) = json_call(
				&aggregator,
				"POST",
				"/v1/aggregate",
				serde_json::to_value(&request).unwrap(),
			)
			.await;
			assert_eq!(status, StatusCode::OK, "{body}");
			serde_json::from_value::<trainer_api::Aggregate>(body).unwrap()
		}
	};
	let both = average(vec![(&first, first.samples), (&second, second.samples)]).await;
	assert_eq!(both.samples, 160);
	assert!(both.digest().is_ok() && trainer_api::cid_from_string(&both.state_cid).is_ok());
	// The average of one update is that update: its digest is the one the participant
	// committed.
	let alone = average(vec![(&first, first.samples)]).await;
	let committed = first.payload(23, 0, 0, BackendClass::CpuReference, None).unwrap();
	assert_eq!(alone.digest(), Ok(committed.weights_digest));
	assert_ne!(both.digest(), alone.digest());
}

/// A panel judging a challenged update: a validator's own trainer, asked with the request
/// the chain's worker builds (`VerifyRequest::on_shard`), trains the participant's shard of
/// the round again from the round's start and commits exactly the participant's update, for
/// the first round (from the job's start) and for a later one (from the round's start state).
#[tokio::test]
async fn a_panels_re_execution_of_a_participants_update_commits_that_update() {
	use tessera_primitives::{trainer_api, BackendClass, TrainedWeights};

	let (_dir, participant) = service();
	let spec = chain_spec(&participant).await;
	let train = |round: u32, start: Option<&trainer_api::Commitment>| {
		let mut request = trainer_api::JobRequest::new(31, &spec).unwrap().in_round(round, 1, 2);
		// The worker asks for the round's steps alone, resuming the round's start.
		request.spec.hyper_parameters.steps = 10 * (u64::from(round) + 1);
		if let Some(start) = start {
			request = request.resuming(&weights_of(start), 10 * u64::from(round));
		}
		let participant = participant.clone();
		async move {
			let request = serde_json::to_value(&request).unwrap();
			let (status, _) = json_call(&participant, "POST", "/v1/jobs", request).await;
			assert_eq!(status, StatusCode::ACCEPTED);
			let done: trainer_api::JobStatus =
				serde_json::from_value(finished(&participant, 31).await).unwrap();
			done.commitments.last().cloned().unwrap()
		}
	};
	let first = train(0, None).await;
	let second = train(1, Some(&first)).await;

	let (_panel_dir, panel) = service();
	assert_eq!(put(&panel, table(64)).await, spec.dataset, "the panel's trainer holds the data");
	let response =
		call(&participant, "GET", &format!("/v1/blobs/{}", first.state_cid), Body::empty()).await;
	let start = response.into_body().collect().await.unwrap().to_bytes();
	put(&panel, start.to_vec()).await;
	for (round, start, update) in [(0, None, &first), (1, Some(&first), &second)] {
		let start = start.map(weights_of);
		let from = 10 * u64::from(round);
		let request = trainer_api::VerifyRequest::new(31, &spec, start.as_ref(), from, from + 10)
			.unwrap()
			.on_shard(trainer_api::Round { round, shard: 1, shards: 2 });
		let (status, body) = verified(&panel, serde_json::to_value(&request).unwrap()).await;
		assert_eq!(status, StatusCode::OK, "{body}");
		let reexecution: trainer_api::Reexecution = serde_json::from_value(body).unwrap();
		assert_eq!(reexecution.commitments.last(), Some(update), "round {round}");
	}
	// On another shard, the same request commits another update.
	let elsewhere = trainer_api::VerifyRequest::new(31, &spec, None, 0, 10)
		.unwrap()
		.on_shard(trainer_api::Round { round: 0, shard: 0, shards: 2 });
	let (_, body) = verified(&panel, serde_json::to_value(&elsewhere).unwrap()).await;
	assert_ne!(body["commitments"][0]["weights_digest"], json!(first.weights_digest));

	fn weights_of(commitment: &trainer_api::Commitment) -> TrainedWeights {
		let payload = commitment.payload(31, 0, 0, BackendClass::CpuReference, None).unwrap();
		TrainedWeights { weights: payload.state_cid, digest: payload.weights_digest }
	}
}

/// A service whose store gives up on a peer within about a second and a half.
fn impatient_service() -> (tempfile::TempDir, Router) {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap().with_peer_timeouts(store::PeerTimeouts {
		connect: std::time::Duration::from_secs(1),
		response: std::time::Duration::from_millis(500),
		read: std::time::Duration::from_millis(500),
		total: std::time::Duration::from_millis(1500),
	});
	(dir, Service::new(store, Conduct::Honest).router())
}

/// A peer on a free port that treats every connection with `answer`, as a slow or broken
/// trainer would; its base URL.
fn raw_peer(answer: fn(std::net::TcpStream)) -> String {
	let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	let url = format!("http://{}", listener.local_addr().unwrap());
	std::thread::spawn(move || {
		for stream in listener.incoming().flatten() {
			std::thread::spawn(move || answer(stream));
		}
	});
	url
}

/// Asks the trainer behind `router` to fetch a blob from `peer`; the answer and how long it
/// took.
async fn fetch_from(router: &Router, peer: &str) -> (StatusCode, Value, std::time::Duration) {
	let started = std::time::Instant::now();
	let uri = format!("/v1/blobs/{}/fetch", store::cid_of(b"wanted"));
	let (status, body) = json_call(router, "POST", &uri, json!({ "peer": peer })).await;
	(status, body, started.elapsed())
}

#[tokio::test]
async fn a_silent_or_trickling_peer_is_given_up_on_in_time() {
	use std::{io::Write, thread::sleep, time::Duration};
	let (_dir, router) = impatient_service();
	let silent = raw_peer(|_stream| sleep(Duration::from_secs(5)));
	let trickling = raw_peer(|mut stream| {
		let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
		for _ in 0..50 {
			let _ = stream.write_all(b"x");
			sleep(Duration::from_millis(100));
		}
	});
	for peer in [silent, trickling] {
		let (status, body, took) = fetch_from(&router, &peer).await;
		assert_eq!(
			(status, body["error"].clone()),
			(StatusCode::BAD_GATEWAY, json!("peer_unreachable")),
			"{body}"
		);
		assert!(took < Duration::from_secs(3), "{took:?}");
	}
}

#[tokio::test]
async fn a_peers_connection_error_is_logged_not_echoed() {
	let (_dir, router) = impatient_service();
	// A port nobody listens on any more.
	let closed = {
		let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
		format!("http://{}", listener.local_addr().unwrap())
	};
	let (status, body, _) = fetch_from(&router, &closed).await;
	assert_eq!(
		(status, body["error"].clone()),
		(StatusCode::BAD_GATEWAY, json!("peer_unreachable")),
		"{body}"
	);
	let message = body["message"].as_str().unwrap().to_lowercase();
	assert!(!message.contains("refused") && !message.contains("os error"), "{message}");
}

#[tokio::test]
async fn a_peer_offering_more_than_the_blob_limit_is_refused_before_reading() {
	let (_dir, router) = impatient_service();
	let oversized = raw_peer(|mut stream| {
		let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", MAX_BLOB_BYTES + 1);
		let _ = std::io::Write::write_all(&mut stream, head.as_bytes());
		std::thread::sleep(std::time::Duration::from_secs(5));
	});
	let (status, body, took) = fetch_from(&router, &oversized).await;
	assert_eq!((status, body["error"].clone()), (StatusCode::BAD_GATEWAY, json!("fetch_failed")));
	assert!(body["message"].as_str().unwrap().contains(&MAX_BLOB_BYTES.to_string()), "{body}");
	assert!(took < std::time::Duration::from_millis(500), "{took:?}");
}

#[tokio::test]
async fn only_http_base_urls_are_fetched_from() {
	let (_dir, router) = impatient_service();
	let peers = [
		"file:///etc/passwd",
		"ftp://10.0.0.2/",
		"http://",
		"http:///v1",
		"10.0.0.2:7070",
		"http://10.0.0.2:7070/?then=",
	];
	for peer in peers {
		let (status, body, _) = fetch_from(&router, peer).await;
		assert_eq!(
			(status, body["error"].clone()),
			(StatusCode::BAD_REQUEST, json!("invalid_peer")),
			"{peer}: {body}"
		);
	}
}

/// `request` with other hyper-parameters.
fn with_hyper(mut request: Value, hyper: Value) -> Value {
	for (key, value) in hyper.as_object().unwrap() {
		request["hyper_parameters"][key] = value.clone();
	}
	request
}

/// `job` as a `/v1/verify` request for its steps `from..to`.
fn segment_of(mut job: Value, from: u64, to: u64) -> Value {
	let request = job.as_object_mut().unwrap();
	request.remove("job");
	request.insert("from_step".into(), json!(from));
	request.insert("to_step".into(), json!(to));
	Value::Object(request.clone())
}

#[tokio::test]
async fn a_checkpoint_interval_of_u64_max_commits_once_at_the_end_even_from_a_resume() {
	let (_dir, router) = service();
	let reference = {
		let (status, _) = json_call(&router, "POST", "/v1/jobs", job(60, 20)).await;
		assert_eq!(status, StatusCode::ACCEPTED);
		finished(&router, 60).await["commitments"].clone()
	};
	let once = json!({ "checkpoint_every": u64::MAX });
	let (status, _) =
		json_call(&router, "POST", "/v1/jobs", with_hyper(job(61, 20), once.clone())).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let whole = finished(&router, 61).await;
	assert_eq!(
		(whole["state"].clone(), whole["commitments"][0]["step"].clone()),
		(json!("done"), json!(20))
	);
	assert_eq!(whole["commitments"].as_array().unwrap().len(), 1);

	let state = json!({
		"state_cid": reference[0]["state_cid"], "weights_digest": reference[0]["weights_digest"]
	});
	let mut takeover = with_hyper(job(62, 20), once.clone());
	takeover["resume"] = json!({
		"state_cid": state["state_cid"], "weights_digest": state["weights_digest"], "step": 10
	});
	let (status, _) = json_call(&router, "POST", "/v1/jobs", takeover).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let resumed = finished(&router, 62).await;
	assert_eq!(resumed["commitments"], json!([reference[1]]), "{resumed}");

	let mut segment = segment_of(with_hyper(job(0, 20), once), 10, 20);
	segment["start_state"] = state;
	let (status, body) = verified(&router, segment).await;
	assert_eq!((status, body["commitments"].clone()), (StatusCode::OK, json!([reference[1]])));
}

/// Asks for `request` at `uri`, which must be refused as above the bound named `bound`.
async fn refused_over(router: &Router, uri: &str, request: Value, bound: &str) {
	let (status, body) = json_call(router, "POST", uri, request).await;
	assert_eq!(
		(status, body["error"].clone()),
		(StatusCode::UNPROCESSABLE_ENTITY, json!("over_limit")),
		"{body}"
	);
	assert!(body["message"].as_str().unwrap().contains(bound), "{body}");
}

#[tokio::test]
async fn absurd_step_counts_are_refused_with_the_bound_they_exceed() {
	let (_dir, router) = service();
	let endless = with_hyper(job(70, 20), json!({ "steps": u64::MAX }));
	refused_over(&router, "/v1/jobs", endless.clone(), "MAX_STEPS").await;
	refused_over(&router, "/v1/verify", segment_of(endless, 0, u64::MAX), "MAX_STEPS").await;
	let every_step = with_hyper(job(71, 100_000), json!({ "checkpoint_every": 1 }));
	refused_over(&router, "/v1/jobs", every_step, "MAX_CHECKPOINTS").await;
	for refused in [70, 71] {
		let (status, _) =
			json_call(&router, "GET", &format!("/v1/jobs/{refused}"), Value::Null).await;
		assert_eq!(status, StatusCode::NOT_FOUND, "a refused job is not kept");
	}
}

#[tokio::test]
async fn a_long_text_context_is_refused_before_its_windows_are_built() {
	let (_dir, router) = service();
	let text_job = |context: usize| {
		let mut request = job(72, 10);
		request["architecture"] =
			json!({ "kind": "char-transformer", "context": context, "width": 16, "layers": 1 });
		request["dataset"] = json!({ "texts": ["ab".repeat(10_000)] });
		request
	};
	// 18 000 windows of 2 048 bytes: 37 million values, some 300 MB, from a 20 kB request.
	refused_over(&router, "/v1/jobs", text_job(2048), "MAX_DATASET_VALUES").await;
	let (status, body) = json_call(&router, "POST", "/v1/jobs", text_job(usize::MAX)).await;
	assert_eq!(
		(status, body["error"].clone()),
		(StatusCode::UNPROCESSABLE_ENTITY, json!("bad_dataset"))
	);
}

#[tokio::test]
async fn a_step_whose_activations_exceed_the_bound_is_refused() {
	let (_dir, router) = service();
	// Few parameters, but 32 768 channels over the 64 pixels of 64 digits: 134 million values
	// in the first convolution's outputs.
	let mut wide = with_hyper(job(73, 10), json!({ "batch_size": 64 }));
	wide["architecture"] = json!({ "kind": "cnn", "channels": [32768, 1] });
	refused_over(&router, "/v1/jobs", wide, "MAX_ACTIVATIONS").await;
}

/// A service whose pools have these sizes, answering re-executions at once.
fn bounded_service(bounds: Bounds) -> (tempfile::TempDir, Router) {
	let dir = tempfile::tempdir().unwrap();
	let service = Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest)
		.with_bounds(bounds)
		.answering_at_once();
	(dir, service.router())
}

/// A job that trains until it is cancelled (a million steps of a small MLP).
fn endless_job(id: u64) -> Value {
	with_hyper(job(id, 1_000_000), json!({ "checkpoint_every": 100_000 }))
}

/// Cancels job `id`; what `DELETE` answered.
async fn cancel(router: &Router, id: u64) -> (StatusCode, Value) {
	json_call(router, "DELETE", &format!("/v1/jobs/{id}"), Value::Null).await
}

#[tokio::test]
async fn a_full_job_queue_answers_503_with_retry_after_before_loading_anything() {
	let one_and_one = PoolSize { running: 1, waiting: 1 };
	let (_dir, router) = bounded_service(Bounds { jobs: one_and_one, ..Bounds::DEFAULT });
	for id in [1, 2] {
		let (status, _) = json_call(&router, "POST", "/v1/jobs", endless_job(id)).await;
		assert_eq!(status, StatusCode::ACCEPTED);
	}
	// Its dataset is missing, but the queue is full before that is looked at.
	let mut third = endless_job(3);
	third["dataset"] = json!({ "cid": store::cid_of(b"nobody has this").to_string() });
	let response = call(&router, "POST", "/v1/jobs", Body::from(third.to_string())).await;
	assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
	assert_eq!(response.headers()["retry-after"], "30");
	assert_eq!(error_of(response).await, "queue_full");
	// A job already in the table is still answered.
	let (status, body) = json_call(&router, "POST", "/v1/jobs", endless_job(2)).await;
	assert_eq!((status, body["state"].clone()), (StatusCode::OK, json!("running")));
	for id in [1, 2] {
		assert_eq!(cancel(&router, id).await.0, StatusCode::OK);
	}
}

#[tokio::test]
async fn a_flood_of_jobs_cannot_starve_a_panels_reexecution() {
	let jobs = PoolSize { running: 1, waiting: 3 };
	let (_dir, router) = bounded_service(Bounds { jobs, ..Bounds::DEFAULT });
	for id in 1..=4 {
		let (status, _) = json_call(&router, "POST", "/v1/jobs", endless_job(id)).await;
		assert_eq!(status, StatusCode::ACCEPTED);
	}
	let (status, _) = json_call(&router, "POST", "/v1/jobs", endless_job(5)).await;
	assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

	// Every job slot is taken and the queue is full, and the panel's segment still runs.
	let started = std::time::Instant::now();
	let (status, body) = verified(&router, segment_of(job(9, 20), 0, 10)).await;
	assert_eq!(status, StatusCode::OK, "{body}");
	assert_eq!(body["commitments"].as_array().unwrap().len(), 1);
	assert!(started.elapsed() < std::time::Duration::from_secs(10));
	for id in 1..=4 {
		assert_eq!(cancel(&router, id).await.0, StatusCode::OK);
	}
}

#[tokio::test]
async fn a_running_job_is_cancelled_and_a_finished_one_evicted() {
	let one = PoolSize { running: 1, waiting: 0 };
	let (_dir, router) = bounded_service(Bounds { jobs: one, ..Bounds::DEFAULT });
	let (status, _) = json_call(&router, "POST", "/v1/jobs", endless_job(1)).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let (status, _) = json_call(&router, "POST", "/v1/jobs", job(2, 20)).await;
	assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "the one slot is taken");

	let (status, body) = cancel(&router, 1).await;
	assert_eq!((status, body), (StatusCode::OK, json!({ "job": 1, "cancelled": 1, "evicted": 0 })));
	let (status, body) = json_call(&router, "GET", "/v1/jobs/1", Value::Null).await;
	assert_eq!((status, body["error"].clone()), (StatusCode::NOT_FOUND, json!("unknown_job")));

	// The cancelled run stops before its next step and gives its slot to the next job.
	let waiting_since = std::time::Instant::now();
	loop {
		let (status, _) = json_call(&router, "POST", "/v1/jobs", job(2, 20)).await;
		if status == StatusCode::ACCEPTED {
			break;
		}
		assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
		assert!(
			waiting_since.elapsed() < std::time::Duration::from_secs(5),
			"the slot stays taken"
		);
		tokio::time::sleep(std::time::Duration::from_millis(20)).await;
	}
	assert_eq!(finished(&router, 2).await["state"], "done");
	let (status, body) = cancel(&router, 2).await;
	assert_eq!((status, body), (StatusCode::OK, json!({ "job": 2, "cancelled": 0, "evicted": 1 })));
	let (status, _) = json_call(&router, "GET", "/v1/jobs/2", Value::Null).await;
	assert_eq!(status, StatusCode::NOT_FOUND);
	let (status, body) = cancel(&router, 2).await;
	assert_eq!((status, body["error"].clone()), (StatusCode::NOT_FOUND, json!("unknown_job")));

	// Asked for again, the job trains anew.
	let (status, _) = json_call(&router, "POST", "/v1/jobs", job(2, 20)).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	assert_eq!(finished(&router, 2).await["state"], "done");
}

#[tokio::test]
async fn full_duty_and_fetch_queues_refuse_with_retry_after() {
	let none = PoolSize { running: 0, waiting: 0 };
	let (_dir, router) = bounded_service(Bounds { duties: none, fetches: none, ..Bounds::DEFAULT });
	let refusals = [
		("/v1/verify".to_owned(), segment_of(job(9, 20), 0, 10)),
		(
			"/v1/aggregate".to_owned(),
			json!({
				"architecture": { "kind": "mlp", "hidden": [16] },
				"dataset": { "builtin": "digits" },
				"updates": [{ "state_cid": store::cid_of(b"an update").to_string(), "samples": 1 }]
			}),
		),
		(
			format!("/v1/blobs/{}/fetch", store::cid_of(b"wanted")),
			json!({ "peer": "http://127.0.0.1:9" }),
		),
	];
	for (uri, request) in refusals {
		let response = call(&router, "POST", &uri, Body::from(request.to_string())).await;
		assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{uri}");
		assert_eq!(response.headers()["retry-after"], "5", "{uri}");
		assert_eq!(error_of(response).await, "queue_full", "{uri}");
	}
}

/// Serves the public listener of a fresh service on a free port within `bounds`; its address.
async fn guarded_public(bounds: connections::Connections) -> (tempfile::TempDir, String) {
	let dir = tempfile::tempdir().unwrap();
	let public = service_of(&dir).public(PublicLimits::DEFAULT);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let address = listener.local_addr().unwrap().to_string();
	let listener = connections::Guarded::new(listener, bounds);
	let server = public.into_make_service_with_connect_info::<connections::Client>();
	tokio::spawn(async move { axum::serve(listener, server).await });
	(dir, address)
}

/// Reads from `stream` until the server closes it or `within` passes; whether it closed.
fn closed_within(stream: &mut std::net::TcpStream, within: std::time::Duration) -> bool {
	use std::io::Read;
	stream.set_read_timeout(Some(within)).unwrap();
	let mut buffer = [0; 1024];
	loop {
		match stream.read(&mut buffer) {
			Ok(0) => return true,
			Ok(_) => continue,
			Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return true,
			Err(_) => return false,
		}
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_trickling_connections_to_the_public_listener_are_closed() {
	let bounds = connections::Connections {
		most: 8,
		per_client: 8,
		idle: std::time::Duration::from_millis(300),
		lifetime: std::time::Duration::from_secs(1),
	};
	let (_dir, address) = guarded_public(bounds).await;
	tokio::task::spawn_blocking(move || {
		use std::io::Write;
		// Silent: closed once idle.
		let mut silent = std::net::TcpStream::connect(&address).unwrap();
		let started = std::time::Instant::now();
		assert!(closed_within(&mut silent, std::time::Duration::from_secs(3)));
		assert!(started.elapsed() < std::time::Duration::from_secs(2));
		// Trickling a request a byte at a time, never idle: closed at the end of its life.
		let mut trickling = std::net::TcpStream::connect(&address).unwrap();
		let started = std::time::Instant::now();
		for byte in b"GET /v1/blobs/x HTTP/1.1\r\nHost: a\r\nX-Slow: ".iter().cycle() {
			if trickling.write_all(&[*byte]).is_err() || started.elapsed().as_secs() >= 3 {
				break;
			}
			std::thread::sleep(std::time::Duration::from_millis(100));
		}
		assert!(started.elapsed() < std::time::Duration::from_secs(3), "still open at 3 s");
	})
	.await
	.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_bound_are_closed_and_the_others_served() {
	let bounds =
		connections::Connections { most: 2, per_client: 2, ..connections::Connections::PUBLIC };
	let (_dir, address) = guarded_public(bounds).await;
	tokio::task::spawn_blocking(move || {
		use std::io::{Read, Write};
		let mut held: Vec<_> =
			(0..2).map(|_| std::net::TcpStream::connect(&address).unwrap()).collect();
		let mut third = std::net::TcpStream::connect(&address).unwrap();
		assert!(closed_within(&mut third, std::time::Duration::from_secs(2)));
		// Those held open are served.
		held[0].write_all(b"GET /v1/blobs/not-a-cid HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
		let mut answer = [0; 12];
		held[0].read_exact(&mut answer).unwrap();
		assert_eq!(&answer, b"HTTP/1.1 400");
		drop(held);
		// Closing them makes room.
		std::thread::sleep(std::time::Duration::from_millis(200));
		let mut later = std::net::TcpStream::connect(&address).unwrap();
		later.write_all(b"GET /v1/blobs/not-a-cid HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
		later.read_exact(&mut answer).unwrap();
		assert_eq!(&answer, b"HTTP/1.1 400");
	})
	.await
	.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_holding_its_connections_leaves_room_for_others() {
	let bounds =
		connections::Connections { most: 4, per_client: 2, ..connections::Connections::PUBLIC };
	let (_dir, address) = guarded_public(bounds).await;
	let held: Vec<_> = (0..3).map(|_| std::net::TcpStream::connect(&address).unwrap()).collect();
	// Another address (127.0.0.2, loopback too) connects meanwhile.
	let socket = tokio::net::TcpSocket::new_v4().unwrap();
	socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
	let other = socket.connect(address.parse().unwrap()).await.unwrap().into_std().unwrap();
	other.set_nonblocking(false).unwrap();
	tokio::task::spawn_blocking(move || {
		use std::io::{Read, Write};
		let [_first, _second, mut third] = <[_; 3]>::try_from(held).unwrap();
		assert!(closed_within(&mut third, std::time::Duration::from_secs(2)));
		let mut other = other;
		other.write_all(b"GET /v1/blobs/not-a-cid HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
		let mut answer = [0; 12];
		other.read_exact(&mut answer).unwrap();
		assert_eq!(&answer, b"HTTP/1.1 400");
	})
	.await
	.unwrap();
}

#[tokio::test]
async fn a_job_cancelled_while_it_waits_gives_its_place_up_at_once() {
	let one_and_one = PoolSize { running: 1, waiting: 1 };
	let (_dir, router) = bounded_service(Bounds { jobs: one_and_one, ..Bounds::DEFAULT });
	for id in [1, 2] {
		let (status, _) = json_call(&router, "POST", "/v1/jobs", endless_job(id)).await;
		assert_eq!(status, StatusCode::ACCEPTED);
	}
	let (status, body) = cancel(&router, 2).await;
	assert_eq!((status, body["cancelled"].clone()), (StatusCode::OK, json!(1)));
	// Job 1 still trains, and job 2's place in the queue is free well before it ends.
	let waiting_since = std::time::Instant::now();
	loop {
		let (status, _) = json_call(&router, "POST", "/v1/jobs", endless_job(3)).await;
		if status == StatusCode::ACCEPTED {
			break;
		}
		assert!(
			waiting_since.elapsed() < std::time::Duration::from_secs(2),
			"the place stays taken"
		);
		tokio::time::sleep(std::time::Duration::from_millis(20)).await;
	}
	let (_, running) = json_call(&router, "GET", "/v1/jobs/1", Value::Null).await;
	assert_eq!(running["state"], "running");
	for id in [1, 3] {
		assert_eq!(cancel(&router, id).await.0, StatusCode::OK);
	}
}

/// A service whose jobs and duties share `budget`, answering re-executions at once.
fn budgeted_service(budget: MemoryBudget) -> (tempfile::TempDir, Router) {
	let dir = tempfile::tempdir().unwrap();
	let service = Service::new(ContentStore::open(dir.path()).unwrap(), Conduct::Honest)
		.with_memory(budget)
		.answering_at_once();
	(dir, service.router())
}

/// The bytes the run `request` asks for (a job, or a segment to re-execute) reserves.
fn footprint_of(request: &Value) -> u64 {
	let spec: tessera_primitives::trainer_api::TrainingSpec =
		serde_json::from_value(request.clone()).unwrap();
	let spec = TrainingSpec::try_from(spec).unwrap();
	let dir = tempfile::tempdir().unwrap();
	let dataset = training_data(&spec, &ContentStore::open(dir.path()).unwrap()).unwrap();
	footprint(&spec, &dataset).unwrap()
}

#[tokio::test]
async fn a_job_beyond_the_memory_left_is_refused_while_a_panels_reexecution_still_fits() {
	let segment = segment_of(job(9, 20), 0, 10);
	let (job_bytes, duty_bytes) = (footprint_of(&endless_job(1)), footprint_of(&segment));
	// Room for one such job, and for the duty in the reserve alone.
	let budget = MemoryBudget { total: job_bytes + duty_bytes, for_duties: duty_bytes };
	let (_dir, router) = budgeted_service(budget);
	let (status, _) = json_call(&router, "POST", "/v1/jobs", endless_job(1)).await;
	assert_eq!(status, StatusCode::ACCEPTED);

	let second = call(&router, "POST", "/v1/jobs", Body::from(endless_job(2).to_string())).await;
	assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
	assert_eq!(second.headers()["retry-after"], "30");
	assert_eq!(error_of(second).await, "memory_full");
	let (status, _) = json_call(&router, "GET", "/v1/jobs/2", Value::Null).await;
	assert_eq!(status, StatusCode::NOT_FOUND, "a refused job is not kept");

	let (status, body) = verified(&router, segment).await;
	assert_eq!(status, StatusCode::OK, "{body}");
	assert_eq!(body["commitments"].as_array().unwrap().len(), 1);
	assert_eq!(cancel(&router, 1).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_finished_job_gives_its_memory_back_before_it_reports_done() {
	let bytes = footprint_of(&job(1, 20));
	// Room for one such job at a time.
	let (_dir, router) = budgeted_service(MemoryBudget { total: bytes + 1, for_duties: 1 });
	for id in [1, 2] {
		let (status, body) = json_call(&router, "POST", "/v1/jobs", job(id, 20)).await;
		assert_eq!(status, StatusCode::ACCEPTED, "{body}");
		assert_eq!(finished(&router, id).await["state"], "done");
	}
}

#[tokio::test]
async fn work_larger_than_the_memory_budget_allows_is_refused_as_over_the_bound() {
	let (_dir, router) = budgeted_service(MemoryBudget::new(64 << 10));
	refused_over(&router, "/v1/jobs", job(1, 20), "--memory-budget-mib").await;
	refused_over(&router, "/v1/verify", segment_of(job(9, 20), 0, 10), "--memory-budget-mib").await;
	let (status, _) = json_call(&router, "GET", "/v1/jobs/1", Value::Null).await;
	assert_eq!(status, StatusCode::NOT_FOUND, "a refused job is not kept");
}

#[tokio::test]
async fn a_report_is_paged_on_request_and_whole_without_a_query() {
	let (_dir, router) = service();
	// 300 commitments, one a step: more than a page holds.
	let request = with_hyper(job(80, 300), json!({ "checkpoint_every": 1 }));
	let (status, _) = json_call(&router, "POST", "/v1/jobs", request).await;
	assert_eq!(status, StatusCode::ACCEPTED);
	let whole = finished(&router, 80).await;
	let all = whole["commitments"].as_array().unwrap();
	assert_eq!((all.len(), whole.get("page")), (300, None), "the worker's report is unchanged");

	let page = |query: &str| {
		let router = router.clone();
		let uri = format!("/v1/jobs/80?{query}");
		async move { json_call(&router, "GET", &uri, Value::Null).await }
	};
	let (status, body) = page("from=1&limit=2").await;
	assert_eq!(status, StatusCode::OK);
	assert_eq!(body["commitments"], json!(all[1..3]));
	assert_eq!(body["page"], json!({ "from": 1, "total": 300, "next": 3 }));
	assert_eq!((body["state"].clone(), body["step"].clone()), (json!("done"), json!(300)));

	let (_, body) = page("from=0").await;
	assert_eq!(body["commitments"], json!(all[..MAX_PAGE]), "at most a page");
	assert_eq!(body["page"]["next"], json!(MAX_PAGE));
	let (_, body) = page("from=290&limit=1000").await;
	assert_eq!(body["commitments"], json!(all[290..]));
	assert_eq!(body["page"], json!({ "from": 290, "total": 300, "next": null }));
	let (_, body) = page("from=400").await;
	assert_eq!(
		(body["commitments"].clone(), body["page"]["next"].clone()),
		(json!([]), Value::Null)
	);

	let (status, body) = page("limit=many").await;
	assert_eq!((status, body["error"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_query")));
}
