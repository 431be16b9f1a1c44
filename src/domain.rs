//! Validated, normalized values. Each is checked once at the edge; code that takes one never
//! re-validates it.

use std::fmt;

/// Why a field's value is refused. The page turns it into a message next to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    Required,
    TooLong,
    Invalid,
}

/// A problem with one form field, shown next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldError {
    Field(FieldProblem),
    Password(crate::security::password::PasswordProblem),
    UsernameTaken,
    EmailTaken,
    ConfirmationMismatch,
    SlugTaken,
    AlreadyMember,
    /// Deleting the account would leave an organization with members but no admin.
    LastAdminOfOrganization,
    /// The current password a change asked for is not the account's.
    WrongPassword,
    /// The operator's lists do not let this address sign up.
    SignUpRefused,
}

/// Every problem of one form, by field name, in the order the fields were checked.
pub type FieldErrors = Vec<(&'static str, FieldError)>;

/// Identifiers the portal generates: a readable prefix and 128 random bits in hex (`user_3f…`).
/// An id from a request is parsed (`None` unless shaped like one the portal made), so a typo or
/// an injection attempt never reaches a query as an id; an id read back from the store is
/// trusted as stored.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                Self(crate::security::random_id($prefix))
            }

            /// An id sent by a browser.
            pub fn parse(text: &str) -> Option<Self> {
                is_generated_id(text, $prefix).then(|| Self(text.to_owned()))
            }

            /// An id read back from the store.
            pub(crate) fn from_stored(text: String) -> Self {
                Self(text)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A user account.
    UserId,
    "user"
);
id_type!(
    /// A portal session (the `sid` claim).
    SessionId,
    "sess"
);
id_type!(
    /// An organization.
    OrgId,
    "org"
);
id_type!(
    /// An invitation to an organization.
    InvitationId,
    "inv"
);

