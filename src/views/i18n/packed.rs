//! Translations other than English ship gzip-compressed: each table of each language is one gzip
//! member of its texts joined by NUL (`packed/<lang>.<table>.gz`), about a third of its size,
//! inflated the first time a request needs it. English, the fallback and most of the traffic,
//! stays plain Rust constants that need no work at all.
//!
//! The readable source of every translation is still the Rust table next to English (built in
//! tests only), so the compiler still checks that each has every message. A test compares each
//! packed member with its table text for text and fails while one is stale; run
//! `UPDATE_PACKED_TEXT=1 cargo test --lib packed` to rewrite them after editing a translation.
//!
//! The members are constants of the build, not input; still, a member that does not inflate, is
//! not UTF-8 or has the wrong number of texts gives the English table, never a panic.

use std::sync::OnceLock;

/// What a table's field can be: one text, or a fixed list of them (the month names).
pub trait Text {
    /// How many texts the field takes.
    const COUNT: usize;
    /// The field from `texts`, starting at `at` (the caller knows there are enough).
    fn read(texts: &[&'static str], at: usize) -> Self;
    #[cfg(test)]
    fn write(&self, texts: &mut Vec<&'static str>);
}

impl Text for &'static str {
    const COUNT: usize = 1;
    fn read(texts: &[&'static str], at: usize) -> Self {
        texts[at]
    }
    #[cfg(test)]
    fn write(&self, texts: &mut Vec<&'static str>) {
        texts.push(self);
    }
}

impl<const N: usize> Text for [&'static str; N] {
    const COUNT: usize = N;
    fn read(texts: &[&'static str], at: usize) -> Self {
        std::array::from_fn(|index| texts[at + index])
    }
    #[cfg(test)]
    fn write(&self, texts: &mut Vec<&'static str>) {
        texts.extend_from_slice(self);
    }
}

/// A table of texts: a struct whose fields are all [`Text`]s, read and written in field order.
pub trait TextTable: Sized + Sync + Send + 'static {
    /// The number of texts in one table.
    const COUNT: usize;
    /// Builds the table from its texts in field order; `None` unless there are exactly
    /// [`Self::COUNT`].
    fn read(texts: &[&'static str]) -> Option<Self>;
    /// The texts in field order (what a packed member holds).
    #[cfg(test)]
    fn texts(&self) -> Vec<&'static str>;
}

/// Declares a struct of texts and its [`TextTable`] implementation; each field's type is
/// `&'static str` or `[&'static str; N]`.
macro_rules! text_table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $type:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: $type,)*
        }

        impl $crate::views::i18n::packed::TextTable for $name {
            const COUNT: usize = 0 $(+ <$type as $crate::views::i18n::packed::Text>::COUNT)*;

            fn read(texts: &[&'static str]) -> Option<Self> {
                // A fixed-size array and constant positions make each field one load and store.
                let texts: &[&'static str; <$name as $crate::views::i18n::packed::TextTable>::COUNT] =
                    texts.try_into().ok()?;
                let mut at = 0;
                let table = Self {
                    $($field: {
                        let field = $crate::views::i18n::packed::Text::read(texts, at);
                        at += <$type as $crate::views::i18n::packed::Text>::COUNT;
                        field
                    },)*
                };
                debug_assert_eq!(at, texts.len());
                Some(table)
            }

            #[cfg(test)]
            fn texts(&self) -> Vec<&'static str> {
                let mut texts = Vec::with_capacity(Self::COUNT);
                $($crate::views::i18n::packed::Text::write(&self.$field, &mut texts);)*
                texts
            }
        }
    };
}
pub(crate) use text_table;

/// One language's table, packed; inflated at most once per instance.
pub struct Packed<T: 'static> {
    lang: &'static str,
    member: &'static [u8],
    table: OnceLock<Option<&'static T>>,
}

impl<T: TextTable> Packed<T> {
    pub const fn new(lang: &'static str, member: &'static [u8]) -> Self {
        Self {
            lang,
            member,
            table: OnceLock::new(),
        }
    }

    fn get(&self) -> Option<&'static T> {
        *self.table.get_or_init(|| unpack(self.member))
    }
}

/// The packed members of one table, one per language of `LANGUAGE_CODES` after English, in that
/// order (the tests check it).
macro_rules! packed_members {
    ($table:literal) => {
        [
            $crate::views::i18n::packed::Packed::new("fr", include_bytes!(concat!("packed/fr.", $table, ".gz"))),
            $crate::views::i18n::packed::Packed::new("de", include_bytes!(concat!("packed/de.", $table, ".gz"))),
            $crate::views::i18n::packed::Packed::new("es", include_bytes!(concat!("packed/es.", $table, ".gz"))),
            $crate::views::i18n::packed::Packed::new("pt-BR", include_bytes!(concat!("packed/pt-BR.", $table, ".gz"))),
            $crate::views::i18n::packed::Packed::new("ja", include_bytes!(concat!("packed/ja.", $table, ".gz"))),
        ]
    };
}
pub(crate) use packed_members;

