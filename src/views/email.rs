//! Emails as text and HTML: the application's name, logo and colour, one message, an optional
//! code and buttons, and why the recipient got it. The HTML is maud-escaped like every page and
//! styled inline (mail clients drop stylesheets).

use maud::{DOCTYPE, html};

use crate::config::Branding;

/// What one email says, already in the recipient's language.
pub struct EmailContent<'a> {
    pub subject: String,
    pub lead: String,
    pub code: Option<&'a str>,
    /// `(label, absolute URL)`.
    pub buttons: Vec<(&'a str, String)>,
    /// Small print: why this email came, what to do if unexpected.
    pub footer: Vec<String>,
    pub code_heading: &'a str,
    /// The recipient's language (`Strings::lang`), for mail clients and screen readers.
    pub lang: &'a str,
}

/// `(text, html)` of an email.
pub fn render(branding: &Branding, logo_url: Option<&str>, content: &EmailContent<'_>) -> (String, String) {
    let mut text = format!("{}\n\n{}\n", branding.application_name, content.lead);
    if let Some(code) = content.code {
        text.push_str(&format!("\n{}: {code}\n", content.code_heading));
    }
    for (label, url) in &content.buttons {
        text.push_str(&format!("\n{label}: {url}\n"));
    }
    text.push_str("\n--\n");
    for line in &content.footer {
        text.push_str(line);
        text.push('\n');
    }
    // The pages' derived colours, so a light brand colour (`#facc15`) gets dark button text and a
    // readable name (WCAG AA), as on the pages.
    let palette = super::theme::Rgb::parse(&branding.primary_color).map(super::theme::Palette::from_primary);
    let (color, on_color, name_color) = match &palette {
        Some(palette) => (palette.primary.hex(), palette.on_primary.hex(), palette.link.hex()),
        None => (
            branding.primary_color.clone(),
            "#ffffff".to_owned(),
            branding.primary_color.clone(),
        ),
    };
    let html = html! {
        (DOCTYPE)
        html lang=(content.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (content.subject) }
            }
            body style="margin:0;padding:24px;background:#f4f4f5;font-family:-apple-system,'Segoe UI',Roboto,sans-serif;color:#18181b" {
                div style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:12px;padding:32px" {
                    @if let Some(logo) = logo_url {
                        img src=(logo) alt=(branding.application_name) height="40" style="display:block;margin-bottom:16px";
                    } @else {
                        p style=(format!("margin:0 0 16px;font-weight:700;font-size:18px;color:{name_color}")) { (branding.application_name) }
                    }
                    p style="font-size:16px;line-height:1.5;margin:0 0 20px" { (content.lead) }
                    @if let Some(code) = content.code {
                        p style="margin:0 0 4px;font-size:13px;color:#52525b" { (content.code_heading) }
                        p style="margin:0 0 20px;font-size:32px;font-weight:700;letter-spacing:6px;font-family:ui-monospace,Menlo,monospace" { (code) }
                    }
                    @for (label, url) in &content.buttons {
                        p style="margin:0 0 12px" {
                            a href=(url) style=(format!("display:inline-block;background:{color};color:{on_color};text-decoration:none;padding:12px 20px;border-radius:8px;font-weight:600")) { (label) }
                        }
                    }
                    hr style="border:none;border-top:1px solid #e4e4e7;margin:24px 0 16px";
                    @for line in &content.footer {
                        p style="margin:0 0 8px;font-size:12px;line-height:1.5;color:#71717a" { (line) }
                    }
                }
            }
        }
    };
    (text, html.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn branding() -> Branding {
        Branding {
            application_name: "Acme <b>".into(),
            logo_url: None,
            primary_color: "#112233".into(),
        }
    }

    fn content() -> EmailContent<'static> {
        EmailContent {
            subject: "123456 is your code".into(),
            lead: "Enter <this> code.".into(),
            code: Some("123456"),
            buttons: vec![("Open", "https://accounts.myapp.com/verify?flow=f&code=123456".into())],
            footer: vec!["Why you got this.".into()],
            code_heading: "Your code",
            lang: "en",
        }
    }

    #[test]
    fn a_light_brand_colour_gets_dark_button_text_as_on_the_pages() {
        let yellow = Branding {
            primary_color: "#facc15".into(),
            ..branding()
        };
        let (_, html) = render(&yellow, None, &content());
        assert!(html.contains("background:#facc15"), "{html}");
        assert!(
            !html.contains("background:#facc15;color:#ffffff"),
            "white on yellow is 1.5:1"
        );
        let palette = super::super::theme::Palette::from_primary(super::super::theme::Rgb::parse("#facc15").unwrap());
        assert!(html.contains(&format!("color:{}", palette.on_primary.hex())));
        assert!(palette.primary.contrast(palette.on_primary) >= super::super::theme::AA);
    }

    #[test]
    fn text_and_html_carry_the_code_link_and_reason() {
        let (text, html) = render(&branding(), None, &content());
        for body in [&text, &html] {
            assert!(body.contains("123456"));
            assert!(body.contains("Why you got this."));
        }
        assert!(text.contains("Open: https://accounts.myapp.com/verify?flow=f&code=123456"));
        assert!(html.contains("href=\"https://accounts.myapp.com/verify?flow=f&amp;code=123456\""));
        assert!(html.contains("#112233"));
        assert!(html.contains("<html lang=\"en\">"));
    }

    #[test]
    fn names_and_text_are_escaped_in_html_injection() {
        let (_, html) = render(&branding(), None, &content());
        assert!(html.contains("Acme &lt;b&gt;"));
        assert!(html.contains("Enter &lt;this&gt; code."));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn a_logo_replaces_the_name_heading() {
        let (_, html) = render(&branding(), Some("https://cdn.myapp.com/logo.png"), &content());
        assert!(html.contains("<img src=\"https://cdn.myapp.com/logo.png\""));
    }
}
