//! Sign-in with another identity provider: the providers the portal knows (OpenID Connect
//! presets and the generic client), and the pure request builders and response readers of the
//! authorization code flow with PKCE (discovery, the authorization URL, the token request, the
//! JWKS). Sending goes through the one [`super::Http`] seam; what a response means for accounts
//! is `service::oauth`.

use crate::json_object::{JsonObject, JsonProblem};
use url::Url;

/// The providers the portal has presets for, and the generic OpenID Connect one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProviderKind {
    Google,
    Microsoft,
    Gitlab,
    /// GitHub: OAuth 2 and its REST API (`/user`, `/user/emails`), not OpenID Connect.
    Github,
    /// Sign in with Apple: OpenID Connect with `form_post` and a signed client secret.
    Apple,
    Oidc,
}

impl ProviderKind {
    pub const ALL: [Self; 6] = [
        Self::Google,
        Self::Microsoft,
        Self::Gitlab,
        Self::Github,
        Self::Apple,
        Self::Oidc,
    ];

    /// Its name in variables, forms and URLs.
    pub fn id(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Microsoft => "microsoft",
            Self::Gitlab => "gitlab",
            Self::Github => "github",
            Self::Apple => "apple",
            Self::Oidc => "oidc",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.id() == id)
    }

    /// Its brand name (the generic provider's comes from configuration).
    pub fn brand(self) -> &'static str {
        match self {
            Self::Google => "Google",
            Self::Microsoft => "Microsoft",
            Self::Gitlab => "GitLab",
            Self::Github => "GitHub",
            Self::Apple => "Apple",
            Self::Oidc => "OpenID Connect",
        }
    }
}

/// How the portal talks to one configured provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub kind: ProviderKind,
    /// What people see ("Google", or the generic provider's configured name).
    pub name: String,
    /// Where discovery starts: `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// GitHub's REST API origin (empty for OpenID Connect providers).
    pub api_origin: String,
    /// Apple's key that signs the client secret (Apple has no static secret).
    pub apple: Option<AppleKey>,
    /// Whether the provider's verified email address may link to an existing account with that
    /// address without the person signing in to it first.
    pub trusted_for_email: bool,
    /// Whether a sign-in whose ID token says `mfa` in `amr` counts as the second factor.
    pub trusted_for_mfa: bool,
}

impl Provider {
    /// The ID token algorithms this provider may use.
    pub fn algorithms(&self) -> &'static [&'static str] {
        match self.kind {
            // Google, Microsoft and GitLab sign ID tokens with RS256 only.
            ProviderKind::Google | ProviderKind::Microsoft | ProviderKind::Gitlab | ProviderKind::Apple => &["RS256"],
            ProviderKind::Oidc => &["RS256", "ES256"],
            ProviderKind::Github => &[],
        }
    }

    pub fn scopes(&self) -> &'static str {
        match self.kind {
            ProviderKind::Github => "read:user user:email",
            ProviderKind::Apple => "openid email name",
            _ => "openid email profile",
        }
    }

    /// Whether this provider speaks OpenID Connect (discovery, ID tokens) or, as GitHub, plain
    /// OAuth 2 with an API.
    pub fn is_openid(&self) -> bool {
        self.kind != ProviderKind::Github
    }

    /// GitHub's endpoints, which it publishes in its documentation rather than by discovery.
    pub fn github_metadata(&self) -> Metadata {
        let origin = self.issuer.trim_end_matches('/');
        Metadata {
            issuer: origin.to_owned(),
            authorization_endpoint: format!("{origin}/login/oauth/authorize"),
            token_endpoint: format!("{origin}/login/oauth/access_token"),
            jwks_uri: String::new(),
            authorization_response_iss_parameter_supported: false,
        }
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'))
    }
}

/// What signs Sign in with Apple's client secret: the team, the key's id and the key (the
/// `.p8` file Apple hands out once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppleKey {
    pub team_id: String,
    pub key_id: String,
    pub key: crate::security::token::Scalar,
}

