//! Swarm testing: each seed turns on a random subset of a scenario's faults.
//!
//! Running every fault at once on every seed hides bugs that one fault's noise masks in
//! another's (Groce et al., "Swarm Testing", ISSTA 2012). So a scenario declares its faults as
//! [`FaultSpec`]s and draws a [`FaultMix`] from the seed's RNG: each fault is enabled with its
//! own probability and, if enabled, gets a rate in its declared range. The mix prints as one
//! line so the seed's first output line says which faults were in play.

use std::fmt;

use sluice_core::rng::Rng;

/// Per mille is the unit of every probability here: 1000 means always.
pub const PER_MILLE: u16 = 1000;

/// A fault a scenario can inject, as the scenario declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    /// The fault's kebab-case name, such as `torn-write`.
    pub name: &'static str,
    /// Probability, per mille, that a seed enables this fault at all.
    pub enable_per_mille: u16,
    /// The smallest rate, per mille, an enabled fault is drawn with.
    pub rate_per_mille_min: u16,
    /// The largest rate, per mille, an enabled fault is drawn with.
    pub rate_per_mille_max: u16,
}

impl FaultSpec {
    /// A fault enabled on half the seeds, with a rate drawn in `rate_min..=rate_max` per mille.
    pub const fn new(name: &'static str, rate_per_mille_min: u16, rate_per_mille_max: u16) -> Self {
        assert!(rate_per_mille_min <= rate_per_mille_max);
        assert!(rate_per_mille_max <= PER_MILLE);
        FaultSpec {
            name,
            enable_per_mille: PER_MILLE / 2,
            rate_per_mille_min,
            rate_per_mille_max,
        }
    }

    /// The same fault, enabled on `enable_per_mille` of a thousand seeds instead of half.
    pub const fn enabled_per_mille(self, enable_per_mille: u16) -> Self {
        assert!(enable_per_mille <= PER_MILLE);
        FaultSpec {
            enable_per_mille,
            ..self
        }
    }
}

/// One fault as a seed drew it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The fault's name from its [`FaultSpec`].
    pub name: &'static str,
    /// Whether this seed injects the fault at all.
    pub enabled: bool,
    /// How often, per mille of opportunities, the fault fires; 0 when disabled.
    pub rate_per_mille: u16,
}

/// The faults one seed enabled, in the order the scenario declared them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultMix {
    faults: Vec<Fault>,
}

impl FaultMix {
    /// Draws a mix for `specs` from `rng`.
    ///
    /// Each spec consumes exactly two draws (enable, rate) whether or not it is enabled, so the
    /// draws for one fault never shift those of the faults after it.
    pub fn draw<R: Rng + ?Sized>(rng: &mut R, specs: &[FaultSpec]) -> FaultMix {
        for (i, spec) in specs.iter().enumerate() {
            assert!(!spec.name.is_empty(), "fault without a name");
            assert!(
                specs[..i].iter().all(|s| s.name != spec.name),
                "fault {:?} declared twice",
                spec.name
            );
        }
        let faults = specs
            .iter()
            .map(|spec| {
                let enabled = rng.chance(u64::from(spec.enable_per_mille), u64::from(PER_MILLE));
                let rate = rng.range_inclusive(
                    u64::from(spec.rate_per_mille_min),
                    u64::from(spec.rate_per_mille_max),
                );
                let rate = u16::try_from(rate).expect("rate is at most 1000");
                Fault {
                    name: spec.name,
                    enabled,
                    rate_per_mille: if enabled { rate } else { 0 },
                }
            })
            .collect();
        FaultMix { faults }
    }

    /// Every declared fault, enabled or not, in declaration order.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Whether this seed enabled fault `name`. Panics if `name` was not declared.
    pub fn enabled(&self, name: &str) -> bool {
        self.fault(name).enabled
    }

    /// The rate, per mille, this seed drew for fault `name`; 0 when disabled.
    pub fn rate_per_mille(&self, name: &str) -> u16 {
        self.fault(name).rate_per_mille
    }

    /// Decides whether fault `name` fires at one opportunity.
    ///
    /// A disabled fault returns `false` without drawing, so disabling a fault changes only the
    /// draws it would have made itself.
    pub fn fires<R: Rng + ?Sized>(&self, rng: &mut R, name: &str) -> bool {
        let fault = self.fault(name);
        fault.enabled && rng.chance(u64::from(fault.rate_per_mille), u64::from(PER_MILLE))
    }

