//! Each provider's request against the shape its documentation gives.

use super::*;

fn message() -> Message {
    Message {
        to: "ada@example.com".into(),
        from: "My App <no-reply@myapp.com>".into(),
        subject: "Your code".into(),
        text: "Code: 123456".into(),
        html: "<p>Code: <b>123456</b></p>".into(),
    }
}

fn config(provider: Provider) -> ProviderConfig {
    ProviderConfig {
        provider,
        api_key: ApiKey("key-123".into()),
        region: None,
        domain: None,
        api_origin: None,
    }
}

fn json_body(request: &http::Request<Vec<u8>>) -> serde_json::Value {
    serde_json::from_slice(request.body()).expect("a JSON body")
}

fn header<'r>(request: &'r http::Request<Vec<u8>>, name: &str) -> &'r str {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[test]
fn resend_posts_json_to_emails_with_a_bearer_key() {
    let request = request(&config(Provider::Resend), &message(), 0).unwrap();
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.uri(), "https://api.resend.com/emails");
    assert_eq!(header(&request, "authorization"), "Bearer key-123");
    assert_eq!(header(&request, "content-type"), "application/json");
    assert!(
        header(&request, "user-agent").starts_with("account-portal/"),
        "Resend refuses requests without one"
    );
    let body = json_body(&request);
    assert_eq!(body["from"], "My App <no-reply@myapp.com>");
    assert_eq!(body["to"], json!(["ada@example.com"]));
    assert_eq!(body["subject"], "Your code");
    assert_eq!(body["text"], "Code: 123456");
    assert_eq!(body["html"], "<p>Code: <b>123456</b></p>");
}

#[test]
fn postmark_posts_to_email_with_the_server_token() {
    let request = request(&config(Provider::Postmark), &message(), 0).unwrap();
    assert_eq!(request.uri(), "https://api.postmarkapp.com/email");
    assert_eq!(header(&request, "x-postmark-server-token"), "key-123");
    assert_eq!(header(&request, "accept"), "application/json");
    let body = json_body(&request);
    assert_eq!(body["From"], "My App <no-reply@myapp.com>");
    assert_eq!(body["To"], "ada@example.com");
    assert_eq!(body["TextBody"], "Code: 123456");
    assert_eq!(body["HtmlBody"], "<p>Code: <b>123456</b></p>");
    assert_eq!(body["MessageStream"], "outbound");
}

#[test]
fn sendgrid_posts_personalizations_and_both_contents() {
    let request = request(&config(Provider::SendGrid), &message(), 0).unwrap();
    assert_eq!(request.uri(), "https://api.sendgrid.com/v3/mail/send");
    assert_eq!(header(&request, "authorization"), "Bearer key-123");
    let body = json_body(&request);
    assert_eq!(body["personalizations"][0]["to"][0]["email"], "ada@example.com");
    assert_eq!(body["from"], json!({ "email": "no-reply@myapp.com", "name": "My App" }));
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert_eq!(body["content"][1]["type"], "text/html");
}

#[test]
fn mailgun_posts_a_form_with_basic_auth_to_its_domain_in_the_chosen_region() {
    let mut mailgun = config(Provider::Mailgun);
    mailgun.domain = Some("mg.myapp.com".into());
    let request = request(&mailgun, &message(), 0).unwrap();
    assert_eq!(request.uri(), "https://api.mailgun.net/v3/mg.myapp.com/messages");
    assert_eq!(header(&request, "content-type"), "application/x-www-form-urlencoded");
    let expected = crate::security::base64::STANDARD.encode("api:key-123");
    assert_eq!(header(&request, "authorization"), format!("Basic {expected}"));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(request.body()).into_owned().collect();
    assert!(form.contains(&("to".into(), "ada@example.com".into())));
    assert!(form.contains(&("html".into(), "<p>Code: <b>123456</b></p>".into())));
    mailgun.region = Some("eu".into());
    assert_eq!(
        super::request(&mailgun, &message(), 0).unwrap().uri(),
        "https://api.eu.mailgun.net/v3/mg.myapp.com/messages"
    );
}

