//! Brand colours that stay readable. The operator's `primary_color` is used as the button colour;
//! the text on buttons and the link shades are derived from it so that each meets WCAG AA (4.5:1)
//! against what it sits on, in light and in dark mode: a pale yellow brand gets dark button text
//! and darkened links, a dark navy brand gets lightened links in dark mode.

/// A colour from `#rgb` or `#rrggbb` (validated by `config`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    pub fn parse(hex: &str) -> Option<Self> {
        let hex = hex.strip_prefix('#').unwrap_or(hex);
        let digits: Vec<u8> = match hex.len() {
            3 => hex
                .chars()
                .map(|c| c.to_digit(16).map(|d| (d * 17) as u8))
                .collect::<Option<_>>()?,
            6 => (0..6)
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                .collect::<Option<_>>()?,
            _ => return None,
        };
        Some(Self([digits[0], digits[1], digits[2]]))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }

    /// WCAG relative luminance.
    fn luminance(self) -> f64 {
        let channel = |value: u8| {
            let c = f64::from(value) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0[0]) + 0.7152 * channel(self.0[1]) + 0.0722 * channel(self.0[2])
    }

    /// WCAG contrast ratio, 1 to 21.
    pub fn contrast(self, other: Self) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// This colour moved `amount` (0 to 1) of the way to `toward`.
    fn mix(self, toward: Self, amount: f64) -> Self {
        let blend = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * amount).round() as u8;
        Self([
            blend(self.0[0], toward.0[0]),
            blend(self.0[1], toward.0[1]),
            blend(self.0[2], toward.0[2]),
        ])
    }
}

pub const WHITE: Rgb = Rgb([0xff, 0xff, 0xff]);
pub const BLACK: Rgb = Rgb([0, 0, 0]);
/// The dark text of the stylesheet (`--text` in light mode).
pub const INK: Rgb = Rgb([0x11, 0x18, 0x27]);
/// The backgrounds links sit on: page and card, light and dark (`portal.css`).
const LIGHT_BACKGROUNDS: [Rgb; 2] = [Rgb([0xf6, 0xf7, 0xf9]), WHITE];
const DARK_BACKGROUNDS: [Rgb; 2] = [Rgb([0x0f, 0x11, 0x15]), Rgb([0x18, 0x1b, 0x21])];

/// WCAG AA for normal text.
pub const AA: f64 = 4.5;

/// A contrast ratio (1 to 21) rounded to one decimal through integers: `{:.1}` links core's
/// exact float formatting into the `.wasm` (about 7.5 KB) for these two notices.
fn one_decimal(ratio: f64) -> String {
    let tenths = (ratio * 10.0).round() as u32;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// The colours the theme stylesheet sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    pub primary: Rgb,
    /// Text on primary buttons.
    pub on_primary: Rgb,
    /// Links and focus rings on light backgrounds.
    pub link: Rgb,
    /// Links and focus rings on dark backgrounds.
    pub link_on_dark: Rgb,
}

impl Palette {
    pub fn from_primary(primary: Rgb) -> Self {
        // White, else the stylesheet's ink, else black: one of white and black always reaches
        // 4.58:1 or more.
        let on_primary = [WHITE, INK, BLACK]
            .into_iter()
            .find(|text| primary.contrast(*text) >= AA)
            .unwrap_or(BLACK);
        Self {
            primary,
            on_primary,
            link: readable_on(primary, &LIGHT_BACKGROUNDS, INK),
            link_on_dark: readable_on(primary, &DARK_BACKGROUNDS, WHITE),
        }
    }

    /// What development mode tells the operator when the brand colour could not be used as it
    /// is: its own contrast, and the shades used instead.
    pub fn adjustments(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let button = self.primary.contrast(self.on_primary);
        if button < AA {
            notes.push(format!(
                "primary_color {} gives button text only {}:1 with any text colour; buttons stay below WCAG AA",
                self.primary.hex(),
                one_decimal(button)
            ));
        }
        // Brand colours are chosen for light backgrounds: lightening links for dark mode is
        // expected, darkening them for light mode means the colour itself is too pale for text.
        if self.link != self.primary {
            notes.push(format!(
                "primary_color {} is too pale for text ({}:1 on white, WCAG AA needs 4.5:1); links and focus rings use {} instead",
                self.primary.hex(),
                one_decimal(self.primary.contrast(WHITE)),
                self.link.hex()
            ));
        }
        notes
    }

    /// The theme stylesheet.
    pub fn css(&self) -> String {
        format!(
            ":root{{--primary:{};--on-primary:{};--link:{};--link-on-dark:{}}}\n",
            self.primary.hex(),
            self.on_primary.hex(),
            self.link.hex(),
            self.link_on_dark.hex()
        )
    }
}

/// `color` as it is when it reaches AA on every background, else moved toward `toward` just far
/// enough.
fn readable_on(color: Rgb, backgrounds: &[Rgb], toward: Rgb) -> Rgb {
    (0..=100)
        .map(|step| color.mix(toward, f64::from(step) / 100.0))
        .find(|shade| backgrounds.iter().all(|background| shade.contrast(*background) >= AA))
        .unwrap_or(toward)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn palette(hex: &str) -> Palette {
        Palette::from_primary(Rgb::parse(hex).unwrap())
    }

    #[test]
    fn ratios_are_written_rounded_to_one_decimal() {
        for step in 0..=20_000 {
            let ratio = 1.0 + f64::from(step) / 1000.0;
            let written = one_decimal(ratio);
            let (_, decimals) = written.split_once('.').expect("a decimal point");
            assert_eq!(decimals.len(), 1, "{written}");
            let read: f64 = written.parse().unwrap();
            assert!((read - ratio).abs() <= 0.05 + 1e-9, "{ratio} written {written}");
        }
        assert_eq!(one_decimal(4.46), "4.5");
        assert_eq!(one_decimal(21.0), "21.0");
    }

    #[test]
    fn every_brand_colour_gets_readable_buttons_and_links_in_both_modes() {
        for hex in [
            "#4f46e5", "#facc15", "#ffffff", "#000000", "#777777", "#0f172a", "#22c55e", "#f0f",
        ] {
            let p = palette(hex);
            assert!(p.primary.contrast(p.on_primary) >= 4.5, "{hex} button text");
            for background in LIGHT_BACKGROUNDS {
                assert!(p.link.contrast(background) >= 4.5, "{hex} link on light");
            }
            for background in DARK_BACKGROUNDS {
                assert!(p.link_on_dark.contrast(background) >= 4.5, "{hex} link on dark");
            }
        }
    }

    #[test]
    fn a_pale_yellow_brand_gets_dark_button_text_and_darker_links() {
        let p = palette("#facc15");
        assert_eq!(p.on_primary, INK, "was white at 1.5:1");
        assert_ne!(p.link, p.primary);
        assert!(!p.adjustments().is_empty(), "development mode says so");
        let default = palette("#4f46e5");
        assert_eq!(
            (default.on_primary, default.link),
            (WHITE, default.primary),
            "the default stays as it is"
        );
        assert!(default.adjustments().is_empty(), "no notice for a colour that works");
    }

    #[test]
    fn contrast_matches_the_wcag_reference_values() {
        assert!((WHITE.contrast(Rgb([0, 0, 0])) - 21.0).abs() < 0.01);
        assert!((Rgb::parse("#777").unwrap().contrast(WHITE) - 4.48).abs() < 0.01);
        assert_eq!(Rgb::parse("#abc").unwrap().hex(), "#aabbcc");
    }
}
