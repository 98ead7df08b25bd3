//! The local runtime: everything `scripts/dev` runs besides the AWS endpoint.
//!
//! * `template` reads template.yaml, the one source of truth for routes and
//!   resources;
//! * `provision` creates the template's resources in the local endpoint;
//! * `gateway` serves every route in-process on 127.0.0.1, as API Gateway
//!   would call the Lambda functions;
//! * `seed` loads the demo data of API.md.
//!
//! Event sources (stream, SQS, schedule, TTL, mailbox) join `gateway` as
//! background pollers with the waitlist issue.

pub mod functions;
pub mod gateway;
pub mod provision;
pub mod seed;
pub mod template;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use evently_http::App;
use futures::FutureExt;

/// Starts the gateway for `template`'s routes on `addr` (port 0 picks one),
/// with `/_dev/health`. Returns the bound address and the serving task.
pub async fn start_gateway(
    app: &'static App,
    template: &template::Template,
    addr: SocketAddr,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), Box<dyn std::error::Error + Send + Sync>> {
    let router = gateway::Router::new(&template.routes, &functions::http_handlers())?;
    let mut dev: HashMap<String, gateway::DevRoute> = HashMap::new();
    let routes = template.routes.len();
    dev.insert(
        "/_dev/health".into(),
        Arc::new(move |app: &'static App| async move { health(app, routes).await }.boxed()),
    );
    let listener = gateway::bind(addr).await?;
    let bound = listener.local_addr()?;
    let gw = Arc::new(gateway::Gateway { app, router, dev });
    Ok((bound, tokio::spawn(gateway::serve(listener, gw))))
}

async fn health(
    app: &'static App,
    routes: usize,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    let table = app.store.table().to_owned();
    let ready = app
        .store
        .client()
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .is_ok();
    let body = serde_json::json!({
        "status": if ready { "ok" } else { "unavailable" },
        "table": table,
        "routes": routes,
    });
    let mut resp = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(
        body.to_string(),
    )));
    *resp.status_mut() = if ready {
        hyper::StatusCode::OK
    } else {
        hyper::StatusCode::SERVICE_UNAVAILABLE
    };
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}