/// Seconds an Apple client secret is valid (Apple allows six months; each is made for one
/// token request).
pub const APPLE_SECRET_LIFETIME: i64 = 300;

/// A provider's discovery document, as far as the portal reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub authorization_response_iss_parameter_supported: bool,
}

impl Metadata {
    fn parse(body: &[u8]) -> Result<Self, JsonProblem> {
        let mut document = JsonObject::parse(body)?;
        Ok(Self {
            issuer: document.string("issuer")?,
            authorization_endpoint: document.string("authorization_endpoint")?,
            token_endpoint: document.string("token_endpoint")?,
            jwks_uri: document.string("jwks_uri")?,
            authorization_response_iss_parameter_supported: document
                .bool_or("authorization_response_iss_parameter_supported", false)?,
        })
    }
}

/// Why a discovery document cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMetadata(pub String);

/// Reads a discovery document for `provider`: its issuer must be the one configured (Microsoft's
/// multi-tenant documents say `{tenantid}` where the tenant goes), and every endpoint an https
/// URL (http only on loopback, for development and tests).
pub fn read_metadata(provider: &Provider, body: &[u8]) -> Result<Metadata, BadMetadata> {
    let metadata = Metadata::parse(body)
        .map_err(|problem| BadMetadata(format!("not a discovery document: {}", problem.message)))?;
    let configured = provider.issuer.trim_end_matches('/');
    let stated = metadata.issuer.trim_end_matches('/');
    let same = stated == configured
        || (provider.kind == ProviderKind::Microsoft && microsoft_issuer_matches(configured, stated));
    if !same {
        return Err(BadMetadata(format!(
            "the document's issuer {stated:?} is not the configured {configured:?}"
        )));
    }
    for endpoint in [
        &metadata.authorization_endpoint,
        &metadata.token_endpoint,
        &metadata.jwks_uri,
    ] {
        if !is_allowed_endpoint(endpoint) {
            return Err(BadMetadata(format!("{endpoint:?} is not an https URL")));
        }
    }
    Ok(metadata)
}

/// Microsoft's documents for `common`, `organizations` and `consumers` state the issuer as
/// `https://login.microsoftonline.com/{tenantid}/v2.0`.
fn microsoft_issuer_matches(configured: &str, stated: &str) -> bool {
    let Some((authority, _)) = configured.rsplit_once("/v2.0") else {
        return false;
    };
    let Some((base, _tenant)) = authority.rsplit_once('/') else {
        return false;
    };
    stated == format!("{base}/{{tenantid}}/v2.0") || stated.starts_with(&format!("{base}/"))
}

/// An endpoint the portal may call or send people to: https, or http on loopback.
pub fn is_allowed_endpoint(endpoint: &str) -> bool {
    Url::parse(endpoint).is_ok_and(|url| {
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        url.username().is_empty()
            && url.password().is_none()
            && (url.scheme() == "https" || (url.scheme() == "http" && loopback))
    })
}

/// What an authorization request carries.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest<'a> {
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    /// `BASE64URL(SHA-256(code_verifier))` (RFC 7636 S256).
    pub code_challenge: &'a str,
    /// `login` to make the person sign in again at the provider (a step-up).
    pub prompt: Option<&'a str>,
    /// `ui_locales` passed on, so the provider's pages speak the person's language.
    pub ui_locales: Option<&'a str>,
}

