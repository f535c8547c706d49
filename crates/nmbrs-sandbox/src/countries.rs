//! The descriptions Nmbrs adds to ISO country codes in reads
//! (schemas `Country` and `Nationality`: `{codeISO, description}`, the
//! description `readOnly`). A small built-in table; an unknown code is
//! described by the code itself. Also the partner ascription texts.

/// `(codeISO, country description, nationality description)`.
const COUNTRIES: &[(&str, &str, &str)] = &[
    ("NL", "The Netherlands", "Dutch"),
    ("BE", "Belgium", "Belgian"),
    ("DE", "Germany", "German"),
    ("FR", "France", "French"),
    ("GB", "United Kingdom", "British"),
    ("US", "United States", "American"),
    ("PT", "Portugal", "Portuguese"),
    ("ES", "Spain", "Spanish"),
    ("IT", "Italy", "Italian"),
    ("PL", "Poland", "Polish"),
    ("TR", "Turkey", "Turkish"),
    ("MA", "Morocco", "Moroccan"),
];

fn find(code: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    COUNTRIES
        .iter()
        .find(|(c, _, _)| c.eq_ignore_ascii_case(code))
}

/// The `Country.description` of `code` (e.g. NL → "The Netherlands"); the code itself if unknown.
pub(crate) fn country_description(code: &str) -> String {
    find(code).map_or_else(|| code.to_string(), |(_, d, _)| d.to_string())
}

/// The `Nationality.description` of `code` (e.g. NL → "Dutch"); the code itself if unknown.
pub(crate) fn nationality_description(code: &str) -> String {
    find(code).map_or_else(|| code.to_string(), |(_, _, d)| d.to_string())
}

/// The text of a partner ascription (name use) code, schema
/// `EmployeePartnerAscription.ascription`. *Assumed* table (the description
/// gives no list): the four Dutch name-use choices. Unknown codes have no text.
pub(crate) fn ascription_text(code: i64) -> Option<&'static str> {
    match code {
        0 => Some("Own name"),
        1 => Some("Partner's name"),
        2 => Some("Partner's name followed by own name"),
        3 => Some("Own name followed by partner's name"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes() {
        assert_eq!(country_description("NL"), "The Netherlands");
        assert_eq!(nationality_description("NL"), "Dutch");
        assert_eq!(nationality_description("pt"), "Portuguese");
        assert_eq!(country_description("XX"), "XX");
        assert_eq!(ascription_text(0), Some("Own name"));
        assert_eq!(ascription_text(9), None);
    }
}
