//! `sepconv info`: CPU features, tiers, kernels per op, build facts.

use serde_json::json;

use crate::build_info;
use sepconv::Error;
use sepconv::dispatch::{self, Isa};

use crate::source_text;

pub fn info(as_json: bool) -> Result<(), Error> {
    let (selected, source) = dispatch::selected_isa()?;
    let table = dispatch::kernels(selected)?;
    let features = dispatch::cpu_features();
    let tiers: Vec<_> = Isa::ALL.iter().map(|isa| (isa.name(), isa.unavailable_reason())).collect();
    if as_json {
        let obj = json!({
            "version": build_info::VERSION,
            "arch": std::env::consts::ARCH,
            "cpu_features": features.names(),
            "tiers": tiers.iter().map(|(name, why)| json!({
                "tier": name,
                "available": why.is_none(),
                "reason": why,
            })).collect::<Vec<_>>(),
            "selected": selected.name(),
            "selected_by": source_text(source),
            "kernels": table.entries().iter().map(|(op, k)| json!({"op": op, "kernel": k})).collect::<Vec<_>>(),
            "build": {
                "target": build_info::TARGET,
                "profile": build_info::PROFILE,
                "opt_level": build_info::OPT_LEVEL,
                "target_features": build_info::TARGET_FEATURES.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                "rustc": build_info::RUSTC,
            },
        });
        println!("{obj}");
        return Ok(());
    }
    println!("{}", build_info::summary());
    println!("static target features: {}", build_info::TARGET_FEATURES.replace(',', " "));
    println!("cpu: {} with {}", std::env::consts::ARCH, features.names().join(" "));
    println!("tiers:");
    for (name, why) in &tiers {
        match why {
            None => println!("  {name:<9} available"),
            Some(reason) => println!("  {name:<9} unavailable: {reason}"),
        }
    }
    println!("selected: {selected} ({})", source_text(source));
    println!("kernels ({selected}):");
    for (op, kernel) in table.entries() {
        println!("  {op:<16} {kernel}");
    }
    if table.entries().iter().all(|(_, k)| k.ends_with("/reference")) && selected != Isa::Scalar {
        println!("note: tier {selected} has no SIMD kernels yet; it runs the scalar reference kernels");
    }
    Ok(())
}