    fn fault(&self, name: &str) -> &Fault {
        match self.faults.iter().find(|f| f.name == name) {
            Some(fault) => fault,
            None => panic!("fault {name:?} is not declared in this mix"),
        }
    }
}

/// Prints `faults=NAME:RATE,...` (rates per mille) or `faults=none`.
impl fmt::Display for FaultMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("faults=")?;
        let mut any = false;
        for fault in self.faults.iter().filter(|fault| fault.enabled) {
            if any {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", fault.name, fault.rate_per_mille)?;
            any = true;
        }
        if !any {
            f.write_str("none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SplitMix;

    const SPECS: &[FaultSpec] = &[
        FaultSpec::new("machine-crash", 10, 50),
        FaultSpec::new("torn-write", 100, 400),
        FaultSpec::new("enospc", 5, 5).enabled_per_mille(0),
        FaultSpec::new("bit-flip", 1, 2).enabled_per_mille(1000),
    ];

    #[test]
    fn draw_respects_probabilities_and_ranges() {
        let mut seen_enabled = [0u32; 4];
        for seed in 0..200 {
            let mix = FaultMix::draw(&mut SplitMix::new(seed), SPECS);
            for (i, fault) in mix.faults().iter().enumerate() {
                assert_eq!(fault.name, SPECS[i].name);
                if fault.enabled {
                    seen_enabled[i] += 1;
                    assert!(fault.rate_per_mille >= SPECS[i].rate_per_mille_min);
                    assert!(fault.rate_per_mille <= SPECS[i].rate_per_mille_max);
                } else {
                    assert_eq!(fault.rate_per_mille, 0);
                }
            }
        }
        assert!(seen_enabled[0] > 50 && seen_enabled[0] < 150);
        assert!(seen_enabled[1] > 50 && seen_enabled[1] < 150);
        assert_eq!(seen_enabled[2], 0);
        assert_eq!(seen_enabled[3], 200);
    }

    #[test]
    fn draw_is_a_function_of_the_seed() {
        let a = FaultMix::draw(&mut SplitMix::new(42), SPECS);
        let b = FaultMix::draw(&mut SplitMix::new(42), SPECS);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), b.to_string());
    }

    #[test]
    fn display_lists_enabled_faults_with_rates() {
        let mix = FaultMix {
            faults: vec![
                Fault {
                    name: "machine-crash",
                    enabled: true,
                    rate_per_mille: 12,
                },
                Fault {
                    name: "enospc",
                    enabled: false,
                    rate_per_mille: 0,
                },
                Fault {
                    name: "torn-write",
                    enabled: true,
                    rate_per_mille: 250,
                },
            ],
        };
        assert_eq!(mix.to_string(), "faults=machine-crash:12,torn-write:250");
        assert!(mix.enabled("torn-write"));
        assert_eq!(mix.rate_per_mille("enospc"), 0);
        let none = FaultMix::draw(&mut SplitMix::new(1), &SPECS[2..3]);
        assert_eq!(none.to_string(), "faults=none");
    }

    #[test]
    fn fires_never_for_disabled_and_always_at_full_rate() {
        let mix = FaultMix {
            faults: vec![
                Fault {
                    name: "off",
                    enabled: false,
                    rate_per_mille: 0,
                },
                Fault {
                    name: "always",
                    enabled: true,
                    rate_per_mille: 1000,
                },
            ],
        };
        let mut rng = SplitMix::new(3);
        assert!((0..100).all(|_| !mix.fires(&mut rng, "off")));
        assert!((0..100).all(|_| mix.fires(&mut rng, "always")));
    }

    #[test]
    #[should_panic(expected = "not declared")]
    fn unknown_fault_name_panics() {
        FaultMix::draw(&mut SplitMix::new(0), SPECS).enabled("partition");
    }

    #[test]
    #[should_panic(expected = "declared twice")]
    fn duplicate_fault_panics() {
        let specs = [FaultSpec::new("a", 1, 1), FaultSpec::new("a", 1, 1)];
        FaultMix::draw(&mut SplitMix::new(0), &specs);
    }
}
