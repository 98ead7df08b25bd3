//! `/_dev/mailbox` and `/_dev/mailbox.json`: every email sent through SES in
//! the local stack, as the local AWS endpoint captured it (the raw MIME
//! message, split into its HTML and text parts by local/moto/server.py).

use serde_json::{json, Value};

pub async fn messages(endpoint: &str) -> Result<Vec<Value>, String> {
    // Served by local/moto/server.py next to the AWS API.
    let url = format!("{}/_evently/ses/messages", endpoint.trim_end_matches('/'));
    let data: Value = reqwest::get(&url)
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let sent = data["messages"].as_array().cloned().unwrap_or_default();
    Ok(sent
        .iter()
        .rev()
        .map(|m| {
            json!({
                "id": m["id"],
                "from": m["source"],
                "to": m["to"],
                "subject": m["subject"],
                "html": m["html"],
                "text": m["text"],
                "images": m["images"],
                "sent_at": m["sent_at"],
            })
        })
        .collect())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn page(messages: &[Value]) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evently local mailbox</title>\
         <style>body{font-family:system-ui,sans-serif;margin:24px;background:#f5f5f7}\
         article{background:#fff;border-radius:8px;padding:16px;margin-bottom:16px}\
         iframe{width:100%;height:420px;border:1px solid #ddd;border-radius:4px}</style></head><body>",
    );
    html.push_str(&format!("<h1>Local mailbox ({} sent)</h1>", messages.len()));
    if messages.is_empty() {
        html.push_str("<p>No email sent yet.</p>");
    }
    for m in messages {
        let to: Vec<&str> = m["to"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        html.push_str(&format!(
            "<article><h2>{}</h2><p>To: {} · From: {}</p><iframe sandbox srcdoc=\"{}\"></iframe></article>",
            escape(m["subject"].as_str().unwrap_or("")),
            escape(&to.join(", ")),
            escape(m["from"].as_str().unwrap_or("")),
            escape(m["html"].as_str().unwrap_or("")),
        ));
    }
    html.push_str("</body></html>");
    html
}
