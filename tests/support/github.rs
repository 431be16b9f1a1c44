//! A small local stand-in for GitHub's OAuth endpoints and REST API, answering with the JSON
//! GitHub documents (docs.github.com: "Authorizing OAuth apps", "Get the authenticated user",
//! "List email addresses for the authenticated user"). No package implements GitHub, so this is
//! the one provider the tests serve themselves. It approves every authorization at once, checks
//! the client's credentials and the PKCE verifier, and hands out one user.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

pub struct GithubServer {
    pub origin: String,
}

/// What the server says about its one user.
#[derive(Clone)]
pub struct GithubUser {
    pub id: u64,
    pub login: &'static str,
    /// `(address, primary, verified)`.
    pub emails: Vec<(&'static str, bool, bool)>,
}

impl GithubServer {
    pub fn start(user: GithubUser) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let challenges: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let user = user.clone();
                let challenges = challenges.clone();
                std::thread::spawn(move || serve(stream, &user, &challenges));
            }
        });
        Self { origin }
    }

    pub fn portal_variables(&self) -> Vec<(&'static str, String)> {
        vec![
            ("oauth_providers", "github".into()),
            ("github_origin", self.origin.clone()),
            ("github_api_origin", self.origin.clone()),
            ("github_client_id", "Iv1.portal".into()),
            ("github_client_secret", "github-secret".into()),
        ]
    }
}

fn serve(stream: std::net::TcpStream, user: &GithubUser, challenges: &Mutex<HashMap<String, String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers.get("content-length").and_then(|n| n.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let url = url::Url::parse(&format!("http://github.local{target}")).unwrap();
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let bearer = headers.get("authorization").map(String::as_str) == Some("Bearer gho_portal_test_token");
    let (status, extra, answer) = match (method, url.path()) {
        ("GET", "/login/oauth/authorize") => {
            let code = format!("code-{}", challenges.lock().unwrap().len());
            let challenge = query.get("code_challenge").cloned().unwrap_or_default();
            challenges.lock().unwrap().insert(code.clone(), challenge);
            let mut back = url::Url::parse(&query["redirect_uri"]).unwrap();
            back.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &query["state"]);
            (302, format!("Location: {back}\r\n"), String::new())
        }
        ("POST", "/login/oauth/access_token") => {
            let expected = challenges.lock().unwrap().remove(form.get("code").map_or("", String::as_str));
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let computed = {
                use base64::Engine;
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
            };
            let client_ok = form.get("client_id").map(String::as_str) == Some("Iv1.portal")
                && form.get("client_secret").map(String::as_str) == Some("github-secret");
            // GitHub answers a bad code with status 200 and an error field.
            let answer = if client_ok && expected == Some(computed) {
                r#"{"access_token":"gho_portal_test_token","scope":"read:user,user:email","token_type":"bearer"}"#
            } else {
                r#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#
            };
            (200, String::new(), answer.to_owned())
        }
        ("GET", "/user") if bearer => (
            200,
            String::new(),
            serde_json::json!({ "login": user.login, "id": user.id, "name": "The Octocat", "email": null }).to_string(),
        ),
        ("GET", "/user/emails") if bearer => (
            200,
            String::new(),
            serde_json::Value::Array(
                user.emails
                    .iter()
                    .map(|(email, primary, verified)| {
                        serde_json::json!({ "email": email, "primary": primary, "verified": verified, "visibility": "public" })
                    })
                    .collect(),
            )
            .to_string(),
        ),
        _ => (401, String::new(), r#"{"message":"Requires authentication"}"#.to_owned()),
    };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{answer}",
        answer.len()
    );
}
