//! Lambda entry point: wiring only; the handler lives in lib.rs.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    evently_http::serve(waitlist_mine::handler).await
}