/// A table module's `for_lang` (its text in a language, from the module's `ENGLISH` and packed
/// members), and the test that each packed member holds its source (the module's `FRENCH`,
/// `GERMAN`, `SPANISH`, `PORTUGUESE_BRAZIL` and `JAPANESE`).
macro_rules! translations {
    ($table:ident, $name:literal) => {
        /// The text of `lang` (a `Strings::lang` code), English for any language not packed.
        pub fn for_lang(lang: &str) -> &'static $table {
            $crate::views::i18n::packed::pick(lang, &ENGLISH, &PACKED)
        }

        static PACKED: [$crate::views::i18n::packed::Packed<$table>; 5] =
            $crate::views::i18n::packed::packed_members!($name);

        #[cfg(test)]
        #[test]
        fn packed_translations_match_their_sources() {
            $crate::views::i18n::packed::tests::check_members(
                $name,
                [&FRENCH, &GERMAN, &SPANISH, &PORTUGUESE_BRAZIL, &JAPANESE],
                &PACKED,
            );
        }
    };
}
pub(crate) use translations;

/// The table for a language code (`Strings::lang`): English's for `en` or any code not packed.
pub fn pick<T: TextTable>(lang: &str, english: &'static T, packed: &'static [Packed<T>]) -> &'static T {
    // Native tests count each packed table a page asks for (by its type's name): on Spin each
    // is inflated once per request.
    #[cfg(test)]
    if packed.iter().any(|member| member.lang == lang) {
        crate::security::cost::count(std::any::type_name::<T>(), 1);
    }
    packed
        .iter()
        .find(|member| member.lang == lang)
        .and_then(Packed::get)
        .unwrap_or(english)
}

/// Inflates a member and builds its table; the texts live as long as the instance (one request
/// on Spin), so they are leaked rather than owned.
fn unpack<T: TextTable>(member: &[u8]) -> Option<&'static T> {
    let bytes = crate::gzip::inflate(member)?;
    let text: &'static str = Box::leak(String::from_utf8(bytes).ok()?.into_boxed_str());
    let texts: Vec<&'static str> = text.split('\0').collect();
    Some(Box::leak(Box::new(T::read(&texts)?)))
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::gzip::tests::gzip;

    /// Checks that each packed member holds exactly its source table's texts, and rewrites the
    /// stale ones (with the system's `gzip -9 -n`) when `UPDATE_PACKED_TEXT` is set.
    pub fn check_members<T: TextTable>(table: &str, sources: [&T; 5], packed: &'static [Packed<T>; 5]) {
        let update = std::env::var_os("UPDATE_PACKED_TEXT").is_some();
        let mut stale = Vec::new();
        let packed_languages = &super::super::LANGUAGE_CODES[1..];
        assert_eq!(packed_languages.len(), packed.len());
        for ((lang, source), member) in packed_languages.iter().zip(sources).zip(packed) {
            assert_eq!(member.lang, *lang);
            let texts = source.texts();
            assert_eq!(texts.len(), T::COUNT);
            assert!(
                texts.iter().all(|text| !text.contains('\0')),
                "{lang}.{table}: a text holds NUL"
            );
            let joined = texts.join("\0");
            if crate::gzip::inflate(member.member).as_deref() == Some(joined.as_bytes()) {
                assert_eq!(member.get().map(TextTable::texts), Some(texts));
                continue;
            }
            let path = format!("{}/src/views/i18n/packed/{lang}.{table}.gz", env!("CARGO_MANIFEST_DIR"));
            if update {
                std::fs::write(&path, gzip(joined.as_bytes(), "-9")).expect("the member is written");
            }
            stale.push(path);
        }
        assert!(
            stale.is_empty() || update,
            "stale packed translations {stale:?}: run UPDATE_PACKED_TEXT=1 cargo test --lib packed"
        );
    }

    text_table! {
        #[derive(Debug, PartialEq)]
        pub struct Sample {
            pub lang: &'static str,
            pub one: &'static str,
            pub several: [&'static str; 3],
            pub last: &'static str,
        }
    }

    #[test]
    fn a_table_reads_back_the_texts_it_writes_in_field_order() {
        let sample = Sample {
            lang: "fr",
            one: "un",
            several: ["a", "b", "c"],
            last: "fin",
        };
        assert_eq!(Sample::COUNT, 6);
        let texts = sample.texts();
        assert_eq!(texts, ["fr", "un", "a", "b", "c", "fin"]);
        assert_eq!(Sample::read(&texts), Some(sample));
        assert_eq!(Sample::read(&texts[1..]), None);
    }

    #[test]
    fn a_member_with_the_wrong_number_of_texts_or_broken_bytes_is_refused() {
        let good = gzip(b"fr\0un\0a\0b\0c\0fin", "-9");
        let read: Option<&Sample> = unpack(&good);
        assert_eq!(read.map(|sample| sample.last), Some("fin"));
        assert!(unpack::<Sample>(&gzip(b"fr\0un\0a\0b\0c", "-9")).is_none());
        assert!(unpack::<Sample>(&gzip(b"fr\0un\0a\0b\0c\0fin\0more", "-9")).is_none());
        assert!(unpack::<Sample>(&gzip(b"fr\0un\0a\0b\0c\0\xff", "-9")).is_none());
        assert!(unpack::<Sample>(&good[..good.len() - 9]).is_none());
        assert!(unpack::<Sample>(b"").is_none());
    }
}
