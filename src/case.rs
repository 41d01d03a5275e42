//! The words of the domain: case references, kinds, categories, statuses.
//!
//! These are closed sets. Their string forms are part of the classification
//! contract (`postroom classify` JSON, `../shared/corpus/SCHEMA.md`) and of the
//! database, so they never change meaning.

use std::fmt;

use serde::Serialize;

macro_rules! closed_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted spellings, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// `status == "open"`: the word as the database and the JSON
        /// contract spell it.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

closed_set! {
    /// What a message is.
    Kind {
        NewEnquiry => "new_enquiry",
        FollowUp => "follow_up",
        AutoReply => "auto_reply",
        Bounce => "bounce",
        NotMp => "not_mp",
        Junk => "junk",
    }
}

closed_set! {
    /// The council service an enquiry concerns.
    Category {
        Send => "send",
        Housing => "housing",
        AdultSocialCare => "adult_social_care",
        ChildrensSocialCare => "childrens_social_care",
        CouncilTaxBenefits => "council_tax_benefits",
        HighwaysWaste => "highways_waste",
        Planning => "planning",
        Other => "other",
    }
}

closed_set! {
    /// What a SEND enquiry is about.
    SendTopic {
        EhcNeedsAssessment => "ehc_needs_assessment",
        EhcpIssueOrAmendment => "ehcp_issue_or_amendment",
        AnnualReview => "annual_review",
        SchoolPlacement => "school_placement",
        SendTransport => "send_transport",
        Tribunal => "tribunal",
        SupportInSchool => "support_in_school",
        ExclusionOrOutOfSchool => "exclusion_or_out_of_school",
    }
}

closed_set! {
    /// Where a case stands.
    Status {
        /// Waiting for the council's answer.
        Open => "open",
        /// Needs a person to look at it before anything else happens.
        Triage => "triage",
        /// The council has answered the MP office.
        Answered => "answered",
        Closed => "closed",
    }
}

impl Kind {
    /// Kinds that are never answered, whatever any rule says (RFC 3834 §2).
    pub fn is_automatic(self) -> bool {
        matches!(self, Kind::AutoReply | Kind::Bounce | Kind::Junk)
    }
}

impl Category {
    /// A label for people (digests, acknowledgements).
    pub fn label(self) -> &'static str {
        match self {
            Category::Send => "Special educational needs and disabilities (SEND)",
            Category::Housing => "Housing",
            Category::AdultSocialCare => "Adult social care",
            Category::ChildrensSocialCare => "Children's social care",
            Category::CouncilTaxBenefits => "Council tax and benefits",
            Category::HighwaysWaste => "Highways and waste",
            Category::Planning => "Planning",
            Category::Other => "Other council services",
        }
    }
}

/// A council case reference such as `MPE-2026-00317`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseRef(String);

impl CaseRef {
    /// Builds the reference for the `number`th case of `year`.
    pub fn new(prefix: &str, year: i32, number: i64) -> CaseRef {
        CaseRef(format!("{prefix}-{year:04}-{number:05}"))
    }

    /// Wraps a reference read back from the database.
    pub fn from_stored(s: String) -> CaseRef {
        CaseRef(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_refs_are_zero_padded() {
        assert_eq!(CaseRef::new("MPE", 2026, 317).as_str(), "MPE-2026-00317");
        assert_eq!(
            CaseRef::new("MPE", 2026, 123456).as_str(),
            "MPE-2026-123456"
        );
    }

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
        }
        for t in SendTopic::ALL {
            assert_eq!(SendTopic::parse(t.as_str()), Some(*t));
        }
        assert_eq!(Kind::parse("spam"), None);
        assert_eq!(
            serde_json::to_string(&SendTopic::EhcNeedsAssessment).unwrap(),
            "\"ehc_needs_assessment\""
        );
    }
}
