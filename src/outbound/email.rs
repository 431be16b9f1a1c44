//! Email providers: each turns a [`Message`] into the HTTP request its API documents, as a pure
//! function (no I/O, no clock but the `now` it is given), and reads the provider's answer.
//!
//! Threat notes: the API key travels only in the header the provider documents and is never
//! logged ([`ApiKey`] prints as `***`); the destination is the provider's public API or the
//! operator's `email_api_origin`, which Spin's `allowed_outbound_hosts` must also list, so a
//! compromised component cannot mail through anything else. Message text is JSON- or
//! form-encoded by construction, so an address or name cannot inject fields or headers.

use serde_json::json;
use url::Url;

use super::sigv4::{self, Credentials, Scope, Signable};

/// One email, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    /// `email_from`: an address, or `Name <address>`.
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `email_provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Resend,
    Postmark,
    SendGrid,
    Mailgun,
    Ses,
    Webhook,
}

impl Provider {
    pub fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "resend" => Self::Resend,
            "postmark" => Self::Postmark,
            "sendgrid" => Self::SendGrid,
            "mailgun" => Self::Mailgun,
            "ses" => Self::Ses,
            "webhook" => Self::Webhook,
            _ => {
                return Err(
                    "must be one of \"resend\", \"postmark\", \"sendgrid\", \"mailgun\", \"ses\", \"webhook\" or empty"
                        .into(),
                );
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Resend => "resend",
            Self::Postmark => "postmark",
            Self::SendGrid => "sendgrid",
            Self::Mailgun => "mailgun",
            Self::Ses => "ses",
            Self::Webhook => "webhook",
        }
    }
}

/// `email_api_key`, which never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(pub String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Everything a provider needs besides the message, validated by `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub provider: Provider,
    pub api_key: ApiKey,
    /// SES: the AWS region (`us-east-1`); Mailgun: `us` or `eu`.
    pub region: Option<String>,
    /// Mailgun: the sending domain.
    pub domain: Option<String>,
    /// `email_api_origin`: send here instead of the provider's public API.
    pub api_origin: Option<Url>,
}

impl ProviderConfig {
    /// What is missing or malformed for this provider, as one sentence per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.api_key.0.is_empty() && self.provider != Provider::Webhook {
            problems.push(format!(
                "email_api_key is required by the {} provider",
                self.provider.name()
            ));
        }
        match self.provider {
            Provider::Ses => {
                if ses_credentials(&self.api_key).is_none() {
                    problems.push("email_api_key for ses must be \"<access key id>:<secret access key>\"".into());
                }
                if !self.region.as_deref().is_some_and(is_aws_region) {
                    problems.push("email_region must be an AWS region such as \"eu-west-1\" for ses".into());
                }
            }
            Provider::Mailgun => {
                if self.domain.is_none() {
                    problems.push("email_domain (the Mailgun sending domain) is required by mailgun".into());
                }
                if !matches!(self.region.as_deref(), None | Some("us" | "eu")) {
                    problems.push("email_region must be \"us\" or \"eu\" for mailgun".into());
                }
            }
            Provider::Webhook if self.api_origin.is_none() => {
                problems.push("email_api_origin (where the webhook listens) is required by webhook".into());
            }
            _ => {}
        }
        problems
    }

    /// The origin requests go to: `email_api_origin`, else the provider's public API.
    pub fn origin(&self) -> String {
        if let Some(origin) = &self.api_origin {
            return origin.origin().ascii_serialization();
        }
        match self.provider {
            Provider::Resend => "https://api.resend.com".into(),
            Provider::Postmark => "https://api.postmarkapp.com".into(),
            Provider::SendGrid => "https://api.sendgrid.com".into(),
            Provider::Mailgun if self.region.as_deref() == Some("eu") => "https://api.eu.mailgun.net".into(),
            Provider::Mailgun => "https://api.mailgun.net".into(),
            Provider::Ses => format!(
                "https://email.{}.amazonaws.com",
                self.region.as_deref().unwrap_or("us-east-1")
            ),
            // `problems` refuses a webhook without an origin; this is never used.
            Provider::Webhook => "https://webhook.invalid".into(),
        }
    }
}

fn is_aws_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts
            .last()
            .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
}

fn ses_credentials(key: &ApiKey) -> Option<Credentials> {
    let (id, secret) = key.0.split_once(':')?;
    (!id.is_empty() && !secret.is_empty()).then(|| Credentials {
        access_key_id: id.to_owned(),
        secret_access_key: secret.to_owned(),
    })
}