/// The provider's authorization URL the browser is sent to.
pub fn authorization_url(
    provider: &Provider,
    metadata: &Metadata,
    request: &AuthorizationRequest<'_>,
) -> Option<String> {
    let mut url = Url::parse(&metadata.authorization_endpoint).ok()?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &provider.client_id)
            .append_pair("redirect_uri", request.redirect_uri)
            .append_pair("scope", provider.scopes())
            .append_pair("state", request.state)
            .append_pair("nonce", request.nonce)
            .append_pair("code_challenge", request.code_challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(prompt) = request.prompt {
            query.append_pair("prompt", prompt);
            query.append_pair("max_age", "0");
        }
        if let Some(locales) = request.ui_locales {
            query.append_pair("ui_locales", locales);
        }
        if provider.kind == ProviderKind::Apple {
            // Apple sends the name and address scopes' answer only by a cross-site form post.
            query.append_pair("response_mode", "form_post");
        }
    }
    Some(url.into())
}

/// The token request for `code`: `client_secret_basic` (RFC 6749 §2.3.1, form-encoded id and
/// secret in the Basic credentials), except GitHub and Apple, which take them in the form (one
/// method only: a provider refuses a request that authenticates twice).
pub fn token_request(
    provider: &Provider,
    metadata: &Metadata,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
    now: i64,
) -> Option<http::Request<Vec<u8>>> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", code_verifier);
    if provider.kind == ProviderKind::Github {
        // GitHub takes the client's credentials as form parameters.
        form.append_pair("client_id", &provider.client_id)
            .append_pair("client_secret", &provider.client_secret);
    }
    if let Some(apple) = &provider.apple {
        // Apple's client secret is a JWT the portal signs with the team's key, sent as a form
        // parameter (Apple's "Generate and validate tokens").
        let claims = serde_json::json!({
            "iss": apple.team_id,
            "iat": now,
            "exp": now + APPLE_SECRET_LIFETIME,
            "aud": provider.issuer.trim_end_matches('/'),
            "sub": provider.client_id,
        });
        let secret = crate::security::token::sign_es256_with(&apple.key, &apple.key_id, &claims);
        form.append_pair("client_id", &provider.client_id)
            .append_pair("client_secret", &secret);
    }
    let body = form.finish();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(&metadata.token_endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json");
    if provider.kind != ProviderKind::Github && provider.apple.is_none() {
        let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let credentials = crate::security::base64::STANDARD.encode(format!(
            "{}:{}",
            encode(&provider.client_id),
            encode(&provider.client_secret)
        ));
        request = request.header("authorization", format!("Basic {credentials}"));
    }
    request.body(body.into_bytes()).ok()
}

/// A GET for a JSON document (discovery, JWKS).
pub fn get_json(url: &str) -> Option<http::Request<Vec<u8>>> {
    http::Request::builder()
        .method("GET")
        .uri(url)
        .header("accept", "application/json")
        .body(Vec::new())
        .ok()
}

