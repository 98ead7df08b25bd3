//! Register, login and me over HTTP, with every way the input can be wrong.

use evently_tests::{Stack, DEMO_PASSWORD, TEST_JWT_SECRET};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

const REGISTER: &str = "/api/v1/auth/register";
const LOGIN: &str = "/api/v1/auth/login";
const ME: &str = "/api/v1/auth/me";

fn person(email: &str) -> Value {
    json!({"email": email, "password": "correct horse battery", "name": "Grace Hopper"})
}

#[tokio::test]
async fn a_new_customer_registers_then_logs_in_and_sees_themselves() {
    let stack = Stack::start(None).await;
    let (status, body) = stack.post(REGISTER, &person("Grace@Example.com")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user"]["email"], "grace@example.com");
    assert_eq!(body["user"]["role"], "customer");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let registered_token = body["access_token"].as_str().expect("token");

    let (status, me) = stack.get(ME, Some(registered_token)).await;
    assert_eq!(status, 200);
    assert_eq!(me["user"], body["user"]);

    let token = stack
        .login("GRACE@example.com", "correct horse battery")
        .await;
    let (status, me) = stack.get(ME, Some(&token)).await;
    assert_eq!((status, &me["user"]["name"]), (200, &json!("Grace Hopper")));
    assert!(
        me["user"].get("password_hash").is_none(),
        "never leak the hash: {me}"
    );
}

#[tokio::test]
async fn an_email_can_be_registered_once_whatever_its_case_even_concurrently() {
    let stack = Stack::start(None).await;
    let attempts = (0..8).map(|i| {
        let email = if i % 2 == 0 {
            "twin@example.com"
        } else {
            "TWIN@example.com"
        };
        let stack = &stack;
        async move { stack.post(REGISTER, &person(email)).await.0 }
    });
    let mut statuses = futures::future::join_all(attempts).await;
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn bad_registrations_are_refused_and_write_nothing() {
    let stack = Stack::start(None).await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"email": "nobody", "password": "correct horse battery", "name": "N"}),
            422,
            "email",
        ),
        (
            json!({"email": "a@b.co", "password": "short", "name": "N"}),
            422,
            "password",
        ),
        (
            json!({"email": "a@b.co", "password": "aaaaaaaaaaaa", "name": "N"}),
            422,
            "password",
        ),
        (
            json!({"email": "a@b.co", "password": "correct horse battery", "name": "  "}),
            422,
            "name",
        ),
        (
            json!({"email": "a@b.co", "password": "correct horse battery"}),
            422,
            "body",
        ),
        (
            json!({"email": 7, "password": "correct horse battery", "name": "N"}),
            422,
            "body",
        ),
        (
            json!({"email": "a@b.co", "password": "correct horse battery", "name": "N", "role": "admin"}),
            422,
            "body",
        ),
        (json!(["a@b.co"]), 422, "body"),
    ];
    for (body, want, field) in cases {
        let (status, problem) = stack.post(REGISTER, &body).await;
        assert_eq!(status, want, "{body} → {problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    for (raw, want) in [("{\"email\": ", 400), ("", 400), ("not json", 400)] {
        assert_eq!(
            stack.post_raw(REGISTER, raw.to_owned()).await.0,
            want,
            "{raw:?}"
        );
    }
    let huge = json!({"email": "big@b.co", "password": "correct horse battery", "name": "x".repeat(70_000)});
    assert_eq!(stack.post(REGISTER, &huge).await.0, 413);

    // Nothing was created: none of these addresses can log in or be taken.
    for email in ["a@b.co", "big@b.co"] {
        let (status, _) = stack
            .post(
                LOGIN,
                &json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(status, 401);
        assert_eq!(stack.post(REGISTER, &person(email)).await.0, 201);
    }
}

#[tokio::test]
async fn login_gives_one_answer_for_unknown_email_and_wrong_password() {
    let stack = Stack::start(None).await;
    assert_eq!(
        stack.post(REGISTER, &person("known@example.com")).await.0,
        201
    );
    let wrong_pw = stack
        .post(
            LOGIN,
            &json!({"email": "known@example.com", "password": "not the password"}),
        )
        .await;
    let unknown = stack
        .post(
            LOGIN,
            &json!({"email": "unknown@example.com", "password": "not the password"}),
        )
        .await;
    let malformed_email = stack
        .post(LOGIN, &json!({"email": "nope", "password": "x"}))
        .await;
    assert_eq!(wrong_pw.0, 401);
    assert_eq!(wrong_pw, unknown);
    assert_eq!(wrong_pw, malformed_email);
    assert_eq!(
        stack
            .post(LOGIN, &json!({"email": "known@example.com"}))
            .await
            .0,
        422
    );
}

fn token(claims: Value, secret: &str) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

#[tokio::test]
async fn me_refuses_missing_forged_expired_and_unsigned_tokens() {
    let stack = Stack::start(Some(evently_local::seed::SeedSize::Small)).await;
    let good = stack.login("user1@example.com", DEMO_PASSWORD).await;
    assert_eq!(stack.get(ME, Some(&good)).await.0, 200);

    let now = chrono::Utc::now().timestamp();
    let (_, me) = stack.get(ME, Some(&good)).await;
    let sub = me["user"]["id"].as_str().expect("id");
    let claims = |iat: i64, exp: i64, iss: &str, aud: &str| json!({"sub": sub, "role": "customer", "iat": iat, "exp": exp, "iss": iss, "aud": aud});
    let expired = token(
        claims(now - 7200, now - 3600, "evently", "evently-api"),
        TEST_JWT_SECRET,
    );
    let other_key = token(
        claims(now, now + 600, "evently", "evently-api"),
        "some-other-key-that-is-long-enough!!",
    );
    let wrong_aud = token(
        claims(now, now + 600, "evently", "someone-else"),
        TEST_JWT_SECRET,
    );
    let wrong_iss = token(
        claims(now, now + 600, "mallory", "evently-api"),
        TEST_JWT_SECRET,
    );
    // alg "none": header and claims with an empty signature.
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(claims(now, now + 600, "evently", "evently-api"))
    );
    for bad in [
        expired.as_str(),
        &other_key,
        &wrong_aud,
        &wrong_iss,
        &unsigned,
        "garbage",
        "",
    ] {
        let (status, problem) = stack.get(ME, Some(bad)).await;
        assert_eq!(status, 401, "{bad}: {problem}");
    }
    let (status, problem) = stack.get(ME, Some(&expired)).await;
    assert_eq!(status, 401);
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("expired"),
        "{problem}"
    );

    assert_eq!(stack.get(ME, None).await.0, 401);
    let basic = stack
        .http
        .get(stack.url(ME))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .expect("send");
    assert_eq!(basic.status().as_u16(), 401);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_and_per_address() {
    let stack = Stack::start_with(
        None,
        evently_http::Config {
            login_failures_per_account: 3,
            login_failures_per_ip: 5,
            ..Default::default()
        },
    )
    .await;
    for email in ["kim@example.com", "lee@example.com", "max@example.com"] {
        assert_eq!(stack.post(REGISTER, &person(email)).await.0, 201);
    }
    let login = |email: &str, pw: &str| json!({"email": email, "password": pw});
    for _ in 0..3 {
        assert_eq!(
            stack
                .post(LOGIN, &login("kim@example.com", "wrong password"))
                .await
                .0,
            401
        );
    }
    // Kim's account is locked for the window, even with the right password.
    let (status, problem) = stack
        .post(LOGIN, &login("kim@example.com", "correct horse battery"))
        .await;
    assert_eq!(status, 429, "{problem}");
    let wait = problem["retry_after"].as_u64().expect("retry_after");
    assert!((1..=900).contains(&wait), "{wait}");
    // Lee is not, until the address itself has failed five times.
    assert_eq!(
        stack
            .post(LOGIN, &login("lee@example.com", "correct horse battery"))
            .await
            .0,
        200
    );
    for _ in 0..2 {
        assert_eq!(
            stack
                .post(LOGIN, &login("lee@example.com", "wrong password"))
                .await
                .0,
            401
        );
    }
    assert_eq!(
        stack
            .post(LOGIN, &login("max@example.com", "correct horse battery"))
            .await
            .0,
        429
    );
    // The window ends: everyone may try again.
    stack.clock.advance(chrono::Duration::seconds(901));
    assert_eq!(
        stack
            .post(LOGIN, &login("kim@example.com", "correct horse battery"))
            .await
            .0,
        200
    );
    assert_eq!(
        stack
            .post(LOGIN, &login("max@example.com", "correct horse battery"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn behind_cloudfront_failed_logins_count_per_viewer_and_only_with_the_edge_secret() {
    // As deployed behind the web app's distribution: every request comes
    // from an edge, which names the viewer's address next to the edge
    // secret (template.yaml: ApiViewerAddress, the api origin's header).
    const KEY: &str = "edge-secret-for-this-test";
    let stack = Stack::start_opts(evently_tests::Options {
        config: evently_http::Config {
            login_failures_per_account: 100,
            login_failures_per_ip: 3,
            ..Default::default()
        },
        edge_key: Some(KEY.into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        stack.post(REGISTER, &person("ana@example.com")).await.0,
        201
    );
    let login = |edge: Option<(&str, &str)>, email: &str, pw: &str| {
        let mut req = stack
            .http
            .post(stack.url(LOGIN))
            .json(&json!({"email": email, "password": pw}));
        if let Some((key, viewer)) = edge {
            req = req
                .header("x-evently-edge", key)
                .header("x-evently-viewer-ip", viewer);
        }
        async move { req.send().await.expect("send").status().as_u16() }
    };
    let right = "correct horse battery";
    // Viewer A fails three times (each a different address: only the
    // per-address limit counts) and is held off, even with the password.
    for i in 0..3 {
        let who = format!("nobody{i}@example.com");
        assert_eq!(login(Some((KEY, "198.51.100.1")), &who, "wrong").await, 401);
    }
    assert_eq!(
        login(Some((KEY, "198.51.100.1")), "ana@example.com", right).await,
        429
    );
    // Another viewer at the same edge is not, nor is the edge's own address.
    assert_eq!(
        login(Some((KEY, "2001:db8::7")), "ana@example.com", right).await,
        200
    );
    assert_eq!(login(None, "ana@example.com", right).await, 200);
    // Without the secret, a named address is not believed: these failures
    // count against the connection's own address, not the one claimed.
    for i in 0..3 {
        let who = format!("someone{i}@example.com");
        assert_eq!(
            login(Some(("guess", "203.0.113.9")), &who, "wrong").await,
            401
        );
    }
    assert_eq!(login(None, "ana@example.com", right).await, 429);
    assert_eq!(
        login(Some(("guess", "203.0.113.10")), "ana@example.com", right).await,
        429
    );
    assert_eq!(
        login(Some((KEY, "203.0.113.9")), "ana@example.com", right).await,
        200
    );
    // A malformed address next to the secret is not an address either.
    assert_eq!(
        login(Some((KEY, "not-an-address")), "ana@example.com", right).await,
        429
    );
}

#[tokio::test]
async fn probing_registrations_are_throttled_per_address() {
    let stack = Stack::start_with(
        None,
        evently_http::Config {
            register_failures_per_ip: 3,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        stack.post(REGISTER, &person("taken@example.com")).await.0,
        201
    );
    for _ in 0..3 {
        assert_eq!(
            stack.post(REGISTER, &person("taken@example.com")).await.0,
            409
        );
    }
    let (status, problem) = stack.post(REGISTER, &person("fresh@example.com")).await;
    assert_eq!(status, 429, "{problem}");
    stack.clock.advance(chrono::Duration::seconds(901));
    assert_eq!(
        stack.post(REGISTER, &person("fresh@example.com")).await.0,
        201
    );
}

#[tokio::test]
async fn a_registration_key_keeps_no_password_hash_or_token_and_replays_with_a_fresh_token() {
    let stack = Stack::start(None).await;
    let body = person("kept@example.com");
    let send = |body: Value, key: &'static str| {
        let req = stack
            .http
            .post(stack.url(REGISTER))
            .header("idempotency-key", key)
            .json(&body);
        async move { evently_tests::answer(req.send().await.expect("send")).await }
    };
    let (status, first) = send(body.clone(), "reg-1").await;
    assert_eq!(status, 201, "{first}");
    let token = first["access_token"].as_str().expect("token").to_owned();
    // What the table keeps under the key.
    let store = &stack.app.store;
    let item = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S("IDEMPOTENCY#register#reg-1".into()),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("IDEMPOTENCY".into()),
        )
        .send()
        .await
        .expect("read")
        .item
        .expect("record");
    let kept = format!("{item:?}");
    assert!(!kept.contains(&token), "a live token is kept: {kept}");
    assert!(!kept.contains("access_token"), "{kept}");
    assert!(!kept.contains("correct horse battery"), "{kept}");
    use sha2::Digest;
    let body_hash: String = sha2::Sha256::digest(body.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        !kept.contains(&body_hash),
        "a hash of the password-bearing body is kept"
    );
    // A replay with the same password: the same account, a new token that works.
    let (status, again) = send(body.clone(), "reg-1").await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["user"], first["user"]);
    let fresh = again["access_token"].as_str().expect("token");
    assert_eq!(stack.get(ME, Some(fresh)).await.0, 200);
    // The same key with another password is not the same request.
    let mut other = body.clone();
    other["password"] = json!("another long pw");
    assert_eq!(send(other, "reg-1").await.0, 422);
}

#[tokio::test]
async fn rotating_the_signing_key_in_secrets_manager_logs_nobody_out() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("endpoint");
    let sm = aws_sdk_secretsmanager::Client::new(&evently_store::aws::local_sdk_config(&endpoint));
    let name = format!("jwt-{}", evently_core::new_id());
    let key = |kid: &str| {
        json!({"kid": kid, "key": format!("{kid}-secret-of-at-least-thirty-two-bytes")}).to_string()
    };
    sm.create_secret()
        .name(&name)
        .secret_string(key("k1"))
        .send()
        .await
        .expect("secret");
    let service = || {
        evently_http::TokenService::from_secrets_manager(sm.clone(), name.clone())
            .refreshing_after(std::time::Duration::ZERO)
    };
    let user = evently_core::User {
        id: evently_core::new_id(),
        email: "rot@example.com".into(),
        name: "Rot".into(),
        role: evently_core::Role::Customer,
    };
    let now = chrono::Utc::now();
    // A container that started before the rotation, and its token.
    let old = service();
    let before = old.issue(&user, 0, now, 3600).await.expect("issue");
    assert_eq!(
        jsonwebtoken::decode_header(&before)
            .expect("header")
            .kid
            .as_deref(),
        Some("k1")
    );

    sm.put_secret_value()
        .secret_id(&name)
        .secret_string(key("k2"))
        .send()
        .await
        .expect("rotate");
    // A container started after it signs with the new key ...
    let new = service();
    let after = new.issue(&user, 0, now, 3600).await.expect("issue");
    assert_eq!(
        jsonwebtoken::decode_header(&after)
            .expect("header")
            .kid
            .as_deref(),
        Some("k2")
    );
    // ... and both tokens are good everywhere: the new container knows the
    // previous key, the old one learns the new key from the unknown kid.
    assert_eq!(new.verify(&before).await.expect("old token").sub, user.id);
    assert_eq!(old.verify(&after).await.expect("new token").sub, user.id);
    // A second rotation retires k1: its tokens stop working.
    sm.put_secret_value()
        .secret_id(&name)
        .secret_string(key("k3"))
        .send()
        .await
        .expect("rotate again");
    let newest = service();
    assert!(newest.verify(&before).await.is_err());
    assert!(newest.verify(&after).await.is_ok());
    // A token naming a key that never existed is refused.
    let forged = encode(
        &Header {
            kid: Some("k9".into()),
            ..Header::default()
        },
        &json!({"sub": user.id, "role": "customer", "iat": now.timestamp(), "exp": now.timestamp() + 60, "iss": "evently", "aud": "evently-api"}),
        &EncodingKey::from_secret(b"k9-secret-of-at-least-thirty-two-bytes"),
    )
    .expect("encode");
    assert!(newest.verify(&forged).await.is_err());
}