/// The request that sends `message` through `config`'s provider. `now` is Unix seconds (SES
/// signs it).
pub fn request(config: &ProviderConfig, message: &Message, now: i64) -> Result<http::Request<Vec<u8>>, String> {
    let origin = config.origin();
    let key = &config.api_key.0;
    let json_request = |path: &str, body: serde_json::Value| {
        http::Request::post(format!("{origin}{path}"))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body.to_string().into_bytes())
    };
    let built = match config.provider {
        // https://resend.com/docs/api-reference/emails/send-email
        Provider::Resend => json_request(
            "/emails",
            json!({
                "from": message.from,
                "to": [message.to],
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
            }),
        )
        .map(|mut request| {
            bearer(&mut request, key);
            request
        }),
        // https://postmarkapp.com/developer/api/email-api
        Provider::Postmark => json_request(
            "/email",
            json!({
                "From": message.from,
                "To": message.to,
                "Subject": message.subject,
                "TextBody": message.text,
                "HtmlBody": message.html,
                "MessageStream": "outbound",
            }),
        )
        .map(|mut request| {
            set_header(&mut request, "x-postmark-server-token", key);
            request
        }),
        // https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send
        Provider::SendGrid => json_request(
            "/v3/mail/send",
            json!({
                "personalizations": [{ "to": [{ "email": message.to }] }],
                "from": sendgrid_address(&message.from),
                "subject": message.subject,
                "content": [
                    { "type": "text/plain", "value": message.text },
                    { "type": "text/html", "value": message.html },
                ],
            }),
        )
        .map(|mut request| {
            bearer(&mut request, key);
            request
        }),
        // https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/messages
        Provider::Mailgun => {
            let domain = config.domain.as_deref().ok_or("email_domain is not set")?;
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("from", &message.from)
                .append_pair("to", &message.to)
                .append_pair("subject", &message.subject)
                .append_pair("text", &message.text)
                .append_pair("html", &message.html)
                .finish();
            let credentials = crate::security::base64::STANDARD.encode(format!("api:{key}"));
            let path: String = url::form_urlencoded::byte_serialize(domain.as_bytes()).collect();
            http::Request::post(format!("{origin}/v3/{path}/messages"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .header("authorization", format!("Basic {credentials}"))
                .body(body.into_bytes())
        }
        // https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html
        Provider::Ses => return ses_request(config, &origin, message, now),
        Provider::Webhook => json_request(
            "/",
            json!({
                "to": message.to,
                "from": message.from,
                "subject": message.subject,
                "text": message.text,
                "html": message.html,
            }),
        )
        .map(|mut request| {
            if !key.is_empty() {
                bearer(&mut request, key);
            }
            request
        }),
    };
    let mut request =
        built.map_err(|error| format!("could not build the {} request: {error}", config.provider.name()))?;
    // Some APIs (Resend) refuse requests without a User-Agent.
    set_header(&mut request, "user-agent", USER_AGENT);
    Ok(request)
}

/// Who is calling, for the providers' logs.
pub const USER_AGENT: &str = concat!("account-portal/", env!("CARGO_PKG_VERSION"));

fn ses_request(
    config: &ProviderConfig,
    origin: &str,
    message: &Message,
    now: i64,
) -> Result<http::Request<Vec<u8>>, String> {
    let credentials = ses_credentials(&config.api_key).ok_or("email_api_key is not an AWS key pair")?;
    let region = config.region.as_deref().ok_or("email_region is not set")?;
    let body = json!({
        "FromEmailAddress": message.from,
        "Destination": { "ToAddresses": [message.to] },
        "Content": { "Simple": {
            "Subject": { "Data": message.subject, "Charset": "UTF-8" },
            "Body": {
                "Text": { "Data": message.text, "Charset": "UTF-8" },
                "Html": { "Data": message.html, "Charset": "UTF-8" },
            },
        }},
    })
    .to_string()
    .into_bytes();
    let url = Url::parse(&format!("{origin}/v2/email/outbound-emails")).map_err(|error| error.to_string())?;
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => return Err("email_api_origin has no host".into()),
    };
    let amz_date = sigv4::amz_date(now);
    let headers = [
        ("content-type", "application/json"),
        ("host", host.as_str()),
        ("x-amz-date", amz_date.as_str()),
    ];
    let authorization = sigv4::authorization(
        &credentials,
        &Signable {
            method: "POST",
            path: url.path(),
            query: "",
            headers: &headers,
            payload: &body,
        },
        &amz_date,
        &Scope {
            date: &amz_date[..8],
            region,
            service: "ses",
        },
    );
    // `host` is signed but not set: the request's authority is the host (wasi:http forbids the
    // header itself).
    http::Request::post(url.as_str())
        .header("user-agent", USER_AGENT)
        .header("content-type", "application/json")
        .header("x-amz-date", &amz_date)
        .header("authorization", authorization)
        .body(body)
        .map_err(|error| error.to_string())
}

fn bearer(request: &mut http::Request<Vec<u8>>, key: &str) {
    set_header(request, "authorization", &format!("Bearer {key}"));
}

fn set_header(request: &mut http::Request<Vec<u8>>, name: &'static str, value: &str) {
    if let Ok(value) = http::HeaderValue::from_str(value) {
        request.headers_mut().insert(name, value);
    }
}

/// SendGrid wants `{email, name}` rather than `Name <address>`.
fn sendgrid_address(from: &str) -> serde_json::Value {
    match (from.rfind('<'), from.ends_with('>')) {
        (Some(open), true) => {
            let name = from[..open].trim().trim_matches('"');
            let email = &from[open + 1..from.len() - 1];
            if name.is_empty() {
                json!({ "email": email })
            } else {
                json!({ "email": email, "name": name })
            }
        }
        _ => json!({ "email": from }),
    }
}

/// Reads a provider's answer: success, or the provider's reason (status and its message).
pub fn check_response(provider: Provider, response: &http::Response<Vec<u8>>) -> Result<(), String> {
    let status = response.status();
    let body: Option<serde_json::Value> = serde_json::from_slice(response.body()).ok();
    // Postmark answers some refusals with 200 and a non-zero ErrorCode.
    let postmark_error = provider == Provider::Postmark
        && body
            .as_ref()
            .and_then(|body| body.get("ErrorCode"))
            .and_then(serde_json::Value::as_i64)
            .is_some_and(|code| code != 0);
    if status.is_success() && !postmark_error {
        return Ok(());
    }
    let reason = body
        .as_ref()
        .and_then(|body| {
            ["message", "Message", "error", "errors"]
                .iter()
                .find_map(|field| body.get(*field))
                .map(|value| match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
        })
        .unwrap_or_else(|| String::from_utf8_lossy(response.body()).into_owned());
    let reason: String = reason.chars().filter(|c| !c.is_control()).take(300).collect();
    Err(format!("{} answered {status}: {reason}", provider.name()))
}

#[cfg(test)]
mod tests;