struct TokenResponse {
    id_token: Option<String>,
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenResponse {
    fn parse(body: &[u8]) -> Option<Self> {
        let mut response = JsonObject::parse(body).ok()?;
        Some(Self {
            id_token: response.optional_string("id_token").ok()?,
            access_token: response.optional_string("access_token").ok()?,
            error: response.optional_string("error").ok()?,
            error_description: response.optional_string("error_description").ok()?,
        })
    }

    /// The error and its description, for the log.
    fn error_text(&self) -> Option<String> {
        let error = self.error.as_deref()?;
        Some(match &self.error_description {
            Some(description) => format!("{error}: {}", description.chars().take(200).collect::<String>()),
            None => error.to_owned(),
        })
    }
}

/// The ID token from a token response, or the provider's error code.
pub fn read_token_response(status: u16, body: &[u8]) -> Result<String, String> {
    let parsed = TokenResponse::parse(body);
    match parsed {
        Some(TokenResponse {
            id_token: Some(token), ..
        }) if status == 200 => Ok(token),
        Some(response) if response.error.is_some() => Err(response.error_text().unwrap_or_default()),
        _ => Err(format!("status {status} without an ID token")),
    }
}

/// The access token from a GitHub token response (GitHub answers errors with status 200 and an
/// `error` field), or its error code.
pub fn read_access_token(status: u16, body: &[u8]) -> Result<String, String> {
    let parsed = TokenResponse::parse(body);
    match parsed {
        Some(response) if response.error.is_some() => Err(response.error_text().unwrap_or_default()),
        Some(TokenResponse {
            access_token: Some(token),
            ..
        }) if status == 200 && !token.is_empty() => Ok(token),
        _ => Err(format!("status {status} without an access token")),
    }
}

/// A GET of GitHub's REST API with the person's access token.
pub fn github_api_request(provider: &Provider, path: &str, access_token: &str) -> Option<http::Request<Vec<u8>>> {
    http::Request::builder()
        .method("GET")
        .uri(format!("{}{path}", provider.api_origin.trim_end_matches('/')))
        .header("accept", "application/vnd.github+json")
        .header("authorization", format!("Bearer {access_token}"))
        .header("user-agent", "account-portal")
        .header("x-github-api-version", "2022-11-28")
        .body(Vec::new())
        .ok()
}

/// The person at GitHub: their numeric id (stable, unlike the login), and their primary address
/// with whether GitHub verified it (from `/user/emails`).
pub fn read_github_account(user: &[u8], emails: &[u8]) -> Option<(String, Option<(String, bool)>)> {
    let id = JsonObject::parse(user).ok()?.optional_value("id").ok()??.as_u64()?;
    let serde_json::Value::Array(emails) = serde_json::from_slice(emails).ok()? else {
        return None;
    };
    let mut primary = None;
    for email in emails {
        let serde_json::Value::Object(email) = email else {
            return None;
        };
        let mut email = JsonObject::from_map(email);
        let (address, is_primary, verified) = (
            email.string("email").ok()?,
            email.bool_or("primary", false).ok()?,
            email.bool_or("verified", false).ok()?,
        );
        if is_primary && primary.is_none() {
            primary = Some((address, verified));
        }
    }
    Some((id.to_string(), primary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(kind: ProviderKind, issuer: &str) -> Provider {
        Provider {
            kind,
            name: kind.brand().to_owned(),
            issuer: issuer.to_owned(),
            client_id: "client id".to_owned(),
            client_secret: "s3cr:t".to_owned(),
            api_origin: String::new(),
            apple: None,
            trusted_for_email: false,
            trusted_for_mfa: false,
        }
    }

    fn metadata(issuer: &str) -> Vec<u8> {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": "https://idp.example.com/authorize",
            "token_endpoint": "https://idp.example.com/token",
            "jwks_uri": "https://idp.example.com/jwks",
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn discovery_must_name_the_configured_issuer() {
        let idp = provider(ProviderKind::Oidc, "https://idp.example.com");
        assert!(read_metadata(&idp, &metadata("https://idp.example.com")).is_ok());
        assert!(read_metadata(&idp, &metadata("https://idp.example.com/")).is_ok());
        assert!(read_metadata(&idp, &metadata("https://evil.example.net")).is_err());
        assert!(read_metadata(&idp, b"<html>").is_err());
        let microsoft = provider(ProviderKind::Microsoft, "https://login.microsoftonline.com/common/v2.0");
        assert!(
            read_metadata(
                &microsoft,
                &metadata("https://login.microsoftonline.com/{tenantid}/v2.0")
            )
            .is_ok()
        );
        assert!(read_metadata(&microsoft, &metadata("https://evil.example.net/{tenantid}/v2.0")).is_err());
    }

    #[test]
    fn attack_a_discovery_document_naming_a_member_twice_is_refused() {
        // A parser that keeps the first `jwks_uri` and one that keeps the last would trust
        // different keys: the document is refused.
        let idp = provider(ProviderKind::Oidc, "https://idp.example.com");
        let good = String::from_utf8(metadata("https://idp.example.com")).unwrap();
        let twice = good.replacen('{', r#"{"jwks_uri":"https://evil.example.net/jwks","#, 1);
        let error = read_metadata(&idp, twice.as_bytes()).unwrap_err();
        assert!(error.0.contains("duplicate field `jwks_uri`"), "{error:?}");
    }

    #[test]
    fn endpoints_must_be_https_except_on_loopback() {
        let idp = provider(ProviderKind::Oidc, "https://idp.example.com");
        let mut document: serde_json::Value = serde_json::from_slice(&metadata("https://idp.example.com")).unwrap();
        document["token_endpoint"] = "http://idp.example.com/token".into();
        assert!(read_metadata(&idp, document.to_string().as_bytes()).is_err());
        assert!(is_allowed_endpoint("http://127.0.0.1:4000/token"));
        assert!(!is_allowed_endpoint("https://user:pw@idp.example.com/token"));
        assert!(!is_allowed_endpoint("javascript:alert(1)"));
    }

    #[test]
    fn the_authorization_url_carries_pkce_state_and_nonce() {
        let idp = provider(ProviderKind::Oidc, "https://idp.example.com");
        let metadata = read_metadata(&idp, &metadata("https://idp.example.com")).unwrap();
        let url = authorization_url(
            &idp,
            &metadata,
            &AuthorizationRequest {
                redirect_uri: "https://accounts.myapp.com/sign-in/oauth/callback",
                state: "st",
                nonce: "no",
                code_challenge: "ch",
                prompt: None,
                ui_locales: Some("fr"),
            },
        )
        .unwrap();
        let url = Url::parse(&url).unwrap();
        let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["response_type"], "code");
        assert_eq!(pairs["client_id"], "client id");
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["state"], "st");
        assert_eq!(pairs["nonce"], "no");
        assert_eq!(pairs["ui_locales"], "fr");
    }

    #[test]
    fn the_token_request_form_encodes_the_basic_credentials() {
        let idp = provider(ProviderKind::Oidc, "https://idp.example.com");
        let metadata = read_metadata(&idp, &metadata("https://idp.example.com")).unwrap();
        let request = token_request(&idp, &metadata, "the code", "https://a/cb", "verifier", 0).unwrap();
        let basic = request.headers()["authorization"]
            .to_str()
            .unwrap()
            .trim_start_matches("Basic ");
        let decoded = crate::security::base64::STANDARD.decode(basic).unwrap();
        assert_eq!(decoded, b"client+id:s3cr%3At");
        let body = String::from_utf8(request.body().clone()).unwrap();
        assert!(body.contains("code=the+code") && body.contains("code_verifier=verifier"));
    }

    #[test]
    fn github_answers_are_read_by_its_documented_json() {
        assert_eq!(
            read_access_token(200, br#"{"access_token":"gho_16C7e42F292c6912E7710c838347Ae178B4a","scope":"repo,gist","token_type":"bearer"}"#),
            Ok("gho_16C7e42F292c6912E7710c838347Ae178B4a".into())
        );
        assert_eq!(
            read_access_token(
                200,
                br#"{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired."}"#
            ),
            Err("bad_verification_code: The code passed is incorrect or expired.".into())
        );
        let account = read_github_account(
            br#"{"login":"octocat","id":583231,"name":"The Octocat","email":null}"#,
            br#"[{"email":"old@example.com","primary":false,"verified":true},{"email":"octocat@github.com","primary":true,"verified":true,"visibility":"public"}]"#,
        );
        assert_eq!(
            account,
            Some(("583231".into(), Some(("octocat@github.com".into(), true))))
        );
        assert_eq!(read_github_account(b"{}", b"[]"), None);
    }

    #[test]
    fn token_responses_give_the_id_token_or_the_error() {
        assert_eq!(read_token_response(200, br#"{"id_token":"a.b.c"}"#), Ok("a.b.c".into()));
        assert_eq!(
            read_token_response(400, br#"{"error":"invalid_grant"}"#),
            Err("invalid_grant".into())
        );
        assert!(read_token_response(200, b"{}").is_err());
        assert!(read_token_response(500, b"oops").is_err());
    }
}
