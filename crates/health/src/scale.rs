//! Distributions that are published only when no part of them is small.
//!
//! A [`Scale`] has categories (effectiveness answers, severities, duration ranges) and
//! *levels*: level 0 shows every category, each next level merges neighbouring ones into
//! wider buckets. [`Scale::publish`] picks the finest level at which **every bucket holds
//! either no patient or at least k**, and publishes nothing when no level qualifies. Since
//! the buckets of a level partition the cell, every sum or difference of published buckets
//! is itself 0 or at least k: subtracting published numbers within a cell never isolates
//! fewer than k patients.
//!
//! Levels are nested (each bucket of a coarser level is a union of buckets of every finer
//! level), so distributions published at different levels by different instances can be
//! rolled up to the coarsest of them and added ([`Scale::combine`]); the sums keep the
//! property.

use serde::{Deserialize, Serialize};

/// A named group of categories.
#[derive(Debug)]
pub struct Bucket {
    /// The label clients see (`moderate_or_major`).
    pub label: &'static str,
    /// Indexes into [`Scale::categories`].
    pub categories: &'static [usize],
}

/// Categories and the coarser levels they merge into.
#[derive(Debug)]
pub struct Scale {
    /// The scale's name (`effectiveness`).
    pub name: &'static str,
    /// The finest categories, in order.
    pub categories: &'static [&'static str],
    /// Level 0 first; each level partitions the categories.
    pub levels: &'static [&'static [Bucket]],
}

/// A published distribution: the level chosen and one count per bucket of that level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    /// Index into [`Scale::levels`].
    pub level: usize,
    /// Patients per bucket, in the level's order.
    pub counts: Vec<u64>,
}

/// How well treatments worked: five answers, or three buckets.
pub static EFFECTIVENESS: Scale = Scale {
    name: "effectiveness",
    categories: &["none", "slight", "moderate", "major", "cant_tell"],
    levels: &[
        &[
            Bucket {
                label: "none",
                categories: &[0],
            },
            Bucket {
                label: "slight",
                categories: &[1],
            },
            Bucket {
                label: "moderate",
                categories: &[2],
            },
            Bucket {
                label: "major",
                categories: &[3],
            },
            Bucket {
                label: "cant_tell",
                categories: &[4],
            },
        ],
        &[
            Bucket {
                label: "none_or_slight",
                categories: &[0, 1],
            },
            Bucket {
                label: "moderate_or_major",
                categories: &[2, 3],
            },
            Bucket {
                label: "cant_tell",
                categories: &[4],
            },
        ],
    ],
};

/// How bad a side effect was: three severities, or two buckets.
pub static SEVERITY: Scale = Scale {
    name: "severity",
    categories: &["mild", "moderate", "severe"],
    levels: &[
        &[
            Bucket {
                label: "mild",
                categories: &[0],
            },
            Bucket {
                label: "moderate",
                categories: &[1],
            },
            Bucket {
                label: "severe",
                categories: &[2],
            },
        ],
        &[
            Bucket {
                label: "mild_or_moderate",
                categories: &[0, 1],
            },
            Bucket {
                label: "severe",
                categories: &[2],
            },
        ],
    ],
};

/// How long treatments ran. Ongoing ones are a category of their own, so the buckets add
/// up to the cell's patients and the number still on the treatment is protected like any
/// other bucket.
pub static DURATION: Scale = Scale {
    name: "duration",
    categories: &[
        "ongoing",
        "under_1_month",
        "1_to_3_months",
        "3_to_6_months",
        "6_to_12_months",
        "over_12_months",
    ],
    levels: &[
        &[
            Bucket {
                label: "ongoing",
                categories: &[0],
            },
            Bucket {
                label: "under_1_month",
                categories: &[1],
            },
            Bucket {
                label: "1_to_3_months",
                categories: &[2],
            },
            Bucket {
                label: "3_to_6_months",
                categories: &[3],
            },
            Bucket {
                label: "6_to_12_months",
                categories: &[4],
            },
            Bucket {
                label: "over_12_months",
                categories: &[5],
            },
        ],
        &[
            Bucket {
                label: "ongoing",
                categories: &[0],
            },
            Bucket {
                label: "under_6_months",
                categories: &[1, 2, 3],
            },
            Bucket {
                label: "6_months_or_more",
                categories: &[4, 5],
            },
        ],
        &[
            Bucket {
                label: "ongoing",
                categories: &[0],
            },
            Bucket {
                label: "stopped",
                categories: &[1, 2, 3, 4, 5],
            },
        ],
    ],
};