#[test]
fn ses_posts_send_email_v2_signed_with_sigv4() {
    let mut ses = config(Provider::Ses);
    ses.api_key = ApiKey("AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into());
    ses.region = Some("eu-west-1".into());
    let request = request(&ses, &message(), 1_440_938_160).unwrap();
    assert_eq!(
        request.uri(),
        "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails"
    );
    assert_eq!(header(&request, "x-amz-date"), "20150830T123600Z");
    let authorization = header(&request, "authorization");
    assert!(authorization.starts_with(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/ses/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date, Signature="
    ));
    assert!(!authorization.contains("wJalr"), "the secret never travels");
    assert!(
        request.headers().get("host").is_none(),
        "wasi:http forbids setting host"
    );
    let body = json_body(&request);
    assert_eq!(body["FromEmailAddress"], "My App <no-reply@myapp.com>");
    assert_eq!(body["Destination"]["ToAddresses"], json!(["ada@example.com"]));
    assert_eq!(body["Content"]["Simple"]["Subject"]["Data"], "Your code");
    assert_eq!(body["Content"]["Simple"]["Body"]["Text"]["Data"], "Code: 123456");
    assert_eq!(body["Content"]["Simple"]["Body"]["Html"]["Charset"], "UTF-8");
}

#[test]
fn ses_signs_the_host_and_port_of_an_api_origin_override() {
    let mut ses = config(Provider::Ses);
    ses.api_key = ApiKey("AKID:secret".into());
    ses.region = Some("us-east-1".into());
    ses.api_origin = Some(Url::parse("http://127.0.0.1:8005").unwrap());
    let request = request(&ses, &message(), 0).unwrap();
    assert_eq!(request.uri(), "http://127.0.0.1:8005/v2/email/outbound-emails");
    let mut other = ses.clone();
    other.api_origin = Some(Url::parse("http://127.0.0.1:8006").unwrap());
    let moved = super::request(&other, &message(), 0).unwrap();
    assert_ne!(header(&request, "authorization"), header(&moved, "authorization"));
}

#[test]
fn webhook_posts_json_to_the_configured_origin() {
    let mut webhook = config(Provider::Webhook);
    webhook.api_origin = Some(Url::parse("https://relay.myapp.com").unwrap());
    let request = request(&webhook, &message(), 0).unwrap();
    assert_eq!(request.uri(), "https://relay.myapp.com/");
    assert_eq!(header(&request, "authorization"), "Bearer key-123");
    assert_eq!(json_body(&request)["to"], "ada@example.com");
}

#[test]
fn an_address_cannot_inject_fields_into_any_request() {
    let mut evil = message();
    evil.to = "a@x.com\", \"bcc\": \"all@x.com".into();
    for provider in [
        Provider::Resend,
        Provider::Postmark,
        Provider::SendGrid,
        Provider::Webhook,
    ] {
        let mut cfg = config(provider);
        cfg.api_origin = Some(Url::parse("https://relay.myapp.com").unwrap());
        let body = json_body(&request(&cfg, &evil, 0).unwrap());
        assert!(body.get("bcc").is_none(), "{provider:?}");
    }
    let mut mailgun = config(Provider::Mailgun);
    mailgun.domain = Some("mg.myapp.com".into());
    evil.to = "a@x.com&bcc=all@x.com".into();
    let form: Vec<(String, String)> = url::form_urlencoded::parse(request(&mailgun, &evil, 0).unwrap().body())
        .into_owned()
        .collect();
    assert!(!form.iter().any(|(name, _)| name == "bcc"));
}

#[test]
fn missing_settings_are_reported_per_provider() {
    assert!(config(Provider::Resend).problems().is_empty());
    let mut ses = config(Provider::Ses);
    assert_eq!(ses.problems().len(), 2, "{:?}", ses.problems());
    ses.api_key = ApiKey("id:secret".into());
    ses.region = Some("eu-west-1".into());
    assert!(ses.problems().is_empty());
    ses.region = Some("eu".into());
    assert_eq!(ses.problems().len(), 1);
    assert_eq!(config(Provider::Mailgun).problems().len(), 1);
    assert_eq!(config(Provider::Webhook).problems().len(), 1);
    assert!(format!("{:?}", config(Provider::Resend)).contains("ApiKey(***)"));
}

#[test]
fn refusals_carry_the_providers_reason() {
    let answer = |status: u16, body: &str| {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    assert_eq!(check_response(Provider::Resend, &answer(200, "{\"id\":\"1\"}")), Ok(()));
    assert_eq!(
        check_response(
            Provider::Resend,
            &answer(422, "{\"message\":\"The from domain is not verified\"}")
        ),
        Err("resend answered 422 Unprocessable Entity: The from domain is not verified".into())
    );
    assert!(
        check_response(
            Provider::Postmark,
            &answer(200, "{\"ErrorCode\":300,\"Message\":\"Invalid email\"}")
        )
        .unwrap_err()
        .contains("Invalid email")
    );
    assert!(
        check_response(Provider::Ses, &answer(403, "not json\u{7}"))
            .unwrap_err()
            .ends_with("not json")
    );
}
