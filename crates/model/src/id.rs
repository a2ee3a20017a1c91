//! Time-ordered 64-bit ids (Snowflake style).
//!
//! An id is `unix_ms << 16 | sequence`: ids sort by creation time, carry their timestamp,
//! and fit in an `i64` column on both database engines. The client API renders them as
//! decimal strings, which sort the same way once their lengths are equal.

use std::fmt;
use std::str::FromStr;

/// Bits reserved for the per-millisecond sequence.
const SEQUENCE_BITS: u32 = 16;
const SEQUENCE_MASK: i64 = (1 << SEQUENCE_BITS) - 1;

/// A time-ordered identifier of any stored entity.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(i64);

/// Why a string or number is not an [`Id`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// The text is not a decimal number.
    #[error("id is not a decimal number")]
    NotANumber,
    /// Ids are positive; zero and negative values are never issued.
    #[error("id must be positive")]
    NotPositive,
}

impl Id {
    /// Builds an id from a Unix time in milliseconds and a sequence number within that
    /// millisecond. The sequence is truncated to its 16 bits.
    pub fn from_parts(unix_ms: i64, sequence: u16) -> Self {
        Id((unix_ms << SEQUENCE_BITS) | (i64::from(sequence) & SEQUENCE_MASK))
    }

    /// The smallest id that could have been issued at `unix_ms`: a pagination bound for
    /// "everything since this time".
    pub fn lower_bound_at(unix_ms: i64) -> Self {
        Id(unix_ms << SEQUENCE_BITS)
    }

    /// Wraps a value read back from storage. Values come from columns this crate's ids were
    /// written to, so no check is made beyond positivity.
    pub fn from_i64(value: i64) -> Result<Self, IdError> {
        if value > 0 {
            Ok(Id(value))
        } else {
            Err(IdError::NotPositive)
        }
    }

    /// The value to store.
    pub fn as_i64(self) -> i64 {
        self.0
    }

    /// When the id was issued, in Unix milliseconds.
    pub fn unix_ms(self) -> i64 {
        self.0 >> SEQUENCE_BITS
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl FromStr for Id {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: i64 = s.trim().parse().map_err(|_| IdError::NotANumber)?;
        Id::from_i64(value)
    }
}

/// Issues strictly increasing ids from a clock reading supplied by the caller.
///
/// The clock is passed in (rather than read here) so this crate stays free of IO and the
/// generator can be tested with any sequence of clock readings, including a clock that goes
/// backwards (NTP steps): ids never go backwards with it.
#[derive(Debug, Default)]
pub struct SnowflakeClock {
    last: i64,
}

impl SnowflakeClock {
    /// A generator that has issued nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next id for a clock reading of `now_unix_ms`. Strictly greater than every id this
    /// generator issued before. When more than 65,536 ids are asked for within one
    /// millisecond, or the clock steps back, ids borrow from the following milliseconds.
    pub fn next(&mut self, now_unix_ms: i64) -> Id {
        let candidate = Id::lower_bound_at(now_unix_ms).0;
        let next = if candidate > self.last {
            candidate
        } else {
            self.last + 1
        };
        self.last = next;
        Id(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn id_carries_its_timestamp() {
        let id = Id::from_parts(1_700_000_000_123, 7);
        assert_eq!(id.unix_ms(), 1_700_000_000_123);
        assert_eq!(id.to_string().parse::<Id>(), Ok(id));
    }

    #[test]
    fn parsing_rejects_garbage_and_non_positive_values() {
        assert_eq!("abc".parse::<Id>(), Err(IdError::NotANumber));
        assert_eq!("0".parse::<Id>(), Err(IdError::NotPositive));
        assert_eq!("-5".parse::<Id>(), Err(IdError::NotPositive));
        assert_eq!("".parse::<Id>(), Err(IdError::NotANumber));
    }

    #[test]
    fn many_ids_in_one_millisecond_stay_ordered() {
        let mut clock = SnowflakeClock::new();
        let ids: Vec<Id> = (0..70_000).map(|_| clock.next(1_000)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    proptest! {
        #[test]
        fn ids_increase_whatever_the_clock_does(readings in proptest::collection::vec(1_600_000_000_000i64..1_600_000_010_000, 1..200)) {
            let mut clock = SnowflakeClock::new();
            let mut previous = None;
            for now in readings {
                let id = clock.next(now);
                if let Some(p) = previous {
                    prop_assert!(id > p);
                }
                previous = Some(id);
            }
        }

        #[test]
        fn decimal_strings_of_equal_length_sort_like_ids(a in 1i64..i64::MAX, b in 1i64..i64::MAX) {
            let (ia, ib) = (Id(a), Id(b));
            let (sa, sb) = (ia.to_string(), ib.to_string());
            if sa.len() == sb.len() {
                prop_assert_eq!(sa.cmp(&sb), ia.cmp(&ib));
            }
        }
    }
}