/// The duration category of a course: `None` (ongoing) is category 0.
pub fn duration_category(days: Option<i64>) -> usize {
    match days {
        None => 0,
        Some(d) if d < 30 => 1,
        Some(d) if d < 91 => 2,
        Some(d) if d < 182 => 3,
        Some(d) if d < 365 => 4,
        Some(_) => 5,
    }
}

/// Whether a count may be published: none, or at least `k` patients.
pub fn safe_count(count: u64, k: u64) -> bool {
    count == 0 || count >= k
}

impl Scale {
    /// The buckets of `level`, if it exists.
    pub fn buckets(&self, level: usize) -> Option<&'static [Bucket]> {
        self.levels.get(level).copied()
    }

    fn roll_up(&self, counts: &[u64], from: usize, to: usize) -> Option<Vec<u64>> {
        let source = self.buckets(from)?;
        let target = self.buckets(to)?;
        if counts.len() != source.len() {
            return None;
        }
        Some(
            target
                .iter()
                .map(|wide| {
                    source
                        .iter()
                        .zip(counts)
                        .filter(|(narrow, _)| {
                            narrow
                                .categories
                                .iter()
                                .all(|c| wide.categories.contains(c))
                        })
                        .map(|(_, n)| *n)
                        .sum()
                })
                .collect(),
        )
    }

    /// The finest level at which every bucket is 0 or at least `k`, from per-category counts.
    /// `None`: no level is safe, so only the cell's total may be shown.
    pub fn publish(&self, per_category: &[u64], k: u64) -> Option<Distribution> {
        if per_category.len() != self.categories.len() {
            return None;
        }
        (0..self.levels.len()).find_map(|level| {
            let counts = self.roll_up(per_category, 0, level)?;
            counts
                .iter()
                .all(|n| safe_count(*n, k))
                .then_some(Distribution { level, counts })
        })
    }

    /// Adds distributions published by several contributors, at the coarsest of their
    /// levels. `None` if any contributor published none (its split is unknown).
    pub fn combine<'a>(
        &self,
        parts: impl IntoIterator<Item = Option<&'a Distribution>>,
    ) -> Option<Distribution> {
        let parts: Vec<&Distribution> = parts.into_iter().collect::<Option<_>>()?;
        let level = parts.iter().map(|d| d.level).max()?;
        let mut sum = vec![0; self.buckets(level)?.len()];
        for part in parts {
            for (total, n) in sum
                .iter_mut()
                .zip(self.roll_up(&part.counts, part.level, level)?)
            {
                *total += n;
            }
        }
        Some(Distribution { level, counts: sum })
    }

    /// `(label, patients)` pairs of a distribution of this scale.
    pub fn labeled(&self, distribution: &Distribution) -> Vec<(&'static str, u64)> {
        self.buckets(distribution.level)
            .unwrap_or_default()
            .iter()
            .zip(&distribution.counts)
            .map(|(bucket, n)| (bucket.label, *n))
            .collect()
    }
}