fn is_generated_id(text: &str, prefix: &str) -> bool {
    text.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// How every identifier a person types (email address, username) is normalized, for lookup and
/// for lockout scopes alike: trimmed and lower-cased with Unicode's full case mapping, so the
/// Kelvin sign `K` is `k` in both and can never open a separate lockout scope.
pub fn normalize_identifier(text: &str) -> String {
    text.trim().to_lowercase()
}

/// An email address, trimmed and lower-cased (so uniqueness is case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    /// An address read back from the store, where only parsed addresses are written.
    pub(crate) fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn parse(text: &str) -> Result<Self, FieldProblem> {
        let normalized = normalize_identifier(text);
        if normalized.is_empty() {
            return Err(FieldProblem::Required);
        }
        if normalized.len() > Self::MAX_LEN {
            return Err(FieldProblem::TooLong);
        }
        let (local, domain) = normalized.rsplit_once('@').ok_or(FieldProblem::Invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(normalized))
        } else {
            Err(FieldProblem::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A username: 3 to 64 of `a-z 0-9 _ . -`, starting with a letter or digit, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Self, FieldProblem> {
        let normalized = normalize_identifier(text);
        if normalized.is_empty() {
            return Err(FieldProblem::Required);
        }
        if normalized.chars().count() > Self::MAX_LEN {
            return Err(FieldProblem::TooLong);
        }
        let valid = normalized.len() >= 3
            && normalized.starts_with(|c: char| c.is_ascii_alphanumeric())
            && normalized
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            Ok(Self(normalized))
        } else {
            Err(FieldProblem::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164: `+`, then 8 to 15 digits, the first not zero. Spaces, dashes, dots
/// and parentheses typed by people are removed first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub const MAX_LEN: usize = 16;

    pub fn parse(text: &str) -> Result<Self, FieldProblem> {
        let compact: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        if compact.is_empty() {
            return Err(FieldProblem::Required);
        }
        let digits = compact.strip_prefix('+').ok_or(FieldProblem::Invalid)?;
        let valid =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        if valid {
            Ok(Self(compact))
        } else {
            Err(FieldProblem::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters that change how text around them displays without showing themselves: bidi
/// embeddings and overrides (`U+202E` turns `moc.evil` into `live.com`), zero-width spaces and
/// joiners, soft hyphens, invisible fillers and tags (Unicode format characters and other
/// default-ignorables). A name shown to other members must show what it is.
pub fn is_invisible_or_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
            | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
            | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF
    )
}

/// A first or last name: trimmed, at most 100 characters, no control, format or invisible
/// characters (see [`is_invisible_or_format`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(text: &str) -> Result<Self, FieldProblem> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(FieldProblem::Required);
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(FieldProblem::TooLong);
        }
        if trimmed.chars().any(|c| c.is_control() || is_invisible_or_format(c)) {
            return Err(FieldProblem::Invalid);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization's display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationName(String);

impl OrganizationName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(text: &str) -> Result<Self, FieldProblem> {
        PersonName::parse(text).map(|name| Self(name.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organization's URL name: 3 to 48 of `a-z 0-9 -`, no hyphen at either end or twice in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 48;

    pub fn parse(text: &str) -> Result<Self, FieldProblem> {
        let slug = text.trim().to_ascii_lowercase();
        if slug.is_empty() {
            return Err(FieldProblem::Required);
        }
        if slug.len() > Self::MAX_LEN {
            return Err(FieldProblem::TooLong);
        }
        let valid = slug.len() >= 3
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-')
            && !slug.ends_with('-')
            && !slug.contains("--");
        if valid {
            Ok(Self(slug))
        } else {
            Err(FieldProblem::Invalid)
        }
    }

    /// A slug suggested from a name: `Acme Corp.` becomes `acme-corp`, `Société Générale`
    /// `societe-generale`, `Große GmbH` `grosse-gmbh` (Latin letters lose their accents); when
    /// nothing usable is left (`日本`), a random `org-…` slug the person may change.
    pub fn derive(name: &str) -> String {
        let mut slug = String::new();
        for c in name.trim().chars().flat_map(char::to_lowercase) {
            let ascii = transliterate(c);
            if !ascii.is_empty() {
                slug.push_str(ascii);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= Self::MAX_LEN {
                break;
            }
        }
        slug.truncate(Self::MAX_LEN);
        let slug = slug.trim_end_matches('-');
        if slug.len() >= 3 {
            return slug.to_owned();
        }
        let [a, b, c, d] = crate::security::random_bytes::<4>();
        format!("org-{:08x}", u32::from_be_bytes([a, b, c, d]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ASCII letters a lower-case character reads as in a slug: itself for `a-z0-9`, the base
/// letter for a Latin letter with a diacritic, a digraph for `ß æ œ þ ĳ`, nothing otherwise.
fn transliterate(c: char) -> &'static str {
    const PLAIN: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
    if let Some(index) = PLAIN.find(c) {
        return &PLAIN[index..index + 1];
    }
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'þ' => "th",
        'ĳ' => "ij",
        _ => "",
    }
}

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn parse(text: &str) -> Result<Self, FieldProblem> {
        match text.trim() {
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            "" => Err(FieldProblem::Required),
            _ => Err(FieldProblem::Invalid),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Declined,
    Revoked,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Revoked => "revoked",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Accepted, Self::Declined, Self::Revoked]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// Parses an optional field: empty is `Ok(None)` unless the field is required.
pub fn optional<T>(
    text: &str,
    required: bool,
    parse: impl FnOnce(&str) -> Result<T, FieldProblem>,
) -> Result<Option<T>, FieldProblem> {
    match parse(text) {
        Ok(value) => Ok(Some(value)),
        Err(FieldProblem::Required) if !required => Ok(None),
        Err(problem) => Err(problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_requests_must_look_generated() {
        let id = UserId::generate();
        assert_eq!(UserId::parse(id.as_str()), Some(id.clone()));
        assert!(id.as_str().starts_with("user_"));
        for forged in [
            "",
            "user_",
            "org_0123456789abcdef0123456789abcdef",
            "user_0123456789ABCDEF0123456789abcdef",
            "user_0123456789abcdef0123456789abcde",
            "user_0123456789abcdef0123456789abcdef' OR '1'='1",
        ] {
            assert_eq!(UserId::parse(forged), None, "{forged}");
        }
        assert!(OrgId::parse("org_0123456789abcdef0123456789abcdef").is_some());
    }

    #[test]
    fn emails_are_normalized_and_validated() {
        assert_eq!(
            EmailAddress::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert_eq!(
            EmailAddress::parse("a.b+tag@sub.example.co").unwrap().as_str(),
            "a.b+tag@sub.example.co"
        );
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a..b@example.com",
            "ada@exa mple.com",
            "ada@-x.com",
            "a\"b@x.com",
            "<a>@x.com",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(FieldProblem::Invalid), "{bad}");
        }
        assert_eq!(EmailAddress::parse(""), Err(FieldProblem::Required));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(FieldProblem::TooLong));
    }

    #[test]
    fn usernames_are_lower_cased_and_restricted() {
        assert_eq!(Username::parse("Ada_L").unwrap().as_str(), "ada_l");
        for bad in ["ab", "_ada", "ada lovelace", "ada@x", "ädä", "'; DROP TABLE users;--"] {
            assert_eq!(Username::parse(bad), Err(FieldProblem::Invalid), "{bad}");
        }
        assert_eq!(Username::parse(&"a".repeat(65)), Err(FieldProblem::TooLong));
    }

    #[test]
    fn phone_numbers_are_strict_e164() {
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-0123").unwrap().as_str(),
            "+14155550123"
        );
        for bad in [
            "4155550123",
            "+0123456789",
            "+1234567",
            "+1234567890123456",
            "+1415555O123",
            "++14155550123",
        ] {
            assert_eq!(PhoneNumber::parse(bad), Err(FieldProblem::Invalid), "{bad}");
        }
    }

    #[test]
    fn names_refuse_control_characters_and_overlong_input() {
        assert_eq!(PersonName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(PersonName::parse("A\u{0}da"), Err(FieldProblem::Invalid));
        assert_eq!(
            PersonName::parse("\u{3164}"),
            Err(FieldProblem::Invalid),
            "a blank-looking filler"
        );
        assert_eq!(PersonName::parse(&"é".repeat(101)), Err(FieldProblem::TooLong));
        assert_eq!(
            PersonName::parse(&"é".repeat(100)).map(|n| n.as_str().chars().count()),
            Ok(100)
        );
    }

    #[test]
    fn names_refuse_bidi_overrides_and_zero_width_characters_against_display_spoofing() {
        for spoof in [
            "Ada\u{202E}nimda",
            "Ad\u{200B}a",
            "Ada\u{200D}",
            "\u{2066}Ada\u{2069}",
            "A\u{00AD}da",
            "Ada\u{E0041}",
        ] {
            assert_eq!(PersonName::parse(spoof), Err(FieldProblem::Invalid), "{spoof:?}");
            assert_eq!(OrganizationName::parse(spoof), Err(FieldProblem::Invalid), "{spoof:?}");
        }
        assert!(OrganizationName::parse("Ünïcödé Ltd 株式会社").is_ok());
        assert_eq!(Username::parse("ad\u{200B}a"), Err(FieldProblem::Invalid));
    }

    #[test]
    fn slugs_are_strict_and_derived_from_names() {
        assert_eq!(Slug::parse(" Acme-Corp ").unwrap().as_str(), "acme-corp");
        for bad in ["ab", "-acme", "acme-", "ac--me", "acme corp", "acmé", "acme_corp"] {
            assert_eq!(Slug::parse(bad), Err(FieldProblem::Invalid), "{bad}");
        }
        assert_eq!(Slug::parse(&"a".repeat(49)), Err(FieldProblem::TooLong));
        assert_eq!(Slug::derive("Acme Corp."), "acme-corp");
        assert_eq!(Slug::derive("  <b>Ünïcode</b> & Co!! "), "b-unicode-b-co");
        assert_eq!(Slug::derive("Société Générale"), "societe-generale");
        assert_eq!(Slug::derive("Große GmbH"), "grosse-gmbh");
        assert_eq!(Slug::derive("Æsir Œuvre Þing"), "aesir-oeuvre-thing");
        // Nothing usable left: a random slug that parses.
        for name in ["日本", "株式会社", "AB", "!!"] {
            let slug = Slug::derive(name);
            assert!(slug.starts_with("org-"), "{name}: {slug}");
            assert!(Slug::parse(&slug).is_ok(), "{slug}");
        }
        assert!(Slug::derive(&"x".repeat(100)).len() <= Slug::MAX_LEN);
    }

    #[test]
    fn roles_are_admin_or_member() {
        assert_eq!(Role::parse("admin"), Ok(Role::Admin));
        assert_eq!(Role::parse("member"), Ok(Role::Member));
        assert_eq!(Role::parse("owner"), Err(FieldProblem::Invalid));
    }

    #[test]
    fn optional_fields() {
        assert_eq!(optional("", false, Username::parse), Ok(None));
        assert_eq!(optional("", true, Username::parse), Err(FieldProblem::Required));
        assert_eq!(optional("x", false, Username::parse), Err(FieldProblem::Invalid));
    }
}