/// The duration bucket that holds the median of the stopped courses, when the published
/// distribution splits stopped courses at all (level 2 does not).
pub fn median_duration(distribution: &Distribution) -> Option<&'static str> {
    let buckets = DURATION.buckets(distribution.level)?;
    let stopped: Vec<(&Bucket, u64)> = buckets
        .iter()
        .zip(distribution.counts.iter().copied())
        .filter(|(b, _)| !b.categories.contains(&0))
        .collect();
    if stopped.len() < 2 {
        return None;
    }
    let total: u64 = stopped.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let half = total.div_ceil(2);
    let mut running = 0;
    stopped.into_iter().find_map(|(bucket, n)| {
        running += n;
        (running >= half).then_some(bucket.label)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SCALES: [&Scale; 3] = [&EFFECTIVENESS, &SEVERITY, &DURATION];

    #[test]
    fn every_level_partitions_the_categories_and_levels_nest() {
        for scale in SCALES {
            for (i, level) in scale.levels.iter().enumerate() {
                let mut seen: Vec<usize> = level
                    .iter()
                    .flat_map(|b| b.categories.iter().copied())
                    .collect();
                seen.sort_unstable();
                assert_eq!(
                    seen,
                    (0..scale.categories.len()).collect::<Vec<_>>(),
                    "{} level {i}",
                    scale.name
                );
                if i > 0 {
                    for narrow in scale.levels[i - 1].iter() {
                        assert!(
                            level.iter().any(|wide| narrow
                                .categories
                                .iter()
                                .all(|c| wide.categories.contains(c))),
                            "{} level {i} splits {}",
                            scale.name,
                            narrow.label
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn small_buckets_are_merged_then_suppressed() {
        // Every answer has 0 or >= 10 patients: the full distribution.
        let d = EFFECTIVENESS.publish(&[0, 10, 12, 0, 10], 10);
        assert_eq!(
            d,
            Some(Distribution {
                level: 0,
                counts: vec![0, 10, 12, 0, 10]
            })
        );
        // 3 "none" answers merge with "slight".
        let d = EFFECTIVENESS.publish(&[3, 8, 12, 0, 10], 10);
        assert_eq!(
            d,
            Some(Distribution {
                level: 1,
                counts: vec![11, 12, 10]
            })
        );
        // Two "can't tell" answers cannot merge with anything: only the total is shown.
        assert_eq!(EFFECTIVENESS.publish(&[3, 8, 12, 0, 2], 10), None);
    }

    #[test]
    fn distributions_combine_at_the_coarsest_level() {
        let fine = Distribution {
            level: 0,
            counts: vec![10, 0, 10, 10, 0],
        };
        let coarse = Distribution {
            level: 1,
            counts: vec![12, 0, 10],
        };
        assert_eq!(
            EFFECTIVENESS.combine([Some(&fine), Some(&coarse)]),
            Some(Distribution {
                level: 1,
                counts: vec![22, 20, 10]
            })
        );
        assert_eq!(EFFECTIVENESS.combine([Some(&fine), None]), None);
    }

    #[test]
    fn the_median_duration_is_a_bucket_of_stopped_courses() {
        let d = Distribution {
            level: 0,
            counts: vec![40, 10, 0, 10, 20, 0],
        };
        assert_eq!(median_duration(&d), Some("3_to_6_months"));
        let coarse = Distribution {
            level: 2,
            counts: vec![10, 30],
        };
        assert_eq!(median_duration(&coarse), None);
        assert_eq!(duration_category(None), 0);
        assert_eq!(duration_category(Some(29)), 1);
        assert_eq!(duration_category(Some(400)), 5);
    }

    proptest! {
        /// Whatever the counts, a published distribution adds up to the cell and has no
        /// bucket between 1 and k-1, so no sum or difference of its buckets does either.
        #[test]
        fn published_buckets_are_never_small(
            counts in proptest::collection::vec(0u64..40, 5),
            k in 2u64..15,
        ) {
            if let Some(d) = EFFECTIVENESS.publish(&counts, k) {
                prop_assert_eq!(d.counts.iter().sum::<u64>(), counts.iter().sum::<u64>());
                for mask in 0u32..(1 << d.counts.len()) {
                    let subset: u64 = d.counts.iter().enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0).map(|(_, n)| n).sum();
                    prop_assert!(safe_count(subset, k), "subset sum {} with k {}", subset, k);
                }
            }
        }

        /// Combining safe distributions gives a safe one with the same total.
        #[test]
        fn combined_buckets_are_never_small(
            a in proptest::collection::vec(0u64..40, 6),
            b in proptest::collection::vec(0u64..40, 6),
            k in 2u64..15,
        ) {
            let (da, db) = (DURATION.publish(&a, k), DURATION.publish(&b, k));
            if let Some(c) = DURATION.combine([da.as_ref(), db.as_ref()]) {
                prop_assert_eq!(c.counts.iter().sum::<u64>(), a.iter().chain(&b).sum::<u64>());
                prop_assert!(c.counts.iter().all(|n| safe_count(*n, k)));
            }
        }
    }
}
